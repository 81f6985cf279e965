using System.Diagnostics;
using System.Text;
using Teredo.Addressing;
using Teredo.Net;
using Teredo.P2p.Coordinator;

namespace Teredo.Hosting.Ipv4Peer;

/// <summary>What the donor's own firewall table must say: its TUN, pool, own address and the exceptions.</summary>
public sealed record NftablesPlan(
    string Table, string Tun, Ipv4Prefix Pool, Ipv4Address LocalAddress, IReadOnlyList<Ipv4Prefix> Allowed,
    int MaxFlowsPerSource, int MssClamp, bool ForwardingWasOff);

/// <summary>
/// The IPv4 peer's nftables table (one table it owns, deleted on exit): forwarding only between its TUN and
/// the outside, masquerade of its pool, RFC 6890 non-global destinations refused a second time (admin
/// prohibited, like the translator), a per-user bound on connections, the static address reaching the
/// host itself only (input chain), and TCP MSS clamped to fit Teredo's 1280 bytes in both directions.
/// nft(8) rather than netlink code: it is what administrators read, and this runs twice per daemon life.
/// </summary>
public static class NftablesTable
{
    public const string Program = "nft";

    /// <summary>The nft script that creates the table (after deleting any leftover of a crashed run).</summary>
    public static string Script(NftablesPlan plan)
    {
        string tun = Quote(plan.Tun);
        string pool = $"{plan.Pool.Network}/{plan.Pool.Length}";
        var s = new StringBuilder();
        s.Append("table ip ").Append(plan.Table).Append(" {}\n");
        s.Append("delete table ip ").Append(plan.Table).Append('\n');
        s.Append("table ip ").Append(plan.Table).Append(" {\n");
        s.Append("  set flows { type ipv4_addr; size 65535; flags dynamic; }\n");
        s.Append("  chain mss_in {\n    type filter hook prerouting priority mangle; policy accept;\n");
        s.Append($"    iifname {tun} tcp flags syn tcp option maxseg size > {plan.MssClamp} tcp option maxseg size set {plan.MssClamp}\n  }}\n");
        s.Append("  chain mss_out {\n    type filter hook postrouting priority mangle; policy accept;\n");
        s.Append($"    oifname {tun} tcp flags syn tcp option maxseg size > {plan.MssClamp} tcp option maxseg size set {plan.MssClamp}\n  }}\n");
        // With forwarding off before us, nothing but the TUN's traffic may be forwarded; with it on, other
        // forwarding on the host is not ours to change, so only the TUN's traffic is constrained.
        s.Append("  chain forward {\n    type filter hook forward priority filter - 1; policy ")
         .Append(plan.ForwardingWasOff ? "drop" : "accept").Append(";\n");
        s.Append($"    iifname {tun} oifname {tun} drop\n");
        s.Append($"    iifname {tun} ip saddr != {pool} drop\n");
        if (plan.Allowed.Count > 0) s.Append($"    iifname {tun} ip daddr {Set(plan.Allowed.Select(p => $"{p.Network}/{p.Length}"))} goto admitted\n");
        s.Append($"    iifname {tun} ip daddr {Set(NonGlobalRanges())} reject with icmp type admin-prohibited\n");
        s.Append($"    iifname {tun} goto admitted\n");
        s.Append($"    oifname {tun} ct state established,related accept\n");
        s.Append($"    oifname {tun} drop\n  }}\n");
        s.Append("  chain admitted {\n");
        s.Append($"    ct state new add @flows {{ ip saddr ct count over {plan.MaxFlowsPerSource} }} reject with icmp type admin-prohibited\n");
        s.Append("    accept\n  }\n");
        s.Append("  chain input {\n    type filter hook input priority filter - 1; policy accept;\n");
        s.Append($"    iifname {tun} ip saddr {pool} ip daddr {plan.LocalAddress} accept\n");
        s.Append($"    iifname {tun} drop\n  }}\n");
        s.Append("  chain nat {\n    type nat hook postrouting priority srcnat; policy accept;\n");
        s.Append($"    ip saddr {pool} oifname != {tun} masquerade\n  }}\n");
        s.Append("}\n");
        return s.ToString();
    }

    /// <summary>RFC 6890's not-globally-reachable ranges, without those inside another (nft refuses overlapping set elements).</summary>
    public static IEnumerable<string> NonGlobalRanges()
    {
        var ranges = SpecialPurposeIpv4.Ranges;
        foreach (var r in ranges)
        {
            bool inside = false;
            foreach (var other in ranges)
                if (other != r && other.Length < r.Length && r.Network.IsIn(other.Network, other.Length)) inside = true;
            if (!inside) yield return r.Length == 32 ? r.Network.ToString() : $"{r.Network}/{r.Length}";
        }
    }

    public static void Apply(NftablesPlan plan) => Run(["-f", "-"], Script(plan));

    public static void Remove(string table) => Run(["delete", "table", "ip", table], null);

    public static bool IsAvailable() => Resolve() is not null;

    private static string Set(IEnumerable<string> items) => "{ " + string.Join(", ", items) + " }";

    private static string Quote(string name) => "\"" + name.Replace("\"", "") + "\"";

    private static void Run(IReadOnlyList<string> arguments, string? stdin)
    {
        var start = new ProcessStartInfo(Resolve() ?? Program)
        {
            RedirectStandardInput = true,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (string a in arguments) start.ArgumentList.Add(a);
        string line = Program + " " + string.Join(' ', arguments);
        Process process;
        try { process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {Program}"); }
        catch (System.ComponentModel.Win32Exception e) { throw new InvalidOperationException($"could not start {Program} (is nftables installed?): {e.Message}"); }
        using var _ = process;
        if (stdin is not null) process.StandardInput.Write(stdin);
        process.StandardInput.Close();
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromSeconds(30)))
        {
            process.Kill();
            throw new InvalidOperationException($"'{line}' did not finish within 30 s");
        }
        if (process.ExitCode != 0) throw new InvalidOperationException($"'{line}' failed (exit {process.ExitCode}): {stderr.Result.Trim()}");
    }

    private static string? Resolve() =>
        ((Environment.GetEnvironmentVariable("PATH") ?? "") + ":/usr/sbin:/sbin:/usr/bin:/bin")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, Program))
            .FirstOrDefault(File.Exists);
}
