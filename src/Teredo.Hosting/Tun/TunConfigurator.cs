using Teredo.Net;

namespace Teredo.Hosting.Tun;

/// <summary>
/// Configures a TUN interface with ip(8): link state, MTU, addresses and routes, in the current
/// network namespace or in a named one (<c>ip -n NAME</c>). Every failure is an
/// <see cref="IpCommandException"/> carrying ip's own message.
/// </summary>
public sealed class TunConfigurator(string? networkNamespace = null)
{
    /// <summary>An <c>ip netns</c> name: ip -n cannot take a /proc/PID/ns/net path.</summary>
    public string? NetworkNamespace { get; } = networkNamespace is not null && networkNamespace.Contains('/')
        ? throw new ArgumentException($"'{networkNamespace}' is not an ip netns name", nameof(networkNamespace))
        : networkNamespace;

    /// <summary>A configurator for the namespace <paramref name="tun"/> was created in.</summary>
    public static TunConfigurator For(LinuxTun tun) => new(tun.NetworkNamespace);

    /// <summary>
    /// The usual sequence for a fresh tunnel: IPv6 enabled, no kernel-generated link-local address,
    /// the MTU, then up. The order matters: the link-local address is generated when the link comes up.
    /// </summary>
    public void BringUp(string device, int? mtu = null)
    {
        EnableIpv6(device);
        DisableAddressGeneration(device);
        if (mtu is int value) SetMtu(device, value);
        SetUp(device);
    }

    public void SetUp(string device) => Ip("link", "set", "dev", device, "up");

    public void SetDown(string device) => Ip("link", "set", "dev", device, "down");

    /// <summary>Below 1280 the kernel turns IPv6 off on the interface (RFC 8200 §5), so that is refused here.</summary>
    public void SetMtu(string device, int mtu)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(mtu, 1280);
        Ip("link", "set", "dev", device, "mtu", mtu.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// No automatic link-local (fe80::/64 from a random or EUI-64 identifier): a Teredo interface's
    /// link-local address, if any, is one the engine chooses, and an extra one would leak into source
    /// address selection. Must precede <see cref="SetUp"/>.
    /// </summary>
    public void DisableAddressGeneration(string device) => Ip("link", "set", "dev", device, "addrgenmode", "none");

    /// <summary>
    /// Clears net.ipv6.conf.DEVICE.disable_ipv6 when set (a host or namespace with IPv6 off by default).
    /// Written through /proc from a thread in the device's namespace: /proc/sys/net shows the namespace
    /// of the thread that opens it.
    /// </summary>
    public void EnableIpv6(string device)
    {
        if (device.Contains('/') || device is "." or "..") throw new ArgumentException($"'{device}' is not an interface name", nameof(device));
        Tun.NetworkNamespace.Run(NetworkNamespace, () =>
        {
            string path = $"/proc/sys/net/ipv6/conf/{device}/disable_ipv6";
            if (!File.Exists(path))
                throw new InvalidOperationException($"{path} does not exist: no interface {device}{Where}, or IPv6 is disabled in the kernel (ipv6.disable=1)");
            if (File.ReadAllText(path).Trim() != "0") File.WriteAllText(path, "0");
        });
    }

    /// <summary>
    /// Adds an address; without DAD by default, since a tunnel has no neighbours to collide with and a
    /// tentative address could not be used as a source for the first second.
    /// </summary>
    public void AddAddress(string device, Ipv6Address address, int prefixLength, bool duplicateAddressDetection = false)
    {
        var arguments = new List<string> { "-6", "address", "add", Prefix(address, prefixLength, 128), "dev", device };
        if (!duplicateAddressDetection) arguments.Add("nodad");
        Ip(arguments);
    }

    public void RemoveAddress(string device, Ipv6Address address, int prefixLength) =>
        Ip("-6", "address", "del", Prefix(address, prefixLength, 128), "dev", device);

    public void AddAddress(string device, Ipv4Address address, int prefixLength) =>
        Ip("-4", "address", "add", Prefix(address, prefixLength, 32), "dev", device);

    public void RemoveAddress(string device, Ipv4Address address, int prefixLength) =>
        Ip("-4", "address", "del", Prefix(address, prefixLength, 32), "dev", device);

    /// <summary>Routes a prefix into the interface (no gateway: a TUN is point-to-point). Fails if the route exists.</summary>
    public void AddRoute(string device, Ipv6Address prefix, int prefixLength, int? metric = null) =>
        Ip(RouteArguments("-6", "add", Prefix(prefix, prefixLength, 128), device, metric));

    public void RemoveRoute(string device, Ipv6Address prefix, int prefixLength, int? metric = null) =>
        Ip(RouteArguments("-6", "del", Prefix(prefix, prefixLength, 128), device, metric));

    public void AddRoute(string device, Ipv4Address prefix, int prefixLength, int? metric = null) =>
        Ip(RouteArguments("-4", "add", Prefix(prefix, prefixLength, 32), device, metric));

    public void RemoveRoute(string device, Ipv4Address prefix, int prefixLength, int? metric = null) =>
        Ip(RouteArguments("-4", "del", Prefix(prefix, prefixLength, 32), device, metric));

    /// <summary>
    /// Deletes the interface. A non-persistent TUN also disappears when its last descriptor closes; this
    /// is for persistent ones and for removing it while a descriptor is still open (reads then fail).
    /// </summary>
    public void DeleteInterface(string device) => Ip("link", "del", "dev", device);

    /// <summary>ip's own view of the interface (<c>ip -d address show dev DEVICE</c>), for diagnostics.</summary>
    public string Show(string device) => Ip("-d", "address", "show", "dev", device);

    /// <summary>The routes through the interface in one family (<c>ip -6 route show dev DEVICE</c>).</summary>
    public string ShowRoutes(string device, bool ipv6 = true) => Ip(ipv6 ? "-6" : "-4", "route", "show", "dev", device);

    private string Where => NetworkNamespace is null ? "" : $" in network namespace {NetworkNamespace}";

    private static string Prefix<T>(T address, int prefixLength, int bits) where T : struct
    {
        ArgumentOutOfRangeException.ThrowIfNegative(prefixLength);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(prefixLength, bits);
        return $"{address}/{prefixLength}";
    }

    private static List<string> RouteArguments(string family, string verb, string prefix, string device, int? metric)
    {
        var arguments = new List<string> { family, "route", verb, prefix, "dev", device };
        if (metric is int value) arguments.AddRange(["metric", value.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        return arguments;
    }

    private string Ip(params IEnumerable<string> arguments) =>
        IpCommand.Run(NetworkNamespace is null ? arguments : ["-n", NetworkNamespace, .. arguments]);
}
