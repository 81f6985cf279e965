using Teredo.Common;
using Teredo.Net;
using Teredo.Wire;

namespace Teredo.Tests.Simulation;

public enum Ipv6InternetCounter
{
    Forwarded,
    Malformed,
    NoRoute,
    Lost,
}

public sealed class Ipv6InternetCounters : CounterSet<Ipv6InternetCounter>;

/// <summary>
/// The native IPv6 Internet as one router: prefixes routed to receivers (the relay's TUN for 2001::/32,
/// test hosts for their /128s), longest prefix first, after <see cref="SimulatedLink.LatencyMs"/> and with
/// its seeded loss. The server's native-IPv6 output and the relay's TUN write into it.
/// </summary>
public sealed class Ipv6Internet(SimulatedNetwork network, SimulatedLink? link = null) : IIpv6Receiver
{
    private readonly List<(Ipv6Address Prefix, int Length, IIpv6Receiver Target)> _routes = [];

    public SimulatedLink Link { get; } = link ?? network.DefaultLink;
    public Ipv6InternetCounters Counters { get; } = new();
    /// <summary>Every packet the router forwarded, in order.</summary>
    public List<byte[]> Forwarded { get; } = [];

    public void Route(Ipv6Address prefix, int length, IIpv6Receiver target) => _routes.Add((prefix, length, target));

    public void Receive(byte[] packet)
    {
        if (!Ipv6Packet.TryParse(packet, out var ip))
        {
            Counters.Increment(Ipv6InternetCounter.Malformed);
            return;
        }
        IIpv6Receiver? target = null;
        int best = -1;
        foreach (var (prefix, length, receiver) in _routes)
        {
            if (length > best && ip.Destination.IsIn(prefix, length))
            {
                best = length;
                target = receiver;
            }
        }
        if (target is null)
        {
            Counters.Increment(Ipv6InternetCounter.NoRoute);
            return;
        }
        if (Link.Loss > 0 && network.Random.NextDouble() < Link.Loss)
        {
            Counters.Increment(Ipv6InternetCounter.Lost);
            return;
        }
        Counters.Increment(Ipv6InternetCounter.Forwarded);
        Forwarded.Add(packet);
        network.Schedule(Link.LatencyMs, () => target.Receive(packet));
    }
}
