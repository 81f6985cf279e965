using Teredo.Hosting.Nat64;
using Teredo.Net;
using Teredo.Wire;

namespace Teredo.Tests.Nat64Daemon;

public class MulticastFilterTests
{
    private static byte[] V6(string destination)
    {
        var p = new byte[48];
        new Ipv6Header(Ipv6Address.Parse("fe80::1"), Ipv6Address.Parse(destination), IpProtocol.Icmpv6, 8, 1).Emit(p);
        return p;
    }

    private static byte[] V4(Ipv4Address destination)
    {
        var p = new byte[28];
        new Ipv4Header(new Ipv4Address(10, 0, 0, 1), destination, IpProtocol.Udp, 8).Emit(p);
        return p;
    }

    [Theory]
    [InlineData("ff02::16", true)]      // MLDv2 reports, sent by the kernel when the TUN comes up
    [InlineData("ff0e::1", true)]
    [InlineData("2001:db8:64::c612:64", false)]
    public void Ipv6_multicast_is_recognised(string destination, bool multicast) =>
        Assert.Equal(multicast, MulticastFilter.IsMulticast(V6(destination)));

    [Theory]
    [InlineData(224, 0, 0, 22, true)]   // IGMPv3 reports
    [InlineData(239, 255, 255, 250, true)]
    [InlineData(255, 255, 255, 255, true)]
    [InlineData(198, 18, 0, 100, false)]
    [InlineData(240, 0, 0, 1, false)]
    public void Ipv4_multicast_and_broadcast_are_recognised(byte a, byte b, byte c, byte d, bool multicast) =>
        Assert.Equal(multicast, MulticastFilter.IsMulticast(V4(new Ipv4Address(a, b, c, d))));
}
