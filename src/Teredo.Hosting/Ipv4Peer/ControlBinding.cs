using Teredo.Engines;
using Teredo.Hosting.P2p;
using Teredo.P2p.Ipv4Peer;

namespace Teredo.Hosting.Ipv4Peer;

/// <summary>
/// Feeds the coordinator's notices into the engine under the engine's lock. The client raises them one at a
/// time on its reader task, so <paramref name="sink"/> (bubbles to relays) is used from that task only and
/// flushed after each notice that may have written to it.
/// </summary>
public static class ControlBinding
{
    public static void Bind(CoordinatorClient client, Ipv4PeerEngine engine, object gate, IPacketOutput sink, Action flush)
    {
        client.Welcomed += w => { lock (gate) engine.OnWelcome(Environment.TickCount64, w); };
        client.Disconnected += _ => { lock (gate) engine.OnDisconnected(); };
        client.BubbleNotified += n =>
        {
            lock (gate) engine.OnBubbleNotification(n, sink);
            flush();
        };
        client.LeaseGranted += g =>
        {
            lock (gate) engine.OnLeaseGranted(Environment.TickCount64, g, sink);
            flush();
        };
        client.LeaseRenewed += r => { lock (gate) engine.OnLeaseRenewed(Environment.TickCount64, r); };
        client.LeaseReleased += r => { lock (gate) engine.OnLeaseEnded(r.Address); };
        client.LeaseRevoked += r => { lock (gate) engine.OnLeaseEnded(r.Address); };
    }
}
