using Teredo.Net;

namespace Teredo.Peers;

/// <summary>
/// An entry of the list of recent Teredo peers (RFC 4380 §5.2, shared by clients and relays): where
/// the peer is reached, whether that was proven, when it was last heard from, and the packets waiting
/// for the proof. Objects are recycled by <see cref="PeerList"/>, never held across its calls.
/// </summary>
public sealed class Peer
{
    internal Peer? Newer;
    internal Peer? Older;
    internal int PendingIndex = -1;
    internal readonly Queue<QueuedPacket> Queue = new();

    public Ipv6Address Address { get; internal set; }
    /// <summary>The IPv4 address and port packets for this peer go to.</summary>
    public Ipv4Endpoint Mapped { get; set; }
    /// <summary>Set when a packet from this peer proved the mapping (§5.2.3, §5.4.2).</summary>
    public bool Trusted { get; set; }
    public long LastReceiveMs { get; set; } = long.MinValue;
    public long LastTransmitMs { get; set; } = long.MinValue;
    public long CreatedMs { get; internal set; }
    /// <summary>Bubbles sent since the entry was last trusted.</summary>
    public int BubblesSent { get; set; }
    public long NextBubbleMs { get; set; }
    /// <summary>Bubbles are out and no answer has come yet.</summary>
    public bool Pending => PendingIndex >= 0;
    public int QueuedPackets => Queue.Count;
    public int QueuedBytes { get; internal set; }

    // ---- client-only state (RFC 4380 §5.2); the relay leaves it alone ----
    /// <summary>Nonce of the direct IPv6 connectivity test out to this peer (§5.2.9); 0 when none.</summary>
    public ulong Nonce { get; set; }
    /// <summary>Where the peer's last local discovery bubble came from (§5.2.8).</summary>
    public Ipv4Endpoint LocalEndpoint { get; set; }
    /// <summary>When the peer's last local discovery bubble came; long.MinValue when never.</summary>
    public long LocalDiscoveryMs { get; set; } = long.MinValue;
    /// <summary>Transmissions in the current bubble or echo exchange, for its retry limit.</summary>
    public int Attempts { get; set; }
    /// <summary>Recent bubbles to the peer, for the §5.2.6 limit (a field: it is updated in place).</summary>
    public BubbleHistory Bubbles;

    internal void Reset(Ipv6Address address, long nowMs)
    {
        Address = address;
        Mapped = default;
        Trusted = false;
        LastReceiveMs = long.MinValue;
        LastTransmitMs = long.MinValue;
        CreatedMs = nowMs;
        BubblesSent = 0;
        NextBubbleMs = 0;
        QueuedBytes = 0;
        Queue.Clear();
        Nonce = 0;
        LocalEndpoint = default;
        LocalDiscoveryMs = long.MinValue;
        Attempts = 0;
        Bubbles = default;
    }
}

/// <summary>A packet waiting for its peer, in a buffer rented from the shared array pool.</summary>
public readonly record struct QueuedPacket(byte[] Buffer, int Length)
{
    public ReadOnlySpan<byte> Bytes => Buffer.AsSpan(0, Length);
}
