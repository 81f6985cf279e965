namespace Teredo.Tests.Simulation;

/// <summary>
/// The four NAT kinds of RFC 3489's vocabulary (the one RFC 4380 §5.2.1 uses), each a pair of RFC 4787
/// behaviours: how a mapping is chosen (§4.1) and what may come in through it (§5).
/// </summary>
public enum NatKind
{
    /// <summary>Endpoint-independent mapping and filtering: once mapped, anyone may send in.</summary>
    FullCone,
    /// <summary>Endpoint-independent mapping, address-dependent filtering: any port of an address the inside wrote to.</summary>
    AddressRestricted,
    /// <summary>Endpoint-independent mapping, address-and-port-dependent filtering (Linux MASQUERADE).</summary>
    PortRestricted,
    /// <summary>A new mapping per destination endpoint, address-and-port-dependent filtering (MASQUERADE --random-fully).</summary>
    Symmetric,
}

/// <summary>RFC 4787 §5 filtering: who may send in through a mapping.</summary>
public enum NatFiltering
{
    EndpointIndependent,
    AddressDependent,
    AddressAndPortDependent,
}

public static class NatKindBehaviour
{
    /// <summary>RFC 4787 §4.1: only the symmetric NAT maps per destination (address and port dependent mapping).</summary>
    public static bool MapsPerDestination(this NatKind kind) => kind == NatKind.Symmetric;

    public static NatFiltering Filtering(this NatKind kind) => kind switch
    {
        NatKind.FullCone => NatFiltering.EndpointIndependent,
        NatKind.AddressRestricted => NatFiltering.AddressDependent,
        _ => NatFiltering.AddressAndPortDependent,
    };
}
