using System.Buffers;
using Teredo.P2p.Control;

namespace Teredo.Hosting.P2p;

/// <summary>
/// Splits a control stream into frames without copying them out. A coordinator holds ten thousand of
/// these, almost all idle between keepalives, so an idle reader holds no buffer at all: it waits with a
/// zero-byte read (SslStream then also hands its own record buffer back to the pool, which is most of
/// an idle TLS session's managed memory), rents a buffer from the shared pool when bytes arrive, and
/// returns it once every frame in it was consumed. Used by the coordinator's sessions and by the peer's
/// client.
/// </summary>
public sealed class ControlFrameReader : IDisposable
{
    // Two maximum frames: a partial frame behind a complete one always fits without growing.
    private const int BufferBytes = ControlFrame.MaxFrameBytes * 2;
    private byte[]? _buffer;
    private int _start;
    private int _end;

    /// <summary>Whether a buffer is held (bytes of a partial frame are waiting); for tests and status.</summary>
    public bool HoldsBuffer => _buffer is not null;

    /// <summary>Reads more bytes from <paramref name="stream"/>; false at end of stream.</summary>
    public async ValueTask<bool> FillAsync(Stream stream, CancellationToken cancellationToken)
    {
        // Spans handed out by TryNext point into the buffer; the caller is done with them by now.
        if (_start == _end) Release();
        if (_buffer is null)
        {
            // Nothing pending: wait for data without holding a buffer (SslStream and NetworkStream both
            // complete a zero-byte read when data is readable, without consuming it).
            await stream.ReadAsync(Memory<byte>.Empty, cancellationToken).ConfigureAwait(false);
            _buffer = ArrayPool<byte>.Shared.Rent(BufferBytes);
        }
        else if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        int n = await stream.ReadAsync(_buffer.AsMemory(_end, BufferBytes - _end), cancellationToken).ConfigureAwait(false);
        if (n == 0)
        {
            if (_start == _end) Release();
            return false;
        }
        _end += n;
        return true;
    }

    /// <summary>The next complete frame in the buffer, consumed when <see cref="FrameReadStatus.Complete"/>.</summary>
    public FrameReadStatus TryNext(out ControlMessageType type, out ReadOnlySpan<byte> body)
    {
        if (_buffer is null)
        {
            type = default;
            body = default;
            return FrameReadStatus.NeedMore;
        }
        var status = ControlFrame.TryRead(_buffer.AsSpan(_start, _end - _start), out type, out body, out int consumed);
        if (status == FrameReadStatus.Complete) _start += consumed;
        return status;
    }

    private void Release()
    {
        if (_buffer is not null) ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = null;
        _start = _end = 0;
    }

    /// <summary>Gives the buffer back to the pool; only once no span from <see cref="TryNext"/> is in use.</summary>
    public void Dispose() => Release();
}
