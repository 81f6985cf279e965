using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Teredo.Cli.Commands;
using Teredo.Hosting.P2p;
using Teredo.Net;
using Teredo.P2p.Control;
using Teredo.Tests.Support;
using Teredo.Tests;
using Xunit.Abstractions;

namespace Teredo.Tests.Cli;

/// <summary>
/// The <c>teredo</c> executable as a process (<see cref="CliBinary"/>: the Native AOT binary in CI, the
/// JIT build otherwise): command-line parsing, JSON output, exit codes, directive files, and one whole
/// daemon (the coordinator, which needs no root) with its generic host, SIGTERM handling, self-signed
/// certificate, TLS 1.3 control channel and control socket. These are the paths trimming or AOT could
/// break (reflection, JSON, crypto), so the native binary runs them rather than in-process calls.
/// </summary>
public sealed class CliBinaryTests : IDisposable
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(20);
    private readonly TempDirectory _dir = new();
    private readonly ITestOutputHelper _output;

    public CliBinaryTests(ITestOutputHelper output)
    {
        _output = output;
        _output.WriteLine($"teredo under test: {CliBinary.Path} ({(CliBinary.IsNative ? "native" : "JIT apphost")})");
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Help_lists_every_role()
    {
        var r = CliBinary.Run(Short, "--help");
        Assert.True(r.ExitCode == 0, r.ToString());
        foreach (string verb in new[] { "decode", "server", "client", "relay", "v6peer", "coordinator", "v4peer", "nat64", "status", "lab" })
            Assert.Contains($"  {verb}", r.Stdout);
    }

    /// <summary>The executable prints byte for byte what the in-process command does (DecodeCommandTests checks that).</summary>
    [Theory]
    [InlineData("2001:0:4136:e378:8000:63bf:3fff:fdd2", false)]
    [InlineData("2001:0:4136:e378:8000:63bf:3fff:fdd2", true)]
    [InlineData("2001:0:c612:a:c6:3364:700:0", true)]
    public void Decode_prints_what_the_command_prints_in_process(string address, bool json)
    {
        var expected = new StringWriter();
        Assert.Equal(0, DecodeCommand.Run(address, json, expected, TextWriter.Null));
        var r = CliBinary.Run(Short, json ? ["decode", address, "--json"] : ["decode", address]);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(expected.ToString(), r.Stdout);
    }

    [Fact]
    public void A_bad_address_is_one_line_on_stderr_and_exit_2()
    {
        var r = CliBinary.Run(Short, "decode", "2001:db8::1");
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("", r.Stdout);
        Assert.Contains("outside the Teredo prefix", r.Stderr);
        Assert.Single(r.Stderr.TrimEnd().Split('\n'));
    }

    [Fact]
    public void An_unknown_option_is_a_parse_error()
    {
        var r = CliBinary.Run(Short, "decode", "2001:0:4136:e378:8000:63bf:3fff:fdd2", "--no-such-option");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("--no-such-option", r.Stderr);
    }

    [Fact]
    public void An_unknown_directive_names_the_file_and_line()
    {
        string conf = _dir.Write("coordinator.conf", "Address 127.0.0.1\nNoSuchDirective 3\n");
        var r = CliBinary.Run(Short, "coordinator", "-c", conf);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains($"{conf}:2: unknown directive 'NoSuchDirective'", r.Stderr);
    }

    [Fact]
    public void Status_without_a_daemon_exits_1()
    {
        var r = CliBinary.Run(Short, "status", "--control", Path.Combine(_dir.FullPath, "none.sock"));
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("no daemon answers", r.Stderr);
    }

    [Fact]
    public async Task The_coordinator_serves_TLS_and_its_status_and_stops_cleanly_on_SIGTERM()
    {
        string control = Path.Combine(_dir.FullPath, "coordinator.sock");
        string conf = _dir.Write("coordinator.conf", $"""
            Address 127.0.0.1
            TlsPort {FreePort(SocketType.Stream, ProtocolType.Tcp)}
            BubblePort {FreePort(SocketType.Dgram, ProtocolType.Udp)}
            StateDirectory {Path.Combine(_dir.FullPath, "state")}
            ControlSocket {control}
            """);
        using var daemon = CliBinary.Start("coordinator", "-c", conf);
        var stderr = daemon.StandardError.ReadToEndAsync();
        try
        {
            WaitForSocket(daemon, control);

            // Status through the binary: the control protocol and the JSON writer.
            var json = CliBinary.Run(Short, "status", "--control", control, "--json");
            Assert.True(json.ExitCode == 0, json.ToString());
            using var doc = JsonDocument.Parse(json.Stdout);
            Assert.Equal("running", doc.RootElement.GetProperty("state").GetString());
            string pin = doc.RootElement.GetProperty("pin").GetString()!;
            var text = CliBinary.Run(Short, "status", "--control", control);
            Assert.True(text.ExitCode == 0, text.ToString());
            Assert.Contains(pin, text.Stdout);

            // A peer joins over TLS 1.3 with the pinned, self-signed certificate the binary generated.
            int tlsPort = int.Parse(File.ReadAllLines(conf)[1].Split(' ')[1]);
            var welcomes = new BlockingCollection<WelcomeMessage>();
            var client = new CoordinatorClient(new CoordinatorClientOptions
            {
                Host = "127.0.0.1",
                Port = tlsPort,
                Pin = CertificatePin.Parse(pin),
                StateDirectory = Path.Combine(_dir.FullPath, "peer"),
                LocalAddress = Ipv4Address.Parse("10.9.0.2"),
                InitialBackoff = TimeSpan.FromMilliseconds(100),
                MaxBackoff = TimeSpan.FromMilliseconds(400),
            }, NullLogger.Instance);
            client.Welcomed += w => welcomes.Add(w);
            client.Start();
            try
            {
                Assert.True(welcomes.TryTake(out var welcome, Short), "no welcome over TLS within 20 s");
                Assert.True(welcome!.HasStaticAddress);
            }
            finally
            {
                await client.DisposeAsync();
            }

            await StopsCleanly(daemon, stderr);
        }
        finally
        {
            if (!daemon.HasExited) daemon.Kill();
            _output.WriteLine(await stderr);
        }
    }

    /// <summary>
    /// The server runs on the light daemon host (its stderr logger and the systemd notifier) and the
    /// batched UDP sockets. Miredo's captured Router Solicitation, sent from loopback,
    /// is received and dropped for its non-global source (a server answers only global IPv4 clients),
    /// which the counters in the status show.
    /// </summary>
    [Fact]
    public async Task The_server_counts_a_captured_Miredo_solicitation_and_stops_cleanly_on_SIGTERM()
    {
        string control = Path.Combine(_dir.FullPath, "server.sock");
        int port = FreePort(SocketType.Dgram, ProtocolType.Udp);
        string conf = _dir.Write("miredo-server.conf", $"""
            ServerBindAddress 127.0.0.1
            Port {port}
            Threads 1
            ControlSocket {control}
            """);
        using var daemon = CliBinary.Start("server", "-c", conf);
        var stderr = daemon.StandardError.ReadToEndAsync();
        try
        {
            WaitForSocket(daemon, control);
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            client.SendTo(CapturedPackets.TeredoPayload(CapturedPackets.RouterSolicitation), new IPEndPoint(IPAddress.Loopback, port));

            var clock = Stopwatch.StartNew();
            JsonElement counters;
            do
            {
                var json = CliBinary.Run(Short, "status", "--control", control, "--json");
                Assert.True(json.ExitCode == 0, json.ToString());
                counters = JsonDocument.Parse(json.Stdout).RootElement.GetProperty("counters").Clone();
                Assert.True(clock.Elapsed < Short, $"the solicitation was not counted within 20 s: {counters}");
            } while (counters.GetProperty("received").GetInt64() == 0);
            Assert.Equal(1, counters.GetProperty("received").GetInt64());
            Assert.Equal(1, counters.GetProperty("dropSourceNotGlobal").GetInt64());
            await StopsCleanly(daemon, stderr);
        }
        finally
        {
            if (!daemon.HasExited) daemon.Kill();
            _output.WriteLine(await stderr);
        }
    }

    private static void WaitForSocket(Process daemon, string control)
    {
        var clock = Stopwatch.StartNew();
        while (!File.Exists(control))
        {
            Assert.False(daemon.HasExited, $"the daemon exited with {(daemon.HasExited ? daemon.ExitCode : 0)}");
            Assert.True(clock.Elapsed < Short, "no control socket within 20 s");
            Thread.Sleep(20);
        }
    }

    private static async Task StopsCleanly(Process daemon, Task<string> stderr)
    {
        CliBinary.Terminate(daemon);
        Assert.True(daemon.WaitForExit(Short), "still running 20 s after SIGTERM");
        Assert.True(daemon.ExitCode == 0, $"exit {daemon.ExitCode}: {await stderr}");
    }

    private static int FreePort(SocketType type, ProtocolType protocol)
    {
        using var s = new Socket(AddressFamily.InterNetwork, type, protocol);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }
}
