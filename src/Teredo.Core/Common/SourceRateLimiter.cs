using Teredo.Net;

namespace Teredo.Common;

/// <summary>
/// Token buckets keyed by IPv4 address in a fixed-size table, so that an outsider cannot grow it: a
/// source whose slot is taken by another evicts it and starts with a full bucket. That makes the limit
/// approximate under collisions, which is the price of bounded memory; with 65536 slots and the
/// legitimate population of one server it rarely matters. Not thread-safe: one per engine instance.
/// </summary>
public sealed class SourceRateLimiter
{
    private struct Bucket
    {
        public uint Key;
        public bool Used;
        public long LastMs;
        /// <summary>Tokens scaled by 1000 so refill needs no floating point.</summary>
        public long MilliTokens;
    }

    private readonly Bucket[] _table;
    private readonly int _mask;
    private readonly long _capacityMilli;
    private readonly long _refillPerSecond;

    /// <param name="ratePerSecond">Sustained packets per second per source; 0 disables the limit.</param>
    /// <param name="burst">Packets a quiet source may send at once.</param>
    /// <param name="slots">Table size, rounded up to a power of two.</param>
    public SourceRateLimiter(int ratePerSecond, int burst, int slots = 65536)
    {
        if (ratePerSecond < 0 || burst < 0) throw new ArgumentOutOfRangeException(nameof(ratePerSecond));
        int size = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(slots, 1));
        _table = ratePerSecond == 0 ? [] : new Bucket[size];
        _mask = size - 1;
        _refillPerSecond = ratePerSecond;
        _capacityMilli = Math.Max(burst, 1) * 1000L;
    }

    public bool Enabled => _refillPerSecond > 0;
    public int Slots => _table.Length;

    /// <summary>Takes one token for <paramref name="source"/>; false when its bucket is empty.</summary>
    public bool TryTake(Ipv4Address source, long nowMs)
    {
        if (!Enabled) return true;
        ref var b = ref _table[(int)(Mix(source.Value) & (uint)_mask)];
        if (!b.Used || b.Key != source.Value)
        {
            b = new Bucket { Key = source.Value, Used = true, LastMs = nowMs, MilliTokens = _capacityMilli };
        }
        else if (nowMs > b.LastMs)
        {
            // tokens/s × ms = milli-tokens
            b.MilliTokens = Math.Min(_capacityMilli, b.MilliTokens + (nowMs - b.LastMs) * _refillPerSecond);
            b.LastMs = nowMs;
        }
        if (b.MilliTokens < 1000) return false;
        b.MilliTokens -= 1000;
        return true;
    }

    /// <summary>A multiplicative hash so that neighbouring addresses spread over the table.</summary>
    private static uint Mix(uint v)
    {
        v ^= v >> 16;
        v *= 0x7feb352d;
        v ^= v >> 15;
        v *= 0x846ca68b;
        v ^= v >> 16;
        return v;
    }
}
