namespace Teredo.P2p.Ipv4Peer;

/// <summary>What the IPv4 peer engine asks its host to carry to the coordinator (the control session is the host's).</summary>
public enum Ipv4PeerEvent
{
    /// <summary>A use report is due: the host collects it (<see cref="Ipv4PeerEngine.CollectUseReport"/>) and sends it.</summary>
    ReportDue,
    /// <summary>Leases were refused: the host takes them (<see cref="Ipv4PeerEngine.TakeRefusedLeases"/>) and releases them.</summary>
    LeaseRefused,
}
