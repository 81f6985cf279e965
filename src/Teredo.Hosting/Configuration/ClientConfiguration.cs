using System.Text;
using Teredo.Client;
using Teredo.Net;

namespace Teredo.Hosting.Configuration;

/// <summary>How the client daemon runs, beyond what the engine needs.</summary>
public sealed record ClientHostSettings
{
    /// <summary>User to become once started as root (User, --user); null keeps the identity the daemon was started with.</summary>
    public string? User { get; init; }
    /// <summary>The engine's options; until <see cref="Addresses.HostResolution"/> has looked up <see cref="ServerName"/>, its server is unspecified.</summary>
    public required ClientOptions Engine { get; init; }
    /// <summary>ServerAddress when it is a host name, resolved at start; null when it is an address.</summary>
    public HostName? ServerName { get; init; }
    /// <summary>ServerAddress2 when it is a host name, resolved at start.</summary>
    public HostName? SecondaryServerName { get; init; }
    public string InterfaceName { get; init; } = "teredo";
    public Ipv4Address BindAddress { get; init; } = Ipv4Address.Any;
    /// <summary>0: the kernel picks a random port (RFC 4380 §5.2: clients behind one NAT must differ).</summary>
    public ushort BindPort { get; init; }
    public string ControlSocket { get; init; } = "/run/teredo/client.sock";
    /// <summary>Where the Prometheus endpoint listens (--metrics, Metrics); null: no endpoint.</summary>
    public System.Net.IPEndPoint? Metrics { get; init; }
    /// <summary>A default route over the tunnel (with <see cref="RouteMetric"/>), or only 2001::/32.</summary>
    public bool DefaultRoute { get; init; } = true;
    /// <summary>Miredo's metric: native IPv6, if any, keeps precedence.</summary>
    public int RouteMetric { get; init; } = 1029;
    /// <summary>RFC 4380 §5.5: start even though the host already has global IPv6.</summary>
    public bool ForceWithIpv6 { get; init; }
}

/// <summary>
/// Reads miredo.conf(5) in client mode (RelayType client or autoclient) unchanged — RelayType,
/// ServerAddress, ServerAddress2, InterfaceName, BindAddress, BindPort, SyslogFacility — plus this
/// project's directives, documented in docs/client.md.
/// </summary>
public static class ClientConfiguration
{
    public static readonly IReadOnlySet<string> Known = ConfigFile.Names(
        // miredo.conf(5)
        "RelayType", "ServerAddress", "ServerAddress2", "InterfaceName", "BindAddress", "BindPort", "SyslogFacility",
        "Prefix", "InterfaceMTU",
        // ours
        "User", "ControlSocket", MetricsDirective.Name, "DefaultRoute", "RouteMetric", "ForceWithIpv6", "ClientId", "Secret", "StrictSymmetric",
        "LocalDiscovery", "RefreshDetermination", "RefreshInterval", "QualificationTimeout", "QualificationAttempts",
        "OfflineRetry", "IgnoreConeBit", "PeerCapacity", "MaxQueuedPerPeer", "MaxQueuedBytes");

