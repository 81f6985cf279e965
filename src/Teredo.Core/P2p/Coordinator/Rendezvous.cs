namespace Teredo.P2p.Coordinator;

/// <summary>
/// Weighted rendezvous (highest-random-weight) hashing: every peer scores a destination with a hash of
/// (destination, peer identity), scaled by its capacity; the highest score wins. A destination thus sticks
/// to one peer while the peer set is stable, and when a peer leaves only its own destinations move. The
/// hash is fixed (no per-process seed) so choices survive coordinator restarts.
/// </summary>
public static class Rendezvous
{
    /// <summary>Score of <paramref name="destination"/> at a peer: weight / −ln(u), u uniform in (0,1) (Schindelhauer–Schomaker).</summary>
    public static double Score(uint destination, UInt128 identity, uint weight) => Score(Hash(destination, identity), weight);

    /// <summary>
    /// The uniform hash behind a score. Among peers of equal weight the highest hash has the highest score,
    /// so the engine compares hashes within a weight class and takes a logarithm once per class.
    /// </summary>
    public static ulong Hash(uint destination, UInt128 identity) =>
        Mix(Mix((ulong)identity ^ (destination * 0x9E37_79B9_7F4A_7C15UL)) ^ (ulong)(identity >> 64));

    public static double Score(ulong hash, uint weight)
    {
        double u = ((hash >> 11) + 0.5) * (1.0 / (1UL << 53));
        return Math.Max(weight, 1u) / -Math.Log(u);
    }

    /// <summary>SplitMix64's finalizer: every input bit affects every output bit.</summary>
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D0_49BB_1331_11EBUL;
        return z ^ (z >> 31);
    }
}
