namespace Teredo.Common;

/// <summary>One token bucket (rate per second, burst), in milli-tokens so refill needs no floating point.</summary>
public sealed class TokenBucket(int ratePerSecond, int burst)
{
    private readonly long _capacity = Math.Max(burst, 1) * 1000L;
    private long _milliTokens = Math.Max(burst, 1) * 1000L;
    private long _lastMs = long.MinValue;

    public bool TryTake(long nowMs)
    {
        if (_lastMs == long.MinValue) _lastMs = nowMs;
        if (nowMs > _lastMs)
        {
            _milliTokens = Math.Min(_capacity, _milliTokens + (nowMs - _lastMs) * ratePerSecond);
            _lastMs = nowMs;
        }
        if (_milliTokens < 1000) return false;
        _milliTokens -= 1000;
        return true;
    }
}
