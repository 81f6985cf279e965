using Teredo.Addressing;
using Teredo.Nat64;
using Teredo.Net;

namespace Teredo.Hosting.Configuration;

/// <summary>One <c>map</c> line of tayga.conf or of its map-file (RFC 7757 explicit address mapping).</summary>
public sealed record Nat64StaticMap(Ipv4Address Ipv4, int Ipv4Length, Ipv6Address Ipv6, int Ipv6Length, string Where);

/// <summary>An IPv4 or IPv6 prefix as tun-ip and tun-route give it: exactly one of the two is set.</summary>
public sealed record Nat64TunPrefix(Ipv4Address? Ipv4, Ipv6Address? Ipv6, int Length)
{
    public override string ToString() => $"{(Ipv4 is { } a ? a.ToString() : Ipv6!.Value.ToString())}/{Length}";
}

/// <summary>Which translation events Tayga's <c>log</c> directive asked to see (each is logged at Information, rate-limited).</summary>
[Flags]
public enum Nat64PacketLog { None = 0, Drop = 1, Reject = 2, Icmp = 4, Self = 8 }

public sealed record Nat64HostSettings
{
    public required string TunDevice { get; init; }
    public required Ipv4Address Ipv4Address { get; init; }
    /// <summary>null: Tayga derives it by embedding ipv4-addr in the prefix.</summary>
    public Ipv6Address? Ipv6Address { get; init; }
    public Ipv6Address? Prefix { get; init; }
    public int PrefixLength { get; init; } = 96;
    public bool WellKnownPrefixStrict { get; init; } = true;
    public IReadOnlyList<Nat64StaticMap> Maps { get; init; } = [];
    public Ipv4Address? DynamicPool { get; init; }
    public int DynamicPoolLength { get; init; }
    public string? DataDirectory { get; init; }
    /// <summary>Absolute (a relative map-file is resolved against data-dir, as Tayga does).</summary>
    public string? MapFile { get; init; }
    public UdpChecksumMode UdpChecksumMode { get; init; } = UdpChecksumMode.Drop;
    public Nat64PacketLog Log { get; init; }
    /// <summary>0 when not given (the translator then uses 1280).</summary>
    public int OfflinkMtu { get; init; }
    /// <summary>Tayga 0.9.6 <c>tun-up</c>: bring the interface up and add tun-ip / tun-route ourselves.</summary>
    public bool TunUp { get; init; }
    public IReadOnlyList<Nat64TunPrefix> TunAddresses { get; init; } = [];
    public IReadOnlyList<Nat64TunPrefix> TunRoutes { get; init; } = [];
    /// <summary>This project's: how many TUN queues (one packet thread each).</summary>
    public int Queues { get; init; } = 1;
    public string ControlSocket { get; init; } = Nat64Configuration.DefaultControlSocket;
    /// <summary>Where the Prometheus endpoint listens (--metrics, metrics); null: no endpoint.</summary>
    public System.Net.IPEndPoint? Metrics { get; init; }

    /// <summary>The address ICMPv6 errors come from: ipv6-addr, else ipv4-addr in the prefix (Tayga's rule).</summary>
    public Ipv6Address TranslatorIpv6 => Ipv6Address
        ?? Ipv4EmbeddedIpv6.Embed(Prefix!.Value, PrefixLength, Ipv4Address);

    /// <summary>The file the dynamic pool lives in between runs (null without data-dir).</summary>
    public string? DynamicMapFile => DataDirectory is null ? null : Path.Combine(DataDirectory, Nat64Configuration.DynamicMapFileName);
}

/// <summary>
/// Reads tayga.conf(5) unchanged: Tayga 0.9.6's directives, and therefore Debian's 0.9.2 files (plus the
/// 0.9.2-only strict-frag-hdr, accepted and ignored because RFC 7915 dropped the atomic fragment it
/// governed). Same syntax as Miredo's files, so <see cref="ConfigFile"/> parses it; unknown directives are
/// errors with file:line, a directive other than map / tun-ip / tun-route given twice too (Tayga refuses
/// both). This project adds <c>queues</c>, <c>control-socket</c> and <c>metrics</c> (docs/nat64.md).
/// </summary>
public static class Nat64Configuration
{
    public const string DefaultControlSocket = "/run/teredo/nat64.sock";
    public const string DefaultConfigFile = "/etc/tayga.conf";
    /// <summary>Not Tayga's dynamic.map: its format is Tayga's, and a file of ours must not be misread by it after a switch back.</summary>
    public const string DynamicMapFileName = "teredo-nat64-dynamic.map";

