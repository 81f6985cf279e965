using System.Diagnostics;

namespace Teredo.Tests.Packaging;

/// <summary>The repository the tests run from (the folder with Teredo.slnx), and running its scripts and tools.</summary>
internal static class RepositoryFiles
{
    public static string? Root { get; } = Find();

    private static string? Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Teredo.slnx"))) return dir.FullName;
        return null;
    }

    public static bool OnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => d.Length > 0 && File.Exists(Path.Combine(d, tool)));

    /// <summary>Runs a program to its end (or kills it at <paramref name="timeout"/>) and returns its exit code and output.</summary>
    public static (int Code, string Out, string Err) Run(string program, IEnumerable<string> args, TimeSpan timeout, IDictionary<string, string>? env = null)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args) start.ArgumentList.Add(a);
        if (env is not null) foreach (var (k, v) in env) start.Environment[k] = v;
        using var p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            return (-1, stdout.Result, stderr.Result + $"\n(killed after {timeout.TotalSeconds} s)");
        }
        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}
