using FsCheck.Xunit;
using Teredo.Client;
using Teredo.Engines;
using Teredo.Net;
using Teredo.Tests.Support;

namespace Teredo.Tests.Client;

/// <summary>Garbage never throws out of the client engine, every input lands in exactly one outcome counter, and the client keeps working.</summary>
public class ClientRobustnessTests
{
    private static readonly Ipv4Endpoint ServerEndpoint = new(ClientHarness.ServerPrimary, 3544);

    private static ClientHarness QualifiedWithEverything()
    {
        var h = new ClientHarness(NatBehaviour.FullCone, o => o with
        {
            LocalDiscovery = true,
            LocalNetwork = (new Ipv4Address(10, 2, 0, 0), 24),
            RefreshDetermination = true,
            PeerCapacity = 64,
        });
        h.Start();
        Assert.Equal(ClientState.Qualified, h.Client.State);
        return h;
    }

    private static byte[][] Seeds(ClientHarness h)
    {
        var us = h.Client.Address.Address;
        var peer = Packets.PeerAddress();
        return
        [
            CapturedPackets.TeredoPayload(CapturedPackets.RouterAdvertisement),
            CapturedPackets.TeredoPayload(CapturedPackets.IndirectBubble),
            CapturedPackets.TeredoPayload(CapturedPackets.ConnectivityTestEcho),
            Packets.IndirectBubble(peer, us, Packets.Relay),
            Packets.Bubble(peer, us),
            Packets.Bubble(peer, h.Client.NonceAddress(peer)),
            Packets.Echo(Packets.Native, us),
            Packets.EchoReplyWithNonce(Packets.Native, us, 42),
            Packets.Echo(us, Packets.Native),
            Packets.Echo(us, peer),
        ];
    }

    [Fact]
    public void A_million_random_and_mutated_datagrams_and_packets()
    {
        var h = QualifiedWithEverything();
        var seeds = Seeds(h);
        var random = new Random(4380);
        var buffer = new byte[1500];
        Ipv4Endpoint[] sources = [ServerEndpoint, new(ClientHarness.ServerSecondary, 3544), Packets.PeerMapping, Packets.Relay, new(new Ipv4Address(10, 2, 0, 3), 5000)];
        const int count = 1_000_000;
        long tun = 0;
        long udpBefore = h.Client.Counters[ClientCounter.UdpReceived];
        for (int i = 0; i < count; i++)
        {
            int length = DatagramMutator.Next(random, seeds, buffer, i);
            long now = h.Now + i / 10;
            if (i % 5 == 4)
            {
                h.Client.OnDevicePacket(now, TeredoClientEngine.TunDevice, buffer.AsSpan(0, length), h.Sink);
                tun++;
            }
            else
            {
                var source = random.Next(4) == 0 ? new Ipv4Endpoint(new Ipv4Address((uint)random.Next()), (ushort)random.Next(65536)) : sources[random.Next(sources.Length)];
                h.Client.OnDatagram(now, new PortHandle(random.Next(ClientPort.Count)), source, buffer.AsSpan(0, length), h.Sink);
            }
            if (i % 1000 == 0)
            {
                h.Client.OnTimer(now, h.Sink);
                h.Sink.Packets.Clear();
                h.TakeEvents();
            }
        }
        var c = h.Client.Counters;
        Assert.Equal(count - tun, c[ClientCounter.UdpReceived] - udpBefore);
        Assert.Equal(c[ClientCounter.UdpReceived], c.UdpOutcomeSum);
        Assert.Equal(tun, c[ClientCounter.TunReceived]);
        Assert.Equal(c[ClientCounter.TunReceived], c.TunOutcomeSum);
        Assert.True(h.Client.Peers.Count <= 64);
        Assert.True(h.Client.PendingEvents <= h.Options.EventCapacity);
        // §5.2.4: whatever came in, the decisions never aimed a packet at a non-global address but a local peer's.
        Assert.Equal(0, c[ClientCounter.SendRefusedNotGlobal]);

        // Still a working client: it keeps (or regains) its address and talks to a peer.
        h.Sink.Packets.Clear();
        h.Now += count / 10;
        h.Advance(60_000);
        Assert.Equal(ClientState.Qualified, h.Client.State);
        var peer = Packets.PeerAddress(mapping: new Ipv4Endpoint(new Ipv4Address(198, 18, 6, 6), 6000));
        h.Client.OnDatagram(h.Now, ClientPort.Service, new Ipv4Endpoint(new Ipv4Address(198, 18, 6, 6), 6000), Packets.Bubble(peer, h.Client.Address.Address), h.Sink);
        h.TakeOthers();
        h.FromTun(Packets.Echo(h.Client.Address.Address, peer));
        Assert.Equal(new Ipv4Endpoint(new Ipv4Address(198, 18, 6, 6), 6000), Assert.Single(h.TakeOthers()).To);
    }

