namespace Teredo.Tests.Support;

/// <summary>
/// The fuzz input of the robustness tests: a quarter pure noise, the rest real packets with one to three
/// bytes flipped and sometimes cut short, so that the input gets past the first checks.
/// </summary>
public static class DatagramMutator
{
    /// <summary>Writes the next datagram into <paramref name="buffer"/> and returns its length.</summary>
    public static int Next(Random random, byte[][] seeds, byte[] buffer, int index)
    {
        if (index % 4 == 0)
        {
            int noise = random.Next(0, 200);
            random.NextBytes(buffer.AsSpan(0, noise));
            return noise;
        }
        var seed = seeds[random.Next(seeds.Length)];
        seed.CopyTo(buffer, 0);
        int length = seed.Length;
        for (int flips = random.Next(1, 4); flips > 0; flips--)
            buffer[random.Next(length)] ^= (byte)random.Next(1, 256);
        return random.Next(8) == 0 ? random.Next(length) : length;
    }
}
