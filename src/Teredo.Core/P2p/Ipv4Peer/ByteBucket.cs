namespace Teredo.P2p.Ipv4Peer;

/// <summary>
/// The donor's bandwidth cap: a token bucket counted in bytes (milli-bytes internally, so refill needs
/// no floating point), with a burst of a tenth of a second's worth and at least a few full packets.
/// </summary>
public sealed class ByteBucket
{
    private readonly long _bytesPerSecond;
    private readonly long _capacityMilli;
    private long _milli;
    private long _lastMs = long.MinValue;

    public ByteBucket(double megabitsPerSecond)
    {
        _bytesPerSecond = (long)(megabitsPerSecond * 125_000);
        _capacityMilli = Math.Max(_bytesPerSecond / 10, 16 * 1500) * 1000;
        _milli = _capacityMilli;
    }

    public bool Enabled => _bytesPerSecond > 0;

    public bool TryTake(long nowMs, int bytes)
    {
        if (!Enabled) return true;
        if (_lastMs == long.MinValue) _lastMs = nowMs;
        if (nowMs > _lastMs)
        {
            _milli = Math.Min(_capacityMilli, _milli + (nowMs - _lastMs) * _bytesPerSecond);
            _lastMs = nowMs;
        }
        long need = bytes * 1000L;
        if (_milli < need) return false;
        _milli -= need;
        return true;
    }
}
