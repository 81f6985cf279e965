using System.CommandLine;
using Teredo.Cli.Commands;

namespace Teredo.Tests.Cli;

public class Nat64CommandTests
{
    private static readonly Command Nat64 = Nat64Command.Create();

    /// <summary>Tayga's whole command line, so that a wrapper named tayga can pass "$@" through unchanged.</summary>
    [Theory]
    [InlineData("--mktun")]
    [InlineData("--rmtun")]
    [InlineData("-c")]
    [InlineData("--config")]
    [InlineData("-d")]
    [InlineData("-n")]
    [InlineData("--nodetach")]
    [InlineData("-p")]
    [InlineData("--pidfile")]
    [InlineData("-u")]
    [InlineData("--user")]
    [InlineData("-g")]
    [InlineData("--group")]
    [InlineData("-r")]
    [InlineData("--chroot")]
    public void Takes_taygas_options(string option) =>
        Assert.Contains(Nat64.Options, o => o.Name == option || o.Aliases.Contains(option));

    [Fact]
    public void Help_lists_mktun_and_rmtun()
    {
        var output = new StringWriter();
        var root = new RootCommand { Nat64 };
        int code = root.Parse(["nat64", "--help"]).Invoke(new InvocationConfiguration { Output = output });
        Assert.Equal(0, code);
        Assert.Contains("--mktun", output.ToString());
        Assert.Contains("--rmtun", output.ToString());
    }

    [Fact]
    public void A_debian_init_script_command_line_parses()
    {
        var parsed = new RootCommand { Nat64Command.Create() }.Parse(["nat64", "--pidfile", "/var/run/tayga.pid", "--nodetach", "-c", "/etc/tayga.conf", "-u", "nobody"]);
        Assert.Empty(parsed.Errors);
    }
}
