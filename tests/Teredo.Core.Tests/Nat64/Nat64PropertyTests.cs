using FsCheck;
using FsCheck.Xunit;
using Teredo.Nat64;
using Teredo.Net;
using Teredo.Tests.Support;
using Teredo.Wire;
using static Teredo.Tests.Support.Nat64Packets;

namespace Teredo.Tests.Nat64;

/// <summary>No byte string makes the translator throw, and every input ends in exactly one outcome counter.</summary>
public class Nat64PropertyTests
{
    private static Nat64Translator Make()
    {
        var options = new Nat64Options
        {
            Prefix = Prefix,
            TranslatorIpv4 = Ipv4Address.Parse("192.0.2.1"),
            TranslatorIpv6 = Ipv6Address.Parse("2001:db8:1::1"),
            UdpChecksumMode = UdpChecksumMode.Calculate,
            RefuseNonGlobalIpv4Destinations = true,
            IcmpErrorsPerSecond = 0,
        };
        var map = new Nat64AddressMap(options);
        map.AddExplicit(Host4, 32, Host6, 128);
        map.SetDynamicPool(Ipv4Address.Parse("198.18.0.0"), 24, capacity: 16);
        return new Nat64Translator(options, map);
    }

    /// <summary>Valid packets of every kind the translator handles, for mutation to reach deep paths.</summary>
    private static readonly byte[][] Seeds =
    [
        Ipv6(Host6, Server6, IpProtocol.Udp, Udp(1, 2, new byte[40])),
        Ipv6(Host6, Server6, IpProtocol.Tcp, Tcp(1, 2, new byte[40])),
        Ipv6(Host6, Server6, IpProtocol.Icmpv6, Icmp(Icmpv6Type.EchoRequest, 0, 1, new byte[16])),
        Ipv6(Host6, Server6, IpProtocol.Icmpv6, Icmp(Icmpv6Type.DestinationUnreachable, 4, 0x10000000,
            [.. Ipv6(Server6, Host6, IpProtocol.Udp, Udp(2, 1, new byte[200])), .. new byte[8]])),
        Ipv6(Host6, Server6, IpProtocol.Udp, Udp(1, 2, new byte[40]), extensions: [60, 0, 1, 4, 0, 0, 0, 0, 44, 0, 1, 4, 0, 0, 0, 0, 17, 0, 0, 1, 0, 0, 0, 5], firstHeader: 0),
        Ipv4(Server4, Host4, IpProtocol.Udp, Udp(1, 2, new byte[40])),
        Ipv4(Server4, Host4, IpProtocol.Tcp, Tcp(1, 2, new byte[1400]), dontFragment: false),
        Ipv4(Server4, Host4, IpProtocol.Icmp, Icmp(Icmpv4Type.EchoRequest, 0, 1, new byte[16])),
        Ipv4(Server4, Host4, IpProtocol.Icmp, Icmp(Icmpv4Type.DestinationUnreachable, 4, 0x00200000,
            [.. Ipv4(Host4, Server4, IpProtocol.Udp, Udp(2, 1, new byte[100])), .. new byte[8]])),
        Ipv4(Server4, Host4, IpProtocol.Udp, Udp(1, 2, new byte[40]), options: [131, 7, 4, 1, 2, 3, 4, 0]),
    ];

    [Property(MaxTest = 3000)]
    public bool Random_bytes_never_throw_and_counters_add_up(byte[] bytes, bool asIpv6)
    {
        bytes ??= [];
        var t = Make();
        var sink = new TranslationSink();
        // Give random bytes a plausible version nibble, or nearly nothing passes the first check.
        if (bytes.Length > 0) bytes[0] = (byte)((asIpv6 ? 0x60 : 0x40) | bytes[0] & 0x0F);
        if (asIpv6) t.FromIpv6(0, bytes, sink);
        else t.FromIpv4(0, bytes, sink);
        return t.Counters.OutcomeTotal == 1;
    }

    [Property(MaxTest = 5000)]
    public bool Mutated_packets_never_throw_and_counters_add_up(int seed, byte[] noise, NonNegativeInt cut)
    {
        var random = new Random(seed);
        byte[] packet = (byte[])Seeds[random.Next(Seeds.Length)].Clone();
        foreach (byte b in noise ?? [])
            packet[random.Next(packet.Length)] ^= b;
        if (cut.Get % 4 == 0) packet = packet[..Math.Max(0, packet.Length - cut.Get % 64)];
        var t = Make();
        var sink = new TranslationSink();
        if (packet.Length > 0 && packet[0] >> 4 == 6) t.FromIpv6(random.Next(), packet, sink);
        else t.FromIpv4(random.Next(), packet, sink);
        // Whatever came out is a whole IP packet of the version its first nibble says.
        foreach (var o in sink.Take())
            if (!(o[0] >> 4 == 6 ? Ipv6Packet.TryParse(o, out _) : Ipv4Packet.TryParse(o, out _))) return false;
        return t.Counters.OutcomeTotal == 1;
    }
}
