using System.CommandLine;
using System.Net.Sockets;
using System.Text.Json;
using Teredo.Hosting.Control;

namespace Teredo.Cli.Commands;

/// <summary><c>teredo status [--control PATH] [--json]</c>: asks a running daemon how it is doing.</summary>
public static class StatusCommand
{
    public const string ControlDirectory = "/run/teredo";

    public static Command Create()
    {
        var control = new Option<string?>("--control") { Description = "The daemon's control socket (default: the only one in /run/teredo)" };
        var json = new Option<bool>("--json") { Description = "Print the daemon's JSON status as is" };
        var command = new Command("status", "Show the state and counters of a running teredo daemon") { control, json };
        command.SetAction(r => Run(r.GetValue(control), r.GetValue(json), Console.Out, Console.Error));
        return command;
    }

    public static int Run(string? control, bool json, TextWriter output, TextWriter error)
    {
        string? path = control ?? FindSocket(error);
        if (path is null) return 2;
        string text;
        try
        {
            text = ControlClient.ReadStatus(path, TimeSpan.FromSeconds(5));
        }
        catch (SocketException e)
        {
            error.WriteLine($"teredo status: no daemon answers on {path} ({e.Message})");
            return 1;
        }
        if (json)
        {
            output.WriteLine(text);
            return 0;
        }
        using var doc = JsonDocument.Parse(text);
        Write(doc.RootElement, output, 0);
        return 0;
    }

    private static string? FindSocket(TextWriter error)
    {
        var sockets = Directory.Exists(ControlDirectory) ? Directory.GetFiles(ControlDirectory, "*.sock") : [];
        if (sockets.Length == 1) return sockets[0];
        error.WriteLine(sockets.Length == 0
            ? $"teredo status: no control socket in {ControlDirectory}; is a daemon running? (--control PATH)"
            : $"teredo status: several daemons ({string.Join(", ", sockets)}); pick one with --control");
        return null;
    }

    private static void Write(JsonElement element, TextWriter o, int depth)
    {
        string indent = new(' ', depth * 2);
        foreach (var p in element.EnumerateObject())
        {
            switch (p.Value.ValueKind)
            {
                case JsonValueKind.Object:
                    o.WriteLine($"{indent}{p.Name}:");
                    Write(p.Value, o, depth + 1);
                    break;
                case JsonValueKind.Array:
                    o.WriteLine($"{indent}{p.Name}:");
                    foreach (var item in p.Value.EnumerateArray())
                    {
                        if (item.ValueKind == JsonValueKind.Object)
                        {
                            o.WriteLine($"{indent}  -");
                            Write(item, o, depth + 2);
                        }
                        else o.WriteLine($"{indent}  - {item}");
                    }
                    break;
                default:
                    o.WriteLine($"{indent}{p.Name,-34} {p.Value}");
                    break;
            }
        }
    }
}
