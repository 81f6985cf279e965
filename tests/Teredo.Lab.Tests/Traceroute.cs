using System.Net;

namespace Teredo.Lab.Tests;

/// <summary>Reads `traceroute -n` output: per hop, the addresses that answered (a "*" probe adds none).</summary>
public static class Traceroute
{
    public static List<List<string>> Hops(string stdout)
    {
        var hops = new List<List<string>>();
        foreach (var line in stdout.Split('\n'))
        {
            var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (words.Length == 0 || !int.TryParse(words[0], out int hop) || hop != hops.Count + 1) continue;
            hops.Add(words.Skip(1).Where(w => w.Contains(':') && IPAddress.TryParse(w, out _)).ToList());
        }
        return hops;
    }
}
