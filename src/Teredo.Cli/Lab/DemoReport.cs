using System.Globalization;
using System.Text;

namespace Teredo.Cli.Lab;

/// <summary>One cold fetch of the P2P part: curl's figures and the pings that followed.</summary>
public sealed record P2pFetch(string Relay, string HttpCode, double? DnsSeconds, double? ConnectSeconds, double? TotalSeconds, PingStats Pings, string? Owner)
{
    /// <summary>curl's -w '%{http_code} %{time_namelookup} %{time_connect} %{time_total}' line (missing figures stay null).</summary>
    public static P2pFetch FromCurl(string relay, string curl, PingStats pings, string? owner)
    {
        var w = curl.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        double? At(int i) => w.Length > i && double.TryParse(w[i], NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : null;
        return new P2pFetch(relay, w.Length > 0 && w[0].All(char.IsAsciiDigit) ? w[0] : "?", At(1), At(2), At(3), pings, owner);
    }

    /// <summary>The flow's first packet (TCP SYN -> SYN-ACK, the relay's bubble exchange included): connect - DNS.</summary>
    public string FirstPacketMs => ConnectSeconds is { } c && DnsSeconds is { } d ? ((c - d) * 1000).ToString("F1", CultureInfo.InvariantCulture) : "-";
    public string Page => TotalSeconds is { } t ? t.ToString("F3", CultureInfo.InvariantCulture) + " s" : "-";

    public string Row() => string.Create(CultureInfo.InvariantCulture,
        $"{Relay,-13} page {Page} (HTTP {HttpCode}), first packet {FirstPacketMs} ms, pings {Pings.LossPercent}% lost, avg {Pings.AverageMs} ms, owner {Owner ?? "none"}");
}

/// <summary>Our client behind the symmetric NAT, when the demo runs this project's daemons.</summary>
public sealed record OurClientResult(string Address, long QualifiedMs, string NatType, PingStats ToHost6, PingStats FromHost6);

/// <summary>Everything the demo's summary shows.</summary>
public sealed record DemoSummary(
    string ServerKind,
    string RelayKind,
    long QualifiedMs,
    string Address,
    string NatDescription,
    PingStats ToHost6,
    PingStats FromHost6,
    OurClientResult? OurClient,
    string? P2pAddresses,
    IReadOnlyList<P2pFetch> P2p,
    IReadOnlyList<(string Step, long Ms)> Steps,
    long BeforeTeardownMs);

/// <summary>The demo's summary table and its time formats (the lab tests read these lines).</summary>
public static class DemoReport
{
    public const string P2pFrom = "v6c";

    /// <summary>Milliseconds as seconds with three decimals: "1.234 s".</summary>
    public static string Seconds(long ms) => string.Create(CultureInfo.InvariantCulture, $"{ms / 1000}.{ms % 1000:D3} s");

    /// <summary>Milliseconds as seconds with one decimal, for "[at 1.2 s]" marks.</summary>
    public static string Clock(long ms) => string.Create(CultureInfo.InvariantCulture, $"{ms / 1000}.{ms % 1000 / 100} s");

    public static string Row(string label, string value) => string.Create(CultureInfo.InvariantCulture, $"   {label,-26} {value}");

    public static string Summary(DemoSummary s)
    {
        var o = new StringBuilder();
        o.AppendLine().AppendLine("== summary");
        o.AppendLine(Row("server", s.ServerKind + " on srv (198.18.0.10/.11)"));
        o.AppendLine(Row("relay / client", s.RelayKind + " on relay, Miredo client on clprc"));
        o.AppendLine(Row("qualification time", Seconds(s.QualifiedMs)));
        o.AppendLine(Row("client Teredo address", s.Address));
        o.AppendLine(Row("NAT", "natprc: " + s.NatDescription));
        o.AppendLine(Row("clprc -> host6 (5 pings)", s.ToHost6.ToString()));
        o.AppendLine(Row("host6 -> clprc (5 pings)", s.FromHost6.ToString()));
        if (s.OurClient is { } c)
        {
            o.AppendLine(Row("our client (clsym)", $"{c.Address}, qualified in {Seconds(c.QualifiedMs)}"));
            o.AppendLine(Row("its NAT type", c.NatType));
            o.AppendLine(Row("clsym -> host6 (5 pings)", c.ToHost6.ToString()));
            o.AppendLine(Row("host6 -> clsym (5 pings)", c.FromHost6.ToString()));
        }
        string label = "P2P: host4 from " + P2pFrom;
        if (s.P2pAddresses is not null) o.AppendLine(Row(label, s.P2pAddresses));
        foreach (var fetch in s.P2p) o.AppendLine(Row(label, fetch.Row()));
        o.AppendLine("== where the time went");
        foreach (var (step, ms) in s.Steps) o.AppendLine(string.Create(CultureInfo.InvariantCulture, $"   {step,-44} {Seconds(ms)}"));
        o.AppendLine(Row("demo time before teardown", Seconds(s.BeforeTeardownMs)));
        return o.ToString();
    }

    /// <summary>The cone flag of a Teredo address (bit 0x8000 of its fifth group), as the demo reports it.</summary>
    public static bool Cone(string teredoAddress)
    {
        var groups = teredoAddress.Split(':');
        return groups.Length > 4 && int.TryParse(groups[4], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int flags) && (flags & 0x8000) != 0;
    }
}
