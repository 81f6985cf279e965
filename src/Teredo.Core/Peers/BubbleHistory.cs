namespace Teredo.Peers;

/// <summary>
/// The send times of the last four bubbles to one peer, for RFC 4380 §5.2.6's "at most 4 bubbles in
/// the last 300 seconds without a direct response" as a true sliding window. A value type kept inline
/// in <see cref="Peer"/>: no allocation per peer or per bubble.
/// </summary>
public struct BubbleHistory
{
    public const int Capacity = 4;

    private long _t0, _t1, _t2, _t3;
    private int _count;
    private int _next;

    /// <summary>Bubbles recorded since <paramref name="sinceMs"/> (inclusive), at most <see cref="Capacity"/>.</summary>
    public readonly int CountSince(long sinceMs)
    {
        int n = 0;
        if (_count > 0 && _t0 >= sinceMs) n++;
        if (_count > 1 && _t1 >= sinceMs) n++;
        if (_count > 2 && _t2 >= sinceMs) n++;
        if (_count > 3 && _t3 >= sinceMs) n++;
        return n;
    }

    public void Add(long nowMs)
    {
        switch (_next)
        {
            case 0: _t0 = nowMs; break;
            case 1: _t1 = nowMs; break;
            case 2: _t2 = nowMs; break;
            default: _t3 = nowMs; break;
        }
        _next = (_next + 1) % Capacity;
        if (_count < Capacity) _count++;
    }

    /// <summary>A direct response came: the limit starts over.</summary>
    public void Clear() => this = default;
}
