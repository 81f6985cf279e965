using System.Net;
using Teredo.Hosting.Metrics;

namespace Teredo.Hosting.Configuration;

/// <summary>
/// The <c>Metrics ADDR:PORT</c> directive every role knows (the <c>--metrics</c> option lays over it):
/// where the Prometheus endpoint listens, or null for none, the default.
/// </summary>
public static class MetricsDirective
{
    public const string Name = "Metrics";

    public static IPEndPoint? Read(ConfigValues config) => Parse(config.Get(Name), config.File);

    public static IPEndPoint? Parse(ConfigDirective? directive, string file)
    {
        if (directive is null || directive.Value.Length == 0 || directive.Value.Equals("none", StringComparison.OrdinalIgnoreCase)) return null;
        if (!MetricsEndpoint.TryParse(directive.Value, out var endpoint, out string error))
            throw new ConfigException($"{ConfigFile.Where(directive, file)}: {directive.Name} {error}");
        return endpoint;
    }
}
