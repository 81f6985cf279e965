using Teredo.Engines;
using Teredo.Hosting.P2p;
using Teredo.P2p.Ipv4Peer;

namespace Teredo.Hosting.Ipv4Peer;

/// <summary>
/// Feeds the coordinator's notices into the engine through <paramref name="invoke"/>: the packet host's
/// <see cref="Packets.PacketHost.Invoke"/> in the daemon (under the engine's lock, with the host's clock;
/// the bubbles written go out and the timer moves as after a packet), a plain call in tests.
/// </summary>
public static class ControlBinding
{
    public static void Bind(CoordinatorClient client, Ipv4PeerEngine engine, Action<Action<long, IPacketOutput>> invoke)
    {
        client.Welcomed += w => invoke((now, _) => engine.OnWelcome(now, w));
        client.Disconnected += _ => invoke((_, _) => engine.OnDisconnected());
        client.BubbleNotified += n => invoke((_, output) => engine.OnBubbleNotification(n, output));
        client.LeaseGranted += g => invoke((now, output) => engine.OnLeaseGranted(now, g, output));
        client.LeaseRenewed += r => invoke((now, _) => engine.OnLeaseRenewed(now, r));
        client.LeaseReleased += r => invoke((_, _) => engine.OnLeaseEnded(r.Address));
        client.LeaseRevoked += r => invoke((_, _) => engine.OnLeaseEnded(r.Address));
    }
}
