using Teredo.Hosting.Tun;
using Teredo.Net;
using Teredo.P2p.Coordinator;

namespace Teredo.Hosting.Ipv4Peer;

/// <summary>The host facts v4peer checks and the one setting it may change (IPv4 forwarding), remembered so it can be undone.</summary>
public static class HostNetwork
{
    public const string ForwardingPath = "/proc/sys/net/ipv4/ip_forward";

    /// <summary>Routes and addresses of the host that overlap <paramref name="pool"/> (the default route aside): the pool would shadow them.</summary>
    public static IReadOnlyList<string> Conflicts(Ipv4Prefix pool, string ownInterface)
    {
        var conflicts = new List<string>();
        foreach (string line in IpCommand.Run("-4", "-o", "route", "show", "table", "all").Split('\n', StringSplitOptions.RemoveEmptyEntries))
            if (Overlaps(line, pool, ownInterface)) conflicts.Add("route " + line.Trim());
        foreach (string line in IpCommand.Run("-4", "-o", "address", "show").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            int inet = Array.IndexOf(parts, "inet");
            if (inet < 0 || inet + 1 >= parts.Length || parts.Length < 2 || parts[1] == ownInterface) continue;
            if (Ipv4Prefix.TryParse(parts[inet + 1], out var p) && Overlap(p, pool)) conflicts.Add("address " + parts[inet + 1] + " on " + parts[1]);
        }
        return conflicts;
    }

    /// <summary>One line of <c>ip -4 -o route show</c>: does its destination overlap the pool (routes through our own TUN aside)?</summary>
    public static bool Overlaps(string routeLine, Ipv4Prefix pool, string ownInterface)
    {
        var parts = routeLine.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0) return false;
        int i = parts[0] is "local" or "broadcast" or "unicast" or "blackhole" or "unreachable" or "prohibit" or "multicast" ? 1 : 0;
        if (i >= parts.Length || parts[i] == "default") return false;
        int dev = Array.IndexOf(parts, "dev");
        if (dev >= 0 && dev + 1 < parts.Length && parts[dev + 1] == ownInterface) return false;
        string destination = parts[i].Contains('/') ? parts[i] : parts[i] + "/32";
        return Ipv4Prefix.TryParse(destination, out var p) && Overlap(p, pool);
    }

    public static bool Overlap(Ipv4Prefix a, Ipv4Prefix b)
    {
        int shorter = Math.Min(a.Length, b.Length);
        return a.Network.IsIn(new Ipv4Address(b.Network.Value), shorter) || b.Network.IsIn(a.Network, shorter);
    }

    public static bool ForwardingEnabled() => File.ReadAllText(ForwardingPath).Trim() == "1";

    public static void SetForwarding(bool on) => File.WriteAllText(ForwardingPath, on ? "1\n" : "0\n");
}
