using Teredo.Addressing;

namespace Teredo.Client;

public enum ClientEventKind
{
    /// <summary>The connectivity status changed (<see cref="ClientEvent.State"/>).</summary>
    StateChanged,
    /// <summary>Qualified: configure <see cref="ClientEvent.Address"/> (and its link-local twin) on the interface.</summary>
    AddressAcquired,
    /// <summary>The mapping changed (§5.2.5): withdraw <see cref="ClientEvent.Previous"/>, configure <see cref="ClientEvent.Address"/>.</summary>
    AddressChanged,
    /// <summary>The server is gone or the NAT refused: withdraw <see cref="ClientEvent.Previous"/>.</summary>
    AddressLost,
    /// <summary>The NAT type is known (or known to be unknowable), <see cref="ClientEvent.NatType"/>.</summary>
    NatTypeDetermined,
    /// <summary>The server's confirmation byte asks the client to get a new key (§5.2.2).</summary>
    KeyRenewalRequested,
    /// <summary>The refresh interval changed (§5.2.7), <see cref="ClientEvent.Value"/> milliseconds.</summary>
    RefreshIntervalChanged,
    /// <summary>The secondary port is no longer needed (§5.2.7: it should be closed).</summary>
    SecondaryPortDone,
}

/// <summary>
/// Something the host should know or act on, queued by the engine and taken by the host after each call
/// (<see cref="TeredoClientEngine.TryTakeEvent"/>): the engine never calls out.
/// </summary>
public readonly record struct ClientEvent(
    ClientEventKind Kind,
    long TimeMs,
    ClientState State,
    TeredoAddress Address,
    TeredoAddress Previous,
    NatType NatType,
    long Value);
