using System.Diagnostics;
using Teredo.Hosting.Tun;

namespace Teredo.Hosting.Client;

/// <summary>
/// Several ip(8) commands in one process (<c>ip -batch -</c>, commands on stdin): the client configures
/// its interface on the way to being qualified, where each extra process start is a few milliseconds
/// of the time a user waits for an address. Failures carry ip's own message, as <see cref="IpCommand"/>'s do.
/// </summary>
public static class IpBatch
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <param name="lines">ip commands without the leading "ip", one per line.</param>
    /// <param name="force">Carry on after a failing command (for withdrawals of what may already be gone).</param>
    public static void Run(IReadOnlyList<string> lines, bool force = false)
    {
        if (lines.Count == 0) return;
        var start = new ProcessStartInfo(Resolve())
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (force) start.ArgumentList.Add("-force");
        start.ArgumentList.Add("-batch");
        start.ArgumentList.Add("-");
        string commandLine = "ip -batch - <<< " + string.Join("; ", lines);
        Process process;
        try { process = Process.Start(start) ?? throw new IpCommandException(commandLine, -1, "could not start ip"); }
        catch (System.ComponentModel.Win32Exception e) { throw new IpCommandException(commandLine, -1, $"could not start ip (is iproute2 installed?): {e.Message}"); }
        using var owned = process;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        foreach (string line in lines) process.StandardInput.WriteLine(line);
        process.StandardInput.Close();
        if (!process.WaitForExit(Timeout))
        {
            process.Kill();
            throw new IpCommandException(commandLine, -1, $"no answer within {Timeout.TotalSeconds} s");
        }
        process.WaitForExit();
        _ = stdout.Result;
        if (process.ExitCode != 0 && !force) throw new IpCommandException(commandLine, process.ExitCode, stderr.Result.Trim());
    }

    // A non-login root shell may lack the sbin directories in PATH; ip lives there on Debian.
    private static string Resolve()
    {
        foreach (string directory in ((Environment.GetEnvironmentVariable("PATH") ?? "") + ":/usr/sbin:/sbin:/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string path = Path.Combine(directory, IpCommand.Program);
            if (File.Exists(path)) return path;
        }
        return IpCommand.Program;
    }
}
