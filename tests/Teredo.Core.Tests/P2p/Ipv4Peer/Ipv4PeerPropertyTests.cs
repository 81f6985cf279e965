using Teredo.P2p.Ipv4Peer;
using FsCheck.Xunit;
using Teredo.Net;
using Teredo.Tests.Support;
using static Teredo.Tests.P2p.Ipv4Peer.Ipv4PeerHarness;

namespace Teredo.Tests.P2p.Ipv4Peer;

/// <summary>No datagram or TUN packet makes the engine throw, mutated real packets included.</summary>
public class Ipv4PeerPropertyTests
{
    private static readonly Ipv4PeerHarness Shared = NewHarness();

    private static Ipv4PeerHarness NewHarness()
    {
        var h = new Ipv4PeerHarness();
        h.Lease(Host4);
        return h;
    }

    [Property(MaxTest = 3000)]
    public bool No_byte_string_throws(byte[] bytes)
    {
        lock (Shared)
        {
            Shared.FromRelay(bytes ?? []);
            Shared.Engine.OnDevicePacket(Shared.Now, Ipv4PeerEngine.TunDevice, bytes ?? [], Shared.Sink);
            Shared.Sink.Packets.Clear();
        }
        return true;
    }

    [Property(MaxTest = 3000)]
    public bool No_mutated_packet_throws(int seed)
    {
        var random = new Random(seed);
        byte[][] seeds = [EchoRequest(T(Host4)), EchoRequest(StaticAddress, dataLength: 100), new Ipv4PeerHarnessPackets().AnyIpv4];
        var buffer = new byte[2048];
        int n = DatagramMutator.Next(random, seeds, buffer, random.Next(1000));
        lock (Shared)
        {
            Shared.FromRelay(buffer[..n]);
            Shared.Engine.OnDevicePacket(Shared.Now, Ipv4PeerEngine.TunDevice, buffer.AsSpan(0, n), Shared.Sink);
            Shared.Sink.Packets.Clear();
        }
        return true;
    }
}
