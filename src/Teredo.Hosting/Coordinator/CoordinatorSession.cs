using System.Buffers;
using System.Net;
using System.Net.Sockets;

namespace Teredo.Hosting.Coordinator;

/// <summary>
/// One peer's TLS session as the daemon holds it: a bounded send queue the engine writes frames into
/// (under the engine's lock, without waiting for the network) and a drain that runs on the thread pool
/// only while the queue is not empty. Ten thousand sessions are mostly idle between keepalives, so an
/// idle one holds no buffer, no task and no timer: the queue's buffer is rented from the shared pool on
/// the first frame and returned once written, and the session itself is the pool's work item (queuing it
/// allocates nothing). A peer that does not read fast enough to keep the queue under its bound is
/// dropped instead of growing it.
/// </summary>
internal sealed class CoordinatorSession(long id, Socket socket, Stream stream, EndPoint? remote, int maxQueuedBytes) : IThreadPoolWorkItem
{
    private const int FirstBufferBytes = 256;
    private readonly Lock _lock = new();
    private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private byte[]? _pending;
    private int _pendingLength;
    private bool _draining;
    private bool _closing;

    public long Id { get; } = id;
    public EndPoint? Remote { get; } = remote;
    public bool IsClosing { get { lock (_lock) return _closing; } }
    public bool Overflowed { get; private set; }
    /// <summary>Completes once the queue is flushed after <see cref="CloseAfterFlush"/> (or the connection broke).</summary>
    public Task Finished => _finished.Task;

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
                ScheduleDrain();
                return false;
            }
            if (_pending is null || needed > _pending.Length) Grow(needed);
            frame.CopyTo(_pending.AsSpan(_pendingLength));
            _pendingLength = needed;
            ScheduleDrain();
            return true;
        }
    }

    /// <summary>No more frames are accepted; those queued are still sent, then the connection is shut down.</summary>
    public void CloseAfterFlush()
    {
        lock (_lock)
        {
            if (_closing) return;
            _closing = true;
            ScheduleDrain();
        }
    }

    // Under _lock.
    private void Grow(int needed)
    {
        int size = Math.Min(maxQueuedBytes, Math.Max(needed, _pending is null ? FirstBufferBytes : _pending.Length * 2));
        var bigger = ArrayPool<byte>.Shared.Rent(size);
        if (_pending is not null)
        {
            _pending.AsSpan(0, _pendingLength).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(_pending);
        }
        _pending = bigger;
    }

    // Under _lock.
    private void ScheduleDrain()
    {
        if (_draining) return;
        _draining = true;
        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
    }

    void IThreadPoolWorkItem.Execute() => _ = DrainAsync();

    /// <summary>Writes what is queued until the queue is empty; the one drain of this session at a time.</summary>
    private async Task DrainAsync()
    {
        try
        {
            while (true)
            {
                byte[] writing;
                int n;
                lock (_lock)
                {
                    if (_pendingLength == 0)
                    {
                        if (!_closing)
                        {
                            _draining = false;
                            return;
                        }
                        break;
                    }
                    writing = _pending!;
                    n = _pendingLength;
                    _pending = null;
                    _pendingLength = 0;
                }
                try
                {
                    if (!Overflowed)
                    {
                        await stream.WriteAsync(writing.AsMemory(0, n)).ConfigureAwait(false);
                        await stream.FlushAsync().ConfigureAwait(false);
                    }
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(writing);
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or NotSupportedException or InvalidOperationException or SocketException)
        {
            // The connection broke; shutting it down below makes sure the reader notices too.
        }
        // Closing or broken: nothing more is written (_draining stays set, so no drain is scheduled again)
        // and the reader, waiting in a read with no timer or token of its own, wakes up at the shutdown.
        lock (_lock)
        {
            _closing = true;
            _draining = true;
            if (_pending is not null) ArrayPool<byte>.Shared.Return(_pending);
            _pending = null;
            _pendingLength = 0;
        }
        try { socket.Shutdown(SocketShutdown.Both); }
        catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
        _finished.TrySetResult();
    }
}
