using Teredo.Addressing;
using Teredo.Net;
using Teredo.P2p.Ipv6Peer;

namespace Teredo.Hosting.Configuration;

/// <summary>How the IPv6 peer reaches 2001::/32: through the host's routes (any relay) or its own relay engine.</summary>
public enum RelayMode
{
    /// <summary>Packets for T_k(D) go back to the kernel, which routes 2001::/32 to whatever relay serves it.</summary>
    External,
    /// <summary>Our relay engine runs inside the v6peer, confined to the pool, on its own UDP socket.</summary>
    Embedded,
}

public sealed record Ipv6PeerHostSettings
{
    /// <summary>User to become once started as root (User, --user); null keeps the identity the daemon was started with.</summary>
    public string? User { get; init; }
    public required Ipv6PeerOptions Engine { get; init; }
    public string InterfaceName { get; init; } = "v6peer";
    /// <summary>1280: the Teredo MTU, so the kernel answers larger client packets with Packet Too Big at once.</summary>
    public int Mtu { get; init; } = 1280;
    public RelayMode Relay { get; init; } = RelayMode.External;
    public string ControlSocket { get; init; } = "/run/teredo/v6peer.sock";
    /// <summary>Where the Prometheus endpoint listens (--metrics, Metrics); null: no endpoint.</summary>
    public System.Net.IPEndPoint? Metrics { get; init; }
}

/// <summary>
/// Reads the v6peer's directive file (docs/v6peer.md), Miredo syntax: one directive per line, unknown ones
/// are errors naming the file and line. Coordinator, ClientNetwork and AllowDestination may repeat, and
/// each line may carry several values; a command-line option replaces every line of its directive.
/// </summary>
public static class Ipv6PeerConfiguration
{
    public static readonly IReadOnlySet<string> Known = ConfigFile.Names(
        "User", "Prefix", "Pool", "Coordinator", "ClientNetwork", "AllowDestination", "Relay", "InterfaceName", "InterfaceMTU",
        "ControlSocket", MetricsDirective.Name, "MaxMappings", "MappingIdleTimeout", "MaxDestinations", "ResponseWindow", "RetryAfter",
        "ProbeTarget", "ProbeInterval", "IcmpErrorsPerSecond");

    public static Ipv6PeerHostSettings Load(string? path, Action<Dictionary<string, string>>? overrides = null)
    {
        var config = ConfigValues.Load(path, Known, overrides);
        var prefix = Required(config, "Prefix");
        var (prefixAddress, prefixLength) = ParseIpv6Network(prefix, config, defaultLength: 96);
        var (pool, poolLength) = ParseIpv6Network(Required(config, "Pool"), config, defaultLength: null);

        var defaults = new Ipv6PeerOptions();
        var engine = new Ipv6PeerOptions
        {
            Prefix = prefixAddress,
            PrefixLength = prefixLength,
            Pool = pool,
            PoolLength = poolLength,
            MaxMappings = config.Int("MaxMappings", 1, 1 << 24, defaults.MaxMappings),
            MappingIdleTimeoutMs = config.Int("MappingIdleTimeout", 1, 86400, defaults.MappingIdleTimeoutMs / 1000) * 1000,
            MaxDestinations = config.Int("MaxDestinations", 0, 1 << 24, defaults.MaxDestinations),
            ResponseWindowMs = config.Int("ResponseWindow", 1, 3600, defaults.ResponseWindowMs / 1000) * 1000,
            RetryAfterMs = config.Int("RetryAfter", 0, 86400, defaults.RetryAfterMs / 1000) * 1000,
            ProbeIntervalMs = config.Int("ProbeInterval", 1, 3600, defaults.ProbeIntervalMs / 1000) * 1000,
            IcmpErrorsPerSecond = config.Int("IcmpErrorsPerSecond", 0, 1_000_000, defaults.IcmpErrorsPerSecond),
        };
        foreach (var (d, value) in Values(config, "Coordinator"))
            engine.Coordinators.Add(ParseIpv4(d, value, config));
        foreach (var (d, value) in Values(config, "ClientNetwork"))
            engine.ClientNetworks.Add(ParseIpv6Network(d with { Value = value }, config, defaultLength: 128));
        foreach (var (d, value) in Values(config, "AllowDestination"))
            engine.AllowedDestinations.Add(ParseIpv4Network(d, value, config));
        if (config.Get("ProbeTarget") is { } probe) engine.ProbeTarget = ParseIpv4(probe, probe.Value, config);

        var relay = RelayMode.External;
        if (config.Get("Relay") is { } r)
        {
            relay = r.Value.ToLowerInvariant() switch
            {
                "external" => RelayMode.External,
                "embedded" => RelayMode.Embedded,
                _ => throw new ConfigException($"{config.Where(r)}: Relay wants external or embedded, not '{r.Value}'"),
            };
        }

        try { engine.Validate(); }
        catch (ArgumentException e)
        {
            throw new ConfigException($"{config.File}: {e.Message.Split(" (Parameter")[0]}");
        }
        return new Ipv6PeerHostSettings
        {
            User = config.Get("User")?.Value,
            Engine = engine,
            InterfaceName = config.Get("InterfaceName")?.Value ?? "v6peer",
            Mtu = config.Int("InterfaceMTU", 1280, 65535, 1280),
            Relay = relay,
            ControlSocket = config.Get("ControlSocket")?.Value ?? "/run/teredo/v6peer.sock",
            Metrics = MetricsDirective.Read(config),
        };
    }

    private static ConfigDirective Required(ConfigValues config, string name) =>
        config.Get(name) ?? throw new ConfigException($"{config.File}: {name} is required (docs/v6peer.md)");

    /// <summary>Every value of a repeatable directive: each line may hold several, separated by blanks or commas.</summary>
    private static IEnumerable<(ConfigDirective Directive, string Value)> Values(ConfigValues config, string name)
    {
        foreach (var d in config.GetAll(name))
            foreach (string value in d.Value.Split([' ', '\t', ','], StringSplitOptions.RemoveEmptyEntries))
                yield return (d, value);
    }

    private static Ipv4Address ParseIpv4(ConfigDirective d, string value, ConfigValues config) =>
        Ipv4Address.TryParse(value, out var a) ? a : throw new ConfigException($"{config.Where(d)}: {d.Name} wants an IPv4 address, not '{value}'");

    private static (Ipv4Address, int) ParseIpv4Network(ConfigDirective d, string value, ConfigValues config)
    {
        string[] parts = value.Split('/');
        int length = 32;
        if (parts.Length > 2 || !Ipv4Address.TryParse(parts[0], out var network)
            || (parts.Length == 2 && (!int.TryParse(parts[1], out length) || length is < 0 or > 32)))
            throw new ConfigException($"{config.Where(d)}: {d.Name} wants an IPv4 network such as 198.18.0.0/15, not '{value}'");
        return (network, length);
    }

    private static (Ipv6Address, int) ParseIpv6Network(ConfigDirective d, ConfigValues config, int? defaultLength)
    {
        string[] parts = d.Value.Split('/');
        int length = defaultLength ?? -1;
        if (parts.Length > 2 || !Ipv6Address.TryParse(parts[0], out var network)
            || (parts.Length == 2 && (!int.TryParse(parts[1], out length) || length is < 0 or > 128)) || length < 0)
            throw new ConfigException($"{config.Where(d)}: {d.Name} wants an IPv6 network such as 2001:db8::/64, not '{d.Value}'");
        return (network, length);
    }
}
