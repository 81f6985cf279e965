using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Teredo.Lab.Tests;

/// <summary>
/// What the tests of this project's own daemons share: lab.sh with TEREDO_BIN pointing at the CLI
/// (the one TEREDO_BIN already names, e.g. the Native AOT binary that scripts/test publishes, else the
/// build next to the tests), logged commands, ping parsing, and a daemon's status document.
/// </summary>
public sealed partial class LabSession(ITestOutputHelper? output)
{
    public static readonly string Teredo =
        Environment.GetEnvironmentVariable("TEREDO_BIN") is { Length: > 0 } bin ? bin : Path.Combine(AppContext.BaseDirectory, "teredo");
    public static readonly string Tools = Path.Combine(AppContext.BaseDirectory, "teredo-labtools");
    public static readonly string LoadGen = Path.Combine(AppContext.BaseDirectory, "teredo-loadgen");
    private static readonly Dictionary<string, string?> Env = new() { ["TEREDO_BIN"] = Teredo };

    public CommandResult Run(TimeSpan timeout, params string[] args)
    {
        var r = Lab.RunWithEnv(timeout, Env, args);
        output?.WriteLine($"$ lab.sh {string.Join(' ', args)}  -> exit {r.ExitCode}");
        if (r.All.Length > 0) output?.WriteLine(r.All.TrimEnd());
        return r;
    }

    public CommandResult MustRun(TimeSpan timeout, params string[] args)
    {
        var r = Run(timeout, args);
        Assert.True(r.ExitCode == 0, $"lab.sh {string.Join(' ', args)} failed: {r}");
        return r;
    }

    /// <summary>Replies counted in ping's summary line.</summary>
    public static int Received(CommandResult ping) =>
        ReceivedPattern().Match(ping.Stdout) is { Success: true } m ? int.Parse(m.Groups[1].Value) : 0;

    [GeneratedRegex(@"(\d+) received")]
    private static partial Regex ReceivedPattern();

    /// <summary>`teredo status --json` of the daemon behind <paramref name="socket"/>.</summary>
    public static JsonElement Status(string socket)
    {
        var r = Lab.Exec(Teredo, ["status", "--control", socket, "--json"], LabFixture.Short);
        Assert.True(r.ExitCode == 0, "teredo status failed: " + r);
        return JsonDocument.Parse(r.Stdout).RootElement.Clone();
    }

    public static long Counter(JsonElement status, string name) => status.GetProperty("counters").GetProperty(name).GetInt64();
}