    private static readonly string[] Repeatable = ["map", "tun-ip", "tun-route"];

    public static readonly IReadOnlySet<string> Known = ConfigFile.Names(
        // tayga.conf(5), 0.9.6
        "tun-device", "ipv4-addr", "ipv6-addr", "prefix", "wkpf-strict", "map", "dynamic-pool", "data-dir", "map-file",
        "udp-cksum-mode", "log", "offlink-mtu", "tun-up", "tun-ip", "tun-route",
        // 0.9.2 only
        "strict-frag-hdr",
        // ours
        "queues", "control-socket", "metrics");

    private static readonly IReadOnlySet<string> MapFileKnown = ConfigFile.Names("map");

    public static Nat64HostSettings Load(string path, Action<Dictionary<string, string>>? overrides = null) =>
        Build(ConfigFile.Load(path, Known), path, overrides);

    public static Nat64HostSettings Parse(string text, string fileName, Action<Dictionary<string, string>>? overrides = null) =>
        Build(ConfigFile.Parse(text, fileName, Known), fileName, overrides);

    private static Nat64HostSettings Build(IReadOnlyList<ConfigDirective> directives, string file, Action<Dictionary<string, string>>? overrides)
    {
        var single = new Dictionary<string, ConfigDirective>(StringComparer.OrdinalIgnoreCase);
        var maps = new List<Nat64StaticMap>();
        var tunIps = new List<Nat64TunPrefix>();
        var tunRoutes = new List<Nat64TunPrefix>();
        foreach (var d in directives)
        {
            switch (d.Name.ToLowerInvariant())
            {
                case "map": maps.Add(ParseMap(d, file)); break;
                case "tun-ip": tunIps.Add(ParseTunPrefix(d, file)); break;
                case "tun-route": tunRoutes.Add(ParseTunPrefix(d, file)); break;
                default:
                    if (!single.TryAdd(d.Name, d))
                        throw new ConfigException($"{ConfigFile.Where(d, file)}: {d.Name} may appear only once (first at line {single[d.Name].Line})");
                    break;
            }
        }
        if (overrides is not null)
        {
            var o = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            overrides(o);
            foreach (var (k, v) in o) single[k] = new ConfigDirective(k, v, 0);
        }

        ConfigDirective Required(string name, string why) => single.GetValueOrDefault(name)
            ?? throw new ConfigException($"{file}: {name} is missing ({why})");

        var tun = Required("tun-device", "the TUN interface to create or attach to");
        if (tun.Value.Length is 0 or >= 16 || tun.Value.Contains('/') || tun.Value.Any(char.IsWhiteSpace))
            throw new ConfigException($"{ConfigFile.Where(tun, file)}: tun-device wants an interface name of 1 to 15 characters, not '{tun.Value}'");

        var v4 = Required("ipv4-addr", "the source of the ICMPv4 errors the translator sends");
        if (!Ipv4Address.TryParse(v4.Value, out var ipv4))
            throw new ConfigException($"{ConfigFile.Where(v4, file)}: ipv4-addr wants an IPv4 address, not '{v4.Value}'");

        Ipv6Address? ipv6 = null;
        if (single.GetValueOrDefault("ipv6-addr") is { } v6d)
        {
            if (!Net.Ipv6Address.TryParse(v6d.Value, out var a))
                throw new ConfigException($"{ConfigFile.Where(v6d, file)}: ipv6-addr wants an IPv6 address, not '{v6d.Value}'");
            ipv6 = a;
        }

        Ipv6Address? prefix = null;
        int prefixLength = 96;
        if (single.GetValueOrDefault("prefix") is { } pd)
        {
            if (!TryParseIpv6Prefix(pd.Value, out var p, out prefixLength) || !Ipv4EmbeddedIpv6.IsValidPrefixLength(prefixLength))
                throw new ConfigException($"{ConfigFile.Where(pd, file)}: prefix wants an RFC 6052 prefix (length 32, 40, 48, 56, 64 or 96) such as 64:ff9b::/96, not '{pd.Value}'");
            if (!IsNetwork(p, prefixLength))
                throw new ConfigException($"{ConfigFile.Where(pd, file)}: prefix {pd.Value} has bits set beyond its length");
            if (prefixLength < 96 && p[8] != 0)
                throw new ConfigException($"{ConfigFile.Where(pd, file)}: prefix {pd.Value}: bits 64-71 (the RFC 6052 u-octet) must be zero");
            prefix = p;
        }
        if (ipv6 is null && prefix is null)
            throw new ConfigException($"{file}: ipv6-addr is missing (it may be left out only when prefix is given)");

        Ipv4Address? pool = null;
        int poolLength = 0;
        if (single.GetValueOrDefault("dynamic-pool") is { } dp)
        {
            if (!TryParseIpv4Prefix(dp.Value, out var network, out poolLength) || poolLength > 31 || !IsNetwork(network, poolLength))
                throw new ConfigException($"{ConfigFile.Where(dp, file)}: dynamic-pool wants an IPv4 network of length 31 or less such as 192.168.255.0/24, not '{dp.Value}'");
            pool = network;
        }

        string? dataDir = single.GetValueOrDefault("data-dir") is { } dd ? dd.Value : Environment.GetEnvironmentVariable("STATE_DIRECTORY") is { Length: > 0 } state ? state : null;
        if (single.GetValueOrDefault("data-dir") is { } ddd && !Path.IsPathRooted(ddd.Value))
            throw new ConfigException($"{ConfigFile.Where(ddd, file)}: data-dir wants an absolute path, not '{ddd.Value}'");

        string? mapFile = null;
        if (single.GetValueOrDefault("map-file") is { } mf)
        {
            if (!Path.IsPathRooted(mf.Value) && dataDir is null)
                throw new ConfigException($"{ConfigFile.Where(mf, file)}: map-file '{mf.Value}' is relative but there is no data-dir to resolve it against");
            mapFile = Path.IsPathRooted(mf.Value) ? mf.Value : Path.Combine(dataDir!, mf.Value);
            maps.AddRange(LoadMapFile(mapFile));
        }

        var udp = UdpChecksumMode.Drop;
        if (single.GetValueOrDefault("udp-cksum-mode") is { } uc)
        {
            udp = uc.Value.ToLowerInvariant() switch
            {
                "drop" => UdpChecksumMode.Drop,
                "fwd" => UdpChecksumMode.Forward,
                "calc" => UdpChecksumMode.Calculate,
                _ => throw new ConfigException($"{ConfigFile.Where(uc, file)}: udp-cksum-mode wants drop, fwd or calc, not '{uc.Value}'"),
            };
        }

        var log = Nat64PacketLog.None;
        if (single.GetValueOrDefault("log") is { } ld)
        {
            foreach (string word in ld.Value.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
            {
                log |= word.ToLowerInvariant() switch
                {
                    "drop" => Nat64PacketLog.Drop,
                    "reject" => Nat64PacketLog.Reject,
                    "icmp" => Nat64PacketLog.Icmp,
                    "self" => Nat64PacketLog.Self,
                    _ => throw new ConfigException($"{ConfigFile.Where(ld, file)}: log wants drop, reject, icmp or self, not '{word}'"),
                };
            }
        }

        int offlinkMtu = 0;
        if (single.GetValueOrDefault("offlink-mtu") is { } om)
        {
            offlinkMtu = ConfigFile.ParseInt(om, file, 0, 65535);
            if (offlinkMtu is > 0 and < 1280)
                throw new ConfigException($"{ConfigFile.Where(om, file)}: offlink-mtu below 1280 breaks IPv6 (RFC 8200 §5); give 0 or at least 1280, not {offlinkMtu}");
        }

        if (single.GetValueOrDefault("strict-frag-hdr") is { } sf) ConfigFile.ParseBool(sf, file);   // validated, then ignored: RFC 7915 §4 no longer adds atomic fragments

        return new Nat64HostSettings
        {
            TunDevice = tun.Value,
            Ipv4Address = ipv4,
            Ipv6Address = ipv6,
            Prefix = prefix,
            PrefixLength = prefixLength,
            WellKnownPrefixStrict = single.GetValueOrDefault("wkpf-strict") is not { } ws || ConfigFile.ParseBool(ws, file),
            Maps = maps,
            DynamicPool = pool,
            DynamicPoolLength = poolLength,
            DataDirectory = dataDir,
            MapFile = mapFile,
            UdpChecksumMode = udp,
            Log = log,
            OfflinkMtu = offlinkMtu,
            TunUp = single.GetValueOrDefault("tun-up") is { } tu && ConfigFile.ParseBool(tu, file),
            TunAddresses = tunIps,
            TunRoutes = tunRoutes,
            Queues = single.GetValueOrDefault("queues") is { } q ? ConfigFile.ParseInt(q, file, 1, 64) : 1,
            ControlSocket = single.GetValueOrDefault("control-socket")?.Value ?? DefaultControlSocket,
            Metrics = MetricsDirective.Parse(single.GetValueOrDefault("metrics"), file),
        };
    }

    /// <summary>A map-file holds map lines only (tayga.conf(5)); its errors name it and its lines.</summary>
    public static IReadOnlyList<Nat64StaticMap> LoadMapFile(string path)
    {
        var maps = new List<Nat64StaticMap>();
        foreach (var d in ConfigFile.Load(path, MapFileKnown)) maps.Add(ParseMap(d, path));
        return maps;
    }

    private static Nat64StaticMap ParseMap(ConfigDirective d, string file)
    {
        string where = ConfigFile.Where(d, file);
        var words = d.Value.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        if (words.Length != 2)
            throw new ConfigException($"{where}: map wants 'IPV4[/LEN] IPV6[/LEN]', not '{d.Value}'");
        if (!TryParseIpv4Prefix(words[0], out var v4, out int v4Length, defaultLength: 32))
            throw new ConfigException($"{where}: map: '{words[0]}' is not an IPv4 address or prefix");
        if (!TryParseIpv6Prefix(words[1], out var v6, out int v6Length, defaultLength: 128))
            throw new ConfigException($"{where}: map: '{words[1]}' is not an IPv6 address or prefix");
        if (32 - v4Length != 128 - v6Length)
            throw new ConfigException($"{where}: map {words[0]} {words[1]}: both sides must leave the same number of host bits (RFC 7757), here {32 - v4Length} and {128 - v6Length}");
        if (!IsNetwork(v4, v4Length) || !IsNetwork(v6, v6Length))
            throw new ConfigException($"{where}: map {words[0]} {words[1]}: an address has bits set beyond its prefix length");
        return new Nat64StaticMap(v4, v4Length, v6, v6Length, where);
    }

    private static Nat64TunPrefix ParseTunPrefix(ConfigDirective d, string file)
    {
        if (TryParseIpv4Prefix(d.Value, out var v4, out int l4, defaultLength: 32)) return new Nat64TunPrefix(v4, null, l4);
        if (TryParseIpv6Prefix(d.Value, out var v6, out int l6, defaultLength: 128)) return new Nat64TunPrefix(null, v6, l6);
        throw new ConfigException($"{ConfigFile.Where(d, file)}: {d.Name} wants ADDRESS/LENGTH (IPv4 or IPv6), not '{d.Value}'");
    }

    public static bool TryParseIpv4Prefix(string text, out Ipv4Address address, out int length, int? defaultLength = null)
    {
        length = defaultLength ?? -1;
        int slash = text.IndexOf('/');
        if (!Ipv4Address.TryParse(slash < 0 ? text : text[..slash], out address)) return false;
        if (slash < 0) return defaultLength is not null;
        return int.TryParse(text.AsSpan(slash + 1), System.Globalization.NumberStyles.None, null, out length) && length is >= 0 and <= 32;
    }

    public static bool TryParseIpv6Prefix(string text, out Ipv6Address address, out int length, int? defaultLength = null)
    {
        length = defaultLength ?? -1;
        int slash = text.IndexOf('/');
        if (!Net.Ipv6Address.TryParse(slash < 0 ? text : text[..slash], out address)) return false;
        if (slash < 0) return defaultLength is not null;
        return int.TryParse(text.AsSpan(slash + 1), System.Globalization.NumberStyles.None, null, out length) && length is >= 0 and <= 128;
    }

    private static bool IsNetwork(Ipv4Address a, int length) => length == 32 || (a.Value & (uint.MaxValue >> length)) == 0;

    private static bool IsNetwork(Ipv6Address a, int length) => length == 128 || (a.Value & (UInt128.MaxValue >> length)) == UInt128.Zero;
}
