using System.Net;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace Teredo.Hosting.Metrics;

/// <summary>
/// What a daemon calls, once, to serve <c>--metrics</c>: its status document as Prometheus metrics
/// (<see cref="StatusMetrics"/>) plus prometheus-net's process metrics (resident memory, CPU seconds,
/// open descriptors, start time, GC counts) in a registry of its own, so nothing else in the process
/// (the default registry's EventCounter and Meter listeners) runs between scrapes.
/// </summary>
public sealed class MetricsExporter : IDisposable
{
    private readonly MetricsListener _listener;

    private MetricsExporter(MetricsListener listener) => _listener = listener;

    public IPEndPoint LocalEndPoint => _listener.LocalEndPoint;

    /// <summary>Starts the endpoint, or returns null when <paramref name="endpoint"/> is null (metrics off).</summary>
    public static MetricsExporter? Start(IPEndPoint? endpoint, string role, Func<string> status, ILogger log,
        IReadOnlyDictionary<string, string>? labelledArrays = null)
    {
        if (endpoint is null) return null;
        var registry = CreateRegistry(role, status, labelledArrays);
        var exporter = new MetricsExporter(MetricsListener.Start(endpoint, registry, log));
        log.LogInformation("metrics on http://{Endpoint}/metrics", exporter.LocalEndPoint);
        return exporter;
    }

    /// <summary>The registry alone, for tests that export without a socket.</summary>
    public static CollectorRegistry CreateRegistry(string role, Func<string> status, IReadOnlyDictionary<string, string>? labelledArrays = null)
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        DotNetStats.Register(registry);
        _ = new StatusMetrics(role, status, registry, labelledArrays);
        return registry;
    }

    public void Dispose() => _listener.Dispose();
}
