using System.Diagnostics;

namespace Teredo.Cli.Lab;

/// <summary>The outcome of one short command: its exit status and both output streams.</summary>
public sealed record ShellResult(int ExitCode, string Stdout, string Stderr)
{
    public bool Ok => ExitCode == 0;
}

/// <summary>
/// Runs the short-lived commands the lab's C# half needs (ip, socat, ping, curl, dig) with a deadline. A
/// command that outlives its deadline is killed with its children, so no lab step can hang the demo.
/// </summary>
public static class LabShell
{
    public static ShellResult Run(string file, IEnumerable<string> arguments, TimeSpan timeout, string? stdin = null)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in arguments) start.ArgumentList.Add(a);
        using var p = Process.Start(start) ?? throw new InvalidOperationException("cannot start " + file);
        if (stdin is not null) p.StandardInput.Write(stdin);
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { /* it exited meanwhile */ }
            p.WaitForExit(2000);
            return new ShellResult(124, stdout.IsCompletedSuccessfully ? stdout.Result : "", $"{file}: no exit within {timeout.TotalSeconds} s");
        }
        p.WaitForExit();
        // a detached grandchild holding our pipes must not block us: its output is not ours to wait for
        Task.WaitAll([stdout, stderr], TimeSpan.FromSeconds(5));
        return new ShellResult(p.ExitCode,
            stdout.IsCompletedSuccessfully ? stdout.Result : "",
            stderr.IsCompletedSuccessfully ? stderr.Result : "");
    }

    /// <summary>The last lines of a log file, for a launcher's failure message (empty when there is none).</summary>
    public static string Tail(string path, int lines = 3)
    {
        try
        {
            var all = File.ReadAllLines(path);
            return string.Join(" | ", all.Skip(Math.Max(0, all.Length - lines)));
        }
        catch (IOException) { return ""; }
    }
}
