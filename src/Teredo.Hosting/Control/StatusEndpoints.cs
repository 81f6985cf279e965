using System.Net;
using Microsoft.Extensions.Logging;
using Teredo.Hosting.Metrics;

namespace Teredo.Hosting.Control;

/// <summary>
/// Every daemon serves its one status document twice: as JSON on the control socket (`teredo status`)
/// and, when asked, as Prometheus metrics. Both start once the daemon is set up and stop first when it
/// stops, so they live and die together here.
/// </summary>
public sealed class StatusEndpoints : IDisposable
{
    private ControlServer? _control;
    private MetricsExporter? _metrics;

    private StatusEndpoints(ControlServer control, MetricsExporter? metrics)
    {
        _control = control;
        _metrics = metrics;
    }

    public static StatusEndpoints Start(string controlSocket, IPEndPoint? metrics, string role, Func<string> status, ILogger log,
        IReadOnlyDictionary<string, string>? labelledArrays = null)
    {
        var control = ControlServer.Start(controlSocket, status, log);
        try
        {
            return new StatusEndpoints(control, MetricsExporter.Start(metrics, role, status, log, labelledArrays));
        }
        catch
        {
            control.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        _control?.Dispose();
        _control = null;
        _metrics?.Dispose();
        _metrics = null;
    }
}
