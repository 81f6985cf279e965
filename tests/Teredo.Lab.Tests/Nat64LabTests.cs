using System.Text.Json;
using Xunit.Abstractions;

namespace Teredo.Lab.Tests;

/// <summary>
/// Issue 10's proof on a real TUN: `teredo nat64` started by the lab's launcher through a wrapper named
/// tayga, from the same tayga.conf Debian's tayga reads (the tests that both should pass run against
/// Tayga too, which shows that the test, not just our daemon, is right): ping and TCP from the IPv6-only
/// host to the IPv4-only host, the static map in the other direction, ICMP errors translated both
/// ways, the dynamic pool kept across a restart, and the persistent TUN contract of --mktun/--rmtun.
/// </summary>
[Collection(Nat64LabCollection.Name)]
public sealed class Nat64LabTests(Nat64LabFixture lab, ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Short = LabFixture.Short;
    private static readonly TimeSpan Long = LabFixture.Long;
    // host4 (198.18.0.100) under the lab's prefix 2001:db8:64::/96, and the translator's own addresses.
    private const string Host4Mapped = "2001:db8:64::c612:64";
    private const string TranslatorV6 = "2001:db8:64::a40:1";
    private const string TranslatorV4 = "10.64.0.1";
    private const string StaticV4 = "10.64.1.101";
    private const string StaticV6 = "2001:db8:1::101";
    private const string Pool = "10.64.0.";
    private const string StatusSocket = "/run/tlab/nat64/teredo-nat64.sock";
    private readonly LabSession _lab = new(output);

    public void Dispose()
    {
        if (lab.SkipReason is not null) return;
        Lab.Run(Short, "tayga-stop", "nat64");
        Lab.InNode("nat64", Short, "ip", "link", "set", "dev", "eth4", "mtu", "1500");
        // A Packet Too Big leaves a path MTU behind in host6's route cache; the next test starts clean.
        Lab.InNode("host6", Short, "ip", "-6", "route", "flush", "cache");
    }

    private void Start(string impl)
    {
        lab.Require();
        _lab.MustRun(Long, "tayga", "nat64", impl);
    }

    private CommandResult In(string node, params string[] command)
    {
        var r = Lab.InNode(node, Short, command);
        output.WriteLine($"[{node}] $ {string.Join(' ', command)} -> exit {r.ExitCode}\n{r.All.TrimEnd()}");
        return r;
    }

    private static JsonElement Status() => LabSession.Status(StatusSocket);

    [SkippableTheory]
    [InlineData("tayga")]
    [InlineData("teredo")]
    public void Ipv6_host_pings_and_fetches_a_page_from_the_ipv4_host(string impl)
    {
        Start(impl);
        Assert.Equal(3, LabSession.Received(In("host6", "ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", Host4Mapped)));
        var page = In("host6", "socat", "-t", "2", "-T", "5", "-", $"TCP6:[{Host4Mapped}]:80");
        Assert.Contains("hello from host4", page.Stdout);
        var echo = In("host6", "sh", "-c", $"printf 'udp through nat64' | socat -t 2 -T 3 - UDP6:[{Host4Mapped}]:7");
        Assert.Contains("udp through nat64", echo.Stdout);
        if (impl != "teredo") return;
        var s = Status();
        Assert.True(LabSession.Counter(s, "translated6To4IcmpEcho") >= 3);
        Assert.True(LabSession.Counter(s, "translated4To6IcmpEcho") >= 3);
        Assert.True(LabSession.Counter(s, "translated6To4Tcp") >= 3);
        Assert.True(LabSession.Counter(s, "translated4To6Tcp") >= 3);
        Assert.True(LabSession.Counter(s, "translated6To4Udp") >= 1);
        Assert.Contains(s.GetProperty("dynamicMappings").EnumerateArray(),
            m => m.GetProperty("ipv6").GetString() == "2001:db8:1::100" && m.GetProperty("ipv4").GetString()!.StartsWith(Pool, StringComparison.Ordinal));
    }

    [SkippableTheory]
    [InlineData("tayga")]
    [InlineData("teredo")]
    public void Ipv4_host_reaches_the_statically_mapped_ipv6_host(string impl)
    {
        Start(impl);
        Assert.Equal(3, LabSession.Received(In("host4", "ping", "-c", "3", "-i", "0.2", "-W", "2", StaticV4)));
        if (impl != "teredo") return;
        var mapping = Assert.Single(Status().GetProperty("staticMappings").EnumerateArray());
        Assert.Equal($"{StaticV4}/32", mapping.GetProperty("ipv4").GetString());
        Assert.Equal($"{StaticV6}/128", mapping.GetProperty("ipv6").GetString());
    }

    [SkippableTheory]
    [InlineData("tayga")]
    [InlineData("teredo")]
    public void Expiring_hop_limit_and_ttl_come_back_as_time_exceeded_from_the_translator(string impl)
    {
        Start(impl);
        // Hop limit 2: the translator host's kernel forwards with 1 left, the translator may not forward it.
        var v6 = In("host6", "ping", "-6", "-c", "1", "-t", "2", "-W", "2", Host4Mapped);
        Assert.Contains($"From {TranslatorV6}", v6.Stdout);
        Assert.Contains("Time exceeded", v6.Stdout);
        var v4 = In("host4", "ping", "-c", "1", "-t", "2", "-W", "2", StaticV4);
        Assert.Contains($"From {TranslatorV4}", v4.Stdout);
        Assert.Contains("Time to live exceeded", v4.Stdout);
    }

    [SkippableTheory]
    [InlineData("tayga")]
    [InlineData("teredo")]
    public void The_translator_answers_pings_at_its_own_addresses(string impl)
    {
        Start(impl);
        Assert.Equal(2, LabSession.Received(In("host6", "ping", "-6", "-c", "2", "-i", "0.2", "-W", "2", TranslatorV6)));
        Assert.Equal(2, LabSession.Received(In("host4", "ping", "-c", "2", "-i", "0.2", "-W", "2", TranslatorV4)));
        if (impl == "teredo") Assert.Equal(4, LabSession.Counter(Status(), "selfEchoAnswered"));
    }

    [SkippableTheory]
    [InlineData("tayga")]
    [InlineData("teredo")]
    public void Fragmentation_needed_on_the_ipv4_side_reaches_the_ipv6_host_as_packet_too_big(string impl)
    {
        Start(impl);
        // A 1300-byte IPv4 link beyond the translator: the kernel there answers the translated packet
        // (DF set, being above 1260 bytes) with Fragmentation Needed, MTU 1300, sent to the pool address;
        // the translator turns it into Packet Too Big with MTU 1320 for host6.
        In("nat64", "ip", "link", "set", "dev", "eth4", "mtu", "1300");
        var ping = In("host6", "ping", "-6", "-c", "1", "-s", "1400", "-M", "do", "-W", "2", Host4Mapped);
        Assert.Contains("Packet too big", ping.Stdout);
        Assert.Contains("mtu=1320", ping.Stdout);
    }

    [SkippableFact]
    public void The_dynamic_pool_keeps_its_mappings_across_a_restart()
    {
        Start("teredo");
        Assert.Equal(1, LabSession.Received(In("host6", "ping", "-6", "-c", "1", "-W", "2", Host4Mapped)));
        string leased = Assert.Single(Status().GetProperty("dynamicMappings").EnumerateArray(),
            m => m.GetProperty("ipv6").GetString() == "2001:db8:1::100").GetProperty("ipv4").GetString()!;
        Assert.StartsWith(Pool, leased);

        _lab.MustRun(Long, "tayga-stop", "nat64");
        Assert.Contains(leased, File.ReadAllText("/run/tlab/nat64/tayga-data/teredo-nat64-dynamic.map"));
        Start("teredo");
        var restored = Assert.Single(Status().GetProperty("dynamicMappings").EnumerateArray());
        Assert.Equal((leased, "2001:db8:1::100"), (restored.GetProperty("ipv4").GetString(), restored.GetProperty("ipv6").GetString()));
        // The IPv4 side can reach the IPv6 host at its old address before it sent anything new.
        Assert.Equal(2, LabSession.Received(In("host4", "ping", "-c", "2", "-i", "0.2", "-W", "2", leased)));
    }

    [SkippableTheory]
    [InlineData("tayga")]
    [InlineData("teredo")]
    public void Mktun_makes_a_persistent_interface_that_rmtun_removes(string impl)
    {
        Start(impl);
        _lab.MustRun(Long, "tayga-stop", "nat64");
        Assert.NotEqual(0, In("nat64", "ip", "link", "show", "nat64").ExitCode);
        string wrapper = impl == "teredo" ? "/run/tlab/nat64/teredo-bin/tayga" : "tayga";
        Assert.Equal(0, In("nat64", wrapper, "-c", "/run/tlab/nat64/tayga.conf", "--mktun").ExitCode);
        Assert.Equal(0, In("nat64", "ip", "link", "show", "nat64").ExitCode);
        Assert.Equal(0, In("nat64", wrapper, "-c", "/run/tlab/nat64/tayga.conf", "--rmtun").ExitCode);
        Assert.NotEqual(0, In("nat64", "ip", "link", "show", "nat64").ExitCode);
    }
}
