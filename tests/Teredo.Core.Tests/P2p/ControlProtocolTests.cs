using Teredo.Net;
using Teredo.P2p.Control;

namespace Teredo.Tests.P2p;

/// <summary>Golden byte vectors for every frame of docs/p2p-protocol.md, both ways.</summary>
public class ControlProtocolTests
{
    internal static byte[] Hex(string text) => Convert.FromHexString(text.Replace(" ", "").Replace("|", ""));

    /// <summary>T(D) for D = 198.18.0.100 in 198.18.0.30's /64.</summary>
    internal static readonly Ipv6Address Target = Ipv6Address.Parse("2001:0:c612:1e:c6:1200:6400:0");
    internal static readonly Ipv6Address Nonce = Ipv6Address.Parse("fe80::8000:f227:bec3:51c4");
    internal static readonly Ipv4Endpoint Relay = new(Ipv4Address.Parse("198.18.0.20"), 3544);
    private const string TargetHex = "20010000c612001e 00c6120064000000";
    private const string NonceHex = "fe80000000000000 8000f227bec351c4";

    private static void Golden<T>(T message, string hex) where T : struct, IControlMessage<T>
    {
        byte[] expected = Hex(hex);
        Assert.Equal(Convert.ToHexString(expected), Convert.ToHexString(ControlFrame.ToArray(message)));
        Assert.True(ControlFrame.TryParse<T>(expected, out var parsed));
        Assert.Equal(message, parsed);
    }

    [Fact]
    public void Hello() => Golden(
        new HelloMessage(1, 1, UInt128.Parse("00112233445566778899aabbccddeeff", System.Globalization.NumberStyles.HexNumber),
            Ipv4Address.Parse("10.3.0.2"), 1000, 0, "ab"),
        "0022 01 | 01 01 | 00112233445566778899aabbccddeeff | 0a030002 | 000003e8 | 00000000 | 02 | 6162");

    [Fact]
    public void Welcome() => Golden(
        new WelcomeMessage(1, Ipv4Address.Parse("198.18.0.30"), 0x20010000c612001e, Ipv6Address.Parse("2001:0:c612:1e:a:300:200:abc"), 0xabc, 300, 15, 60, 1000),
        "002c 02 | 01 | c612001e | 20010000c612001e | 20010000c612001e 000a030002000abc | 00000abc | 012c | 000f | 003c | 000003e8");

    [Fact]
    public void Keepalive() => Golden(new KeepaliveMessage(7), "0005 03 | 00000007");

    [Fact]
    public void Bubble_notification() => Golden(new BubbleNotification(Relay, Nonce, Target),
        $"0027 04 | c6120014 0dd8 | {NonceHex} | {TargetHex}");

    [Fact]
    public void Lease_granted_with_the_relays_it_was_seen_from() => Golden(new LeaseGranted(Target, 30, [new RelaySighting(Relay, Nonce)]),
        $"002a 05 | {TargetHex} | 001e | 01 | c6120014 0dd8 {NonceHex}");

    [Fact]
    public void Lease_granted_fresh() => Golden(new LeaseGranted(Target, 30, []), $"0014 05 | {TargetHex} | 001e | 00");

    [Fact]
    public void Lease_renewed() => Golden(new LeaseRenewed(Target, 300), $"0013 06 | {TargetHex} | 012c");

    [Fact]
    public void Lease_released() => Golden(new LeaseReleased(Target, LeaseEndReason.Idle), $"0012 07 | {TargetHex} | 01");

    [Fact]
    public void Lease_revoked() => Golden(new LeaseRevoked(Target, LeaseEndReason.Moved), $"0012 08 | {TargetHex} | 03");

    [Fact]
    public void Lease_use_report() => Golden(new LeaseUseReport([new LeaseUse(Target, 5, 2)]), $"0018 09 | 01 | {TargetHex} | 00000005 | 0002");

    [Fact]
    public void Goodbye() => Golden(new GoodbyeMessage(GoodbyeReason.Shutdown, "bye"), "0006 0a | 01 | 03 | 627965");

    [Fact]
    public void Error() => Golden(new ErrorMessage(ControlErrorCode.VersionUnsupported, "v1"), "0006 0b | 0003 | 02 | 7631");

    [Theory]
    [InlineData("0000 03")]                      // length 0
    [InlineData("1001 03")]                      // length 4097 > the maximum
    public void Bad_lengths_are_malformed(string hex) =>
        Assert.Equal(FrameReadStatus.Malformed, ControlFrame.TryRead(Hex(hex), out _, out _, out _));

    [Fact]
    public void A_partial_frame_needs_more_and_two_frames_split()
    {
        byte[] two = [.. ControlFrame.ToArray(new KeepaliveMessage(1)), .. ControlFrame.ToArray(new KeepaliveMessage(2))];
        Assert.Equal(FrameReadStatus.NeedMore, ControlFrame.TryRead(two.AsSpan(0, 5), out _, out _, out _));
        Assert.Equal(FrameReadStatus.Complete, ControlFrame.TryRead(two, out var type, out var body, out int consumed));
        Assert.Equal(ControlMessageType.Keepalive, type);
        Assert.Equal(7, consumed);
        Assert.True(KeepaliveMessage.TryParseBody(body, out var first));
        Assert.Equal(1u, first.Sequence);
        Assert.Equal(FrameReadStatus.Complete, ControlFrame.TryRead(two.AsSpan(consumed), out _, out body, out _));
        Assert.True(KeepaliveMessage.TryParseBody(body, out var second));
        Assert.Equal(2u, second.Sequence);
    }

    [Theory]
    [InlineData("0022 01 | 02 01 | 00112233445566778899aabbccddeeff | 0a030002 | 000003e8 | 00000000 | 02 | 6162")] // min > max
    [InlineData("0022 01 | 01 01 | 00112233445566778899aabbccddeeff | 0a030002 | 000003e8 | 00000000 | 03 | 6162")] // token length past the end
    [InlineData("0022 01 | 01 01 | 00112233445566778899aabbccddeeff | 0a030002 | 000003e8 | 00000000 | 02 | c328")] // invalid UTF-8
    [InlineData("0006 03 | 0000000700")]                                                                              // keepalive too long
    [InlineData("0012 07 | 20010000c612001e00c6120064000000 | 09")]                                                   // unknown reason
    [InlineData("0015 05 | 20010000c612001e00c6120064000000 | 001e | 01 | 00")]                                      // relay count past the end
    public void Invalid_bodies_are_refused(string hex)
    {
        byte[] frame = Hex(hex);
        Assert.False(ControlFrame.TryParse<HelloMessage>(frame, out _));
        Assert.False(ControlFrame.TryParse<KeepaliveMessage>(frame, out _));
        Assert.False(ControlFrame.TryParse<LeaseReleased>(frame, out _));
        Assert.False(ControlFrame.TryParse<LeaseGranted>(frame, out _));
    }
}
