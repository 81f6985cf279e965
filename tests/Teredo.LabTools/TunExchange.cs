using Teredo.Hosting.Tun;

/// <summary>
/// Jool's graybox packets on a real TUN: writes each test packet into a TUN of the translator's host
/// as if it arrived from a neighbour, lets the kernel route it through the translator's TUN and back,
/// and compares what comes out of this TUN with Jool's expected packet. Besides the bytes the case
/// itself ignores, the outer TTL / hop limit (and so the IPv4 header checksum) are ignored: the kernel
/// forwards the packet once on the way in and once on the way out, which Jool's setup does not.
/// Input: one case per line, "NAME SENT.pkt EXPECTED.pkt [IGNORED,OFFSETS]". Output: "PASS NAME" or
/// "FAIL NAME: why" per case; exit status 0 only if every case passed.
/// </summary>
internal static class TunExchange
{
    public static int Run(string device, string casesFile)
    {
        using var tun = LinuxTun.Open(device);
        tun.ReadTimeoutMilliseconds = 100;
        var buffer = new byte[65536];
        while (tun.TryRead(buffer) > 0) { }   // whatever the kernel queued before we looked
        int failed = 0;
        foreach (string line in File.ReadLines(casesFile))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 3) continue;
            byte[] sent = File.ReadAllBytes(f[1]), expected = File.ReadAllBytes(f[2]);
            var ignored = new HashSet<int>(f.Length > 3 ? f[3].Split(',').Select(int.Parse) : []);
            if (expected[0] >> 4 == 4) ignored.UnionWith([8, 10, 11]); else ignored.Add(7);
            tun.Write(sent);
            string? why = "nothing came out within 1 s";
            var deadline = Environment.TickCount64 + 1000;
            while (Environment.TickCount64 < deadline)
            {
                int n = tun.Read(buffer);
                if (n == 0) continue;
                var got = buffer.AsSpan(0, n);
                if (got[0] >> 4 != expected[0] >> 4 || IsNeighbourChatter(got)) continue;
                why = Difference(got, expected, ignored);
                break;
            }
            if (why is null) Console.WriteLine($"PASS {f[0]}");
            else
            {
                failed++;
                Console.WriteLine($"FAIL {f[0]}: {why}");
            }
        }
        return failed == 0 ? 0 : 1;
    }

    // Router solicitations, MLD reports and the like that the kernel sends on any IPv6 link.
    private static bool IsNeighbourChatter(ReadOnlySpan<byte> p) =>
        p[0] >> 4 == 6 && p.Length > 40 && ((p[6] == 58 && p[40] is >= 130 and <= 143) || p[6] == 0);

    private static string? Difference(ReadOnlySpan<byte> got, byte[] expected, HashSet<int> ignored)
    {
        if (got.Length != expected.Length) return $"length {got.Length}, expected {expected.Length}: {Convert.ToHexString(got)}";
        for (int i = 0; i < got.Length; i++)
            if (got[i] != expected[i] && !ignored.Contains(i))
                return $"byte {i} is 0x{got[i]:x2}, expected 0x{expected[i]:x2}: {Convert.ToHexString(got)}";
        return null;
    }
}
