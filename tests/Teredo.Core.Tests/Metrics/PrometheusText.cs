using System.Globalization;
using System.Text.RegularExpressions;

namespace Teredo.Tests.Metrics;

/// <summary>
/// A strict reader of the Prometheus text exposition format (0.0.4) for tests: every line must be a
/// HELP, a TYPE or a sample of a declared metric, or parsing fails. Samples are keyed by their series
/// as written (name plus label set).
/// </summary>
public sealed partial class PrometheusText
{
    public Dictionary<string, double> Samples { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, string> Types { get; } = new(StringComparer.Ordinal);

    public double this[string series] => Samples.TryGetValue(series, out double v) ? v : throw new KeyNotFoundException($"no series {series} in the scrape");

    [GeneratedRegex(@"^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .*$")]
    private static partial Regex Help();

    [GeneratedRegex(@"^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$")]
    private static partial Regex Type();

    [GeneratedRegex(@"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*=""(?:[^""\\]|\\.)*""(?:,[a-zA-Z_][a-zA-Z0-9_]*=""(?:[^""\\]|\\.)*"")*\})? (\S+)( -?\d+)?$")]
    private static partial Regex Sample();

    public static PrometheusText Parse(string text)
    {
        var result = new PrometheusText();
        int n = 0;
        foreach (string line in text.Split('\n'))
        {
            n++;
            if (line.Length == 0) continue;
            if (line.StartsWith("# HELP ", StringComparison.Ordinal))
            {
                Assert.True(Help().IsMatch(line), $"line {n}: bad HELP: {line}");
                continue;
            }
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var t = Type().Match(line);
                Assert.True(t.Success, $"line {n}: bad TYPE: {line}");
                Assert.True(result.Types.TryAdd(t.Groups[1].Value, t.Groups[2].Value), $"line {n}: second TYPE for {t.Groups[1].Value}");
                continue;
            }
            var m = Sample().Match(line);
            Assert.True(m.Success, $"line {n}: not a sample: {line}");
            string name = m.Groups[1].Value;
            Assert.True(Declared(result.Types, name), $"line {n}: sample of an undeclared metric: {line}");
            double value = m.Groups[3].Value switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                "NaN" => double.NaN,
                var v => double.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture),
            };
            Assert.True(result.Samples.TryAdd(name + m.Groups[2].Value, value), $"line {n}: duplicate series {name}{m.Groups[2].Value}");
        }
        return result;
    }

    /// <summary>A sample belongs to a TYPE line with its name, or its histogram/summary family.</summary>
    private static bool Declared(Dictionary<string, string> types, string name)
    {
        if (types.ContainsKey(name)) return true;
        foreach (string suffix in new[] { "_bucket", "_sum", "_count" })
            if (name.EndsWith(suffix, StringComparison.Ordinal) && types.ContainsKey(name[..^suffix.Length])) return true;
        return false;
    }
}
