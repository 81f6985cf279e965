using System.Text;
using System.Text.Json;
using Teredo.Client;
using Teredo.Common;
using Teredo.Hosting.Control;
using Teredo.Hosting.Metrics;
using Teredo.Nat64;
using Teredo.P2p.Coordinator;
using Teredo.P2p.Ipv4Peer;
using Teredo.P2p.Ipv6Peer;
using Teredo.Relay;
using Teredo.Server;

namespace Teredo.Tests.Metrics;

/// <summary>The status document as Prometheus metrics: names, types and values, read through a strict text-format parser.</summary>
public class StatusMetricsTests
{
    private static PrometheusText Scrape(MetricsExporter exporter)
    {
        using var stream = new MemoryStream();
        exporter.WriteAsync(stream).GetAwaiter().GetResult();
        return PrometheusText.Parse(Encoding.UTF8.GetString(stream.ToArray()));
    }

    private static PrometheusText Scrape(string role, string json, IReadOnlyDictionary<string, string>? labelled = null) =>
        Scrape(new MetricsExporter(role, () => json, labelled));

    [Theory]
    [InlineData("tunWriteErrors", "tun_write_errors")]
    [InlineData("received", "received")]
    [InlineData("ipv6Forwarding", "ipv6_forwarding")]
    [InlineData("RouterAdvertisementSent", "router_advertisement_sent")]
    [InlineData("v4peer", "v4peer")]
    [InlineData("odd-name.x", "odd_name_x")]
    public void Camel_case_becomes_snake_case(string camel, string snake) => Assert.Equal(snake, StatusMetrics.SnakeCase(camel));

    [Fact]
    public void Counters_gauges_nested_objects_state_and_arrays_follow_the_naming_rules()
    {
        var m = Scrape("v4peer", """
            {
              "role": "v4peer", "state": "connected", "uptimeSeconds": 12, "rateLimitMbit": 0.5, "tokenRequired": true,
              "leases": [ { "address": "2001:0:c612:1::", "packetsIn": 5 } ],
              "coordinators": [ { "address": "198.18.0.20", "health": "healthy", "packetsSent": 7, "timesDown": 1 },
                                { "address": "198.18.0.21", "health": "down", "packetsSent": 2, "timesDown": 3 } ],
              "counters": { "receivedFromRelay": 41, "sendErrors": 2 },
              "translator": { "dynamicMappings": 3, "counters": { "translated4To6": 9 } }
            }
            """, new Dictionary<string, string> { ["coordinators"] = "address" });

        Assert.Equal(41, m["teredo_v4peer_received_from_relay_total"]);
        Assert.Equal("counter", m.Types["teredo_v4peer_received_from_relay_total"]);
        Assert.Equal(2, m["teredo_v4peer_send_errors_total"]);
        Assert.Equal(12, m["teredo_v4peer_uptime_seconds"]);
        Assert.Equal("gauge", m.Types["teredo_v4peer_uptime_seconds"]);
        Assert.Equal(0.5, m["teredo_v4peer_rate_limit_mbit"]);
        Assert.Equal(1, m["teredo_v4peer_token_required"]);
        Assert.Equal(3, m["teredo_v4peer_translator_dynamic_mappings"]);
        Assert.Equal(9, m["teredo_v4peer_translator_translated4_to6_total"]);
        Assert.Equal(1, m["teredo_v4peer_state{state=\"connected\"}"]);
        Assert.Equal(7, m["teredo_v4peer_coordinators_packets_sent{address=\"198.18.0.20\"}"]);
        Assert.Equal(3, m["teredo_v4peer_coordinators_times_down{address=\"198.18.0.21\"}"]);
        // Per-lease samples churn and are capped: left out, their count is a gauge of its own.
        Assert.DoesNotContain(m.Samples.Keys, k => k.Contains("leases", StringComparison.Ordinal));
        // Strings other than the state are not numbers and are not exported.
        Assert.DoesNotContain(m.Samples.Keys, k => k.StartsWith("teredo_v4peer_role", StringComparison.Ordinal));
        // prometheus-net's process metrics come along: the working set (RSS) is what issue 15 compares.
        Assert.True(m["process_working_set_bytes"] > 0);
    }

    [Fact]
    public void Values_are_read_at_each_scrape_and_a_state_change_zeroes_the_old_state()
    {
        long received = 1;
        string state = "starting";
        var registry = new MetricsExporter("client", () =>
            $$"""{ "state": "{{state}}", "peerCount": {{received * 2}}, "counters": { "received": {{received}} } }""");
        var first = Scrape(registry);
        Assert.Equal(1, first["teredo_client_received_total"]);
        Assert.Equal(1, first["teredo_client_state{state=\"starting\"}"]);

        received = 40;
        state = "qualified";
        var second = Scrape(registry);
        Assert.Equal(40, second["teredo_client_received_total"]);
        Assert.Equal(80, second["teredo_client_peer_count"]);
        Assert.Equal(1, second["teredo_client_state{state=\"qualified\"}"]);
        Assert.Equal(0, second["teredo_client_state{state=\"starting\"}"]);
    }

    /// <summary>Every entry of every role's CounterSet, written the way the daemons write it, becomes teredo_ROLE_NAME_total.</summary>
    [Fact]
    public void Every_counter_of_every_role_is_exported_under_its_snake_case_name()
    {
        AssertAllExported<ServerCounter>("server");
        AssertAllExported<RelayCounter>("relay");
        AssertAllExported<ClientCounter>("client");
        AssertAllExported<CoordinatorCounter>("coordinator");
        AssertAllExported<Ipv4PeerCounter>("v4peer");
        AssertAllExported<Ipv6PeerCounter>("v6peer");
        AssertAllExported<Nat64Counter>("nat64");
    }

    private static void AssertAllExported<TCounter>(string role) where TCounter : struct, Enum
    {
        string json = StatusJson.Build(j =>
        {
            j.WriteString("role", role);
            StatusJson.WriteCounters<TCounter>(j, c => 1000 + Convert.ToInt64(c, System.Globalization.CultureInfo.InvariantCulture), ("sendErrors", 7));
        });
        var m = Scrape(role, json);
        foreach (var c in CounterSet<TCounter>.All)
        {
            string name = $"teredo_{role}_{StatusMetrics.SnakeCase(c.ToString())}_total";
            Assert.Equal(1000 + Convert.ToInt64(c, System.Globalization.CultureInfo.InvariantCulture), m[name]);
            Assert.Equal("counter", m.Types[name]);
        }
        Assert.Equal(7, m[$"teredo_{role}_send_errors_total"]);
    }

    [Fact]
    public async Task A_status_document_that_is_not_json_fails_the_scrape_not_the_daemon()
    {
        var exporter = new MetricsExporter("relay", () => "not json");
        using var stream = new MemoryStream();
        await Assert.ThrowsAnyAsync<JsonException>(() => exporter.WriteAsync(stream));
    }
}