    public static ClientHostSettings Load(string? path, Action<Dictionary<string, string>>? overrides = null)
    {
        var config = ConfigValues.Load(path, Known, overrides);
        string file = config.File;
        ConfigDirective? Get(string name) => config.Get(name);
        int Int(string name, int min, int max, int fallback) => config.Int(name, min, max, fallback);
        bool Bool(string name, bool fallback) => config.Bool(name, fallback);
        string Where(ConfigDirective d) => config.Where(d);

        if (Get("RelayType") is { } type)
        {
            switch (type.Value.ToLowerInvariant())
            {
                case "client" or "autoclient": break;
                case "relay" or "cone" or "restricted":
                    throw new ConfigException($"{Where(type)}: RelayType {type.Value} is a relay: run 'teredo relay' with this file");
                default:
                    throw new ConfigException($"{Where(type)}: RelayType wants client or autoclient, not '{type.Value}'");
            }
        }
        foreach (string relayOnly in new[] { "Prefix", "InterfaceMTU" })
            if (Get(relayOnly) is { } d)
                throw new ConfigException($"{Where(d)}: {d.Name} is only valid in relay mode (miredo.conf(5): it must not be used by a client)");

        var serverDirective = Get("ServerAddress")
            ?? throw new ConfigException($"{file}: ServerAddress (the Teredo server's name or IPv4 address) is required");
        var serverName = NameOrAddress(serverDirective, Where(serverDirective), out var server);
        HostName? secondaryName = null;
        Ipv4Address? secondary = null;
        if (Get("ServerAddress2") is { } s2)
        {
            secondaryName = NameOrAddress(s2, Where(s2), out var a2);
            if (secondaryName is null) secondary = a2;
        }

        var bind = Ipv4Address.Any;
        if (Get("BindAddress") is { } b && !Ipv4Address.TryParse(b.Value, out bind))
            throw new ConfigException($"{Where(b)}: BindAddress wants an IPv4 address, not '{b.Value}'");

        byte[]? clientId = Get("ClientId") is { } id ? Encoding.UTF8.GetBytes(id.Value) : null;
        byte[]? secret = Get("Secret") is { } sec ? Encoding.UTF8.GetBytes(sec.Value) : null;
        if (clientId is { Length: 0 or > 255 })
            throw new ConfigException($"{Where(Get("ClientId")!)}: ClientId wants 1 to 255 bytes");
        if ((clientId is null) != (secret is null) || secret is { Length: 0 })
            throw new ConfigException($"{file}: secure qualification needs both ClientId and a non-empty Secret");

        var defaults = new ClientOptions { Server = server };
        var engine = defaults with
        {
            SecondaryServer = secondary,
            ClientId = clientId,
            Secret = secret,
            StrictSymmetric = Bool("StrictSymmetric", false),
            LocalDiscovery = Bool("LocalDiscovery", false),
            RefreshDetermination = Bool("RefreshDetermination", false),
            RefreshIntervalMs = Int("RefreshInterval", 2, 3600, defaults.RefreshIntervalMs / 1000) * 1000,
            QualificationTimeoutMs = Int("QualificationTimeout", 1, 60, defaults.QualificationTimeoutMs / 1000) * 1000,
            QualificationAttempts = Int("QualificationAttempts", 1, 20, defaults.QualificationAttempts),
            OfflineRetryMs = Int("OfflineRetry", 1, 3600, defaults.OfflineRetryMs / 1000) * 1000,
            IgnoreConeBit = Bool("IgnoreConeBit", false),
            PeerCapacity = Int("PeerCapacity", 16, 1 << 20, defaults.PeerCapacity),
            MaxQueuedPerPeer = Int("MaxQueuedPerPeer", 0, 1024, defaults.MaxQueuedPerPeer),
            MaxQueuedBytes = Int("MaxQueuedBytes", 0, 1 << 28, defaults.MaxQueuedBytes),
        };
        if (engine.RefreshDetermination && engine.RefreshIntervalMs > engine.MaximumRefreshIntervalMs)
            throw new ConfigException($"{file}: RefreshDetermination starts from RefreshInterval, which must not exceed the 120 s maximum");
        // Local discovery needs the local network, which the daemon learns when it binds; checked there.
        // A server given by name is checked once resolved (HostResolution).
        if (serverName is null && (engine with { LocalDiscovery = false }).Validate() is { } problem)
            throw new ConfigException($"{file}: {problem}");

        string name = Get("InterfaceName")?.Value ?? "teredo";
        if (name.Length is 0 or > 15 || name.Contains('/') || name.Any(char.IsWhiteSpace))
            throw new ConfigException($"{file}: InterfaceName wants an interface name of 1 to 15 characters, not '{name}'");

        return new ClientHostSettings
        {
            User = config.Get("User")?.Value,
            Engine = engine,
            ServerName = serverName,
            SecondaryServerName = secondaryName,
            InterfaceName = name,
            BindAddress = bind,
            BindPort = (ushort)Int("BindPort", 0, 65535, 0),
            ControlSocket = Get("ControlSocket")?.Value ?? "/run/teredo/client.sock",
            Metrics = MetricsDirective.Read(config),
            DefaultRoute = Bool("DefaultRoute", true),
            RouteMetric = Int("RouteMetric", 1, int.MaxValue, 1029),
            ForceWithIpv6 = Bool("ForceWithIpv6", false),
        };
    }

    /// <summary>A numeric IPv4 address (into <paramref name="address"/>, null returned), or a host name to resolve at start.</summary>
    private static HostName? NameOrAddress(ConfigDirective d, string where, out Ipv4Address address)
    {
        if (Ipv4Address.TryParse(d.Value, out address)) return null;
        if (d.Value.Length == 0 || d.Value.Contains(':') || d.Value.Any(char.IsWhiteSpace))
            throw new ConfigException($"{where}: {d.Name} wants a host name or IPv4 address, not '{d.Value}'");
        address = Ipv4Address.Any;
        return new HostName(d.Value, d.Name, where);
    }
}
