using System.CommandLine;
using Teredo.Cli.Commands;

namespace Teredo.Tests.Cli;

/// <summary>The options scripts rely on (issue 11's contract) are there and parse.</summary>
public class CoordinatorCommandTests
{
    [Theory]
    [InlineData("--address")]
    [InlineData("--tls-port")]
    [InlineData("--cert")]
    [InlineData("--key")]
    [InlineData("--state")]
    [InlineData("--control")]
    [InlineData("--allow-destination")]
    [InlineData("--token-file")]
    [InlineData("--config")]
    public void Contract_options_exist(string name) =>
        Assert.Contains(CoordinatorCommand.Create().Options, o => o.Name == name);

    [Fact]
    public void Allow_destination_repeats_and_the_others_parse()
    {
        var command = CoordinatorCommand.Create();
        var r = command.Parse(["--address", "198.18.0.30", "--tls-port", "4443", "--allow-destination", "198.18.0.0/15",
            "--allow-destination", "192.0.2.0/24", "--state", "/tmp/s", "--token-file", "/tmp/t"]);
        Assert.Empty(r.Errors);
        var allow = command.Options.OfType<Option<string[]>>().Single(o => o.Name == "--allow-destination");
        Assert.Equal(["198.18.0.0/15", "192.0.2.0/24"], r.GetValue(allow)!);
    }
}
