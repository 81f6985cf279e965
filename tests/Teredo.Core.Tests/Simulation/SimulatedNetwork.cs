using Teredo.Common;
using Teredo.Net;

namespace Teredo.Tests.Simulation;

/// <summary>How many datagrams met each fate.</summary>
public sealed class NetworkCounters : CounterSet<DatagramFate>;

/// <summary>
/// The simulated IPv4 Internet with a virtual clock (wireguard-go's genTestPair, grown into a network):
/// hosts with public addresses, NAT boxes with private hosts behind them, links with latency and seeded
/// loss, and the nodes (roles) the clock drives. Nothing runs on its own: <see cref="RunUntil"/> moves the
/// clock from event to event (the next arrival, or the earliest deadline any node asked for), so an hour
/// of protocol time costs what its packets cost. Same seed, same run.
/// </summary>
public sealed class SimulatedNetwork : IDisposable
{
    /// <summary>Steps one run may take before the harness calls it a livelock rather than wait forever.</summary>
    private const int MaxStepsPerRun = 2_000_000;

    private readonly PriorityQueue<Action, (long AtMs, long Sequence)> _queue = new();
    private readonly Dictionary<Ipv4Address, SimulatedHost> _public = [];
    private readonly Dictionary<Ipv4Address, (NatBox Nat, SimulatedLink Link, Dictionary<Ipv4Address, SimulatedHost> Inside)> _nats = [];
    private readonly List<ISimulatedNode> _nodes = [];
    private long _sequence;

    public SimulatedNetwork(int seed = 1, SimulatedLink? link = null)
    {
        Random = new Random(seed);
        DefaultLink = link ?? SimulatedLink.Default;
    }

    /// <summary>The virtual clock, in milliseconds; starts at 0.</summary>
    public long NowMs { get; private set; }
    /// <summary>The only source of chance in a run (link loss); roles take their own seeded sources.</summary>
    public Random Random { get; }
    public SimulatedLink DefaultLink { get; }
    public NetworkCounters Counters { get; } = new();
    /// <summary>Every datagram sent, in order, with its fate (a test's packet capture).</summary>
    public List<SimulatedDatagram> Datagrams { get; } = [];
    public IReadOnlyList<ISimulatedNode> Nodes => _nodes;

    /// <summary>A host on the Internet with public <paramref name="addresses"/>.</summary>
    public SimulatedHost AddHost(string name, SimulatedLink? link, params Ipv4Address[] addresses)
    {
        var host = new SimulatedHost(this, name, addresses, null, link ?? DefaultLink);
        foreach (var address in addresses)
        {
            if (_public.ContainsKey(address) || _nats.ContainsKey(address)) throw new InvalidOperationException($"{address} is taken");
            _public[address] = host;
        }
        return host;
    }

    public SimulatedHost AddHost(string name, params Ipv4Address[] addresses) => AddHost(name, null, addresses);

    /// <summary>A NAT box on the Internet at <paramref name="nat"/>'s public address; hosts go behind it with <see cref="AddHostBehind"/>.</summary>
    public NatBox AddNat(NatBox nat, SimulatedLink? link = null)
    {
        if (_public.ContainsKey(nat.PublicAddress) || _nats.ContainsKey(nat.PublicAddress))
            throw new InvalidOperationException($"{nat.PublicAddress} is taken");
        _nats[nat.PublicAddress] = (nat, link ?? DefaultLink, []);
        return nat;
    }

    /// <summary>A host with the private <paramref name="address"/> on <paramref name="nat"/>'s LAN; it shares the NAT's access link.</summary>
    public SimulatedHost AddHostBehind(NatBox nat, string name, Ipv4Address address)
    {
        var site = _nats[nat.PublicAddress];
        if (site.Inside.ContainsKey(address)) throw new InvalidOperationException($"{address} is taken behind {nat.PublicAddress}");
        var host = new SimulatedHost(this, name, [address], nat, site.Link);
        site.Inside[address] = host;
        return host;
    }

    public void AddNode(ISimulatedNode node) => _nodes.Add(node);

