using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Teredo.Cli.Lab;

/// <summary>One iperf3 run as the receiver saw it: Mbit/s, and for UDP datagrams per second and loss.</summary>
public readonly record struct IperfFigures(double Mbps, double PacketsPerSecond, double LossPercent)
{
    /// <summary>
    /// From iperf3 -J. UDP counts what arrived (packets - lost_packets) in end.sum_received, or end.sum
    /// for an iperf3 without it; TCP takes end.sum_received's bit rate.
    /// </summary>
    public static IperfFigures FromJson(string json, bool udp)
    {
        using var doc = JsonDocument.Parse(json);
        var end = doc.RootElement.GetProperty("end");
        if (!udp) return new IperfFigures(end.GetProperty("sum_received").GetProperty("bits_per_second").GetDouble() / 1e6, 0, 0);
        var r = end.TryGetProperty("sum_received", out var received) ? received : end.GetProperty("sum");
        double seconds = r.GetProperty("seconds").GetDouble();
        double arrived = r.GetProperty("packets").GetDouble() - r.GetProperty("lost_packets").GetDouble();
        return new IperfFigures(r.GetProperty("bits_per_second").GetDouble() / 1e6, seconds > 0 ? arrived / seconds : 0, r.GetProperty("lost_percent").GetDouble());
    }

    /// <summary>iperf3's own error message from its JSON, or null.</summary>
    public static string? Error(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            return doc.RootElement.TryGetProperty("error", out var e) ? e.GetString() : null;
        }
        catch (JsonException) { return null; }
    }
}

/// <summary>The iperf verb's table: the requested path, the plain one when there is one, and their ratio (bench scripts read the "requested" row).</summary>
public static class IperfReport
{
    public static string Table(bool udp, IperfFigures requested, IperfFigures? plain)
    {
        var o = new StringBuilder();
        var c = CultureInfo.InvariantCulture;
        if (udp)
        {
            o.AppendLine(string.Create(c, $"{"path",-10} {"Mbit/s",12} {"pkt/s",12} {"loss%",8}"));
            o.AppendLine(string.Create(c, $"{"requested",-10} {requested.Mbps,12:F1} {requested.PacketsPerSecond,12:F0} {requested.LossPercent,8:F2}"));
            if (plain is { } p) o.AppendLine(string.Create(c, $"{"plain",-10} {p.Mbps,12:F1} {p.PacketsPerSecond,12:F0} {p.LossPercent,8:F2}"));
        }
        else
        {
            o.AppendLine(string.Create(c, $"{"path",-10} {"Mbit/s",12}"));
            o.AppendLine(string.Create(c, $"{"requested",-10} {requested.Mbps,12:F1}"));
            if (plain is { } p) o.AppendLine(string.Create(c, $"{"plain",-10} {p.Mbps,12:F1}"));
        }
        if (plain is { Mbps: > 0 } q)
        {
            string packets = udp && q.PacketsPerSecond > 0 ? string.Create(c, $", {requested.PacketsPerSecond / q.PacketsPerSecond:F3} (pkt/s)") : "";
            o.AppendLine(string.Create(c, $"ratio requested/plain: {requested.Mbps / q.Mbps:F3} (Mbit/s){packets}"));
        }
        return o.ToString();
    }
}
