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
    }
}

/// <summary>A packet waiting for its peer, in a buffer rented from the shared array pool.</summary>
public readonly record struct QueuedPacket(byte[] Buffer, int Length)
{
    public ReadOnlySpan<byte> Bytes => Buffer.AsSpan(0, Length);
}
