namespace Teredo.Tests;

/// <summary>
/// Packets captured with tcpdump in a namespace lab: miredo 1.2.6 (client) qualifying against
/// miredo-server 1.2.6 at 198.18.200.1/.2, the client at 198.18.200.10 with no NAT between them.
/// IPv4 and UDP checksums were computed by the Linux kernel (transmit offload off), ICMPv6 checksums by Miredo: both are
/// independent of this project's code. Captures/capture-miredo.sh makes them again.
/// </summary>
public static class CapturedPackets
{
    /// <summary>Router Solicitation with an empty authentication encapsulation (nonce a8a8a7bc6f60d02f).</summary>
    public static byte[] RouterSolicitation => Convert.FromHexString(
        "45000059463a000040111829c612c80ac612c8019c500dd80045e37800010000a8a8a7bc6f60d02f0060" +
        "00000000083afffe800000000000000000ffffffffffffff02000000000000000000000000000285007d" +
        "3700000000");

    /// <summary>The server's Router Advertisement: authentication (nonce echoed), origin indication
    /// 198.18.200.10:40016, prefix 2001:0:c612:c801::/64, MTU 1280.</summary>
    public static byte[] RouterAdvertisement => Convert.FromHexString(
        "45000091978800004011c6a2c612c801c612c80a0dd89c50007d513300010000a8a8a7bc6f60d02f0000" +
        "0063af39ed37f56000000000383afffe800000000000008000f22739ed37fefe800000000000000000ff" +
        "ffffffffff8600954c0000000000000000000007d003044040ffffffffffffffff0000000020010000c6" +
        "12c80100000000000000000501000000000500");

    /// <summary>An indirect bubble from the client's nonce-bearing link-local address to a Teredo peer, sent to the server.</summary>
    public static byte[] IndirectBubble => Convert.FromHexString(
        "45000044464f000040111829c612c80ac612c8019c500dd80030785c6000000000003b00fe8000000000" +
        "00005016d142bbd4323120010000c612c8010000f7ff39ed37f4");

    /// <summary>The direct IPv6 connectivity test: an echo request to 2001:db8::1 carrying a random nonce, sent to the server.</summary>
    public static byte[] ConnectivityTestEcho => Convert.FromHexString(
        "4500005e466b0000401117f3c612c80ac612c8019c500dd8004a9eb960000000001a3a8020010000c612" +
        "c801006763af39ed37f520010db80000000000000000000000018000235d1407f2506b06f0a8b11bbe76" +
        "6f495358bd2e57060215");

    public const int Ipv4HeaderLength = 20;
    public const int UdpHeaderLength = 8;

    /// <summary>The UDP payload (the Teredo datagram) of a captured packet.</summary>
    public static byte[] TeredoPayload(byte[] packet) => packet[(Ipv4HeaderLength + UdpHeaderLength)..];
}
