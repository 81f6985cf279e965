using System.Buffers.Binary;
using Teredo.Common;
using Teredo.Net;
using Teredo.P2p.Ipv4Peer;
using Teredo.Tests.Support;
using Teredo.Wire;
using static Teredo.Tests.P2p.Ipv4Peer.Ipv4PeerHarness;

namespace Teredo.Tests.P2p.Ipv4Peer;

/// <summary>
/// Traceroute through the IPv4 peer: ICMPv4 errors from a router beyond it (source R) would translate to
/// source T(R), which no relay maps to this peer; they leave re-sourced from the T(D) the probe was sent to.
/// Vectors written out by hand (checksums computed independently of the code under test).
/// </summary>
public class Ipv4PeerTracerouteTests
{
    /// <summary>User 2001:db8:6::17 port 40000 → T(198.18.0.100) port 33434, hop limit 2, payload "tracert!".</summary>
    private static readonly byte[] Probe = Convert.FromHexString(
        "6000000000101102" + "20010db8000600000000000000000017" + "20010000c612000100c6120064000000" +
        "9c40829a0010a6d8" + "7472616365727421");

    /// <summary>
    /// Router 198.18.0.50 → the pool address 10.255.46.2: time exceeded in transit, quoting the translated probe
    /// as it arrived (TTL 1; its identification is whatever the translator chose, the quote is not matched on it).
    /// </summary>
    private static readonly byte[] RouterTimeExceeded = Convert.FromHexString(
        "450000380000000040017b80c61200320aff2e02" + "0b00a40200000000" +
        "450000240ad500000111af7d0aff2e02c6120064" + "9c40829a00103212");

    /// <summary>
    /// What the relay must receive: ICMPv6 time exceeded from T(198.18.0.100) (not T(198.18.0.50)) to the user,
    /// hop limit 64 - 1, quoting the user's own probe (hop limit 1, its UDP checksum restored).
    /// </summary>
    private static readonly byte[] ExpectedToRelay = Convert.FromHexString(
        "6000000000383a3f" + "20010000c612000100c6120064000000" + "20010db8000600000000000000000017" +
        "0300b05500000000" +
        "6000000000101101" + "20010db8000600000000000000000017" + "20010000c612000100c6120064000000" + "9c40829a0010a6d8");

    private static Ipv4PeerHarness ProbeSent()
    {
        var h = new Ipv4PeerHarness();
        h.Lease(Host4);
        h.FromRelay(Probe);
        var (route, _, v4) = Assert.Single(h.Take());
        Assert.Equal(OutputRoute.Tun, route);
        Assert.True(Ipv4Packet.TryParse(v4, out var ip));
        Assert.Equal(new Ipv4Address(10, 255, 46, 2), ip.Source); // the pool address the vectors use
        Assert.Equal(1, ip.Ttl);
        return h;
    }

    [Fact]
    public void A_routers_time_exceeded_reaches_the_relay_from_T_D_with_the_probe_quoted()
    {
        var h = ProbeSent();
        h.Engine.OnDevicePacket(h.Now, Ipv4PeerEngine.TunDevice, RouterTimeExceeded, h.Sink);

        var (route, to, bytes) = Assert.Single(h.Take());
        Assert.Equal(OutputRoute.Udp, route);
        Assert.Equal(RelayAt, to);
        Assert.Equal(Convert.ToHexString(ExpectedToRelay), Convert.ToHexString(bytes));
        Assert.Equal(1, h.Engine.Counters[Ipv4PeerCounter.RouterErrorsResourced]);
        Assert.Equal(0, h.Engine.Counters[Ipv4PeerCounter.ErrorsResourced]);
        Assert.Equal(1, h.Engine.Held.Single(a => a.Address == T(Host4)).PacketsOut);
    }

    /// <summary><see cref="RouterTimeExceeded"/> with another ICMPv4 type and code (and source), its checksums redone.</summary>
    private static byte[] ErrorFrom(Ipv4Address source, byte type, byte code)
    {
        var error = (byte[])RouterTimeExceeded.Clone();
        source.Write(error.AsSpan(12));
        error[10] = error[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(error.AsSpan(10), Checksum.Compute(error.AsSpan(0, 20)));
        error[20] = type;
        error[21] = code;
        error[22] = error[23] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(error.AsSpan(22), Checksum.Compute(error.AsSpan(20)));
        return error;
    }

    /// <summary>The one ICMPv6 error the engine sends to the relay for <paramref name="error"/>: its source, type and code.</summary>
    private static (Ipv6Address Source, byte Type, byte Code) Translated(Ipv4PeerHarness h, byte[] error)
    {
        h.Engine.OnDevicePacket(h.Now, Ipv4PeerEngine.TunDevice, error, h.Sink);
        var (_, _, bytes) = Assert.Single(h.Take());
        Assert.True(Ipv6Packet.TryParse(bytes, out var ip));
        Assert.True(Icmpv6Packet.TryParse(ip, out var icmp));
        Assert.True(icmp.VerifyChecksum(ip.Source, ip.Destination));
        return (ip.Source, icmp.Type, icmp.Code);
    }

    [Fact]
    public void A_routers_host_unreachable_is_translated_and_re_sourced_the_same_way()
    {
        var h = ProbeSent();
        var router = new Ipv4Address(198, 18, 0, 50);
        // RFC 7915 §4.2: host unreachable becomes no route to destination
        Assert.Equal((T(Host4), Icmpv6Type.DestinationUnreachable, (byte)0), Translated(h, ErrorFrom(router, 3, 1)));
        Assert.Equal(1, h.Engine.Counters[Ipv4PeerCounter.RouterErrorsResourced]);
    }

    [Fact]
    public void A_routers_error_after_the_lease_ended_is_not_sent()
    {
        var h = ProbeSent();
        h.Engine.OnLeaseEnded(T(Host4));
        h.Engine.OnDevicePacket(h.Now, Ipv4PeerEngine.TunDevice, RouterTimeExceeded, h.Sink);
        Assert.Empty(h.Take());
        Assert.Equal(0, h.Engine.Counters[Ipv4PeerCounter.RouterErrorsResourced]);
        Assert.Equal(1, h.Engine.Counters[Ipv4PeerCounter.TunSourceNotHeld]);
    }

    [Fact]
    public void An_error_from_D_itself_keeps_its_own_source()
    {
        var h = ProbeSent();
        Assert.Equal((T(Host4), Icmpv6Type.DestinationUnreachable, (byte)4), Translated(h, ErrorFrom(Host4, 3, 3))); // port unreachable
        Assert.Equal(0, h.Engine.Counters[Ipv4PeerCounter.RouterErrorsResourced]);
    }
}
