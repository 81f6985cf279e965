using System.Net;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace Teredo.Hosting.Metrics;

/// <summary>
/// What a daemon calls, once, to serve <c>--metrics</c>: its status document as Prometheus metrics
/// (<see cref="StatusMetrics"/>) plus prometheus-net's process metrics (working set, CPU seconds,
/// open handles, threads, start time, GC counts) in a registry of its own, so nothing else in the
/// process (the default registry's EventCounter and Meter listeners) runs between scrapes.
/// </summary>
public sealed class MetricsExporter : IDisposable
{
    private readonly CollectorRegistry _registry = Prometheus.Metrics.NewCustomRegistry();

    /// <summary>
    /// The default registry is never scraped here; this keeps prometheus-net from ever filling it with
    /// its default collectors (EventCounter and Meter listeners that would run in the background).
    /// </summary>
    static MetricsExporter() => Prometheus.Metrics.SuppressDefaultMetrics();
    private readonly StatusMetrics _status;
    private MetricsListener? _listener;

    /// <summary>An exporter without a socket (tests, or a host that serves the text itself).</summary>
    public MetricsExporter(string role, Func<string> status, IReadOnlyDictionary<string, string>? labelledArrays = null)
    {
        DotNetStats.Register(_registry);
        _status = new StatusMetrics(role, status, _registry, labelledArrays);
    }

    /// <summary>The address the listener is bound to (the kernel's port when 0 was asked).</summary>
    public IPEndPoint LocalEndPoint => _listener?.LocalEndPoint ?? throw new InvalidOperationException("not listening");

    /// <summary>Starts the endpoint, or returns null when <paramref name="endpoint"/> is null (metrics off).</summary>
    public static MetricsExporter? Start(IPEndPoint? endpoint, string role, Func<string> status, ILogger log,
        IReadOnlyDictionary<string, string>? labelledArrays = null)
    {
        if (endpoint is null) return null;
        var exporter = new MetricsExporter(role, status, labelledArrays);
        exporter._listener = MetricsListener.Start(endpoint, exporter.WriteAsync, log);
        log.LogInformation("metrics on http://{Endpoint}/metrics", exporter.LocalEndPoint);
        return exporter;
    }

    /// <summary>Reads the status and writes every metric in the Prometheus text format (0.0.4).</summary>
    public async Task WriteAsync(Stream destination, CancellationToken ct = default)
    {
        _status.Update();
        await _registry.CollectAndExportAsTextAsync(destination, ct);
    }

    public void Dispose() => _listener?.Dispose();
}
