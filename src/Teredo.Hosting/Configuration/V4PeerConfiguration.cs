using System.Globalization;
using Teredo.Hosting.P2p;
using Teredo.Net;
using Teredo.P2p.Control;
using Teredo.P2p.Coordinator;
using Teredo.P2p.Ipv4Peer;

namespace Teredo.Hosting.Configuration;

/// <summary>How the IPv4 peer daemon runs: its coordinator, its TUN and nftables table, beyond what the engine needs.</summary>
public sealed record V4PeerHostSettings
{
    /// <summary>User to become once started as root (User, --user); null keeps the identity the daemon was started with.</summary>
    public string? User { get; init; }
    public required string CoordinatorHost { get; init; }
    public int CoordinatorPort { get; init; } = ControlFrame.DefaultPort;
    /// <summary>SHA-256 of the coordinator's certificate; null verifies it against the system's CAs.</summary>
    public byte[]? Pin { get; init; }
    public string Token { get; init; } = "";
    public Ipv4Prefix Pool { get; init; } = new(new Ipv4Address(10, 255, 46, 0), 24);
    public string InterfaceName { get; init; } = "teredo-v4peer";
    public string StateDirectory { get; init; } = "/var/lib/teredo/v4peer";
    public string ControlSocket { get; init; } = "/run/teredo/v4peer.sock";
    /// <summary>Where the Prometheus endpoint listens (--metrics, Metrics); null: no endpoint.</summary>
    public System.Net.IPEndPoint? Metrics { get; init; }
    public IReadOnlyList<Ipv4Prefix> AllowDestinations { get; init; } = [];
    public double RateLimitMbit { get; init; }
    /// <summary>The local address announced to the coordinator; null for the source address toward it.</summary>
    public Ipv4Address? LocalAddress { get; init; }
    /// <summary>UDP port of the Teredo socket; 0 lets the system choose.</summary>
    public ushort TeredoPort { get; init; }
    /// <summary>New connections one IPv6 user (one pool address) may hold through the donor's conntrack.</summary>
    public int MaxFlowsPerSource { get; init; } = 1024;
    public int PerSourcePacketsPerSecond { get; init; } = Ipv4PeerOptions.DefaultPerSourcePacketsPerSecond;
    public int MaxLeases { get; init; } = 10_000;
    /// <summary>Whether to set up nftables and forwarding (off only for tests that bring their own).</summary>
    public bool ManageFirewall { get; init; } = true;

    public Ipv4PeerOptions EngineOptions(Ipv4Address local) => new()
    {
        LocalAddress = local,
        PoolNetwork = Pool.Network,
        PoolLength = Pool.Length,
        AllowedDestinations = AllowDestinations.Select(p => (p.Network, p.Length)).ToList(),
        RateLimitMbit = RateLimitMbit,
        PerSourcePacketsPerSecond = PerSourcePacketsPerSecond,
        PerSourceBurst = 2 * PerSourcePacketsPerSecond,
        MaxLeases = MaxLeases,
    };
}

/// <summary>
/// Reads the IPv4 peer's directive file (the syntax of the other daemons: "Name value" lines, '#'
/// comments, unknown names are errors with file:line). Every directive is in docs/v4peer.md.
/// </summary>
public static class V4PeerConfiguration
{
    public static readonly IReadOnlySet<string> Known = ConfigFile.Names(
        "User", "Coordinator", "Pin", "Token", "Pool", "Interface", "StateDirectory", "ControlSocket", MetricsDirective.Name, "AllowDestination", "RateLimit",
        "LocalAddress", "TeredoPort", "MaxFlowsPerSource", "PerSourcePacketRate", "MaxLeases");

