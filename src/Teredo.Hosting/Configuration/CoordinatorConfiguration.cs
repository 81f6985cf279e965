using Teredo.Net;
using Teredo.P2p.Control;
using Teredo.P2p.Coordinator;

namespace Teredo.Hosting.Configuration;

/// <summary>How the coordinator daemon runs, beyond what the engine needs.</summary>
public sealed record CoordinatorHostSettings
{
    /// <summary>User to become once started as root (User, --user); null keeps the identity the daemon was started with.</summary>
    public string? User { get; init; }
    public required CoordinatorOptions Engine { get; init; }
    public ushort TlsPort { get; init; } = ControlFrame.DefaultPort;
    public ushort BubblePort { get; init; } = 3544;
    public string? CertificateFile { get; init; }
    public string? KeyFile { get; init; }
    public string StateDirectory { get; init; } = "/var/lib/teredo/coordinator";
    public string ControlSocket { get; init; } = "/run/teredo/coordinator.sock";
    /// <summary>Where the Prometheus endpoint listens (--metrics, Metrics); null: no endpoint.</summary>
    public System.Net.IPEndPoint? Metrics { get; init; }
    public string? TokenFile { get; init; }
    /// <summary>TLS connections that have not said hello yet (handshakes included): bounds what a scanner can hold open.</summary>
    public int MaxPendingSessions { get; init; } = 1024;
    /// <summary>Bytes queued toward one peer before it counts as stuck and is dropped.</summary>
    public int MaxQueuedBytesPerSession { get; init; } = 1 << 20;
    public int HandshakeTimeoutSeconds { get; init; } = 10;
}

/// <summary>
/// Reads the coordinator's directive file (the syntax of the other daemons: "Name value" lines, '#'
/// comments, unknown names are errors with file:line). Every directive is in docs/coordinator.md.
/// </summary>
public static class CoordinatorConfiguration
{
    public static readonly IReadOnlySet<string> Known = ConfigFile.Names(
        "User", "Address", "TlsPort", "BubblePort", "Certificate", "Key", "StateDirectory", "ControlSocket", MetricsDirective.Name, "AllowDestination", "TokenFile",
        "MaxPeers", "MaxLeases", "MaxLeasesPerPeer", "MaxStaticAssignments", "LeaseIdleTimeout", "ProbationTimeout",
        "KeepaliveInterval", "SessionTimeout", "BubbleRateLimit", "BubbleBurst", "NotificationRateLimit", "NotificationBurst",
        "NewLeaseRateLimit", "NewLeaseBurst", "RateLimitSlots", "MaxPendingSessions", "MaxQueuedBytesPerSession");

