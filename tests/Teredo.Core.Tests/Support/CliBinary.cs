using System.Diagnostics;

namespace Teredo.Tests.Support;

/// <summary>
/// The <c>teredo</c> executable that the process-level CLI tests run: <c>$TEREDO_BIN</c> when set
/// (scripts/test sets it to the Native AOT binary, artifacts/linux-x64/teredo, after scripts/publish),
/// otherwise the JIT apphost built next to these tests. The same tests thus prove either build.
/// </summary>
public static class CliBinary
{
    public static string Path { get; } =
        Environment.GetEnvironmentVariable("TEREDO_BIN") is { Length: > 0 } bin ? bin : System.IO.Path.Combine(AppContext.BaseDirectory, "teredo");

    /// <summary>True when the binary is a native executable rather than the apphost of teredo.dll.</summary>
    public static bool IsNative => !File.Exists(System.IO.Path.Combine(System.IO.Path.GetDirectoryName(Path)!, "teredo.dll"));

    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public override string ToString() => $"exit {ExitCode}\nstdout: {Stdout}\nstderr: {Stderr}";
    }

    /// <summary>Runs the binary to completion; killed (and the test failed) if it outlives <paramref name="timeout"/>.</summary>
    public static Result Run(TimeSpan timeout, params string[] args)
    {
        using var process = Start(args);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill();
            Assert.Fail($"{Path} {string.Join(' ', args)} still running after {timeout.TotalSeconds} s");
        }
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Starts the binary with its output redirected; the caller reads it and ends the process.</summary>
    public static Process Start(params string[] args)
    {
        var start = new ProcessStartInfo(Path) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args) start.ArgumentList.Add(a);
        return Process.Start(start)!;
    }

    /// <summary>SIGTERM, as systemd and the lab stop a daemon (Process.Kill would send SIGKILL).</summary>
    public static void Terminate(Process process)
    {
        using var kill = Process.Start("kill", ["-TERM", process.Id.ToString()]);
        kill.WaitForExit();
    }
}
