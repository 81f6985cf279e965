using System.Buffers.Binary;
using Teredo.Addressing;
using Teredo.Common;
using Teredo.Net;
using Teredo.P2p.Control;
using Teredo.P2p.Ipv4Peer;
using Teredo.Tests.Support;
using Teredo.Wire;

namespace Teredo.Tests.P2p.Ipv4Peer;

/// <summary>An IPv4 peer engine welcomed by coordinator S with a static address, and the packets of one ping through it.</summary>
public sealed class Ipv4PeerHarness
{
    public static readonly Ipv4Address Coordinator = new(198, 18, 0, 1);
    public static readonly Ipv4Address Local = new(10, 0, 0, 2);
    public static readonly Ipv4Endpoint RelayAt = new(new Ipv4Address(198, 18, 0, 30), 3545);
    public static readonly Ipv6Address RelayNonce = Ipv6Address.Parse("fe80::8000:5445:5245:444f");
    /// <summary>The IPv6 peer's pool address a user is seen as.</summary>
    public static readonly Ipv6Address User = Ipv6Address.Parse("2001:db8:6::17");
    public static readonly Ipv4Address Host4 = new(198, 18, 0, 100);
    public const uint StaticSuffix = 0x1234;

    public Ipv4PeerHarness(Func<Ipv4PeerOptions, Ipv4PeerOptions>? configure = null, bool welcome = true)
    {
        var options = new Ipv4PeerOptions { LocalAddress = Local, AllowedDestinations = [(new Ipv4Address(198, 18, 0, 0), 15)] };
        Engine = new Ipv4PeerEngine(configure?.Invoke(options) ?? options);
        if (welcome) Engine.OnWelcome(Now, Welcome);
    }

    public Ipv4PeerEngine Engine { get; }
    public ListSink Sink { get; } = new();
    public long Now { get; set; } = 1_000_000;

    public static WelcomeMessage Welcome => new(1, Coordinator, CoordinatorAddress.Prefix(Coordinator).Upper,
        StaticAddress, StaticSuffix, 300, 15, 60, 1000);

    public static Ipv6Address StaticAddress => CoordinatorAddress.Static(Coordinator, Local, StaticSuffix).ToIpv6();

    public static Ipv6Address T(Ipv4Address destination) => CoordinatorAddress.Dynamic(Coordinator, destination).ToIpv6();

    public void Lease(Ipv4Address destination, ushort idleSeconds = 30) =>
        Engine.OnLeaseGranted(Now, new LeaseGranted(T(destination), idleSeconds, []), Sink);

    /// <summary>An ICMPv6 echo request from <see cref="User"/> to <paramref name="to"/>, as a relay forwards it over UDP.</summary>
    public static byte[] EchoRequest(Ipv6Address to, ushort sequence = 1, Ipv6Address? from = null, int dataLength = 8)
    {
        var buffer = new byte[Ipv6Packet.HeaderLength + 8 + dataLength];
        var data = new byte[dataLength];
        for (int i = 0; i < data.Length; i++) data[i] = (byte)i;
        int n = Icmpv6Echo.Emit(buffer, from ?? User, to, true, 0x77, sequence, data);
        return buffer[..n];
    }

    /// <summary>What the IPv4 host answers to a translated echo request: the reply, addresses swapped.</summary>
    public static byte[] EchoReplyTo(byte[] request)
    {
        Assert.True(Ipv4Packet.TryParse(request, out var ip));
        var icmp = request.AsSpan(ip.HeaderLength).ToArray();
        icmp[0] = 0; // echo reply
        icmp[2] = icmp[3] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(icmp.AsSpan(2), Checksum.Compute(icmp));
        var reply = new byte[Ipv4Header.Length + icmp.Length];
        new Ipv4Header(ip.Destination, ip.Source, IpProtocol.Icmp, (ushort)icmp.Length).Emit(reply);
        icmp.CopyTo(reply, Ipv4Header.Length);
        return reply;
    }

    public void FromRelay(byte[] ipv6, Ipv4Endpoint? relay = null) => Engine.OnDatagram(Now, Ipv4PeerEngine.UdpPort, relay ?? RelayAt, ipv6, Sink);

    public List<(OutputRoute Route, Ipv4Endpoint To, byte[] Bytes)> Take() => Sink.Take();
}
