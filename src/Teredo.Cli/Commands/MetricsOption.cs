using System.CommandLine;

namespace Teredo.Cli.Commands;

/// <summary>The <c>--metrics ADDR:PORT</c> option every daemon verb takes (docs/metrics.md).</summary>
public static class MetricsOption
{
    /// <param name="directive">The configuration directive it lays over: Metrics, or metrics in tayga.conf.</param>
    public static Option<string?> Create(string directive = "Metrics") => new("--metrics")
    {
        Description = $"Serve Prometheus metrics at http://ADDR:PORT/metrics, e.g. 127.0.0.1:9437 or [::1]:9437 ({directive}; default off; docs/metrics.md)",
    };
}
