using System.Text.Json;
using Teredo.Cli.Commands;

namespace Teredo.Tests.Cli;

public class DecodeCommandTests
{
    private static (int Code, string Out, string Err) Run(string input, bool json = false)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = DecodeCommand.Run(input, json, output, error);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public void Decodes_the_issue_example_for_people()
    {
        var (code, output, _) = Run("2001:0:4136:e378:8000:63bf:3fff:fdd2");
        Assert.Equal(0, code);
        Assert.Contains("Server IPv4:  65.54.227.120", output);
        Assert.Contains("cone bit set", output);
        Assert.Contains("Mapped port:  40000", output);
        Assert.Contains("Mapped IPv4:  192.0.2.45", output);
        Assert.DoesNotContain("coordinator plan", output); // bits 64-71 are 0x80
    }

    [Fact]
    public void Json_is_a_stable_object()
    {
        var (code, output, _) = Run("2001:0:1117:34fa:1027:374b:e1fc:f635", json: true);
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        var t = doc.RootElement.GetProperty("teredo");
        Assert.Equal("17.23.52.250", t.GetProperty("server").GetString());
        Assert.False(t.GetProperty("cone").GetBoolean());
        Assert.Equal(51380, t.GetProperty("mappedPort").GetInt32());
        Assert.Equal("30.3.9.202", t.GetProperty("mappedAddress").GetString());
        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("coordinator").ValueKind);
        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("error").ValueKind);
    }

    [Fact]
    public void Zero_u_octet_also_reads_under_the_coordinator_plan()
    {
        var (code, output, _) = Run("2001:0:c612:a:c6:3364:700:0", json: true);
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        var c = doc.RootElement.GetProperty("coordinator");
        Assert.True(c.GetProperty("valid").GetBoolean());
        Assert.Equal("dynamic", c.GetProperty("kind").GetString());
        Assert.Equal("198.51.100.7", c.GetProperty("embeddedIpv4").GetString());

        var (_, text, _) = Run("2001:0:c612:a:a:200:200:102");
        Assert.Contains("static", text);
        Assert.Contains("Embedded IPv4: 10.2.0.2", text);
    }

    [Theory]
    [InlineData("2001:db8::1", "outside the Teredo prefix")]
    [InlineData("not-an-address", "is not an IPv6 address")]
    [InlineData("192.0.2.1", "is not an IPv6 address")]
    [InlineData("fe80::1%eth0", "is not an IPv6 address")]
    public void Anything_else_is_one_line_and_exit_2(string input, string reason)
    {
        var (code, output, error) = Run(input);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Contains(reason, error);
        Assert.Single(error.TrimEnd().Split('\n'));
    }

    [Fact]
    public void Json_error_keeps_exit_2()
    {
        var (code, output, _) = Run("2001:db8::1", json: true);
        Assert.Equal(2, code);
        using var doc = JsonDocument.Parse(output);
        Assert.Contains("outside", doc.RootElement.GetProperty("error").GetString());
    }
}
