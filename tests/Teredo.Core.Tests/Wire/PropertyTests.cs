using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Teredo.Addressing;
using Teredo.Net;
using Teredo.Wire;

namespace Teredo.Tests.Wire;

/// <summary>parse(emit(x)) == x for every format, and no byte string makes a parser throw.</summary>
public class PropertyTests
{
    [Property(MaxTest = 2000)]
    public bool Parsers_never_throw(byte[] bytes)
    {
        if (bytes is null) return true;
        ReadOnlySpan<byte> span = bytes;
        TeredoDatagram.TryParse(span, out var d);
        Ipv6Packet.TryParse(span, out var ip6);
        Ipv4Packet.TryParse(span, out var ip4);
        if (ip4.Bytes.Length > 0) ip4.VerifyHeaderChecksum();
        UdpDatagram.TryParse(span, out _);
        TeredoOriginIndication.TryParse(span, out _);
        TeredoAuthentication.TryParse(span, out _);
        TeredoAuthenticator.Verify(span, "k"u8);
        if (Icmpv6Packet.TryParse(span, out var icmp))
        {
            RouterAdvertisement.TryParse(icmp, out _);
            RouterSolicitation.IsValid(icmp);
            Icmpv6Echo.TryParse(icmp, out _);
            Icmpv6DestinationUnreachable.TryParse(icmp, out _, out _);
            icmp.VerifyChecksum(Ipv6Address.Unspecified, Ipv6Address.Unspecified);
        }
        return true;
    }

    [Property(MaxTest = 2000)]
    public bool Parsers_never_throw_on_mutated_captures(int seed, byte[] noise)
    {
        // Random bytes rarely get past the first check; flipping bytes of real packets reaches deeper.
        var random = new Random(seed);
        byte[][] captures = [CapturedPackets.RouterAdvertisement, CapturedPackets.RouterSolicitation,
            CapturedPackets.IndirectBubble, CapturedPackets.ConnectivityTestEcho];
        byte[] packet = CapturedPackets.TeredoPayload(captures[random.Next(captures.Length)]);
        foreach (byte b in noise ?? [])
            packet[random.Next(packet.Length)] ^= b;
        if (TeredoDatagram.TryParse(packet, out var d) == TeredoParseError.None && Icmpv6Packet.TryParse(d.Ipv6, out var icmp))
        {
            RouterAdvertisement.TryParse(icmp, out _);
            Icmpv6Echo.TryParse(icmp, out _);
            icmp.VerifyChecksum(d.Ipv6.Source, d.Ipv6.Destination);
        }
        return true;
    }

    [Property]
    public bool Origin_indication_round_trips(uint address, ushort port)
    {
        var origin = new Ipv4Endpoint(new Ipv4Address(address), port);
        Span<byte> b = stackalloc byte[8];
        TeredoOriginIndication.Emit(b, origin);
        return TeredoOriginIndication.TryParse(b, out var parsed) && parsed == origin;
    }

    [Property]
    public bool Teredo_address_round_trips(uint server, ushort flags, uint mapped, ushort port)
    {
        var endpoint = new Ipv4Endpoint(new Ipv4Address(mapped), port);
        var a = TeredoAddress.Create(new Ipv4Address(server), new TeredoFlags(flags), endpoint);
        var again = new TeredoAddress(Ipv6Address.Parse(a.ToString()));
        return again.Server.Value == server && again.Flags.Value == flags && again.Mapped == endpoint;
    }

    [Property]
    public bool Rfc6052_round_trips(ulong upper, ulong lower, uint v4, ulong suffix, byte pick)
    {
        int[] lengths = [32, 40, 48, 56, 64, 96];
        int length = lengths[pick % lengths.Length];
        int bits = Ipv4EmbeddedIpv6.SuffixBits(length);
        ulong s = bits == 0 ? 0 : bits >= 64 ? suffix : suffix & ((1UL << bits) - 1);
        var embedded = Ipv4EmbeddedIpv6.Embed(new Ipv6Address(upper, lower), length, new Ipv4Address(v4), s);
        return Ipv4EmbeddedIpv6.TryExtract(embedded, length, out var back, out ulong sBack)
            && back.Value == v4 && sBack == s && embedded.IsIn(new Ipv6Address(upper, lower), length);
    }

    [Property]
    public bool Ipv6_header_round_trips(ulong su, ulong sl, ulong du, ulong dl, byte next, ushort length, byte hop, byte tc, uint flow)
    {
        var h = new Ipv6Header(new Ipv6Address(su, sl), new Ipv6Address(du, dl), next, length, hop, tc, flow & 0xFFFFF);
        var buffer = new byte[40 + length];
        h.Emit(buffer);
        return Ipv6Packet.TryParse(buffer, out var p) && p.ToHeader() == h;
    }

    [Property]
    public bool Router_advertisement_round_trips(byte hop, bool m, bool o, ushort life, uint reach, uint retrans,
        bool withPrefix, ulong prefixUpper, byte prefixLength, bool onLink, bool auto, uint valid, uint preferred, bool withMtu, uint mtu)
    {
        var ra = new RouterAdvertisement(hop, m, o, life, reach, retrans,
            withPrefix ? new PrefixInformation(new Ipv6Address(prefixUpper, 0), (byte)(prefixLength % 129), onLink, auto, valid, preferred) : null,
            withMtu ? mtu : null);
        var src = Ipv6Address.Parse("fe80::8000:f227:39ed:37fe");
        var buffer = new byte[128];
        int n = ra.Emit(buffer, src, Ipv6Address.AllNodes);
        return Ipv6Packet.TryParse(buffer.AsSpan(0, n), out var ip) && Icmpv6Packet.TryParse(ip, out var icmp)
            && icmp.VerifyChecksum(src, Ipv6Address.AllNodes) && RouterAdvertisement.TryParse(icmp, out var parsed) && parsed == ra;
    }

    [Property]
    public bool Authentication_round_trips(byte[] clientId, byte auLength, ulong nonce, byte confirmation)
    {
        clientId ??= [];
        if (clientId.Length > 255) clientId = clientId[..255];
        var buffer = new byte[600];
        int n = TeredoAuthentication.Emit(buffer, clientId, auLength, nonce, confirmation);
        return TeredoAuthentication.TryParse(buffer.AsSpan(0, n), out var a) && a.Length == n
            && a.ClientId.SequenceEqual(clientId) && a.AuthenticationValue.Length == auLength
            && a.Nonce == nonce && a.Confirmation == confirmation;
    }

    [Property]
    public bool Checksum_of_data_with_its_checksum_is_zero(byte[] data)
    {
        data ??= [];
        byte[] even = data.Length % 2 == 0 ? data : [.. data, 0];
        ushort c = Checksum.Compute(even);
        byte[] withSum = [.. even, (byte)(c >> 8), (byte)c];
        return Checksum.Compute(withSum) == 0;
    }
}
