using Teredo.Addressing;
using Teredo.Net;

namespace Teredo.Relay;

public sealed record RelayOptions
{
    public Ipv6Address ServicePrefix { get; init; } = TeredoAddress.ServicePrefix;
    /// <summary>Source of the ICMPv6 errors the relay sends; none when null (they are then only counted).</summary>
    public Ipv6Address? OwnAddress { get; init; }
    /// <summary>The relay sits behind a NAT: also send a direct bubble to open it (§5.4.1 case 3).</summary>
    public bool BehindNat { get; init; }
    /// <summary>Treat every peer as non-cone (§5.4.1 allows it; Miredo's IgnoreConeBit).</summary>
    public bool IgnoreConeBit { get; init; }
    /// <summary>
    /// Host-specific relay (§4.2.2): only these destinations are served from the IPv4 side. Null for a
    /// full relay, which serves every global non-Teredo destination.
    /// </summary>
    public IReadOnlySet<Ipv6Address>? ServedAddresses { get; init; }
    public int PeerCapacity { get; init; } = 65536;
    public int MaxQueuedPerPeer { get; init; } = 16;
    public int MaxQueuedBytes { get; init; } = 4 << 20;
    /// <summary>
    /// New peer entries made from the IPv6 side per second (0: no limit), with a burst of twice that. Each
    /// costs a table slot, an eviction when full and a bubble to a Teredo server, so a flood of fresh
    /// destinations would otherwise churn the table and be reflected at the servers; packets to peers
    /// that already have an entry never wait on it.
    /// </summary>
    public int NewPeerRate { get; init; } = 5000;
    public int BubbleIntervalMs { get; init; } = 2000;
    /// <summary>Repetitions after the first bubble before the peer is given up (§5.4.1: up to three).</summary>
    public int BubbleRetries { get; init; } = 3;
    /// <summary>How long a peer stays trusted without hearing from it (§5.2.4: 30 s).</summary>
    public int TrustLifetimeMs { get; init; } = 30_000;
    /// <summary>Key for the per-destination nonce in bubble sources; random per run unless a test fixes it.</summary>
    public byte[] NonceKey { get; init; } = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);

    /// <summary>Checked where the engine is built, so that no caller can hand it a table it can't bound.</summary>
    public void Validate()
    {
        static void AtLeast(int value, int min, string name)
        {
            if (value < min) throw new ArgumentOutOfRangeException(name, value, $"must be at least {min}");
        }
        AtLeast(PeerCapacity, 1, nameof(PeerCapacity));
        AtLeast(MaxQueuedPerPeer, 0, nameof(MaxQueuedPerPeer));
        AtLeast(MaxQueuedBytes, 0, nameof(MaxQueuedBytes));
        AtLeast(NewPeerRate, 0, nameof(NewPeerRate));
        AtLeast(BubbleIntervalMs, 1, nameof(BubbleIntervalMs));
        AtLeast(BubbleRetries, 0, nameof(BubbleRetries));
        AtLeast(TrustLifetimeMs, 1, nameof(TrustLifetimeMs));
        AtLeast(NonceKey.Length, 16, nameof(NonceKey) + ".Length");
        if (NewPeerRate > int.MaxValue / 2) throw new ArgumentOutOfRangeException(nameof(NewPeerRate), NewPeerRate, "too large");
    }
}
