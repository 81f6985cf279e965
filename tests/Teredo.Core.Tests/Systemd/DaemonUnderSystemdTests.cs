using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using Teredo.Tests.Support;

namespace Teredo.Tests.Systemd;

/// <summary>
/// Real daemon processes (the coordinator and the server: they need no TUN and no root) run the way systemd runs them:
/// NOTIFY_SOCKET bound here, WATCHDOG_USEC and INVOCATION_ID set. It must say READY=1, then WATCHDOG=1,
/// then STOPPING=1 on SIGTERM, and log journald's way. As root, --user nobody must leave it as nobody.
/// </summary>
public sealed partial class DaemonUnderSystemdTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private const string Token = "join-token-that-must-stay-secret";

    /// <summary>The binary TEREDO_BIN names (scripts/test points it at the Native AOT one), else the JIT build beside the tests.</summary>
    private static readonly string TeredoBinary =
        Environment.GetEnvironmentVariable("TEREDO_BIN") is { Length: > 0 } bin ? bin : Path.Combine(AppContext.BaseDirectory, "teredo");

    private readonly TempDirectory _dir = new();

    /// <summary>The light host (coordinator) and the generic host (server): both must speak to systemd the same way.</summary>
    [Theory]
    [InlineData("coordinator", "Teredo.Hosting.Coordinator.CoordinatorDaemon")]
    [InlineData("server", "Teredo.Hosting.Server.ServerDaemon")]
    public void Ready_watchdog_and_stopping_reach_systemd_and_the_log_has_priorities_without_timestamps(string role, string category)
    {
        using var notify = NotifySocket(out string notifyPath);
        using var daemon = Start(role, notifyPath, []);
        Assert.Equal("READY=1", NextStateBut(notify, daemon, "WATCHDOG=1"));
        Assert.Equal("WATCHDOG=1", NextState(notify, daemon));

        Assert.Equal(0, kill(daemon.Process.Id, 15));
        Assert.Equal("STOPPING=1", NextStateBut(notify, daemon, "WATCHDOG=1"));
        Assert.True(daemon.Process.WaitForExit(Patience));
        Assert.Equal(0, daemon.Process.ExitCode);

        var lines = daemon.Stderr();
        Assert.NotEmpty(lines);
        foreach (string line in lines)
        {
            Assert.Matches(JournalLine(), line);
            Assert.DoesNotMatch(Timestamp(), line);
        }
        Assert.Contains(lines, l => l.StartsWith($"<6>{category}[0] ", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains(Token, StringComparison.Ordinal));
    }

    [SkippableTheory]
    [InlineData("coordinator")]
    [InlineData("server")]
    public void Started_as_root_with_user_nobody_it_runs_as_nobody_without_capabilities(string role)
    {
        Skip.IfNot(Environment.UserName == "root", "needs root: it switches to the user nobody");
        using var notify = NotifySocket(out string notifyPath);
        using var daemon = Start(role, notifyPath, ["--user", "nobody"]);
        Assert.Equal("READY=1", NextStateBut(notify, daemon, "WATCHDOG=1"));

        var status = File.ReadAllLines($"/proc/{daemon.Process.Id}/status");
        Assert.Contains(status, l => Regex.IsMatch(l, @"^Uid:\s+65534\s+65534\s+65534\s+65534$"));
        Assert.Contains(status, l => Regex.IsMatch(l, @"^Gid:\s+65534\s+65534\s+65534\s+65534$"));
        Assert.Contains("CapEff:\t0000000000000000", status);
        Assert.Contains("CapPrm:\t0000000000000000", status);
        if (role == "coordinator") Assert.Equal(65534u, Owner(Path.Combine(_dir.FullPath, "state")));

        Assert.Equal(0, kill(daemon.Process.Id, 15));
        Assert.True(daemon.Process.WaitForExit(Patience));
        Assert.Equal(0, daemon.Process.ExitCode);
        Assert.Contains(daemon.Stderr(), l => l.Contains("dropped root: running as uid 65534 gid 65534, no capabilities", StringComparison.Ordinal));
    }

    private RunningDaemon Start(string role, string notifyPath, string[] extra) =>
        role == "server" ? StartServer(notifyPath, extra) : StartCoordinator(notifyPath, extra);

    /// <summary>A server on 127.0.0.1 and 127.0.0.2 with a free port and no IPv6 forwarding: no root needed.</summary>
    private RunningDaemon StartServer(string notifyPath, string[] extra)
    {
        string config = _dir.Write("server.conf", $"""
            ServerBindAddress 127.0.0.1
            ServerBindAddress2 127.0.0.2
            Port {FreePort(SocketType.Dgram, ProtocolType.Udp)}
            Ipv6Forwarding no
            Threads 1
            ControlSocket {Path.Combine(_dir.FullPath, "server.sock")}
            """);
        return Launch(["server", "-c", config, .. extra], notifyPath);
    }

    private RunningDaemon StartCoordinator(string notifyPath, string[] extra)
    {
        string config = _dir.Write("coordinator.conf", $"""
            Address 127.0.0.1
            TlsPort {FreePort(SocketType.Stream, ProtocolType.Tcp)}
            BubblePort {FreePort(SocketType.Dgram, ProtocolType.Udp)}
            StateDirectory {Path.Combine(_dir.FullPath, "state")}
            ControlSocket {Path.Combine(_dir.FullPath, "control.sock")}
            TokenFile {_dir.Write("tokens", Token + "\n")}
            """);
        return Launch(["coordinator", "-c", config, .. extra], notifyPath);
    }

    private static RunningDaemon Launch(string[] arguments, string notifyPath)
    {
        var start = new ProcessStartInfo(TeredoBinary, arguments)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        start.Environment["NOTIFY_SOCKET"] = notifyPath;
        start.Environment["WATCHDOG_USEC"] = "2000000";
        start.Environment["INVOCATION_ID"] = "0123456789abcdef0123456789abcdef";
        start.Environment.Remove("WATCHDOG_PID");
        start.Environment.Remove("JOURNAL_STREAM");
        return new RunningDaemon(Process.Start(start)!);
    }

    private Socket NotifySocket(out string path)
    {
        path = Path.Combine(_dir.FullPath, "notify.sock");
        var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(path));
        // systemd's socket is reachable by every service user; so is this one, for a daemon that became nobody.
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(_dir.FullPath, (UnixFileMode)0x1ED);
            File.SetUnixFileMode(path, (UnixFileMode)0x1FF);
        }
        socket.ReceiveTimeout = (int)Patience.TotalMilliseconds;
        return socket;
    }

    /// <summary>The next notification other than <paramref name="skipped"/> (the watchdog's timer runs on its own thread).</summary>
    private static string NextStateBut(Socket notify, RunningDaemon daemon, string skipped)
    {
        string state;
        do state = NextState(notify, daemon);
        while (state == skipped);
        return state;
    }

    private static string NextState(Socket notify, RunningDaemon daemon)
    {
        var buffer = new byte[4096];
        try
        {
            int n = notify.Receive(buffer);
            return Encoding.UTF8.GetString(buffer, 0, n).Trim();
        }
        catch (SocketException e)
        {
            throw new Xunit.Sdk.XunitException($"no notification ({e.SocketErrorCode}); the daemon said: {string.Join('\n', daemon.Stderr())}");
        }
    }

    private static int FreePort(SocketType type, ProtocolType protocol)
    {
        using var s = new Socket(AddressFamily.InterNetwork, type, protocol);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }

    private static uint Owner(string path)
    {
        var r = Process.Start(new ProcessStartInfo("stat", ["-c", "%u", path]) { RedirectStandardOutput = true })!;
        string text = r.StandardOutput.ReadToEnd();
        r.WaitForExit();
        return uint.Parse(text.Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public void Dispose() => _dir.Dispose();

    [GeneratedRegex(@"^<[0-7]>[A-Za-z0-9_.]+\[\d+\]( .*)?$")]
    private static partial Regex JournalLine();

    [GeneratedRegex(@"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d")]
    private static partial Regex Timestamp();

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);

    /// <summary>The child process and its stderr lines so far, collected as they come; killed if the test left it running.</summary>
    private sealed class RunningDaemon : IDisposable
    {
        private readonly List<string> _stderr = [];

        public RunningDaemon(Process process)
        {
            Process = process;
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_stderr) _stderr.Add(e.Data); };
            process.OutputDataReceived += (_, _) => { };
            process.BeginErrorReadLine();
            process.BeginOutputReadLine();
        }

        public Process Process { get; }

        public List<string> Stderr()
        {
            if (Process.HasExited) Process.WaitForExit();
            lock (_stderr) return [.. _stderr];
        }

        public void Dispose()
        {
            if (!Process.HasExited) Process.Kill();
            Process.Dispose();
        }
    }
}
