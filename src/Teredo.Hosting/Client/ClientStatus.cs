using System.Text.Json;
using Teredo.Addressing;
using Teredo.Client;
using Teredo.Hosting.Control;
using Teredo.Net;

namespace Teredo.Hosting.Client;

/// <summary>The client daemon's status document for <c>teredo status</c> (what <c>netsh interface teredo show state</c> tells).</summary>
public static class ClientStatus
{
    /// <summary>Writes the members of the status object (the caller opens and closes it, see <see cref="StatusJson.Build"/>).</summary>
    public static void Write(Utf8JsonWriter j, TeredoClientEngine e, long nowMs, string? interfaceName, Ipv4Endpoint? local,
        bool defaultRoute, long sendErrors, long eventsNotApplied, long uptimeSeconds, bool stopping)
    {
        var o = e.Options;
        j.WriteString("role", "client");
        j.WriteString("state", stopping ? "stopping" : Name(e.State));
        j.WriteString("server", o.Server.ToString());
        j.WriteString("secondaryServer", o.SecondaryServerAddress.ToString());
        j.WriteString("natType", Name(e.NatType));
        j.WriteString("natDetection", Detection(e));
        j.WriteBoolean("natTypeFinal", e.NatTypeFinal);
        if (e.NatTypeFinal) j.WriteNumber("natTypeMilliseconds", e.NatTypeFinalAtMs - e.StartedAtMs);
        if (local is { } l) j.WriteString("localEndpoint", l.ToString());
        if (e.HasAddress)
        {
            j.WriteString("mappedEndpoint", e.Mapped.ToString());
            j.WriteString("teredoAddress", e.Address.ToString());
            j.WriteStartObject("teredoAddressDecoded");
            j.WriteString("server", e.Address.Server.ToString());
            j.WriteString("flags", e.Address.Flags.ToString());
            j.WriteBoolean("coneBit", e.Address.Flags.IsCone);
            j.WriteNumber("randomBits", e.Address.Flags.RandomBits);
            j.WriteString("mappedAddress", e.Address.MappedAddress.ToString());
            j.WriteNumber("mappedPort", e.Address.MappedPort);
            j.WriteEndObject();
            j.WriteString("linkLocalAddress", e.LinkLocalAddress.ToString());
            j.WriteNumber("qualifiedSecondsAgo", Seconds(nowMs - e.QualifiedAtMs));
            j.WriteNumber("qualificationMilliseconds", e.QualifiedAtMs - e.StartedAtMs);
        }
        if (interfaceName is not null) j.WriteString("interface", interfaceName);
        j.WriteNumber("mtu", Teredo.Wire.Ipv6Packet.MinimumMtu);
        j.WriteString("routes", defaultRoute ? "default, 2001::/32" : "2001::/32");
        j.WriteNumber("refreshIntervalSeconds", Seconds(e.RefreshIntervalMs));
        j.WriteNumber("randomizedRefreshSeconds", Seconds(e.RandomizedRefreshMs));
        if (e.LastServerInteractionMs != long.MinValue) j.WriteNumber("lastServerInteractionSecondsAgo", Seconds(nowMs - e.LastServerInteractionMs));
        j.WriteBoolean("secureQualification", o.Secret is not null);
        j.WriteBoolean("strictSymmetric", o.StrictSymmetric);
        j.WriteBoolean("localDiscovery", o.LocalDiscovery);
        j.WriteString("refreshDetermination", o.RefreshDetermination ? e.RefreshDetermination.ToString().ToLowerInvariant() : "off");
        j.WriteNumber("uptimeSeconds", uptimeSeconds);

        PeerListJson.Write(j, e.Peers, (j, p) =>
        {
            j.WriteString("kind", p.Address.IsLinkLocal ? "nonce (relay or client knocking)" : TeredoAddress.IsTeredo(p.Address, o.ServicePrefix) ? "teredo" : "native");
            j.WriteString("mapped", p.Mapped.ToString());
            j.WriteString("trust", p.Trusted ? (nowMs - p.LastReceiveMs < o.TrustLifetimeMs ? "trusted" : "trusted (stale)") : p.Pending ? "pending" : "not trusted");
            if (p.LocalDiscoveryMs != long.MinValue) j.WriteString("localEndpoint", p.LocalEndpoint.ToString());
            j.WriteNumber("ageSeconds", Seconds(nowMs - p.CreatedMs));
            if (p.LastReceiveMs != long.MinValue) j.WriteNumber("lastReceiveSecondsAgo", Seconds(nowMs - p.LastReceiveMs));
            if (p.LastTransmitMs != long.MinValue) j.WriteNumber("lastTransmitSecondsAgo", Seconds(nowMs - p.LastTransmitMs));
            j.WriteNumber("queued", p.QueuedPackets);
            j.WriteNumber("bubblesSent", p.BubblesSent);
        });

        StatusJson.WriteCounters<ClientCounter>(j, c => e.Counters[c], ("sendErrors", sendErrors), ("eventsNotApplied", eventsNotApplied));
    }

    public static string Name(ClientState state) => state switch
    {
        ClientState.Initial => "initial",
        ClientState.Starting => "starting",
        ClientState.Qualified => "qualified",
        _ => "offline",
    };

    public static string Name(NatType type) => type switch
    {
        NatType.Cone => "cone",
        NatType.Restricted => "restricted",
        NatType.Symmetric => "symmetric",
        _ => "unknown",
    };

    /// <summary>Where NAT detection stands, in words.</summary>
    public static string Detection(TeredoClientEngine e)
    {
        if (e.NatType == NatType.Cone) return "done: the cone probe was answered from the secondary address";
        if (e.NatType == NatType.Restricted) return "done: both server addresses saw the same mapping";
        if (e.NatType == NatType.Symmetric) return "done: the server addresses saw different mappings";
        if (e.SecondaryProbe.Failed) return "done: the secondary server address did not answer";
        if (e.SecondaryProbe.Active) return "probing the secondary server address";
        if (e.ConeProbe.Active) return "waiting for an answer to the cone probe";
        return e.State == ClientState.Qualified ? "pending" : "not started";
    }

    private static double Seconds(long ms) => Math.Round(ms / 1000.0, 1);
}
