using Teredo.Net;
using Teredo.Wire;

namespace Teredo.Tests.Wire;

public class NeighborDiscoveryTests
{
    private static Ipv6Packet Ipv6Of(byte[] packet, out byte[] payload)
    {
        payload = CapturedPackets.TeredoPayload(packet);
        Assert.Equal(TeredoParseError.None, TeredoDatagram.TryParse(payload, out var d));
        return d.Ipv6;
    }

    [Fact]
    public void Captured_ra_parses_to_the_teredo_prefix_and_mtu()
    {
        var ip = Ipv6Of(CapturedPackets.RouterAdvertisement, out _);
        Assert.Equal(Ipv6Address.Parse("fe80::8000:f227:39ed:37fe"), ip.Source);
        Assert.Equal(Ipv6Address.Parse("fe80::ffff:ffff:ffff"), ip.Destination);
        Assert.True(Icmpv6Packet.TryParse(ip, out var icmp));
        Assert.True(RouterAdvertisement.TryParse(icmp, out var ra));
        Assert.Equal(2000u, ra.RetransTimer);
        Assert.Equal(0, ra.RouterLifetime);
        Assert.Equal(1280u, ra.Mtu);
        var prefix = Assert.IsType<PrefixInformation>(ra.Prefix);
        Assert.Equal(Ipv6Address.Parse("2001:0:c612:c801::"), prefix.Prefix);
        Assert.Equal(64, prefix.PrefixLength);
        Assert.False(prefix.OnLink);
        Assert.True(prefix.Autonomous);
        Assert.Equal(uint.MaxValue, prefix.ValidLifetime);
    }

    [Fact]
    public void Emitting_the_parsed_ra_reproduces_miredos_bytes()
    {
        var ip = Ipv6Of(CapturedPackets.RouterAdvertisement, out _);
        Assert.True(Icmpv6Packet.TryParse(ip, out var icmp));
        Assert.True(RouterAdvertisement.TryParse(icmp, out var ra));
        var buffer = new byte[ip.TotalLength];
        Assert.Equal(ip.TotalLength, ra.Emit(buffer, ip.Source, ip.Destination));
        Assert.Equal(ip.Bytes.ToArray(), buffer);
    }

    [Fact]
    public void Emitting_an_rs_reproduces_miredos_bytes()
    {
        var ip = Ipv6Of(CapturedPackets.RouterSolicitation, out _);
        var buffer = new byte[RouterSolicitation.PacketLength];
        RouterSolicitation.Emit(buffer, ip.Source, ip.Destination);
        Assert.Equal(ip.Bytes.ToArray(), buffer);
    }

    [Fact]
    public void Emitting_the_echo_reproduces_miredos_connectivity_test()
    {
        var ip = Ipv6Of(CapturedPackets.ConnectivityTestEcho, out _);
        Assert.True(Icmpv6Packet.TryParse(ip, out var icmp));
        Assert.True(Icmpv6Echo.TryParse(icmp, out var echo));
        Assert.True(echo.IsRequest);
        Assert.Equal(18, echo.Data.Length);
        var buffer = new byte[ip.TotalLength];
        Icmpv6Echo.Emit(buffer, ip.Source, ip.Destination, true, echo.Identifier, echo.Sequence, echo.Data, ip.HopLimit);
        Assert.Equal(ip.Bytes.ToArray(), buffer);
    }

    [Fact]
    public void Zero_length_option_invalidates_an_ra()
    {
        var ip = Ipv6Of(CapturedPackets.RouterAdvertisement, out _);
        var message = ip.Payload.ToArray();
        message[16 + 1] = 0; // first option's length
        Assert.True(Icmpv6Packet.TryParse(message, out var icmp));
        Assert.False(RouterAdvertisement.TryParse(icmp, out _));
    }

    [Fact]
    public void Two_prefix_options_are_refused()
    {
        var src = Ipv6Address.Parse("fe80::1");
        var ra = new RouterAdvertisement(0, false, false, 0, 0, 0,
            new PrefixInformation(Ipv6Address.Parse("2001:0:c612:c801::"), 64, false, true, 1, 1), null);
        var buffer = new byte[200];
        int length = ra.Emit(buffer, src, Ipv6Address.AllNodes);
        var message = buffer.AsSpan(40, length - 40).ToArray();
        byte[] doubled = [.. message, .. message.AsSpan(16, 32)];
        Assert.True(Icmpv6Packet.TryParse(doubled, out var icmp));
        Assert.False(RouterAdvertisement.TryParse(icmp, out _));
    }

    [Fact]
    public void Destination_unreachable_quotes_at_most_what_fits_in_1280_bytes()
    {
        var src = Ipv6Address.Parse("2001:db8::1");
        var dst = Ipv6Address.Parse("2001:db8::2");
        var invoking = new byte[1500];
        invoking[0] = 0x60;
        var buffer = new byte[2000];
        int length = Icmpv6DestinationUnreachable.Emit(buffer, src, dst, UnreachableCode.AddressUnreachable, invoking);
        Assert.Equal(1280, length);
        Assert.True(Ipv6Packet.TryParse(buffer.AsSpan(0, length), out var ip));
        Assert.True(Icmpv6Packet.TryParse(ip, out var icmp));
        Assert.True(icmp.VerifyChecksum(src, dst));
        Assert.True(Icmpv6DestinationUnreachable.TryParse(icmp, out var code, out var quoted));
        Assert.Equal(UnreachableCode.AddressUnreachable, code);
        Assert.Equal(1280 - 48, quoted.Length);
    }
}
