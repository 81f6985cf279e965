namespace Teredo.Cli.Lab;

/// <summary>
/// The NAT64 entries' shared steps, as Debian's /etc/init.d/tayga runs a translator with
/// CONFIGURE_IFACE=yes: a persistent TUN (--mktun), up, routes for the prefix and the IPv4 side, then the
/// daemon in the foreground; stopping removes the TUN again (--rmtun). Ours runs through a two-line
/// wrapper named tayga, so both read the same tayga.conf and command line.
/// </summary>
public static class Translators
{
    public const string Tun = "nat64";

    /// <summary>Only directives Debian's 0.9.2 knows, so both implementations read it.</summary>
    public static string WriteConf(LaunchRequest r)
    {
        string data = r.File("tayga-data");
        Directory.CreateDirectory(data);
        return NodeSetup.WriteConfig(r.File("tayga.conf"), $"node {r.Node}: stateless NAT64 (tayga.conf(5))",
        [
            "tun-device " + Tun, "ipv4-addr " + r.Plan["NAT64_TAYGA_V4"], "prefix " + r.Plan["NAT64_PREFIX"],
            "dynamic-pool " + r.Plan["NAT64_POOL"], "data-dir " + data, $"map {r.Plan["NAT64_STATIC_V4"]} {r.Plan["HOST6_STATIC_V6"]}",
        ]);
    }

    public static string DebianTayga() => File.Exists("/usr/sbin/tayga") ? "/usr/sbin/tayga" : "tayga";

    public static string Wrapper(LaunchRequest r)
    {
        string dir = r.File("teredo-bin"), path = Path.Combine(dir, "tayga");
        Directory.CreateDirectory(dir);
        File.WriteAllText(path, $"#!/bin/sh\nexec {string.Join(' ', r.Teredo.Select(Quote))} nat64 --control {Quote(r.File("teredo-nat64.sock"))} \"$@\"\n");
        if (OperatingSystem.IsLinux()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        return path;
    }

    private static string Quote(string word) => "'" + word.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    public static void MakeTun(LaunchRequest r, string program, string conf)
    {
        var mk = LabContext.RunIn(r.Node, TimeSpan.FromSeconds(10), program, "-c", conf, "--mktun");
        File.WriteAllText(r.File("tayga-mktun.log"), mk.Stdout + mk.Stderr);
        if (!mk.Ok) throw new LabException($"tayga --mktun failed: {LabShell.Tail(r.File("tayga-mktun.log"))}");
        foreach (string[] change in new string[][]
        {
            ["link", "set", Tun, "up"],
            ["-6", "route", "replace", r.Plan["NAT64_PREFIX"], "dev", Tun],
            ["route", "replace", r.Plan["NAT64_V4_ROUTE"], "dev", Tun],
        })
        {
            var ip = LabContext.Ip(r.Node, change);
            if (!ip.Ok) throw new LabException($"ip {string.Join(' ', change)} in {r.Node} failed: {ip.Stderr.Trim()}");
        }
        File.Delete(r.File("teredo-nat64.sock"));
    }

    /// <summary>Stops the translator and removes its persistent TUN, as the init script does.</summary>
    public static void Stop(LabContext lab, string node)
    {
        TrackedProcess.Stop(TrackedProcess.PidFile(lab, node, "tayga"));
        string impl = lab.NodeFile(node, "tayga-impl");
        if (File.Exists(impl))
        {
            var words = File.ReadAllText(impl).Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
            LabContext.Ip(node, "link", "set", Tun, "down");
            if (words.Length >= 3) LabContext.RunIn(node, TimeSpan.FromSeconds(10), words[1], "-c", words[2], "--rmtun");
            File.Delete(impl);
        }
        NodeSetup.WaitInterfaceFree(node, Tun);
    }
}
