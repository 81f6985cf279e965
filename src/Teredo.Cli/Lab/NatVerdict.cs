using System.Text;

namespace Teredo.Cli.Lab;

/// <summary>
/// What nat-check saw (RFC 4787's two questions). Mapping: the client sent from one port to host4 and to
/// srv; the receivers recorded the source each saw. Filtering: the client sent from a second port to
/// host4:7102 only, then three senders tried the mapped endpoint: the flow's own peer, the same host from
/// another port, a third host. A receiver that saw nothing leaves its endpoint null.
/// </summary>
public sealed record NatObservation(
    string? MappedToHost4,
    string? MappedToSrv,
    string? FilterMapped,
    bool SameEndpointReached,
    bool SameHostOtherPortReached,
    bool ThirdHostReached);

public enum NatMapping { Independent, Dependent }

/// <summary>The NAT kind those observations show.</summary>
public static class NatVerdict
{
    public static NatMapping Mapping(NatObservation o) =>
        o.MappedToHost4 == o.MappedToSrv ? NatMapping.Independent : NatMapping.Dependent;

    /// <summary>
    /// inconclusive when even the flow's own peer got no answer through (the probe, not the NAT, failed);
    /// symmetric when the mapping depends on the destination; otherwise the filtering decides: anyone
    /// (full cone), the same host from any port (restricted cone), only the peer's endpoint (port-restricted).
    /// </summary>
    public static string Classify(NatObservation o)
    {
        if (o.MappedToHost4 is null || o.MappedToSrv is null || o.FilterMapped is null) throw new ArgumentException("a probe did not arrive", nameof(o));
        if (!o.SameEndpointReached) return "inconclusive";
        if (Mapping(o) == NatMapping.Dependent) return "symmetric";
        if (o.ThirdHostReached) return "full-cone";
        if (o.SameHostOtherPortReached) return "restricted-cone";
        return "port-restricted-cone";
    }

    /// <summary>
    /// nat-check's report, key=value words the lab tests read; the conntrack lines of every NAT on the
    /// way out (<paramref name="conntrack"/>: NAT node and its matching entries) come before the verdict.
    /// </summary>
    public static string Report(string client, string nat, string configured, int port, int filterPort, NatObservation o,
        IReadOnlyList<(string Nat, string Entries)> conntrack)
    {
        var text = new StringBuilder();
        text.Append("client=").Append(client).Append(" nat=").Append(nat).Append(" configured=").AppendLine(configured);
        text.Append("local_port=").Append(port).Append(" mapped_to_host4=").Append(o.MappedToHost4).Append(" mapped_to_srv=").Append(o.MappedToSrv)
            .Append(" mapping=").AppendLine(Mapping(o) == NatMapping.Independent ? "independent" : "dependent");
        text.Append("filter_port=").Append(filterPort).Append(" mapped=").Append(o.FilterMapped)
            .Append(" third_host_reached=").Append(YesNo(o.ThirdHostReached))
            .Append(" same_host_other_port_reached=").Append(YesNo(o.SameHostOtherPortReached))
            .Append(" same_endpoint_reached=").AppendLine(YesNo(o.SameEndpointReached));
        foreach (var (hop, entries) in conntrack)
        {
            text.Append("conntrack(").Append(hop).AppendLine("):");
            foreach (string line in entries.Split('\n', StringSplitOptions.RemoveEmptyEntries)) text.Append("  ").AppendLine(line);
        }
        text.Append("verdict=").AppendLine(Classify(o));
        return text.ToString();
    }

    private static string YesNo(bool b) => b ? "yes" : "no";
}
