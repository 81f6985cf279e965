using System.CommandLine;
using System.Diagnostics;
using Teredo.Cli.Commands;

namespace Teredo.Tests.Systemd;

/// <summary>
/// packaging/systemd/teredo-ROLE.service: one per role, Type=notify with a watchdog, hardened, an
/// ExecStart the CLI accepts, and clean under <c>systemd-analyze verify</c> where systemd's tools are.
/// </summary>
public class SystemdUnitTests
{
    public static readonly TheoryData<string> Roles = new(["server", "relay", "client", "coordinator", "v4peer", "v6peer", "nat64"]);

    private static readonly string UnitDirectory = Path.Combine(RepositoryRoot(), "packaging", "systemd");

    [Theory]
    [MemberData(nameof(Roles))]
    public void Every_role_is_a_notify_service_with_a_watchdog_under_a_dynamic_user(string role)
    {
        var unit = Directives(role);
        Assert.Equal("notify", unit["Type"]);
        Assert.Matches(@"^\d+s$", unit["WatchdogSec"]);
        Assert.Equal("yes", unit["DynamicUser"]);
        Assert.Equal("strict", unit["ProtectSystem"]);
        Assert.Equal("yes", unit["NoNewPrivileges"]);
        Assert.Equal("yes", unit["ProtectHome"]);
        Assert.Equal("yes", unit["PrivateTmp"]);
        Assert.Equal("AF_INET AF_INET6 AF_UNIX AF_NETLINK", unit["RestrictAddressFamilies"]);
        Assert.Equal("@system-service", unit["SystemCallFilter"]);
        Assert.Equal($"teredo/{role}", unit["RuntimeDirectory"]);
        Assert.Contains($"--control /run/teredo/{role}/control.sock", unit["ExecStart"]);
    }

    [Theory]
    [InlineData("server", "CAP_NET_RAW")]
    [InlineData("relay", "CAP_NET_ADMIN")]
    [InlineData("client", "CAP_NET_ADMIN")]
    [InlineData("coordinator", "")]
    [InlineData("v4peer", "CAP_NET_ADMIN")]
    [InlineData("v6peer", "CAP_NET_ADMIN")]
    [InlineData("nat64", "CAP_NET_ADMIN")]
    public void Capabilities_are_only_what_the_role_needs(string role, string capabilities)
    {
        var unit = Directives(role);
        Assert.Equal(capabilities, unit["CapabilityBoundingSet"]);
        Assert.Equal(capabilities, unit["AmbientCapabilities"]);
    }

    [Theory]
    [InlineData("coordinator", "teredo/coordinator")]
    [InlineData("v4peer", "teredo/v4peer")]
    [InlineData("nat64", "teredo/nat64")]
    [InlineData("server", null)]
    [InlineData("relay", null)]
    [InlineData("client", null)]
    [InlineData("v6peer", null)]
    public void State_directories_only_where_state_is_kept(string role, string? directory) =>
        Assert.Equal(directory, Directives(role).GetValueOrDefault("StateDirectory"));

    [Theory]
    [MemberData(nameof(Roles))]
    public void ExecStart_is_a_command_line_the_cli_accepts_reading_etc_teredo(string role)
    {
        string exec = Directives(role)["ExecStart"];
        Assert.StartsWith($"/usr/bin/teredo {role} -c ", exec);
        Assert.Matches($@" -c (/etc/teredo|\$\{{CREDENTIALS_DIRECTORY\}})/{role}\.conf ", exec);
        var root = new RootCommand
        {
            ServerCommand.Create(), RelayCommand.Create(), ClientCommand.Create(), CoordinatorCommand.Create(),
            V4PeerCommand.Create(), V6PeerCommand.Create(), Nat64Command.Create(),
        };
        var parsed = root.Parse(exec.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..]);
        Assert.Empty(parsed.Errors);
    }

    [Fact]
    public void A_configuration_holding_a_secret_reaches_the_service_as_a_credential() =>
        Assert.Equal("v4peer.conf:/etc/teredo/v4peer.conf", Directives("v4peer")["LoadCredential"]);

    /// <summary>
    /// systemd's own check of each unit. ExecStart must name an executable file, so the copy checked runs
    /// this build's teredo instead of /usr/bin/teredo, which only the package installs.
    /// </summary>
    [SkippableTheory]
    [MemberData(nameof(Roles))]
    public void Systemd_analyze_verify_accepts_the_unit(string role)
    {
        string? analyze = new[] { "/usr/bin/systemd-analyze", "/bin/systemd-analyze" }.FirstOrDefault(File.Exists);
        Skip.If(analyze is null, "systemd-analyze is not installed (Debian package systemd, listed in lab/apt-packages.txt)");
        string teredo = Path.Combine(AppContext.BaseDirectory, "teredo");
        Assert.True(File.Exists(teredo), $"{teredo} is missing");
        var scratch = Directory.CreateTempSubdirectory("teredo-unit-");
        try
        {
            string copy = Path.Combine(scratch.FullName, $"teredo-{role}.service");
            File.WriteAllText(copy, File.ReadAllText(UnitPath(role)).Replace("/usr/bin/teredo ", teredo + " "));
            var start = new ProcessStartInfo(analyze!, ["verify", "--man=no", copy])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            string stderr = process.StandardError.ReadToEnd();
            Assert.True(process.WaitForExit(60_000), "systemd-analyze verify did not finish");
            Assert.True(process.ExitCode == 0 && stderr.Length == 0, $"systemd-analyze verify: exit {process.ExitCode}: {stderr}{stdout.Result}");
        }
        finally
        {
            scratch.Delete(recursive: true);
        }
    }

    private static string UnitPath(string role) => Path.Combine(UnitDirectory, $"teredo-{role}.service");

    /// <summary>The unit's "Name=value" lines (each name once in these units), comments and sections left out.</summary>
    private static Dictionary<string, string> Directives(string role)
    {
        var directives = new Dictionary<string, string>();
        foreach (string raw in File.ReadAllLines(UnitPath(role)))
        {
            string line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or ';' or '[') continue;
            int equals = line.IndexOf('=');
            Assert.True(equals > 0, $"teredo-{role}.service: '{line}' is not Name=value");
            Assert.True(directives.TryAdd(line[..equals], line[(equals + 1)..]), $"teredo-{role}.service: {line[..equals]} twice");
        }
        return directives;
    }

    private static string RepositoryRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (Directory.Exists(Path.Combine(d.FullName, "packaging", "systemd"))) return d.FullName;
        }
        throw new DirectoryNotFoundException($"no packaging/systemd above {AppContext.BaseDirectory}");
    }
}
