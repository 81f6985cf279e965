using Teredo.Addressing;
using Teredo.Net;
using Teredo.Relay;

namespace Teredo.Hosting.Configuration;

public sealed record RelayHostSettings
{
    /// <summary>User to become once started as root (User, --user); null keeps the identity the daemon was started with.</summary>
    public string? User { get; init; }
    public required RelayOptions Engine { get; init; }
    public string InterfaceName { get; init; } = "teredo";
    public int Mtu { get; init; } = 1280;
    public Ipv4Address BindAddress { get; init; } = Ipv4Address.Any;
    /// <summary>0: the kernel picks (Miredo's default too).</summary>
    public ushort BindPort { get; init; }
    /// <summary>§4.2.2: serve only this host's own native addresses, which <see cref="Addresses.HostResolution"/> reads at start.</summary>
    public bool HostSpecific { get; init; }
    /// <summary>No RelayAddress: the source of ICMPv6 errors is this host's first native address, read at start.</summary>
    public bool OwnAddressFromHost { get; init; }
    public string ControlSocket { get; init; } = "/run/teredo/relay.sock";
    /// <summary>Where the Prometheus endpoint listens (--metrics, Metrics); null: no endpoint.</summary>
    public System.Net.IPEndPoint? Metrics { get; init; }
}

/// <summary>
/// Reads miredo.conf(5) in relay modes (RelayType relay, cone or restricted) unchanged, plus this
/// project's directives (docs/relay.md). Client modes belong to <c>teredo client</c>.
/// </summary>
public static class RelayConfiguration
{
    public static readonly IReadOnlySet<string> Known = ConfigFile.Names(
        // miredo.conf(5)
        "RelayType", "ServerAddress", "ServerAddress2", "Prefix", "InterfaceMTU", "InterfaceName", "BindAddress", "BindPort",
        "SyslogFacility",
        // ours
        "User", "HostSpecific", "RelayAddress", "IgnoreConeBit", "PeerCapacity", "MaxQueuedPerPeer", "MaxQueuedBytes", "NewPeerRate", "ControlSocket", MetricsDirective.Name);

    public static RelayHostSettings Load(string? path, Action<Dictionary<string, string>>? overrides = null)
    {
        var config = ConfigValues.Load(path, Known, overrides);
        string file = config.File;
        ConfigDirective? Get(string name) => config.Get(name);
        int Int(string name, int min, int max, int fallback) => config.Int(name, min, max, fallback);

        bool behindNat = false;
        if (Get("RelayType") is { } type)
        {
            switch (type.Value.ToLowerInvariant())
            {
                case "relay" or "cone": break;
                case "restricted": behindNat = true; break;
                case "client" or "autoclient":
                    throw new ConfigException($"{ConfigFile.Where(type, file)}: RelayType {type.Value} is a client: run 'teredo client' with this file");
                default:
                    throw new ConfigException($"{ConfigFile.Where(type, file)}: RelayType wants relay, cone or restricted, not '{type.Value}'");
            }
        }
        foreach (string clientOnly in new[] { "ServerAddress", "ServerAddress2" })
            if (Get(clientOnly) is { } d)
                throw new ConfigException($"{ConfigFile.Where(d, file)}: {d.Name} is only valid in client mode (miredo.conf(5))");

        var prefix = TeredoAddress.ServicePrefix;
        if (Get("Prefix") is { } p && (!Ipv6Address.TryParse(p.Value.Split('/')[0], out prefix) || (prefix.Value & ((UInt128.One << 96) - 1)) != 0))
            throw new ConfigException($"{ConfigFile.Where(p, file)}: Prefix wants a /32 IPv6 prefix such as 2001:0000::, not '{p.Value}'");

        var bind = Ipv4Address.Any;
        if (Get("BindAddress") is { } b && !Ipv4Address.TryParse(b.Value, out bind))
            throw new ConfigException($"{ConfigFile.Where(b, file)}: BindAddress wants an IPv4 address, not '{b.Value}'");

        Ipv6Address? own = null;
        if (Get("RelayAddress") is { } ra)
        {
            if (!Ipv6Address.TryParse(ra.Value, out var a))
                throw new ConfigException($"{ConfigFile.Where(ra, file)}: RelayAddress wants an IPv6 address, not '{ra.Value}'");
            own = a;
        }
        bool hostSpecific = Get("HostSpecific") is { } hs && ConfigFile.ParseBool(hs, file);

        var defaults = new RelayOptions();
        var engine = new RelayOptions
        {
            ServicePrefix = prefix,
            OwnAddress = own,
            BehindNat = behindNat,
            IgnoreConeBit = Get("IgnoreConeBit") is { } ic && ConfigFile.ParseBool(ic, file),
            // A host-specific relay serves nothing until HostResolution has read the host's addresses.
            ServedAddresses = hostSpecific ? new HashSet<Ipv6Address>() : null,
            PeerCapacity = Int("PeerCapacity", 16, 1 << 24, defaults.PeerCapacity),
            MaxQueuedPerPeer = Int("MaxQueuedPerPeer", 0, 1024, defaults.MaxQueuedPerPeer),
            MaxQueuedBytes = Int("MaxQueuedBytes", 0, 1 << 30, defaults.MaxQueuedBytes),
            NewPeerRate = Int("NewPeerRate", 0, 1 << 24, defaults.NewPeerRate),
        };
        try { engine.Validate(); }
        catch (ArgumentOutOfRangeException e) { throw new ConfigException($"{file}: {e.Message}"); }
        return new RelayHostSettings
        {
            User = config.Get("User")?.Value,
            Engine = engine,
            InterfaceName = Get("InterfaceName")?.Value ?? "teredo",
            Mtu = Int("InterfaceMTU", 1280, 65535, 1280),
            BindAddress = bind,
            BindPort = (ushort)Int("BindPort", 0, 65535, 0),
            HostSpecific = hostSpecific,
            OwnAddressFromHost = own is null,
            ControlSocket = Get("ControlSocket")?.Value ?? "/run/teredo/relay.sock",
            Metrics = MetricsDirective.Read(config),
        };
    }
}
