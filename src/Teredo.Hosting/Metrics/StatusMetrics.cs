using System.Text;
using System.Text.Json;
using Prometheus;

namespace Teredo.Hosting.Metrics;

/// <summary>
/// Turns a daemon's status document (the JSON that <c>teredo status</c> shows) into Prometheus metrics
/// at scrape time, so the packet paths pay nothing and the metrics can never disagree with the status:
/// <list type="bullet">
/// <item>every number inside a <c>"counters"</c> object (each CounterSet entry plus the host's own
/// counters) is the counter <c>teredo_ROLE_[PATH_]NAME_total</c>;</item>
/// <item>every other number or boolean of an object is the gauge <c>teredo_ROLE_[PATH_]NAME</c> (peers,
/// leases, queued bytes, mappings, uptime...), PATH being the enclosing objects' names;</item>
/// <item>the top-level <c>"state"</c> string is <c>teredo_ROLE_state{state="..."}</c>, 1 for the current
/// state and 0 for those seen before;</item>
/// <item>arrays are per-peer or per-lease samples, capped and churning, so they are left out (their
/// counts are gauges already), except those the daemon names in <paramref name="labelledArrays"/>,
/// small fixed lists whose items become series labelled by one of their string fields.</item>
/// </list>
/// Names are the JSON's camelCase in snake_case. Metrics are created the first time their name is seen.
/// </summary>
public sealed class StatusMetrics
{
    private readonly string _prefix;
    private readonly Func<string> _status;
    private readonly MetricFactory _factory;
    private readonly IReadOnlyDictionary<string, string> _labelledArrays;
    private readonly Dictionary<string, Counter> _counters = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Gauge> _gauges = new(StringComparer.Ordinal);
    private readonly HashSet<string> _statesSeen = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private Gauge? _state;

    /// <param name="role">The daemon's role, the second part of every name (teredo_relay_...).</param>
    /// <param name="status">The daemon's status document builder, called once per scrape.</param>
    /// <param name="labelledArrays">Array name → the string field whose value labels its items.</param>
    public StatusMetrics(string role, Func<string> status, CollectorRegistry registry, IReadOnlyDictionary<string, string>? labelledArrays = null)
    {
        _prefix = "teredo_" + SnakeCase(role) + "_";
        _status = status;
        _factory = Prometheus.Metrics.WithCustomRegistry(registry);
        _labelledArrays = labelledArrays ?? new Dictionary<string, string>();
    }

    /// <summary>
    /// Reads the status once and brings every metric up to it; called before each export. Not a
    /// registry before-collect callback: prometheus-net swallows their exceptions, and a status that
    /// cannot be read must fail the scrape rather than serve stale numbers.
    /// </summary>
    public void Update()
    {
        using var doc = JsonDocument.Parse(_status());
        lock (_gate) Walk(doc.RootElement, "", topLevel: true);
    }

    private void Walk(JsonElement obj, string path, bool topLevel)
    {
        foreach (var p in obj.EnumerateObject())
        {
            string name = path + SnakeCase(p.Name);
            switch (p.Value.ValueKind)
            {
                case JsonValueKind.Number:
                    SetGauge(name, p.Value.GetDouble());
                    break;
                case JsonValueKind.True or JsonValueKind.False:
                    SetGauge(name, p.Value.ValueKind == JsonValueKind.True ? 1 : 0);
                    break;
                case JsonValueKind.Object when p.Name == "counters":
                    foreach (var c in p.Value.EnumerateObject())
                        if (c.Value.ValueKind == JsonValueKind.Number) SetCounter(path + SnakeCase(c.Name) + "_total", c.Value.GetDouble());
                    break;
                case JsonValueKind.Object:
                    Walk(p.Value, name + "_", topLevel: false);
                    break;
                case JsonValueKind.String when topLevel && p.Name == "state":
                    SetState(p.Value.GetString() ?? "");
                    break;
                case JsonValueKind.Array when _labelledArrays.TryGetValue(p.Name, out string? key):
                    WalkLabelled(p.Value, name + "_", key);
                    break;
            }
        }
    }

    private void WalkLabelled(JsonElement array, string path, string key)
    {
        string label = SnakeCase(key);
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object || !item.TryGetProperty(key, out var k) || k.ValueKind != JsonValueKind.String) continue;
            string value = k.GetString() ?? "";
            foreach (var f in item.EnumerateObject())
            {
                double? v = f.Value.ValueKind switch
                {
                    JsonValueKind.Number => f.Value.GetDouble(),
                    JsonValueKind.True => 1,
                    JsonValueKind.False => 0,
                    _ => null,
                };
                if (v is { } x) Gauge(path + SnakeCase(f.Name), label).WithLabels(value).Set(x);
            }
        }
    }

    private void SetGauge(string name, double value) => Gauge(name, null).Set(value);

    private void SetCounter(string name, double value)
    {
        if (!_counters.TryGetValue(name, out var counter))
            _counters[name] = counter = _factory.CreateCounter(_prefix + name, $"status counter {name} (see teredo status --json)");
        counter.IncTo(value);
    }

    private void SetState(string state)
    {
        _state ??= _factory.CreateGauge(_prefix + "state", "1 for the daemon's current state, 0 for states it was in before", "state");
        _statesSeen.Add(state);
        foreach (string s in _statesSeen) _state.WithLabels(s).Set(s == state ? 1 : 0);
    }

    private Gauge Gauge(string name, string? label)
    {
        if (!_gauges.TryGetValue(name, out var gauge))
            _gauges[name] = gauge = label is null
                ? _factory.CreateGauge(_prefix + name, $"status value {name} (see teredo status --json)")
                : _factory.CreateGauge(_prefix + name, $"status value {name} per {label} (see teredo status --json)", label);
        return gauge;
    }

    /// <summary>camelCase (the status JSON's naming) to snake_case (Prometheus's): tunWriteErrors → tun_write_errors.</summary>
    public static string SnakeCase(string name)
    {
        var s = new StringBuilder(name.Length + 8);
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (char.IsAsciiLetterUpper(c))
            {
                if (i > 0 && s.Length > 0 && s[^1] != '_') s.Append('_');
                s.Append(char.ToLowerInvariant(c));
            }
            else s.Append(char.IsAsciiLetterOrDigit(c) ? c : '_');
        }
        return s.ToString();
    }
}
