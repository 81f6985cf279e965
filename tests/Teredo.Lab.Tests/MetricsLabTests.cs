using System.Globalization;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Teredo.Lab.Tests;

/// <summary>
/// Issue 15's metrics on a running daemon: our server on srv with <c>--metrics</c> on its public
/// address, scraped with curl from another node (host4) across the lab's IPv4 Internet, before and
/// after an unmodified Miredo client qualifies against it.
/// </summary>
[Collection(LabCollection.Name)]
public sealed partial class MetricsLabTests(LabFixture lab, ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Short = LabFixture.Short;
    private static readonly TimeSpan Long = LabFixture.Long;
    private const string Endpoint = "198.18.0.10:9437";
    private const string StatusSocket = "/run/tlab/srv/teredo-server.sock";

    private readonly LabSession _lab = new(output);

    /// <summary>Other test classes expect srv's port 3544 free, or a server of their own making.</summary>
    public void Dispose()
    {
        if (lab.SkipReason is not null || !lab.IsUp) return;
        Lab.Run(Short, "stop", "srv", "teredo-server");
    }

    [GeneratedRegex(@"^(teredo_server_[a-z0-9_]+|process_working_set_bytes) (\S+)$", RegexOptions.Multiline)]
    private static partial Regex Sample();

    private Dictionary<string, double> Scrape()
    {
        var r = _lab.MustRun(Short, "exec", "host4", "--", "curl", "-sS", "--fail", "--max-time", "10", $"http://{Endpoint}/metrics");
        var samples = new Dictionary<string, double>();
        foreach (Match m in Sample().Matches(r.Stdout)) samples[m.Groups[1].Value] = double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
        return samples;
    }

    [SkippableFact]
    public void Curl_from_another_node_reads_the_servers_counters_as_they_move()
    {
        lab.Require();
        string? missing = LabFixture.MissingTools("curl");
        Skip.If(missing is not null, missing);
        lab.EnsureUp();
        _lab.Run(Short, "miredo-stop", "srv", "server");
        _lab.MustRun(Long, "teredo-server", "srv", "--metrics", Endpoint);

        var before = Scrape();
        Assert.True(before.Count > 10, "too few teredo_server_ samples: " + string.Join(", ", before.Keys));
        Assert.True(before["process_working_set_bytes"] > 0);
        double rasBefore = before["teredo_server_router_advertisement_sent_total"];

        try
        {
            _lab.MustRun(Long, "miredo-client", "clprc");
            _lab.MustRun(Long, "wait-qualified", "clprc", "20");
        }
        finally
        {
            _lab.Run(Short, "miredo-stop", "clprc", "client");
        }

        var after = Scrape();
        Assert.True(after["teredo_server_router_advertisement_sent_total"] > rasBefore, "no RA counted after a qualification");
        Assert.True(after["teredo_server_received_total"] >= after["teredo_server_router_advertisement_sent_total"]);
        // The metrics and the control socket tell the same story: the status read after the scrape is not behind it.
        long statusRas = LabSession.Counter(LabSession.Status(StatusSocket), "routerAdvertisementSent");
        Assert.True(statusRas >= after["teredo_server_router_advertisement_sent_total"]);
    }
}
