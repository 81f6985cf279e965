using System.Collections.Frozen;
using Teredo.Addressing;
using Teredo.Net;
using Teredo.Wire;

namespace Teredo.Server;

/// <summary>What a Teredo server is configured with; the host builds it from miredo-server.conf and options.</summary>
public sealed record ServerOptions
{
    /// <summary>The primary address (the one embedded in clients' Teredo addresses).</summary>
    public required Ipv4Address Primary { get; init; }
    /// <summary>The secondary address; clients expect primary + 1 (miredo-server.conf(5)).</summary>
    public Ipv4Address? Secondary { get; init; }
    public Ipv4Address SecondaryAddress => Secondary ?? new Ipv4Address(Primary.Value + 1);
    /// <summary>The /32 service prefix; 2001::/32 unless a deployment really owns another.</summary>
    public Ipv6Address ServicePrefix { get; init; } = TeredoAddress.ServicePrefix;
    public uint Mtu { get; init; } = Ipv6Packet.MinimumMtu;
    /// <summary>RS without a valid authentication encapsulation are refused (§5.3.1 rule 4).</summary>
    public bool RequireAuthentication { get; init; }
    /// <summary>Client identifier (bytes as Latin-1 text) → shared secret, for secure qualification.</summary>
    public FrozenDictionary<string, byte[]> ClientSecrets { get; init; } = FrozenDictionary<string, byte[]>.Empty;
    /// <summary>When the host can send to native IPv6, ICMPv6 from clients to non-Teredo destinations is relayed there.</summary>
    public bool Ipv6Forwarding { get; init; }
    /// <summary>Router Advertisements per second per client IPv4 address (0: unlimited).</summary>
    public int AdvertisementRatePerSource { get; init; } = 200;
    public int AdvertisementBurstPerSource { get; init; } = 400;
    /// <summary>Forwarded bubbles and ICMPv6 per second per sending IPv4 address (0: unlimited).</summary>
    public int ForwardRatePerSource { get; init; } = 200;
    public int ForwardBurstPerSource { get; init; } = 400;
    /// <summary>Slots of each rate-limit table: the bound on its memory.</summary>
    public int RateLimitSlots { get; init; } = 65536;

    /// <summary>Checked where the engine is built, so that no caller can hand it an unbounded table.</summary>
    public void Validate()
    {
        static void AtLeast(int value, int min, string name)
        {
            if (value < min) throw new ArgumentOutOfRangeException(name, value, $"must be at least {min}");
        }
        if (Mtu < Ipv6Packet.MinimumMtu || Mtu > 65535)
            throw new ArgumentOutOfRangeException(nameof(Mtu), Mtu, $"must be {Ipv6Packet.MinimumMtu} to 65535");
        if (SecondaryAddress == Primary)
            throw new ArgumentOutOfRangeException(nameof(Secondary), "must differ from the primary address");
        AtLeast(AdvertisementRatePerSource, 0, nameof(AdvertisementRatePerSource));
        AtLeast(AdvertisementBurstPerSource, 1, nameof(AdvertisementBurstPerSource));
        AtLeast(ForwardRatePerSource, 0, nameof(ForwardRatePerSource));
        AtLeast(ForwardBurstPerSource, 1, nameof(ForwardBurstPerSource));
        AtLeast(RateLimitSlots, 1, nameof(RateLimitSlots));
        if (RequireAuthentication && ClientSecrets.Count == 0)
            throw new ArgumentOutOfRangeException(nameof(ClientSecrets), "RequireAuthentication needs at least one client secret");
    }
}
