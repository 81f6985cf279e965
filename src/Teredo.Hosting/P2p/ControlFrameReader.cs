using Teredo.P2p.Control;

namespace Teredo.Hosting.P2p;

/// <summary>
/// Splits a control stream into frames without copying them out: one buffer, compacted as frames are
/// consumed. It starts small (a coordinator holds ten thousand of them; most frames are under 64 bytes)
/// and grows up to two maximum frames when a longer frame comes. Used by the coordinator's sessions and
/// by the peer's client.
/// </summary>
public sealed class ControlFrameReader
{
    private byte[] _buffer = new byte[512];
    private int _start;
    private int _end;

    /// <summary>Reads more bytes from <paramref name="stream"/>; false at end of stream.</summary>
    public async ValueTask<bool> FillAsync(Stream stream, CancellationToken cancellationToken)
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        if (_end == _buffer.Length && _buffer.Length < ControlFrame.MaxFrameBytes * 2)
            Array.Resize(ref _buffer, Math.Min(_buffer.Length * 2, ControlFrame.MaxFrameBytes * 2));
        int n = await stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
        if (n == 0) return false;
        _end += n;
        return true;
    }

    /// <summary>The next complete frame in the buffer, consumed when <see cref="FrameReadStatus.Complete"/>.</summary>
    public FrameReadStatus TryNext(out ControlMessageType type, out ReadOnlySpan<byte> body)
    {
        var status = ControlFrame.TryRead(_buffer.AsSpan(_start, _end - _start), out type, out body, out int consumed);
        if (status == FrameReadStatus.Complete) _start += consumed;
        return status;
    }
}
