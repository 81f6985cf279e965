using FsCheck.Xunit;
using Teredo.Net;
using Teredo.P2p.Ipv6Peer;
using Teredo.Wire;
using static Teredo.Tests.P2p.Ipv6PeerPackets;

namespace Teredo.Tests.P2p;

/// <summary>The incremental checksum update agrees with a full recomputation for any addresses and payload.</summary>
public class AddressRewriteProperties
{
    [Property(MaxTest = 1000)]
    public bool Rewritten_udp_and_tcp_keep_a_valid_checksum(ulong s1, ulong s2, ulong d1, ulong d2, ulong n1, ulong n2, ulong m1, ulong m2, byte length, bool tcp)
    {
        var source = new Ipv6Address(s1, s2);
        var destination = new Ipv6Address(d1, d2);
        byte[] packet = tcp ? Tcp(source, destination) : Udp(source, destination, payload: length);
        Assert.True(Ipv6ExtensionHeaders.TryWalk(packet, out var headers));
        AddressRewrite.Apply(packet, headers, new Ipv6Address(n1, n2), new Ipv6Address(m1, m2), 0, 0, out _, out _);
        return ChecksumValid(packet) && Ipv6Address.Read(packet.AsSpan(8)) == new Ipv6Address(n1, n2);
    }

    [Property(MaxTest = 1000)]
    public bool A_rewritten_error_and_its_quote_both_verify(ulong a, ulong b, ulong c, ulong d, int cut)
    {
        var inner = Udp(new Ipv6Address(a, b), new Ipv6Address(c, d), payload: 64);
        int quote = Ipv6Packet.HeaderLength + UdpDatagram.HeaderLength + Math.Abs(cut % 65);
        var error = Error(RelayAddr, new Ipv6Address(a, b), Icmpv6Type.PacketTooBig, 0, 1280, inner, quote);
        Assert.True(Ipv6ExtensionHeaders.TryWalk(error, out var outer));
        var innerSpan = error.AsSpan(Ipv6Packet.HeaderLength + 8);
        Assert.True(Ipv6ExtensionHeaders.TryWalk(innerSpan, out var innerHeaders, truncatedOk: true));
        AddressRewrite.Apply(innerSpan, innerHeaders, new Ipv6Address(c ^ 1, d), new Ipv6Address(a, b ^ 7), 0, 0, out ulong removed, out ulong added);
        AddressRewrite.Apply(error, outer, RelayAddr, new Ipv6Address(c ^ 1, d), removed, added, out _, out _);
        // The quote is whole only when nothing was cut; its checksum is checked then.
        return ChecksumValid(error) && (quote < inner.Length || ChecksumValid(innerSpan));
    }
}
