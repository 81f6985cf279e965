using System.Security.Cryptography;

namespace Teredo.Common;

/// <summary>
/// Where an engine draws its nonces, link-local identifiers, address flag bits and timer jitter. The
/// engines take it as a parameter (like the clock) so that tests can script every draw; production code
/// uses <see cref="CryptoRandomSource"/>, since nonces are only worth anything when unpredictable.
/// </summary>
public interface IRandomSource
{
    ulong NextUInt64();
}

/// <summary>Random numbers from the operating system's CSPRNG.</summary>
public sealed class CryptoRandomSource : IRandomSource
{
    public static readonly CryptoRandomSource Instance = new();

    public ulong NextUInt64()
    {
        Span<byte> bytes = stackalloc byte[8];
        RandomNumberGenerator.Fill(bytes);
        return BitConverter.ToUInt64(bytes);
    }
}

public static class RandomSourceExtensions
{
    /// <summary>A value in [<paramref name="min"/>, <paramref name="max"/>], uniform enough for timer jitter.</summary>
    public static long NextInRange(this IRandomSource random, long min, long max)
    {
        if (max <= min) return min;
        ulong span = (ulong)(max - min) + 1;
        return min + (long)(random.NextUInt64() % span);
    }

    /// <summary>A non-zero 64-bit value (zero means "none" wherever nonces are stored).</summary>
    public static ulong NextNonZero(this IRandomSource random)
    {
        ulong v;
        do v = random.NextUInt64(); while (v == 0);
        return v;
    }
}
