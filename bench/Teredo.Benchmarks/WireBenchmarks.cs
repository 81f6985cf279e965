using BenchmarkDotNet.Attributes;
using Teredo.Net;
using Teredo.Wire;

namespace Teredo.Benchmarks;

/// <summary>
/// Per-packet costs of the wire layer on the paths every role runs: classifying a received Teredo
/// datagram, building a bubble, and checksumming a full-MTU packet. Goal: zero bytes allocated.
/// </summary>
[MemoryDiagnoser]
public class WireBenchmarks
{
    // Miredo-server's Router Advertisement (authentication + origin indication + RA), captured in the lab.
    private static readonly byte[] RaPayload = Convert.FromHexString(
        "00010000a8a8a7bc6f60d02f00000063af39ed37f56000000000383afffe800000000000008000f22739ed37fe" +
        "fe800000000000000000ffffffffffff8600954c0000000000000000000007d003044040ffffffffffffffff" +
        "0000000020010000c612c80100000000000000000501000000000500");

    private readonly byte[] _dataPacket = new byte[Ipv6Packet.MinimumMtu];
    private readonly byte[] _bubble = new byte[Bubble.Length];
    private static readonly Ipv6Address Source = Ipv6Address.Parse("fe80::5016:d142:bbd4:3231");
    private static readonly Ipv6Address Target = Ipv6Address.Parse("2001:0:c612:c801:0:f7ff:39ed:37f4");
    private static readonly Ipv4Address Source4 = new(192, 0, 2, 10);
    private static readonly Ipv4Address Target4 = new(203, 0, 113, 7);

    [GlobalSetup]
    public void Setup()
    {
        new Ipv6Header(Target, Source, IpProtocol.Udp, Ipv6Packet.MinimumMtu - 40).Emit(_dataPacket);
        new Random(1).NextBytes(_dataPacket.AsSpan(40));
    }

    /// <summary>What a client does with each RA: classify the UDP payload, read the origin, parse and check the RA.</summary>
    [Benchmark]
    public uint ClassifyAndParseRouterAdvertisement()
    {
        if (TeredoDatagram.TryParse(RaPayload, out var d) != TeredoParseError.None) return 0;
        if (!Icmpv6Packet.TryParse(d.Ipv6, out var icmp) || !icmp.VerifyChecksum(d.Ipv6.Source, d.Ipv6.Destination)) return 0;
        return RouterAdvertisement.TryParse(icmp, out var ra) ? ra.Mtu.GetValueOrDefault() + d.Origin.Port : 0;
    }

    /// <summary>What a relay does with each data packet: classify, read both addresses.</summary>
    [Benchmark]
    public bool ClassifyDataPacket()
    {
        return TeredoDatagram.TryParse(_dataPacket, out var d) == TeredoParseError.None
            && d.Ipv6.Destination.IsLinkLocal && !d.Ipv6.Source.IsMulticast;
    }

    [Benchmark]
    public int BuildBubble() => Bubble.Emit(_bubble, Source, Target);

    [Benchmark]
    public ushort ChecksumFullMtu() => Checksum.Compute(_dataPacket);

    /// <summary>
    /// A translator's UDP checksum for a full-MTU datagram moved from IPv6 to IPv4, summed anew over the new
    /// pseudo-header and the whole datagram: what RFC 1624's update replaces.
    /// </summary>
    [Benchmark]
    public ushort TranslateChecksumRecomputed()
    {
        var udp = _dataPacket.AsSpan(Ipv6Packet.HeaderLength);
        var writer = new UdpDatagramWriter(udp);
        ushort saved = writer.Checksum;
        writer.Checksum = 0;
        ushort sum = Checksum.Finish(Checksum.Add(Checksum.Ipv4PseudoHeader(Source4, Target4, IpProtocol.Udp, (ushort)udp.Length), udp));
        writer.Checksum = saved;
        return sum;
    }

    /// <summary>The same checksum by RFC 1624 from the pseudo-header difference: independent of the payload size.</summary>
    [Benchmark]
    public ushort TranslateChecksumIncremental()
    {
        var (removed, added) = Checksum.PseudoHeaderChange(Target, Source, Source4, Target4);
        return Checksum.UpdateUdp(new UdpDatagramWriter(_dataPacket.AsSpan(Ipv6Packet.HeaderLength)).Checksum, removed, added);
    }

    /// <summary>Baseline for the checksum: the textbook RFC 1071 loop over 16-bit words.</summary>
    [Benchmark(Baseline = true)]
    public ushort ChecksumFullMtuTextbook()
    {
        uint sum = 0;
        var data = _dataPacket;
        for (int i = 0; i + 1 < data.Length; i += 2)
            sum += (uint)(data[i] << 8 | data[i + 1]);
        while (sum >> 16 != 0) sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)~sum;
    }
}