    public static V4PeerHostSettings Load(string? path, Action<Dictionary<string, string>>? overrides = null,
        IEnumerable<string>? extraAllowDestinations = null)
    {
        var config = ConfigValues.Load(path, Known, overrides);
        string file = config.File;
        var coordinator = config.Get("Coordinator")
            ?? throw new ConfigException($"{file}: Coordinator (HOST[:PORT] of the coordinator's TLS control channel) is required");
        var (host, port) = ParseHostPort(coordinator.Value, config.Where(coordinator));

        byte[]? pin = null;
        if (config.Get("Pin") is { } p && !CertificatePin.TryParse(p.Value, out pin))
            throw new ConfigException($"{config.Where(p)}: Pin wants the SHA-256 of the coordinator's certificate (64 hex digits, colons allowed)");
        string token = config.Get("Token")?.Value ?? "";
        if (!HelloMessage.IsValidToken(token)) throw new ConfigException($"{file}: Token is at most 255 bytes");

        var pool = new Ipv4Prefix(new Ipv4Address(10, 255, 46, 0), 24);
        if (config.Get("Pool") is { } pd && (!Ipv4Prefix.TryParse(pd.Value, out pool) || pool.Length is < 16 or > 29))
            throw new ConfigException($"{config.Where(pd)}: Pool wants an IPv4 CIDR from /16 to /29 such as 10.255.46.0/24, not '{pd.Value}'");

        var allow = AllowDestinationDirective.Read(config, extraAllowDestinations);

        double rate = 0;
        if (config.Get("RateLimit") is { } r && (!double.TryParse(r.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out rate) || rate < 0 || rate > 1_000_000))
            throw new ConfigException($"{config.Where(r)}: RateLimit wants megabits per second (0 = no cap), not '{r.Value}'");

        Ipv4Address? local = null;
        if (config.Get("LocalAddress") is { } la)
            local = Ipv4Address.TryParse(la.Value, out var a) ? a : throw new ConfigException($"{config.Where(la)}: LocalAddress wants an IPv4 address");

        string name = config.Get("Interface")?.Value ?? "teredo-v4peer";
        if (name.Length is 0 or > 15) throw new ConfigException($"{file}: Interface names are 1 to 15 characters");
        return new V4PeerHostSettings
        {
            User = config.Get("User")?.Value,
            CoordinatorHost = host,
            CoordinatorPort = port,
            Pin = pin,
            Token = token,
            Pool = pool,
            InterfaceName = name,
            StateDirectory = config.Get("StateDirectory")?.Value ?? "/var/lib/teredo/v4peer",
            ControlSocket = config.Get("ControlSocket")?.Value ?? "/run/teredo/v4peer.sock",
            Metrics = MetricsDirective.Read(config),
            AllowDestinations = allow,
            RateLimitMbit = rate,
            LocalAddress = local,
            TeredoPort = (ushort)config.Int("TeredoPort", 0, 65535, 0),
            MaxFlowsPerSource = config.Int("MaxFlowsPerSource", 1, 1_000_000, 1024),
            PerSourcePacketsPerSecond = config.Int("PerSourcePacketRate", 0, 10_000_000, Ipv4PeerOptions.DefaultPerSourcePacketsPerSecond),
            MaxLeases = config.Int("MaxLeases", 1, 1_000_000, 10_000),
        };
    }

    /// <summary>HOST, HOST:PORT or [HOST]:PORT.</summary>
    public static (string Host, int Port) ParseHostPort(string text, string where)
    {
        string host = text;
        int port = ControlFrame.DefaultPort;
        int colon = text.LastIndexOf(':');
        if (colon > 0 && text.IndexOf(':') == colon)
        {
            host = text[..colon];
            if (!int.TryParse(text[(colon + 1)..], out port) || port is < 1 or > 65535)
                throw new ConfigException($"{where}: Coordinator wants HOST[:PORT], not '{text}'");
        }
        host = host.Trim('[', ']');
        if (host.Length == 0) throw new ConfigException($"{where}: Coordinator wants HOST[:PORT], not '{text}'");
        return (host, port);
    }
}
