using Teredo.Addressing;
using Teredo.Net;
using Teredo.Relay;
using Teredo.Server;
using Teredo.Tests.Support;
using Teredo.Wire;

namespace Teredo.Tests.Engines;

/// <summary>
/// The relay's and the server's packet paths allocate nothing per packet through the engine contract:
/// interface calls on the output, handles as values, and the deadline read after every call as a host does.
/// (The client's and the P2P engines' own allocation tests sit with their other tests.)
/// </summary>
public class EngineAllocationTests
{
    private static readonly Ipv4Address Server = new(198, 18, 0, 10);
    private static readonly Ipv4Endpoint ClientMapping = new(new Ipv4Address(198, 18, 2, 1), 40000);
    private static readonly Ipv6Address Client = TeredoAddress.Create(Server, TeredoFlags.None, ClientMapping).Address;
    private static readonly Ipv6Address Native = Ipv6Address.Parse("2001:db8:1::100");

    private static byte[] Echo(Ipv6Address src, Ipv6Address dst)
    {
        var p = new byte[Ipv6Packet.HeaderLength + Icmpv6Echo.HeaderLength + 1000];
        Icmpv6Echo.Emit(p, src, dst, true, 7, 1, new byte[1000]);
        return p;
    }

    /// <summary>Runs <paramref name="exchange"/> to warm up (tiered compilation may allocate while it settles), then measures it.</summary>
    private static long AllocatedBy(Action<int> exchange)
    {
        exchange(50_000);
        long before = GC.GetAllocatedBytesForCurrentThread();
        exchange(10_000);
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    [Fact]
    public void Relay_traffic_with_a_trusted_peer_both_ways_allocates_nothing()
    {
        var relay = new TeredoRelayEngine(new RelayOptions { NonceKey = new byte[32] });
        var output = new CountingOutput();
        var toClient = Echo(Native, Client);
        var fromClient = Echo(Client, Native);
        relay.OnDevicePacket(0, TeredoRelayEngine.TunDevice, toClient, output);
        var bubble = new byte[Bubble.Length];
        Bubble.Emit(bubble, Client, relay.NonceAddress(Client));
        relay.OnDatagram(1, TeredoRelayEngine.UdpPort, ClientMapping, bubble, output);
        long deadlines = 0;
        long t = 2;

        long allocated = AllocatedBy(count =>
        {
            // 1 ms per 10 exchanges: the peer stays trusted (it writes too), nothing is pending.
            for (int i = 0; i < count; i++, t += i % 10 == 0 ? 1 : 0)
            {
                relay.OnDevicePacket(t, TeredoRelayEngine.TunDevice, toClient, output);
                relay.OnDatagram(t, TeredoRelayEngine.UdpPort, ClientMapping, fromClient, output);
                if (relay.NextDeadlineMs <= t) relay.OnTimer(t, output);
                deadlines += relay.NextDeadlineMs == long.MaxValue ? 0 : 1;
            }
        });

        Assert.Equal(0, allocated);
        Assert.Equal(2 + 2 * 60_000, output.Committed);
        Assert.Equal(0, deadlines);
    }

    [Fact]
    public void Server_answers_and_forwards_without_allocating()
    {
        var server = new TeredoServerEngine(new ServerOptions { Primary = Server, AdvertisementRatePerSource = 0, ForwardRatePerSource = 0 });
        var output = new CountingOutput();
        var rs = CapturedPackets.TeredoPayload(CapturedPackets.RouterSolicitation);
        var other = new Ipv4Endpoint(new Ipv4Address(198, 18, 2, 2), 40001);
        var bubble = new byte[Bubble.Length];
        Bubble.Emit(bubble, Client, TeredoAddress.Create(Server, TeredoFlags.None, other).Address);

        long allocated = AllocatedBy(count =>
        {
            for (int i = 0; i < count; i++)
            {
                server.OnDatagram(i, i % 2 == 0 ? TeredoServerEngine.PrimaryPort : TeredoServerEngine.SecondaryPort, ClientMapping, rs, output);
                server.OnDatagram(i, TeredoServerEngine.PrimaryPort, ClientMapping, bubble, output);
            }
        });

        Assert.Equal(0, allocated);
        Assert.Equal(2 * 60_000, output.Committed);
        Assert.Equal(60_000, server.Counters[ServerCounter.RouterAdvertisementSent]);
        Assert.Equal(60_000, server.Counters[ServerCounter.ForwardedToClient]);
    }
}