    /// <summary>Runs <paramref name="action"/> at <see cref="NowMs"/> + <paramref name="delayMs"/>, after what was scheduled before for that time.</summary>
    public void Schedule(long delayMs, Action action)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(delayMs);
        _queue.Enqueue(action, (NowMs + delayMs, _sequence++));
    }

    /// <summary>Disposes the nodes that hold resources (the packet hosts).</summary>
    public void Dispose()
    {
        foreach (var node in _nodes) (node as IDisposable)?.Dispose();
    }

    /// <summary>Routes one datagram: through the sender's NAT now, across both links, through the receiver's NAT on arrival.</summary>
    internal void Send(SimulatedSocket from, Ipv4Endpoint to, byte[] payload)
    {
        var sender = from.Host;
        var datagram = new SimulatedDatagram(NowMs, from, to, payload);
        Datagrams.Add(datagram);
        if (to.Address.IsIn(new Ipv4Address(224, 0, 0, 0), 4) || to.Address == new Ipv4Address(uint.MaxValue))
        {
            Finish(datagram, DatagramFate.NotUnicast);
            return;
        }
        // On the sender's own LAN nothing is translated and no access link is crossed.
        if (sender.Nat is { } lanNat && _nats[lanNat.PublicAddress].Inside.TryGetValue(to.Address, out var neighbour))
        {
            Schedule(SimulatedLink.Lan.LatencyMs, () => Arrive(datagram, neighbour));
            return;
        }
        if ((sender.Nat is null && to.Address.IsPrivate()) || !TryFindLink(to.Address, out var receiverLink))
        {
            Finish(datagram, DatagramFate.NoRoute);
            return;
        }
        if (sender.Nat is { } nat) datagram.PublicSource = nat.Outbound(NowMs, from.Local, to);
        if (Lose(sender.Link) || Lose(receiverLink))
        {
            Finish(datagram, DatagramFate.Lost);
            return;
        }
        Schedule(sender.Link.LatencyMs + receiverLink.LatencyMs, () => ArriveFromInternet(datagram));
    }

    private bool TryFindLink(Ipv4Address address, out SimulatedLink link)
    {
        if (_public.TryGetValue(address, out var host)) link = host.Link;
        else if (_nats.TryGetValue(address, out var site)) link = site.Link;
        else link = DefaultLink;
        return host is not null || _nats.ContainsKey(address);
    }

    private void ArriveFromInternet(SimulatedDatagram datagram)
    {
        var to = datagram.To;
        if (_public.TryGetValue(to.Address, out var host))
        {
            Arrive(datagram, host);
            return;
        }
        var site = _nats[to.Address];
        if (!site.Nat.TryInbound(NowMs, datagram.PublicSource, to.Port, out var inside) || !site.Inside.TryGetValue(inside.Address, out host))
        {
            Finish(datagram, DatagramFate.RefusedByNat);
            return;
        }
        Arrive(datagram, host, inside);
    }

    private void Arrive(SimulatedDatagram datagram, SimulatedHost host, Ipv4Endpoint? translated = null)
    {
        var socket = host.Find(translated ?? datagram.To);
        if (socket is null)
        {
            Finish(datagram, DatagramFate.NoListener);
            return;
        }
        Finish(datagram, DatagramFate.Delivered);
        socket.Deliver(datagram.PublicSource, datagram.Payload);
    }

    private void Finish(SimulatedDatagram datagram, DatagramFate fate)
    {
        datagram.Fate = fate;
        datagram.ArrivedMs = fate == DatagramFate.Delivered ? NowMs : -1;
        Counters.Increment(fate);
    }

    private bool Lose(SimulatedLink link) => link.Loss > 0 && Random.NextDouble() < link.Loss;

    /// <summary>
    /// Moves the clock from event to event until <paramref name="done"/> holds (checked after every step)
    /// or <paramref name="maxMs"/> of virtual time have passed; returns whether it held.
    /// </summary>
    public bool RunUntil(Func<bool> done, long maxMs)
    {
        long end = NowMs + maxMs;
        for (int step = 0; step < MaxStepsPerRun; step++)
        {
            if (done()) return true;
            long next = NextEventMs();
            if (next > end)
            {
                NowMs = end;
                return done();
            }
            NowMs = Math.Max(NowMs, next);
            Step();
        }
        throw new InvalidOperationException($"no progress after {MaxStepsPerRun} steps at {NowMs} ms: a node's deadline does not advance");
    }

    /// <summary>Runs <paramref name="ms"/> of virtual time.</summary>
    public void RunFor(long ms) => RunUntil(static () => false, ms);

    private long NextEventMs()
    {
        long next = _queue.TryPeek(out _, out var at) ? at.AtMs : long.MaxValue;
        foreach (var node in _nodes) next = Math.Min(next, node.NextDeadlineMs);
        return next;
    }

    /// <summary>Everything due now: arrivals first (in the order they were scheduled), then the nodes' timers.</summary>
    private void Step()
    {
        while (_queue.TryPeek(out _, out var at) && at.AtMs <= NowMs) _queue.Dequeue()();
        foreach (var node in _nodes)
            if (node.NextDeadlineMs <= NowMs) node.OnTimer(NowMs);
    }
}

internal static class Ipv4AddressRanges
{
    /// <summary>RFC 1918: reachable only on the LAN behind the NAT that owns it.</summary>
    public static bool IsPrivate(this Ipv4Address address) =>
        address.IsIn(new Ipv4Address(10, 0, 0, 0), 8) || address.IsIn(new Ipv4Address(172, 16, 0, 0), 12)
        || address.IsIn(new Ipv4Address(192, 168, 0, 0), 16);
}
