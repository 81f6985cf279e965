using Teredo.Cli.Lab;

namespace Teredo.Tests.Lab;

/// <summary>The demo's summary and the figures it is made of, from literal inputs (ping and curl output as printed).</summary>
public class DemoReportTests
{
    private const string Ping5 = """
        PING 2001:db8:1::100(2001:db8:1::100) 56 data bytes
        64 bytes from 2001:db8:1::100: icmp_seq=1 ttl=63 time=3.01 ms

        --- 2001:db8:1::100 ping statistics ---
        5 packets transmitted, 5 received, 0% packet loss, time 408ms
        rtt min/avg/max/mdev = 3.007/16.699/64.860/24.098 ms
        """;

    private const string PingLost = """
        --- 2001:0:c612:a:c39:4977:39ed:fdfe ping statistics ---
        5 packets transmitted, 0 received, +2 errors, 100% packet loss, time 4093ms
        """;

    [Fact]
    public void Ping_summary_gives_loss_and_average()
    {
        Assert.Equal(new PingStats("0", "16.699"), PingStats.Parse(Ping5));
        Assert.Equal(new PingStats("100", "-"), PingStats.Parse(PingLost));
        Assert.Equal(PingStats.NothingBack, PingStats.Parse(""));
        Assert.Equal("loss 0%, avg RTT 16.699 ms", PingStats.Parse(Ping5).ToString());
    }

    [Fact]
    public void Curl_figures_give_the_first_packet_and_the_page_time()
    {
        var f = P2pFetch.FromCurl("our relay", "200 0.005031 0.167931 0.180412", new PingStats("0", "8.846"), "10.3.0.2 seen from 198.18.3.1:35705");
        Assert.Equal("162.9", f.FirstPacketMs);
        Assert.Equal("0.180 s", f.Page);
        Assert.Equal("our relay     page 0.180 s (HTTP 200), first packet 162.9 ms, pings 0% lost, avg 8.846 ms, owner 10.3.0.2 seen from 198.18.3.1:35705", f.Row());
    }

    [Fact]
    public void A_failed_fetch_shows_dashes_not_numbers()
    {
        var f = P2pFetch.FromCurl("Miredo relay", "curl: (28) Connection timed out", PingStats.NothingBack, null);
        Assert.Equal("?", f.HttpCode);
        Assert.Equal("-", f.FirstPacketMs);
        Assert.Equal("-", f.Page);
        Assert.EndsWith("pings 100% lost, avg - ms, owner none", f.Row());
    }

    [Fact]
    public void Times_print_as_seconds()
    {
        Assert.Equal("2.900 s", DemoReport.Seconds(2900));
        Assert.Equal("24.107 s", DemoReport.Seconds(24107));
        Assert.Equal("0.005 s", DemoReport.Seconds(5));
        Assert.Equal("15.3 s", DemoReport.Clock(15_349));
    }

    [Fact]
    public void Cone_flag_is_bit_15_of_the_flags_group()
    {
        Assert.False(DemoReport.Cone("2001:0:c612:a:c39:4977:39ed:fdfe"));
        Assert.True(DemoReport.Cone("2001:0:4136:e378:8000:63bf:3fff:fdd2"));
    }

    [Fact]
    public void Summary_of_a_run_with_our_daemons()
    {
        var s = new DemoSummary("teredo server (ours)", "teredo relay (ours)", 2900, "2001:0:c612:a:c39:4977:39ed:fdfe",
            "port-restricted cone (MASQUERADE)", PingStats.Parse(Ping5), new PingStats("0", "1.774"),
            new OurClientResult("2001:0:c612:a:1caf:72be:39ed:fcfe", 2712, "symmetric (done)", new PingStats("0", "9.864"), new PingStats("20", "1.676")),
            "addresses     v6c -> N::D 2001:db8:6464::c612:64 -> T(D) 2001:0:c612:28:c6:1200:6400:0",
            [P2pFetch.FromCurl("our relay", "200 0.005 0.168 0.180", new PingStats("0", "8.846"), null)],
            [("build topology (waves in parallel)", 8834), ("start the daemons (in parallel) until ready", 6519)], 18842);
        Assert.Equal("""

            == summary
               server                     teredo server (ours) on srv (198.18.0.10/.11)
               relay / client             teredo relay (ours) on relay, Miredo client on clprc
               qualification time         2.900 s
               client Teredo address      2001:0:c612:a:c39:4977:39ed:fdfe
               NAT                        natprc: port-restricted cone (MASQUERADE)
               clprc -> host6 (5 pings)   loss 0%, avg RTT 16.699 ms
               host6 -> clprc (5 pings)   loss 0%, avg RTT 1.774 ms
               our client (clsym)         2001:0:c612:a:1caf:72be:39ed:fcfe, qualified in 2.712 s
               its NAT type               symmetric (done)
               clsym -> host6 (5 pings)   loss 0%, avg RTT 9.864 ms
               host6 -> clsym (5 pings)   loss 20%, avg RTT 1.676 ms
               P2P: host4 from v6c        addresses     v6c -> N::D 2001:db8:6464::c612:64 -> T(D) 2001:0:c612:28:c6:1200:6400:0
               P2P: host4 from v6c        our relay     page 0.180 s (HTTP 200), first packet 163.0 ms, pings 0% lost, avg 8.846 ms, owner none
            == where the time went
               build topology (waves in parallel)           8.834 s
               start the daemons (in parallel) until ready  6.519 s
               demo time before teardown  18.842 s

            """, DemoReport.Summary(s).Replace("\r\n", "\n", StringComparison.Ordinal));
    }

    [Fact]
    public void Summary_of_a_miredo_only_run_has_no_client_or_p2p_rows()
    {
        var s = new DemoSummary("miredo-server", "Miredo relay", 3100, "2001:0:c612:a:c39:4977:39ed:fdfe", "port-restricted cone (MASQUERADE)",
            PingStats.NothingBack, PingStats.NothingBack, null, null, [], [], 9000);
        string text = DemoReport.Summary(s);
        Assert.Contains("   clprc -> host6 (5 pings)   loss 100%, avg RTT - ms\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("clsym", text, StringComparison.Ordinal);
        Assert.DoesNotContain("P2P", text, StringComparison.Ordinal);
    }
}