    /// <param name="extraAllowDestinations">--allow-destination values, added to the file's AllowDestination lines.</param>
    public static CoordinatorHostSettings Load(string? path, Action<Dictionary<string, string>>? overrides = null,
        IEnumerable<string>? extraAllowDestinations = null)
    {
        var config = ConfigValues.Load(path, Known, overrides);
        string file = config.File;
        var addressDirective = config.Get("Address")
            ?? throw new ConfigException($"{file}: Address (the coordinator's public IPv4 address S) is required");
        if (!Ipv4Address.TryParse(addressDirective.Value, out var address))
            throw new ConfigException($"{config.Where(addressDirective)}: Address wants an IPv4 address, not '{addressDirective.Value}'");

        var allow = AllowDestinationDirective.Read(config, extraAllowDestinations);

        string? tokenFile = config.Get("TokenFile")?.Value;
        IReadOnlySet<string>? tokens = tokenFile is null ? null : LoadTokens(tokenFile);

        int Int(string name, int min, int max, int fallback) => config.Int(name, min, max, fallback);
        var defaults = new CoordinatorOptions { Address = address };
        var engine = defaults with
        {
            AllowDestinations = allow,
            Tokens = tokens,
            MaxPeers = Int("MaxPeers", 1, 1_000_000, defaults.MaxPeers),
            MaxLeases = Int("MaxLeases", 1, 10_000_000, defaults.MaxLeases),
            MaxLeasesPerPeer = Int("MaxLeasesPerPeer", 1, 10_000_000, defaults.MaxLeasesPerPeer),
            MaxStaticAssignments = Int("MaxStaticAssignments", 1, 1 << 23, defaults.MaxStaticAssignments),
            LeaseIdleSeconds = Int("LeaseIdleTimeout", 1, 65535, defaults.LeaseIdleSeconds),
            ProbationSeconds = Int("ProbationTimeout", 1, 65535, defaults.ProbationSeconds),
            KeepaliveSeconds = Int("KeepaliveInterval", 1, 3600, defaults.KeepaliveSeconds),
            SessionTimeoutSeconds = Int("SessionTimeout", 2, 65535, defaults.SessionTimeoutSeconds),
            BubbleRatePerRelay = Int("BubbleRateLimit", 0, 10_000_000, defaults.BubbleRatePerRelay),
            BubbleBurstPerRelay = Int("BubbleBurst", 1, 10_000_000, defaults.BubbleBurstPerRelay),
            NotificationRatePerTarget = Int("NotificationRateLimit", 0, 10_000_000, defaults.NotificationRatePerTarget),
            NotificationBurstPerTarget = Int("NotificationBurst", 1, 10_000_000, defaults.NotificationBurstPerTarget),
            NewLeaseRate = Int("NewLeaseRateLimit", 1, 10_000_000, defaults.NewLeaseRate),
            NewLeaseBurst = Int("NewLeaseBurst", 1, 10_000_000, defaults.NewLeaseBurst),
            RateLimitSlots = Int("RateLimitSlots", 1, 1 << 24, defaults.RateLimitSlots),
        };
        try { engine.Validate(); }
        catch (ArgumentOutOfRangeException e) { throw new ConfigException($"{file}: {e.Message}"); }
        return new CoordinatorHostSettings
        {
            User = config.Get("User")?.Value,
            Engine = engine,
            TlsPort = (ushort)Int("TlsPort", 1, 65535, ControlFrame.DefaultPort),
            BubblePort = (ushort)Int("BubblePort", 1, 65535, 3544),
            CertificateFile = config.Get("Certificate")?.Value,
            KeyFile = config.Get("Key")?.Value,
            StateDirectory = config.Get("StateDirectory")?.Value ?? "/var/lib/teredo/coordinator",
            ControlSocket = config.Get("ControlSocket")?.Value ?? "/run/teredo/coordinator.sock",
            Metrics = MetricsDirective.Read(config),
            TokenFile = tokenFile,
            MaxPendingSessions = Int("MaxPendingSessions", 1, 1_000_000, 1024),
            MaxQueuedBytesPerSession = Int("MaxQueuedBytesPerSession", 64 << 10, 1 << 30, 1 << 20),
        } is var s && (s.CertificateFile is null) != (s.KeyFile is null)
            ? throw new ConfigException($"{file}: Certificate and Key go together (or neither, for a generated self-signed certificate)")
            : s;
    }

    /// <summary>Token file: one token per line, '#' comments, blank lines ignored.</summary>
    private static HashSet<string> LoadTokens(string path)
    {
        string[] lines;
        try { lines = File.ReadAllLines(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new ConfigException($"{path}: {e.Message}"); }
        var tokens = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].Trim();
            if (line.Length == 0 || line[0] == '#') continue;
            if (!Teredo.P2p.Control.HelloMessage.IsValidToken(line)) throw new ConfigException($"{path}:{i + 1}: a token is at most 255 bytes");
            tokens.Add(line);
        }
        if (tokens.Count == 0) throw new ConfigException($"{path}: no tokens (remove TokenFile to let any peer join)");
        return tokens;
    }
}
