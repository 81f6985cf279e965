using System.Diagnostics;
using System.Net.Sockets;
using Teredo.Hosting.Control;

namespace Teredo.Cli.Commands;

/// <summary>
/// Tayga's default of detaching from the terminal, for a process that cannot fork (the .NET runtime
/// has threads before Main): start this same command again with --nodetach in a new session (setsid),
/// stdin and stdout on /dev/null, echo its stderr until its control socket answers, then exit 0 and
/// leave it running. If it exits first, its messages have been shown and its exit status is ours, so a
/// failing start reports failure just as Tayga's does.
/// </summary>
public static class BackgroundLaunch
{
    public static int Run(string controlSocket, TimeSpan timeout, TextWriter error)
    {
        var start = new ProcessStartInfo("/bin/sh")
        {
            UseShellExecute = false,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("exec setsid \"$0\" \"$@\" </dev/null >/dev/null");
        string[] args = Environment.GetCommandLineArgs();
        string self = Environment.ProcessPath ?? throw new InvalidOperationException("cannot tell which program is running");
        start.ArgumentList.Add(self);
        // Run as `dotnet teredo.dll`, the first argument is the assembly; from the apphost it is not an argument.
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") start.ArgumentList.Add(args[0]);
        foreach (string a in args.Skip(1)) start.ArgumentList.Add(a);
        start.ArgumentList.Add("--nodetach");

        using var child = Process.Start(start) ?? throw new InvalidOperationException("could not start the background process");
        child.ErrorDataReceived += (_, e) => { if (e.Data is not null) error.WriteLine(e.Data); };
        child.BeginErrorReadLine();
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            if (child.WaitForExit(100))
            {
                child.WaitForExit();
                return child.ExitCode == 0 ? 1 : child.ExitCode;
            }
            if (Answers(controlSocket)) return 0;
        }
        error.WriteLine($"the background translator (PID {child.Id}) did not answer on {controlSocket} within {timeout.TotalSeconds} s; it is left running");
        return 1;
    }

    private static bool Answers(string controlSocket)
    {
        if (!File.Exists(controlSocket)) return false;
        try
        {
            ControlClient.ReadStatus(controlSocket, TimeSpan.FromSeconds(1));
            return true;
        }
        catch (Exception e) when (e is SocketException or IOException) { return false; }
    }
}
