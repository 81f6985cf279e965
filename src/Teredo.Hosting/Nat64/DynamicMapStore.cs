using System.Globalization;
using System.Text;
using Teredo.Nat64;
using Teredo.Net;

namespace Teredo.Hosting.Nat64;

/// <summary>
/// The dynamic pool's assignments on disk (tayga.conf's data-dir), so an IPv6 host keeps its IPv4 address
/// across a restart: one "IPV4 IPV6 LAST-USE" line per mapping, the last use in Unix seconds (the map
/// keeps monotonic milliseconds, which mean nothing after a restart). Written to a temporary file and
/// renamed over the old one, so a crash mid-write leaves the previous complete file.
/// </summary>
public static class DynamicMapStore
{
    /// <summary>The mappings in <paramref name="path"/>, as of <paramref name="nowMs"/>; none when it does not exist. Bad lines are skipped and counted.</summary>
    public static List<DynamicMapping> Load(string path, long nowMs, DateTimeOffset wallNow, out int badLines)
    {
        badLines = 0;
        var entries = new List<DynamicMapping>();
        if (!File.Exists(path)) return entries;
        long nowUnix = wallNow.ToUnixTimeSeconds();
        foreach (string raw in File.ReadAllLines(path))
        {
            string line = raw.Trim();
            if (line.Length == 0 || line[0] == '#') continue;
            var f = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (f.Length != 3 || !Ipv4Address.TryParse(f[0], out var v4) || !Ipv6Address.TryParse(f[1], out var v6)
                || !long.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out long lastUnix))
            {
                badLines++;
                continue;
            }
            // A clock that went backwards must not make an entry younger than now.
            long ageMs = Math.Max(0, nowUnix - lastUnix) * 1000;
            entries.Add(new DynamicMapping(v4, v6, nowMs - ageMs));
        }
        return entries;
    }

    public static void Save(string path, IReadOnlyList<DynamicMapping> entries, long nowMs, DateTimeOffset wallNow)
    {
        long nowUnix = wallNow.ToUnixTimeSeconds();
        var text = new StringBuilder("# teredo nat64 dynamic pool: IPv4 IPv6 last-use (Unix seconds)\n");
        foreach (var e in entries)
        {
            long lastUnix = nowUnix - Math.Max(0, nowMs - e.LastUseMs) / 1000;
            text.Append(CultureInfo.InvariantCulture, $"{e.V4} {e.V6} {lastUnix}\n");
        }
        string? dir = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        string temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(Encoding.ASCII.GetBytes(text.ToString()));
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
    }
}
