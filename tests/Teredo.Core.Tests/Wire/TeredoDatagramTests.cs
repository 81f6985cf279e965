using Teredo.Net;
using Teredo.Wire;

namespace Teredo.Tests.Wire;

public class TeredoDatagramTests
{
    [Fact]
    public void Rfc4380_origin_indication_example()
    {
        // §5.1.1: port 337 and 1.2.3.4 give 0000FEAEFEFDFCFB.
        var origin = new Ipv4Endpoint(new Ipv4Address(1, 2, 3, 4), 337);
        var bytes = new byte[8];
        Assert.Equal(8, TeredoOriginIndication.Emit(bytes, origin));
        Assert.Equal(Convert.FromHexString("0000FEAEFEFDFCFB"), bytes);
        Assert.True(TeredoOriginIndication.TryParse(bytes, out var parsed));
        Assert.Equal(origin, parsed);
    }

    [Fact]
    public void Captured_rs_has_empty_authentication_and_no_origin()
    {
        var payload = CapturedPackets.TeredoPayload(CapturedPackets.RouterSolicitation);
        Assert.Equal(TeredoParseError.None, TeredoDatagram.TryParse(payload, out var d));
        Assert.True(d.HasAuthentication);
        Assert.False(d.HasOrigin);
        var auth = d.Authentication;
        Assert.Equal(13, auth.Length);
        Assert.True(auth.ClientId.IsEmpty);
        Assert.True(auth.AuthenticationValue.IsEmpty);
        Assert.Equal(0xa8a8a7bc6f60d02fUL, auth.Nonce);
        Assert.Equal(0, auth.Confirmation);
        Assert.Equal(Ipv6Address.Parse("fe80::ffff:ffff:ffff"), d.Ipv6.Source);
        Assert.Equal(Ipv6Address.AllRouters, d.Ipv6.Destination);
        Assert.True(Icmpv6Packet.TryParse(d.Ipv6, out var icmp));
        Assert.True(RouterSolicitation.IsValid(icmp));
    }

    [Fact]
    public void Captured_ra_has_authentication_then_origin()
    {
        var payload = CapturedPackets.TeredoPayload(CapturedPackets.RouterAdvertisement);
        Assert.Equal(TeredoParseError.None, TeredoDatagram.TryParse(payload, out var d));
        Assert.True(d.HasAuthentication);
        Assert.Equal(0xa8a8a7bc6f60d02fUL, d.Authentication.Nonce); // echoed from the RS
        Assert.True(d.HasOrigin);
        Assert.Equal(new Ipv4Endpoint(new Ipv4Address(198, 18, 200, 10), 40016), d.Origin);
        Assert.Equal(96, d.Ipv6.TotalLength);
    }

    [Fact]
    public void Captured_bubble_is_a_bubble()
    {
        var payload = CapturedPackets.TeredoPayload(CapturedPackets.IndirectBubble);
        Assert.Equal(TeredoParseError.None, TeredoDatagram.TryParse(payload, out var d));
        Assert.False(d.HasAuthentication);
        Assert.False(d.HasOrigin);
        Assert.True(d.Ipv6.IsBubble);
        Assert.Equal(Ipv6Address.Parse("2001:0:c612:c801:0:f7ff:39ed:37f4"), d.Ipv6.Destination);

        var emitted = new byte[Bubble.Length];
        Bubble.Emit(emitted, d.Ipv6.Source, d.Ipv6.Destination);
        // Miredo sends hop limit 0 in bubbles; everything else matches ours.
        emitted[7] = payload[7];
        Assert.Equal(payload, emitted);
    }

    [Theory]
    [InlineData("", TeredoParseError.Empty)]
    [InlineData("01", TeredoParseError.UnknownEncapsulation)]
    [InlineData("0002", TeredoParseError.UnknownEncapsulation)]
    [InlineData("0001", TeredoParseError.MalformedAuthentication)]
    [InlineData("00010000", TeredoParseError.MalformedAuthentication)]
    [InlineData("00010102000000000000000000", TeredoParseError.MalformedAuthentication)] // lengths run past the end
    [InlineData("0000feae", TeredoParseError.MalformedOriginIndication)]
    [InlineData("0000FEAEFEFDFCFB", TeredoParseError.NotIpv6)]
    [InlineData("0000FEAEFEFDFCFB00010000000000000000000000", TeredoParseError.MisorderedEncapsulation)]
    [InlineData("60000000", TeredoParseError.NotIpv6)]
    public void Malformed_payloads_are_rejected_with_a_reason(string hex, TeredoParseError expected)
    {
        Assert.Equal(expected, TeredoDatagram.TryParse(Convert.FromHexString(hex), out _));
    }

    [Fact]
    public void Payload_length_must_match_the_udp_datagram()
    {
        var payload = CapturedPackets.TeredoPayload(CapturedPackets.IndirectBubble);
        Assert.Equal(TeredoParseError.LengthMismatch, TeredoDatagram.TryParse([.. payload, 0], out _));
        payload[5] = 1; // claims one payload byte that is not there
        Assert.Equal(TeredoParseError.LengthMismatch, TeredoDatagram.TryParse(payload, out _));
    }

    [Fact]
    public void Authentication_with_identifier_and_hmac_signs_and_verifies()
    {
        byte[] key = "shared secret"u8.ToArray();
        byte[] clientId = "client-7"u8.ToArray();
        var buffer = new byte[200];
        int offset = TeredoAuthentication.Emit(buffer, clientId, TeredoAuthentication.HmacSha1Length, 0x0102030405060708, 0);
        offset += TeredoOriginIndication.Emit(buffer.AsSpan(offset), new Ipv4Endpoint(new Ipv4Address(198, 18, 2, 1), 40000));
        offset += RouterSolicitation.Emit(buffer.AsSpan(offset), Ipv6Address.Parse("fe80::ffff:ffff:ffff"), Ipv6Address.AllRouters);
        var datagram = buffer.AsSpan(0, offset);
        TeredoAuthenticator.Sign(datagram, key);

        // The clear text of §5.2.2 is nonce | confirmation | origin | IPv6 packet, computed here independently.
        int authLength = 4 + clientId.Length + 20 + 9;
        byte[] clearText = datagram[(authLength - 9)..].ToArray();
        byte[] expected = System.Security.Cryptography.HMACSHA1.HashData(key, clearText);
        Assert.Equal(expected, datagram.Slice(4 + clientId.Length, 20).ToArray());

        Assert.True(TeredoAuthenticator.Verify(datagram, key));
        Assert.False(TeredoAuthenticator.Verify(datagram, "other secret"u8));
        Assert.Equal(TeredoParseError.None, TeredoDatagram.TryParse(datagram, out var parsed));
        Assert.Equal(clientId, parsed.Authentication.ClientId.ToArray());
        Assert.Equal(0x0102030405060708UL, parsed.Authentication.Nonce);
        Assert.True(parsed.HasOrigin);

        datagram[^1] ^= 1; // tamper with the IPv6 packet
        Assert.False(TeredoAuthenticator.Verify(datagram, key));
    }
}
