using System.Text.Json;
using System.Text.RegularExpressions;
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
public sealed partial class Nat64LabTests(Nat64LabFixture lab, ITestOutputHelper output) : IDisposable
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
        Lab.InNode("nat64", Short, "ip", "link", "del", "inj");
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
    /// <summary>
    /// Jool's graybox pktgen cases (UDP, TCP, ICMP echo and ICMP errors, both directions, good and bad
    /// checksums, fragments), read in place from ../shared/thirdparty/jool-graybox: each test packet is
    /// written into a second TUN on the translator host (as if a neighbour sent it), the kernel routes
    /// it into `teredo nat64`'s TUN and the translation back out of the second one, where it is compared
    /// with Jool's expected packet (teredo-labtools tun-exchange). Configured as siit/network.md says:
    /// pool6 2001:db8:100::/40, EAMT 2001:db8:3::/120 = 1.0.0.0/24 and 2001:db8:2::/120 = 10.0.0.0/24.
    /// </summary>
    [SkippableFact]
    public void Jools_graybox_packets_come_out_of_a_real_tun_as_jool_expects()
    {
        lab.Require();
        string? siit = JoolSiitFolder();
        Skip.If(siit is null, "Jool's graybox packets are not in ../shared/thirdparty/jool-graybox");
        string state = "/run/tlab/nat64";
        File.WriteAllText($"{state}/jool-tayga.conf", """
            # siit/network.md of Jool's graybox tests, in tayga.conf(5)
            tun-device nat64
            ipv4-addr 203.0.113.8
            prefix 2001:db8:100::/40
            wkpf-strict no
            map 1.0.0.0/24 2001:db8:3::/120
            map 10.0.0.0/24 2001:db8:2::/120
            """);
        var cases = PktgenCases(siit!);
        Assert.True(cases.Count >= 40, $"only {cases.Count} pktgen cases found in {siit}/test.sh");
        File.WriteAllLines($"{state}/jool-cases.txt", cases);
        _lab.MustRun(Long, "tayga", "nat64", "teredo", "--conf", $"{state}/jool-tayga.conf");
        string[][] setup =
        [
            ["ip", "tuntap", "add", "dev", "inj", "mode", "tun"],
            ["ip", "link", "set", "dev", "inj", "addrgenmode", "none"],
            ["ip", "link", "set", "dev", "inj", "up"],
            ["sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.inj.rp_filter=0", "net.ipv4.conf.nat64.rp_filter=0"],
            // Into the translator: pool6 and the EAMT's IPv6 side for n6's packets, n6's IPv4 view for n4's.
            ["ip", "-6", "route", "add", "2001:db8:100::/40", "dev", "nat64"],
            ["ip", "-6", "route", "add", "2001:db8:2::/120", "dev", "nat64"],
            ["ip", "route", "add", "192.0.2.0/24", "dev", "nat64"],
            ["ip", "route", "add", "1.0.0.0/24", "dev", "nat64"],
            // Out to the injecting TUN: n6's and n4's networks.
            ["ip", "-6", "route", "add", "2001:db8:1c0:2::/64", "dev", "inj"],
            ["ip", "-6", "route", "add", "2001:db8:3::/120", "dev", "inj"],
            ["ip", "route", "add", "198.51.100.0/24", "dev", "inj"],
            ["ip", "route", "add", "10.0.0.0/24", "dev", "inj"],
        ];
        foreach (var command in setup) Assert.Equal(0, In("nat64", command).ExitCode);
        var run = In("nat64", LabSession.Tools, "tun-exchange", "inj", $"{state}/jool-cases.txt");
        var failures = run.Stdout.Split('\n').Where(l => l.StartsWith("FAIL", StringComparison.Ordinal)).ToArray();
        Assert.True(failures.Length == 0, string.Join('\n', failures));
        Assert.Equal(cases.Count, run.Stdout.Split('\n').Count(l => l.StartsWith("PASS", StringComparison.Ordinal)));
    }

    private static string? JoolSiitFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Teredo.slnx")))
            {
                string siit = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "thirdparty", "jool-graybox", "siit"));
                return File.Exists(Path.Combine(siit, "test.sh")) ? siit : null;
            }
        return null;
    }

    /// <summary>"NAME SENT EXPECTED [IGNORED]" for every test64_auto / test46_auto line of siit/test.sh.</summary>
    private static List<string> PktgenCases(string siit)
    {
        string text = File.ReadAllText(Path.Combine(siit, "test.sh"));
        var variables = VariableLine().Matches(text).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
        var cases = new List<string>();
        foreach (Match m in AutoLine().Matches(text))
        {
            string ignored = Regex.Replace(m.Groups[3].Value, @"\$(\w+)", v => variables[v.Groups[1].Value]);
            cases.Add($"{m.Groups[1].Value} {siit}/pktgen/sender/{m.Groups[1].Value}.pkt {siit}/pktgen/receiver/{m.Groups[2].Value}.pkt {ignored}".TrimEnd());
        }
        return cases;
    }

    [GeneratedRegex(@"^\s*test(?:64|46)_auto ([46]-\S+) ([46]-\S+)[ \t]*(\S*)", RegexOptions.Multiline)]
    private static partial Regex AutoLine();

    [GeneratedRegex(@"^([A-Z_]+)=([0-9,]+)\s*$", RegexOptions.Multiline)]
    private static partial Regex VariableLine();
}
