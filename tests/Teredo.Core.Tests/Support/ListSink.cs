using Teredo.Common;
using Teredo.Net;

namespace Teredo.Tests.Support;

/// <summary>An <see cref="IPacketSink"/> that keeps every packet, for assertions.</summary>
public sealed class ListSink : IPacketSink
{
    private byte[] _scratch = new byte[65536];

    public List<(PacketRoute Route, Ipv4Endpoint To, byte[] Bytes)> Packets { get; } = [];

    public Span<byte> Reserve(int maxLength)
    {
        if (_scratch.Length < maxLength) _scratch = new byte[maxLength];
        return _scratch;
    }

    public void Commit(PacketRoute route, Ipv4Endpoint to, int length) => Packets.Add((route, to, _scratch[..length]));

    public List<(PacketRoute Route, Ipv4Endpoint To, byte[] Bytes)> Take()
    {
        var taken = Packets.ToList();
        Packets.Clear();
        return taken;
    }
}
