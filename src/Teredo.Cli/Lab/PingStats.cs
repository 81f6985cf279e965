using System.Globalization;

namespace Teredo.Cli.Lab;

/// <summary>What ping's summary says: the loss in percent and the average round trip ("-" when nothing came back).</summary>
public readonly record struct PingStats(string LossPercent, string AverageMs)
{
    public static readonly PingStats NothingBack = new("100", "-");

    /// <summary>Reads iputils' "N packets transmitted, M received, L% packet loss" and "rtt min/avg/max/mdev = a/b/c/d ms".</summary>
    public static PingStats Parse(string output)
    {
        string loss = NothingBack.LossPercent, avg = NothingBack.AverageMs;
        foreach (string line in output.Split('\n'))
        {
            if (line.Contains("packet loss", StringComparison.Ordinal))
            {
                foreach (string word in line.Split([' ', ','], StringSplitOptions.RemoveEmptyEntries))
                    if (word.EndsWith('%')) loss = word.TrimEnd('%');
            }
            else if (line.StartsWith("rtt", StringComparison.Ordinal) || line.StartsWith("round-trip", StringComparison.Ordinal))
            {
                var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (words.Length > 3 && words[3].Split('/') is { Length: > 1 } r) avg = r[1];
            }
        }
        return new PingStats(loss, avg);
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"loss {LossPercent}%, avg RTT {AverageMs} ms");
}
