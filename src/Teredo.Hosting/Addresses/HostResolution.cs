using System.Net;
using System.Net.Sockets;
using Teredo.Hosting.Configuration;
using Teredo.Net;

namespace Teredo.Hosting.Addresses;

/// <summary>
/// What a configuration leaves to the host, looked up just before a daemon starts: host names to resolve
/// (the client's ServerAddress may be one), and this host's native IPv6 addresses (a relay's own and
/// served addresses, the server's Ipv6Forwarding auto). Configuration/ only parses; the lookups live
/// here so that parsing a file never touches DNS or the interfaces, and tests give both as inputs.
/// Failures are <see cref="ConfigException"/>s that name the directive's file and line.
/// </summary>
public static class HostResolution
{
    public static ClientHostSettings Resolve(ClientHostSettings settings, Func<string, IPAddress[]>? resolve = null)
    {
        if (settings.ServerName is null && settings.SecondaryServerName is null) return settings;
        resolve ??= Dns.GetHostAddresses;
        var engine = settings.Engine;
        if (settings.ServerName is { } primary) engine = engine with { Server = ResolveIpv4(primary, resolve) };
        if (settings.SecondaryServerName is { } secondary) engine = engine with { SecondaryServer = ResolveIpv4(secondary, resolve) };
        if ((engine with { LocalDiscovery = false }).Validate() is { } problem)
            throw new ConfigException($"{(settings.ServerName ?? settings.SecondaryServerName)!.Where}: {problem}");
        return settings with { Engine = engine, ServerName = null, SecondaryServerName = null };
    }

    public static RelayHostSettings Resolve(RelayHostSettings settings, IReadOnlyList<(Ipv6Address Address, string Interface)>? native = null)
    {
        if (!settings.OwnAddressFromHost && !settings.HostSpecific) return settings;
        native ??= NativeIpv6.Read();
        var engine = settings.Engine;
        if (settings.OwnAddressFromHost && native.Count > 0) engine = engine with { OwnAddress = native[0].Address };
        // §4.2.2: the host's own native addresses are what a host-specific relay serves.
        if (settings.HostSpecific) engine = engine with { ServedAddresses = native.Select(a => a.Address).ToHashSet() };
        engine.Validate();
        return settings with { Engine = engine, OwnAddressFromHost = false };
    }

    public static ServerHostSettings Resolve(ServerHostSettings settings, bool? hasNativeIpv6 = null)
    {
        if (!settings.Ipv6ForwardingFromHost) return settings;
        bool forwarding = hasNativeIpv6 ?? NativeIpv6.First() is not null;
        return settings with { Engine = settings.Engine with { Ipv6Forwarding = forwarding }, Ipv6ForwardingFromHost = false };
    }

    /// <summary>The name's first IPv4 address (miredo.conf(5): a name or an address).</summary>
    private static Ipv4Address ResolveIpv4(HostName name, Func<string, IPAddress[]> resolve)
    {
        IPAddress[] addresses;
        try { addresses = resolve(name.Name); }
        catch (Exception e) when (e is SocketException or ArgumentException)
        {
            throw new ConfigException($"{name.Where}: {name.Directive} '{name.Name}' does not resolve: {e.Message}");
        }
        foreach (var ip in addresses)
            if (ip.AddressFamily == AddressFamily.InterNetwork) return Ipv4Address.FromIPAddress(ip);
        throw new ConfigException($"{name.Where}: {name.Directive} '{name.Name}' has no IPv4 address");
    }
}
