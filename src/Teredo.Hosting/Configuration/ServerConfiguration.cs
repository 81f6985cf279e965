using System.Collections.Frozen;
using System.Net;
using System.Net.Sockets;
using Teredo.Addressing;
using Teredo.Net;
using Teredo.Server;

namespace Teredo.Hosting.Configuration;

/// <summary>How the server daemon runs, beyond what the engine needs.</summary>
public sealed record ServerHostSettings
{
    /// <summary>User to become once started as root (User, --user); null keeps the identity the daemon was started with.</summary>
    public string? User { get; init; }
    public required ServerOptions Engine { get; init; }
    public string ControlSocket { get; init; } = "/run/teredo/server.sock";
    /// <summary>Where the Prometheus endpoint listens (--metrics, Metrics); null: no endpoint.</summary>
    public System.Net.IPEndPoint? Metrics { get; init; }
    /// <summary>Receive threads per server address (SO_REUSEPORT sockets); default one per core.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;
    public ushort Port { get; init; } = TeredoAddress.Port;
    /// <summary>Ipv6Forwarding auto (the default): on when this host has native IPv6, which <see cref="Addresses.HostResolution"/> reads at start.</summary>
    public bool Ipv6ForwardingFromHost { get; init; }
}

/// <summary>
/// Reads miredo-server.conf(5) unchanged — ServerBindAddress, ServerBindAddress2, Prefix, InterfaceMTU,
/// SyslogFacility — plus this project's own directives, documented in docs/server.md.
/// </summary>
public static class ServerConfiguration
{
    public static readonly IReadOnlySet<string> Known = ConfigFile.Names(
        // miredo-server.conf(5)
        "ServerBindAddress", "ServerBindAddress2", "Prefix", "InterfaceMTU", "SyslogFacility",
        // ours
        "User", "RequireAuthentication", "ClientSecretsFile", "Ipv6Forwarding", "AdvertisementRateLimit", "AdvertisementBurst",
        "ForwardRateLimit", "ForwardBurst", "RateLimitSlots", "ControlSocket", MetricsDirective.Name, "Threads", "Port");

    public static ServerHostSettings Load(string? path, Action<Dictionary<string, string>>? overrides = null)
    {
        var config = ConfigValues.Load(path, Known, overrides);
        string file = config.File;
        ConfigDirective? Get(string name) => config.Get(name);

        var primaryDirective = Get("ServerBindAddress")
            ?? throw new ConfigException($"{file}: ServerBindAddress (the primary IPv4 address) is required");
        var primary = ParseIpv4(primaryDirective, file);
        Ipv4Address? secondary = Get("ServerBindAddress2") is { } s2 ? ParseIpv4(s2, file) : null;
        var prefix = TeredoAddress.ServicePrefix;
        if (Get("Prefix") is { } p)
        {
            string text = p.Value.Split('/')[0];
            if (!Ipv6Address.TryParse(text, out prefix) || (prefix.Value & ((UInt128.One << 96) - 1)) != 0)
                throw new ConfigException($"{ConfigFile.Where(p, file)}: Prefix wants a /32 IPv6 prefix such as 2001:0000::, not '{p.Value}'");
        }
        uint mtu = Get("InterfaceMTU") is { } m ? (uint)ConfigFile.ParseInt(m, file, 1280, 65535) : 1280;

        var secrets = FrozenDictionary<string, byte[]>.Empty;
        if (Get("ClientSecretsFile") is { } sf) secrets = LoadSecrets(sf.Value);
        bool requireAuth = Get("RequireAuthentication") is { } ra && ConfigFile.ParseBool(ra, file);
        if (requireAuth && secrets.Count == 0)
            throw new ConfigException($"{file}: RequireAuthentication needs a ClientSecretsFile with at least one client");

        var fw = Get("Ipv6Forwarding");
        bool forwardingFromHost = fw is null || fw.Value.Equals("auto", StringComparison.OrdinalIgnoreCase);
        bool forwarding = !forwardingFromHost && ConfigFile.ParseBool(fw!, file);

        var engine = new ServerOptions
        {
            Primary = primary,
            Secondary = secondary,
            ServicePrefix = prefix,
            Mtu = mtu,
            RequireAuthentication = requireAuth,
            ClientSecrets = secrets,
            Ipv6Forwarding = forwarding,
            AdvertisementRatePerSource = Int("AdvertisementRateLimit", 0, 10_000_000, 200),
            AdvertisementBurstPerSource = Int("AdvertisementBurst", 1, 10_000_000, 400),
            ForwardRatePerSource = Int("ForwardRateLimit", 0, 10_000_000, 200),
            ForwardBurstPerSource = Int("ForwardBurst", 1, 10_000_000, 400),
            RateLimitSlots = Int("RateLimitSlots", 1, 1 << 24, 65536),
        };
        try { engine.Validate(); }
        catch (ArgumentOutOfRangeException e) { throw new ConfigException($"{file}: {e.Message}"); }
        return new ServerHostSettings
        {
            User = config.Get("User")?.Value,
            Engine = engine,
            ControlSocket = Get("ControlSocket")?.Value ?? "/run/teredo/server.sock",
            Metrics = MetricsDirective.Read(config),
            Threads = Int("Threads", 1, 64, Environment.ProcessorCount),
            Port = (ushort)Int("Port", 1, 65535, TeredoAddress.Port),
            Ipv6ForwardingFromHost = forwardingFromHost,
        };

        int Int(string name, int min, int max, int fallback) => config.Int(name, min, max, fallback);
    }

    private static Ipv4Address ParseIpv4(ConfigDirective d, string file) =>
        Ipv4Address.TryParse(d.Value, out var a) ? a : throw new ConfigException($"{ConfigFile.Where(d, file)}: {d.Name} wants an IPv4 address, not '{d.Value}'");

    /// <summary>Secrets file: one client per line, "identifier secret", '#' comments; the secret is taken as its UTF-8 bytes.</summary>
    private static FrozenDictionary<string, byte[]> LoadSecrets(string path)
    {
        var result = new Dictionary<string, byte[]>();
        var lines = File.ReadAllLines(path);
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].Trim();
            if (line.Length == 0 || line[0] == '#') continue;
            var parts = line.Split((char[])[' ', '\t'], 2, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 2 || parts[0].Length > 255)
                throw new ConfigException($"{path}:{i + 1}: expected 'identifier secret'");
            result[parts[0]] = System.Text.Encoding.UTF8.GetBytes(parts[1].Trim());
        }
        return result.ToFrozenDictionary();
    }
}