    [Property(MaxTest = 500)]
    public bool Any_bytes_on_any_socket_from_anyone_end_in_one_counter(byte[] payload, uint address, ushort port, byte socket, bool fromServer)
    {
        var h = QualifiedWithEverything();
        var source = fromServer ? ServerEndpoint : new Ipv4Endpoint(new Ipv4Address(address), port);
        var before = h.Client.Counters.UdpOutcomeSum;
        h.Client.OnDatagram(h.Now, new PortHandle(socket % ClientPort.Count), source, payload ?? [], h.Sink);
        return h.Client.Counters.UdpOutcomeSum == before + 1 && h.Client.Counters[ClientCounter.UdpReceived] == h.Client.Counters.UdpOutcomeSum;
    }

    [Property(MaxTest = 500)]
    public bool Any_bytes_from_the_interface_end_in_one_counter(byte[] packet, bool ourSource)
    {
        var h = QualifiedWithEverything();
        packet ??= [];
        if (ourSource && packet.Length >= 40)
        {
            // Steer some of them past the first checks: IPv6, our source, a consistent length.
            packet[0] = 0x60;
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(4), (ushort)(packet.Length - 40));
            h.Client.Address.Address.Write(packet.AsSpan(8));
        }
        h.Client.OnDevicePacket(h.Now, TeredoClientEngine.TunDevice, packet, h.Sink);
        h.Client.OnTimer(h.Now + 10_000, h.Sink);
        return h.Client.Counters[ClientCounter.TunReceived] == 1 && h.Client.Counters.TunOutcomeSum == 1;
    }
}

/// <summary>The packet paths allocate nothing per packet once a peer is known.</summary>
public class ClientAllocationTests
{
    [Fact]
    public void Trusted_traffic_both_ways_allocates_nothing()
    {
        var h = new ClientHarness(NatBehaviour.FullCone);
        h.Qualify();
        var peer = Packets.PeerAddress();
        var inbound = Packets.Echo(peer, h.Client.Address.Address, data: new byte[1000]);
        var outbound = Packets.Echo(h.Client.Address.Address, peer, data: new byte[1000]);
        var sink = new CountingOutput();
        var client = h.Client;
        // Warm up first: tiered compilation may allocate on the calling thread while it settles.
        long t = h.Now;
        Exchange(50_000);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Exchange(10_000);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(120_000, sink.Committed);
        Assert.Equal(0, allocated);

        void Exchange(int count)
        {
            // Time moves (1 ms per 10 exchanges, 6 s in all), within one refresh interval: no solicitation is due.
            for (int i = 0; i < count; i++, t += i % 10 == 0 ? 1 : 0)
            {
                client.OnDatagram(t, ClientPort.Service, Packets.PeerMapping, inbound, sink);
                client.OnDevicePacket(t, TeredoClientEngine.TunDevice, outbound, sink);
                if (i % 100 == 0) client.OnTimer(t, sink);
            }
        }
    }
}
