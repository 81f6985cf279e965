using FsCheck.Xunit;
using Teredo.Cli.Lab;

namespace Teredo.Tests.Lab;

/// <summary>nat-check's verdict from what its receivers saw (the probes of the lab's four NAT kinds, as recorded).</summary>
public class NatVerdictTests
{
    private static NatObservation Seen(string host4, string srv, bool same = true, bool otherPort = false, bool third = false) =>
        new(host4, srv, "198.18.2.1:40001", same, otherPort, third);

    [Fact]
    public void Full_cone_one_mapping_anyone_gets_in() =>
        Assert.Equal("full-cone", NatVerdict.Classify(Seen("198.18.1.1:41000", "198.18.1.1:41000", otherPort: true, third: true)));

    [Fact]
    public void Restricted_cone_the_same_host_from_any_port() =>
        Assert.Equal("restricted-cone", NatVerdict.Classify(Seen("198.18.2.1:41000", "198.18.2.1:41000", otherPort: true)));

    [Fact]
    public void Port_restricted_cone_only_the_peer_endpoint() =>
        Assert.Equal("port-restricted-cone", NatVerdict.Classify(Seen("198.18.2.1:41000", "198.18.2.1:41000")));

    [Fact]
    public void Symmetric_a_mapping_per_destination_whatever_the_filter()
    {
        Assert.Equal("symmetric", NatVerdict.Classify(Seen("198.18.3.1:1025", "198.18.3.1:61313")));
        Assert.Equal("symmetric", NatVerdict.Classify(Seen("198.18.3.1:1025", "198.18.3.1:61313", otherPort: true, third: true)));
        Assert.Equal(NatMapping.Dependent, NatVerdict.Mapping(Seen("198.18.3.1:1025", "198.18.3.1:61313")));
    }

    [Fact]
    public void Inconclusive_when_even_the_flows_own_peer_did_not_get_through() =>
        Assert.Equal("inconclusive", NatVerdict.Classify(Seen("198.18.2.1:41000", "198.18.2.1:41000", same: false, third: true)));

    [Fact]
    public void A_missing_probe_is_not_a_verdict() =>
        Assert.Throws<ArgumentException>(() => NatVerdict.Classify(new NatObservation(null, "198.18.2.1:41000", "198.18.2.1:41001", true, false, false)));

    [Property]
    public bool Any_observation_with_its_probes_gets_one_of_the_five_verdicts(bool differentMapping, bool same, bool other, bool third)
    {
        string v = NatVerdict.Classify(Seen("198.18.1.1:1", differentMapping ? "198.18.1.1:2" : "198.18.1.1:1", same, other, third));
        return v is "full-cone" or "restricted-cone" or "port-restricted-cone" or "symmetric" or "inconclusive";
    }

    [Fact]
    public void Report_is_the_key_value_lines_the_lab_tests_read()
    {
        string report = NatVerdict.Report("cldbl", "natdbl1", "portrestricted", 41234, 41235,
            new NatObservation("198.18.4.1:41234", "198.18.4.1:41234", "198.18.4.1:41235", true, false, false),
            [("natdbl1", "udp 17 29 src=10.5.0.2 dst=198.18.0.100 sport=41234 dport=7101 "), ("natdbl2", "")]);
        Assert.Equal(
            "client=cldbl nat=natdbl1 configured=portrestricted\n" +
            "local_port=41234 mapped_to_host4=198.18.4.1:41234 mapped_to_srv=198.18.4.1:41234 mapping=independent\n" +
            "filter_port=41235 mapped=198.18.4.1:41235 third_host_reached=no same_host_other_port_reached=no same_endpoint_reached=yes\n" +
            "conntrack(natdbl1):\n" +
            "  udp 17 29 src=10.5.0.2 dst=198.18.0.100 sport=41234 dport=7101 \n" +
            "conntrack(natdbl2):\n" +
            "verdict=port-restricted-cone\n",
            report.Replace("\r\n", "\n", StringComparison.Ordinal));
    }
}
