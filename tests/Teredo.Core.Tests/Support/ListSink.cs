using Teredo.Engines;
using Teredo.Net;

namespace Teredo.Tests.Support;

/// <summary>An <see cref="IPacketOutput"/> that keeps every packet, for assertions.</summary>
public sealed class ListSink : IPacketOutput
{
    private byte[] _scratch = new byte[65536];

    public List<(OutputRoute Route, Ipv4Endpoint To, byte[] Bytes)> Packets { get; } = [];

    public Span<byte> Reserve(int maxLength)
    {
        if (_scratch.Length < maxLength) _scratch = new byte[maxLength];
        return _scratch;
    }

    public void Send(PortHandle from, Ipv4Endpoint to, int length) => Packets.Add((OutputRoute.Of(from), to, _scratch[..length]));

    public void Write(DeviceHandle device, int length) => Packets.Add((OutputRoute.Of(device), default, _scratch[..length]));

    public List<(OutputRoute Route, Ipv4Endpoint To, byte[] Bytes)> Take()
    {
        var taken = Packets.ToList();
        Packets.Clear();
        return taken;
    }
}
