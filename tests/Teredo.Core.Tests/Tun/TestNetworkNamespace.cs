using Teredo.Hosting.Tun;

namespace Teredo.Tests.Tun;

/// <summary>
/// A throw-away network namespace (ip netns add ttun-...). Everything a test creates inside goes with
/// it; Dispose deletes it even when the test failed. Tests dispose their TUN devices first, since an
/// open descriptor keeps the namespace alive after <c>ip netns del</c>.
/// </summary>
internal sealed class TestNetworkNamespace : IDisposable
{
    public const string Prefix = "ttun-";

    private TestNetworkNamespace(string name) => Name = name;

    public string Name { get; }

    /// <summary>Why the root-only TUN tests cannot run here, or null when they can.</summary>
    public static string? WhyUnavailable() =>
        !OperatingSystem.IsLinux() ? "TUN tests need Linux"
        : !Environment.IsPrivilegedProcess ? "TUN tests need root (CAP_NET_ADMIN) to create network namespaces and TUN devices; run `sudo scripts/test`"
        : !LinuxTun.IsAvailable ? $"{LinuxTun.DevicePath} is missing (modprobe tun, or give the container the device)"
        : !IpCommand.IsAvailable() ? "ip (iproute2) is not installed"
        : null;

    public static TestNetworkNamespace Create()
    {
        string name = $"{Prefix}{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}";
        IpCommand.Run("netns", "add", name);
        return new TestNetworkNamespace(name);
    }

    /// <summary>Runs a command inside the namespace (ip netns exec); throws with its stderr if it fails.</summary>
    public string Exec(params string[] command) => IpCommand.Run(["netns", "exec", Name, .. command]);

    public void Dispose() => IpCommand.Run("netns", "del", Name);
}
