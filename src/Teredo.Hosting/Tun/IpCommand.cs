using System.Diagnostics;

namespace Teredo.Hosting.Tun;

/// <summary>ip (iproute2) failed: the command line and what ip printed on stderr.</summary>
public sealed class IpCommandException(string commandLine, int exitCode, string stderr)
    : Exception($"'{commandLine}' failed (exit {exitCode}): {(stderr.Length == 0 ? "no message" : stderr)}")
{
    public string CommandLine { get; } = commandLine;
    public int ExitCode { get; } = exitCode;
    public string StandardError { get; } = stderr;
}

/// <summary>
/// Runs ip(8) with an argument list, never through a shell, so interface names and addresses need no
/// quoting. iproute2 rather than our own rtnetlink code: it is on every machine that has TUN devices,
/// its error messages are the ones administrators know, and configuration is not on a hot path.
/// </summary>
public static class IpCommand
{
    public const string Program = "ip";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>Runs <c>ip ARGS</c>; returns stdout, or throws <see cref="IpCommandException"/> with stderr.</summary>
    public static string Run(params IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(Resolve() ?? Program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        string commandLine = Program + " " + string.Join(' ', start.ArgumentList);

        Process process;
        try { process = Process.Start(start) ?? throw new IpCommandException(commandLine, -1, "could not start ip"); }
        catch (System.ComponentModel.Win32Exception e) { throw new IpCommandException(commandLine, -1, $"could not start ip (is iproute2 installed?): {e.Message}"); }
        using var _ = process;
        process.StandardInput.Close();
        // Both streams at once: a full stderr pipe would otherwise block ip while we wait on stdout.
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(Timeout))
        {
            process.Kill();
            throw new IpCommandException(commandLine, -1, $"no answer within {Timeout.TotalSeconds} s");
        }
        process.WaitForExit();
        if (process.ExitCode != 0) throw new IpCommandException(commandLine, process.ExitCode, stderr.Result.Trim());
        return stdout.Result;
    }

    /// <summary>Whether ip can be found (tests skip without it).</summary>
    public static bool IsAvailable() => Resolve() is not null;

    // A non-login root shell may lack the sbin directories in PATH; ip lives there on Debian.
    private static string? Resolve() =>
        ((Environment.GetEnvironmentVariable("PATH") ?? "") + ":/usr/sbin:/sbin:/usr/bin:/bin")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, Program))
            .FirstOrDefault(File.Exists);
}
