using Teredo.Net;

namespace Teredo.Tests.Support;

public enum NatBehaviour
{
    /// <summary>No NAT: the client's own address is public.</summary>
    None,
    /// <summary>Endpoint-independent mapping and filtering.</summary>
    FullCone,
    /// <summary>Endpoint-independent mapping, address-and-port-dependent filtering (Linux MASQUERADE).</summary>
    PortRestricted,
    /// <summary>A new mapping per destination, address-and-port-dependent filtering (MASQUERADE --random-fully).</summary>
    Symmetric,
}

/// <summary>A NAT in front of one client socket, as the lab's NAT namespaces behave, for engine tests.</summary>
public sealed class SimulatedNat(NatBehaviour behaviour, Ipv4Address publicAddress, ushort firstPort = 40000)
{
    private readonly Dictionary<(Ipv4Endpoint Local, Ipv4Endpoint Remote), ushort> _perDestination = [];
    private readonly Dictionary<Ipv4Endpoint, ushort> _perLocal = [];
    private readonly HashSet<(ushort Port, Ipv4Endpoint Remote)> _permissions = [];
    private ushort _nextPort = firstPort;

    public NatBehaviour Behaviour { get; } = behaviour;
    public Ipv4Address PublicAddress { get; } = publicAddress;

    /// <summary>The public endpoint a datagram from the client to <paramref name="destination"/> leaves with.</summary>
    public Ipv4Endpoint Outbound(Ipv4Endpoint local, Ipv4Endpoint destination)
    {
        if (Behaviour == NatBehaviour.None) return local;
        ushort port;
        if (Behaviour == NatBehaviour.Symmetric)
        {
            if (!_perDestination.TryGetValue((local, destination), out port)) _perDestination[(local, destination)] = port = _nextPort++;
        }
        else if (!_perLocal.TryGetValue(local, out port))
        {
            _perLocal[local] = port = _nextPort++;
        }
        _permissions.Add((port, destination));
        return new Ipv4Endpoint(PublicAddress, port);
    }

    /// <summary>Whether a datagram from <paramref name="remote"/> to the public endpoint <paramref name="to"/> gets in.</summary>
    public bool Inbound(Ipv4Endpoint remote, Ipv4Endpoint to)
    {
        if (Behaviour == NatBehaviour.None) return true;
        if (to.Address != PublicAddress) return false;
        return Behaviour == NatBehaviour.FullCone ? _perLocal.ContainsValue(to.Port) : _permissions.Contains((to.Port, remote));
    }

    /// <summary>conntrack -F with the old port taken by someone else: every flow gets a new mapping.</summary>
    public void Flush()
    {
        _perDestination.Clear();
        _perLocal.Clear();
        _permissions.Clear();
    }
}
