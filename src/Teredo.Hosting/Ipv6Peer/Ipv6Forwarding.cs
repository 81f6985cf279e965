namespace Teredo.Hosting.Ipv6Peer;

/// <summary>
/// The IPv6 peer writes rewritten packets back into its TUN for the kernel to route on, which the kernel only
/// does with forwarding on; without it every packet would vanish silently, so the daemon refuses to start.
/// </summary>
public static class Ipv6Forwarding
{
    public const string Sysctl = "net.ipv6.conf.all.forwarding";
    public const string ProcPath = "/proc/sys/net/ipv6/conf/all/forwarding";

    public static bool IsOn(string path = ProcPath)
    {
        try { return File.ReadAllText(path).Trim() == "1"; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }

    /// <summary>Throws <see cref="InvalidOperationException"/> (the daemon host's "exit 1" case) naming the sysctl.</summary>
    public static void Require(string path = ProcPath)
    {
        if (!IsOn(path))
            throw new InvalidOperationException(
                $"IPv6 forwarding is off: the v6peer needs {Sysctl}=1 (sysctl -w {Sysctl}=1) to route its clients' packets");
    }
}
