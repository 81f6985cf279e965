using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Teredo.Hosting.Configuration;
using Teredo.Hosting.Coordinator;
using Teredo.Hosting.Metrics;
using Teredo.Net;
using Teredo.P2p.Coordinator;
using Teredo.Tests.Support;

namespace Teredo.Tests.Metrics;

/// <summary>
/// A real daemon (the coordinator, which needs no root) with <c>Metrics</c> set, scraped over HTTP on
/// loopback: the text parses, and every counter of its status document is there with the same value.
/// </summary>
public sealed class MetricsScrapeTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly List<IDisposable> _cleanup = [];

    public void Dispose()
    {
        foreach (var d in _cleanup) d.Dispose();
        _dir.Dispose();
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    [Fact]
    public async Task A_running_coordinator_serves_its_counters_and_gauges_at_slash_metrics()
    {
        var endpoint = new IPEndPoint(IPAddress.Loopback, FreePort());
        var settings = new CoordinatorHostSettings
        {
            Engine = new CoordinatorOptions { Address = Ipv4Address.Parse("127.0.0.1"), AllowDestinations = [new(Ipv4Address.Parse("198.18.0.0"), 15)] },
            TlsPort = 0,
            BubblePort = 0,
            StateDirectory = Path.Combine(_dir.FullPath, "state"),
            ControlSocket = Path.Combine(_dir.FullPath, "c.sock"),
            Metrics = endpoint,
        };
        var daemon = new CoordinatorDaemon(settings, NullLogger<CoordinatorDaemon>.Instance);
        await daemon.StartAsync(CancellationToken.None);
        _cleanup.Add(daemon);

        // A stray datagram at the bubble port: something for a drop counter to show.
        using (var udp = new UdpClient(AddressFamily.InterNetwork))
            udp.Send([1, 2, 3], 3, new IPEndPoint(IPAddress.Loopback, daemon.BubbleEndpoint.Port));
        await Task.Delay(200);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var response = await http.GetAsync($"http://{endpoint}/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("0.0.4", response.Content.Headers.ContentType?.Parameters.Single(p => p.Name == "version").Value);
        var metrics = PrometheusText.Parse(await response.Content.ReadAsStringAsync());

        using var status = JsonDocument.Parse(daemon.StatusJson());
        int counters = 0;
        foreach (var c in status.RootElement.GetProperty("counters").EnumerateObject())
        {
            string name = $"teredo_coordinator_{StatusMetrics.SnakeCase(c.Name)}_total";
            Assert.Equal("counter", metrics.Types[name]);
            Assert.True(metrics[name] <= c.Value.GetInt64(), $"{name} ahead of the status read after it");
            counters++;
        }
        Assert.True(counters > 10);
        Assert.Contains(metrics.Samples, s => s.Key.StartsWith("teredo_coordinator_", StringComparison.Ordinal) && s.Key.EndsWith("_total", StringComparison.Ordinal) && s.Value > 0);
        Assert.Equal(1, metrics["teredo_coordinator_state{state=\"running\"}"]);
        Assert.Contains("teredo_coordinator_uptime_seconds", metrics.Types.Keys);

        // Anything but /metrics is a 404, and the endpoint keeps answering afterwards.
        using var missing = await http.GetAsync($"http://{endpoint}/");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        using var again = await http.GetAsync($"http://{endpoint}/metrics?x=1");
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
    }

    [Fact]
    public void Garbage_and_silence_get_an_answer_or_a_timeout_and_the_next_scrape_is_served()
    {
        using var exporter = MetricsExporter.Start(new IPEndPoint(IPAddress.Loopback, FreePort()), "relay",
            () => """{ "state": "running", "counters": { "received": 3 } }""", NullLogger.Instance)!;
        string Raw(byte[] request)
        {
            using var tcp = new TcpClient();
            tcp.Connect(exporter.LocalEndPoint);
            tcp.GetStream().Write(request);
            tcp.GetStream().ReadTimeout = 10_000;
            using var reader = new StreamReader(tcp.GetStream(), Encoding.ASCII);
            return reader.ReadToEnd();
        }
        Assert.StartsWith("HTTP/1.1 400 ", Raw("\x16\x03\x01 not http\r\n\r\n"u8.ToArray()));
        Assert.StartsWith("HTTP/1.1 405 ", Raw("POST /metrics HTTP/1.1\r\n\r\n"u8.ToArray()));
        Assert.StartsWith("HTTP/1.1 431 ", Raw(Encoding.ASCII.GetBytes("GET /metrics HTTP/1.1\r\nX: " + new string('a', 9000) + "\r\n\r\n")));
        string head = Raw("HEAD /metrics HTTP/1.0\r\n\r\n"u8.ToArray());
        Assert.StartsWith("HTTP/1.1 200 ", head);
        Assert.EndsWith("\r\n\r\n", head);
        string ok = Raw("GET /metrics HTTP/1.1\r\nHost: anything\r\n\r\n"u8.ToArray());
        Assert.Contains("teredo_relay_received_total 3", ok);
    }

    [Fact]
    public async Task A_status_it_cannot_read_is_a_500_and_not_stale_numbers()
    {
        string status = """{ "counters": { "received": 3 } }""";
        using var exporter = MetricsExporter.Start(new IPEndPoint(IPAddress.Loopback, FreePort()), "relay", () => status, NullLogger.Instance)!;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"http://{exporter.LocalEndPoint}/metrics")).StatusCode);
        status = "{ broken";
        Assert.Equal(HttpStatusCode.InternalServerError, (await http.GetAsync($"http://{exporter.LocalEndPoint}/metrics")).StatusCode);
    }
}
