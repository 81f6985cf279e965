using Teredo.Net;
using Teredo.Wire;

namespace Teredo.Tests.Simulation;

/// <summary>
/// A minimal IPv6 stack: a native host on the IPv6 Internet, or the stack behind a Teredo client's TUN.
/// It answers echo requests to its address, records everything it receives, and sends pings. Its
/// <see cref="Uplink"/> is where its packets go (the IPv6 Internet, or the client's device).
/// </summary>
public sealed class Ipv6Host(string name, Ipv6Address address) : IIpv6Receiver
{
    /// <summary>The identifier of this stack's echo requests.</summary>
    public const ushort EchoIdentifier = 0x5151;

    public string Name { get; } = name;
    /// <summary>Its address; a Teredo client's stack gets it when the client qualifies (unspecified until then).</summary>
    public Ipv6Address Address { get; set; } = address;
    public IIpv6Receiver? Uplink { get; set; }
    public List<byte[]> Received { get; } = [];
    /// <summary>(from, sequence) of every echo reply that reached this host.</summary>
    public List<(Ipv6Address From, ushort Sequence)> EchoReplies { get; } = [];
    public int EchoRequestsAnswered { get; private set; }

    public void Ping(Ipv6Address to, ushort sequence)
    {
        var buffer = new byte[Ipv6Packet.HeaderLength + Icmpv6Echo.HeaderLength + 8];
        int length = Icmpv6Echo.Emit(buffer, Address, to, request: true, EchoIdentifier, sequence, "teredo!!"u8);
        Send(buffer.AsSpan(0, length).ToArray());
    }

    /// <summary>Whether an echo reply with <paramref name="sequence"/> came back from <paramref name="from"/>.</summary>
    public bool GotReply(Ipv6Address from, ushort sequence) => EchoReplies.Contains((from, sequence));

    public void Receive(byte[] packet)
    {
        Received.Add(packet);
        if (!Ipv6Packet.TryParse(packet, out var ip) || ip.Destination != Address || !Icmpv6Packet.TryParse(ip, out var icmp)
            || !icmp.VerifyChecksum(ip.Source, ip.Destination) || !Icmpv6Echo.TryParse(icmp, out var echo))
            return;
        if (!echo.IsRequest)
        {
            EchoReplies.Add((ip.Source, echo.Sequence));
            return;
        }
        var reply = new byte[Ipv6Packet.HeaderLength + Icmpv6Echo.HeaderLength + echo.Data.Length];
        int length = Icmpv6Echo.Emit(reply, Address, ip.Source, request: false, echo.Identifier, echo.Sequence, echo.Data);
        EchoRequestsAnswered++;
        Send(reply.AsSpan(0, length).ToArray());
    }

    private void Send(byte[] packet) =>
        (Uplink ?? throw new InvalidOperationException($"{Name} has no uplink")).Receive(packet);

    public override string ToString() => $"{Name} {Address}";
}
