using System.Net;

namespace Teredo.Hosting.Coordinator;

/// <summary>
/// One peer's TLS session as the daemon holds it: a bounded send buffer the engine writes frames into
/// (under the engine's lock, without waiting for the network) and a writer task that drains it. Two
/// buffers are swapped, so steady traffic allocates nothing. A peer that does not read fast enough to
/// keep the buffer under its bound is dropped instead of growing it.
/// </summary>
internal sealed class CoordinatorSession(long id, Stream stream, EndPoint? remote, int maxQueuedBytes)
{
    private readonly Lock _lock = new();
    private readonly SemaphoreSlim _signal = new(0);
    private readonly CancellationTokenSource _closed = new();
    // Small at first: ten thousand idle sessions mostly carry keepalives; Enqueue grows them.
    private byte[] _pending = new byte[256];
    private byte[] _writing = new byte[256];
    private int _pendingLength;
    private bool _closing;

    public long Id { get; } = id;
    public EndPoint? Remote { get; } = remote;
    /// <summary>Cancelled once the session is over: the reader stops waiting for frames.</summary>
    public CancellationToken Closed => _closed.Token;
    public bool IsClosing { get { lock (_lock) return _closing; } }
    public bool Overflowed { get; private set; }

    public bool Enqueue(ReadOnlySpan<byte> frame)
    {
        lock (_lock)
        {
            if (_closing) return false;
            int needed = _pendingLength + frame.Length;
            if (needed > maxQueuedBytes)
            {
                Overflowed = true;
                _closing = true;
                _signal.Release();
                return false;
            }
            if (needed > _pending.Length) Array.Resize(ref _pending, Math.Min(maxQueuedBytes, Math.Max(needed, _pending.Length * 2)));
            frame.CopyTo(_pending.AsSpan(_pendingLength));
            bool wasEmpty = _pendingLength == 0;
            _pendingLength = needed;
            if (wasEmpty) _signal.Release();
            return true;
        }
    }

    /// <summary>No more frames are accepted; those queued are still sent, then the connection closes.</summary>
    public void CloseAfterFlush()
    {
        lock (_lock)
        {
            if (_closing) return;
            _closing = true;
            _signal.Release();
        }
    }

    public async Task WriteLoop()
    {
        try
        {
            while (true)
            {
                await _signal.WaitAsync().ConfigureAwait(false);
                int n;
                bool closing;
                lock (_lock)
                {
                    (_pending, _writing) = (_writing, _pending);
                    n = _pendingLength;
                    _pendingLength = 0;
                    closing = _closing;
                }
                if (n > 0 && !Overflowed)
                {
                    await stream.WriteAsync(_writing.AsMemory(0, n)).ConfigureAwait(false);
                    await stream.FlushAsync().ConfigureAwait(false);
                }
                if (closing) return;
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or NotSupportedException or InvalidOperationException)
        {
            // The connection broke; the reader notices too.
        }
        finally
        {
            lock (_lock) _closing = true;
            _closed.Cancel();
        }
    }
}
