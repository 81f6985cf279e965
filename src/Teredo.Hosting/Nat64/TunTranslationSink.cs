using Teredo.Hosting.Sockets;
using Teredo.Hosting.Tun;
using Teredo.Nat64;

namespace Teredo.Hosting.Nat64;

/// <summary>
/// Collects the translator's output for one batch in preallocated slots, so the translator runs under
/// the daemon's lock while the write(2) calls happen after it is released. An output larger than a slot
/// (an MTU raised after start) goes through one spare buffer and is written at once; a full batch is
/// flushed early. Nothing here allocates per packet.
/// </summary>
public sealed class TunTranslationSink : ITranslationSink, IDisposable
{
    public const int LargestPacket = 65535;

    private readonly UdpBatch _out;
    private readonly ITunDevice _tun;
    private readonly byte[] _spare = new byte[LargestPacket];
    private bool _inSpare;
    private long _writeErrors;
    private long _written;

    public TunTranslationSink(ITunDevice tun, int batchSize, int slotSize)
    {
        _tun = tun;
        _out = new UdpBatch(batchSize, slotSize);
    }

    /// <summary>Packets the TUN refused (device gone or queue full).</summary>
    public long WriteErrors => Interlocked.Read(ref _writeErrors);

    public long Written => Interlocked.Read(ref _written);

    public Span<byte> Reserve(int maxLength)
    {
        if (maxLength > _out.SlotSize)
        {
            _inSpare = true;
            return _spare;
        }
        _inSpare = false;
        if (_out.IsFull) Flush();
        return _out.Next();
    }

    public void Commit(int length)
    {
        if (_inSpare)
        {
            _inSpare = false;
            Write(_spare.AsSpan(0, length));
            return;
        }
        _out.Commit(length, default);
    }

    /// <summary>Writes every collected packet to the TUN, in order.</summary>
    public void Flush()
    {
        for (int i = 0; i < _out.Count; i++) Write(_out.Committed(i));
        _out.Clear();
    }

    private void Write(ReadOnlySpan<byte> packet)
    {
        if (_tun.TryWrite(packet)) Interlocked.Increment(ref _written);
        else Interlocked.Increment(ref _writeErrors);
    }

    public void Dispose() => _out.Dispose();
}
