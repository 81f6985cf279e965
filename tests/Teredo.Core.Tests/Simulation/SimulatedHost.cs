using Teredo.Net;

namespace Teredo.Tests.Simulation;

/// <summary>
/// A machine on the simulated IPv4 network: its addresses (public, or private behind <see cref="Nat"/>)
/// and the UDP sockets bound on them.
/// </summary>
public sealed class SimulatedHost
{
    private readonly Dictionary<Ipv4Endpoint, SimulatedSocket> _sockets = [];

    internal SimulatedHost(SimulatedNetwork network, string name, IReadOnlyList<Ipv4Address> addresses, NatBox? nat, SimulatedLink link)
    {
        Network = network;
        Name = name;
        Addresses = addresses;
        Nat = nat;
        Link = link;
    }

    public SimulatedNetwork Network { get; }
    public string Name { get; }
    public IReadOnlyList<Ipv4Address> Addresses { get; }
    public Ipv4Address Address => Addresses[0];
    /// <summary>The NAT between this host and the Internet; null for a host with public addresses.</summary>
    public NatBox? Nat { get; }
    public SimulatedLink Link { get; }

    /// <summary>A UDP socket bound to <paramref name="local"/>; what arrives goes to <paramref name="receive"/> (source, payload).</summary>
    public SimulatedSocket Bind(Ipv4Endpoint local, Action<Ipv4Endpoint, byte[]> receive)
    {
        if (!Addresses.Contains(local.Address)) throw new ArgumentException($"{Name} has no address {local.Address}", nameof(local));
        var socket = new SimulatedSocket(this, local, receive);
        if (!_sockets.TryAdd(local, socket)) throw new InvalidOperationException($"{local} is already bound on {Name}");
        return socket;
    }

    public SimulatedSocket Bind(ushort port, Action<Ipv4Endpoint, byte[]> receive) => Bind(new Ipv4Endpoint(Address, port), receive);

    internal SimulatedSocket? Find(Ipv4Endpoint local) => _sockets.GetValueOrDefault(local);

    public override string ToString() => Name;
}
