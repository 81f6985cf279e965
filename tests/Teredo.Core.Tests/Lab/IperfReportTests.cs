using Teredo.Cli.Lab;

namespace Teredo.Tests.Lab;

/// <summary>The iperf verb's figures from iperf3 -J documents (trimmed to the fields read) and its table.</summary>
public class IperfReportTests
{
    private const string Udp = """
        {"start":{},"intervals":[],"end":{"sum":{"seconds":5.0,"bits_per_second":250000000,"packets":130000,"lost_packets":0,"lost_percent":0},
         "sum_received":{"seconds":5.0,"bits_per_second":200000000,"packets":130000,"lost_packets":26000,"lost_percent":20.0}}}
        """;

    private const string Tcp = """{"end":{"sum_sent":{"bits_per_second":900000000},"sum_received":{"bits_per_second":850000000}}}""";

    [Fact]
    public void Udp_counts_what_arrived_at_the_receiver()
    {
        var f = IperfFigures.FromJson(Udp, udp: true);
        Assert.Equal(200.0, f.Mbps, 6);
        Assert.Equal(20800.0, f.PacketsPerSecond, 6);
        Assert.Equal(20.0, f.LossPercent, 6);
    }

    [Fact]
    public void Older_iperf3_without_sum_received_uses_sum()
    {
        var f = IperfFigures.FromJson("""{"end":{"sum":{"seconds":2,"bits_per_second":1e7,"packets":100,"lost_packets":10,"lost_percent":10}}}""", udp: true);
        Assert.Equal(45.0, f.PacketsPerSecond, 6);
    }

    [Fact]
    public void Tcp_is_the_received_rate() => Assert.Equal(850.0, IperfFigures.FromJson(Tcp, udp: false).Mbps, 6);

    [Fact]
    public void Error_message_from_a_failed_run()
    {
        Assert.Equal("unable to connect to server: Connection refused", IperfFigures.Error("""{"start":{},"error":"unable to connect to server: Connection refused"}"""));
        Assert.Null(IperfFigures.Error("not json"));
    }

    [Fact]
    public void Table_has_the_requested_row_the_bench_scripts_read_and_the_ratio()
    {
        string udp = IperfReport.Table(true, new IperfFigures(200, 20800, 20), new IperfFigures(400, 41600, 0));
        Assert.Equal(
            "path             Mbit/s        pkt/s    loss%\n" +
            "requested         200.0        20800    20.00\n" +
            "plain             400.0        41600     0.00\n" +
            "ratio requested/plain: 0.500 (Mbit/s), 0.500 (pkt/s)\n", udp.Replace("\r\n", "\n", StringComparison.Ordinal));
        string tcp = IperfReport.Table(false, new IperfFigures(850, 0, 0), null);
        Assert.Equal("path             Mbit/s\nrequested         850.0\n", tcp.Replace("\r\n", "\n", StringComparison.Ordinal));
    }
}
