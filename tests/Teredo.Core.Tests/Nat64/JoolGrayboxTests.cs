using System.Text.RegularExpressions;
using Teredo.Nat64;
using Teredo.Net;
using Teredo.Tests.Support;

namespace Teredo.Tests.Nat64;

/// <summary>
/// Jool's graybox RFC 7915 cases (GPL test data read from ../shared/thirdparty/jool-graybox, never copied
/// here) run through the core translator. The cases, their order, the settings each one runs under and
/// the bytes to ignore all come from siit/test.sh; the network from siit/network.md.
/// </summary>
public sealed partial class JoolGrayboxTests
{
    public sealed record Case(string Name, string Direction, string Folder, string Sent, string[] Expected, int[] Ignored,
        int LowestIpv6Mtu, int Ipv6Mtu, int Ipv4Mtu, bool AmendUdpZero)
    {
        public override string ToString() => Name;
    }

    public static string? GrayboxRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Teredo.slnx")))
            {
                string root = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "thirdparty", "jool-graybox"));
                return Directory.Exists(root) ? root : null;
            }
        return null;
    }

    /// <summary>The siit/test.sh cases of one group, with the settings in force when each runs.</summary>
    public static IEnumerable<Case> Cases(string group)
    {
        string? root = GrayboxRoot();
        if (root is null) yield break;
        var variables = new Dictionary<string, string>();
        int lowest = 1280, v6Mtu = 1500, v4Mtu = 1500;
        bool amend = false, inGroup = false;
        var seen = new Dictionary<string, int>();
        foreach (string raw in File.ReadLines(Path.Combine(root, "siit", "test.sh")))
        {
            string line = raw.Trim();
            if (line.StartsWith("if [ -z \"$1\" -o \"$1\" = ")) { inGroup = line.Contains($"\"{group}\""); continue; }
            if (VariableLine().Match(line) is { Success: true } v) { variables[v.Groups[1].Value] = v.Groups[2].Value; continue; }
            if (!inGroup || line.StartsWith('#')) continue;
            if (line.Contains("global update lowest-ipv6-mtu")) lowest = int.Parse(line.Split(' ')[^1]);
            else if (line.Contains("global update amend-udp-checksum-zero")) amend = line.EndsWith(" 1");
            else if (line.Contains("dev to_client_v6 mtu")) v6Mtu = int.Parse(line.Split(' ')[^1]);
            else if (line.Contains("joolns ip link set dev to_client_v4 mtu")) v4Mtu = int.Parse(line.Split(' ')[^1]);
            var m = TestLine().Match(line);
            if (!m.Success) continue;
            string[] args = m.Groups[3].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            // testNN_auto SENT EXPECTED [IGNORED] reads pktgen/sender and pktgen/receiver.
            if (m.Groups[2].Value == "auto") args = ["pktgen", "sender/" + args[0], "receiver/" + args[1], .. args[2..]];
            int expectedCount = m.Groups[2].Value == "12" ? 2 : 1;
            string folder = args[0], sent = args[1];
            string[] expected = args[2..(2 + expectedCount)];
            int[] ignored = args.Length > 2 + expectedCount
                ? [.. Regex.Replace(args[2 + expectedCount], @"\$(\w+)", x => variables[x.Groups[1].Value]).Split(',').Select(int.Parse)]
                : [];
            string name = Path.GetFileName(sent);
            seen[name] = seen.GetValueOrDefault(name) + 1;
            if (seen[name] > 1) name += $"#{seen[name]}";
            yield return new Case(name, m.Groups[1].Value, folder, sent, expected, ignored, lowest, v6Mtu, v4Mtu, amend);
        }
    }

    public static TheoryData<Case> Rfc7915Cases() => Data("rfc7915");

    /// <summary>The pktgen groups: UDP, TCP, ICMP echo and ICMP errors both ways, checksums good and bad, fragments.</summary>
    public static TheoryData<Case> PktgenCases()
    {
        var data = new TheoryData<Case>();
        foreach (string group in new[] { "udp64", "udp46", "tcp64", "icmpi64", "icmpi46", "icmpe64", "icmpe46" })
            foreach (var c in Cases(group)) data.Add(c);
        if (data.Count == 0) data.Add(new Case("missing", "", "", "", [], [], 0, 0, 0, false));
        return data;
    }

    private static TheoryData<Case> Data(string group)
    {
        var data = new TheoryData<Case>();
        foreach (var c in Cases(group)) data.Add(c);
        // xunit needs a row to run the theory at all; this one skips with the reason.
        if (data.Count == 0) data.Add(new Case("missing", "", "", "", [], [], 0, 0, 0, false));
        return data;
    }

    /// <summary>The translator as siit/network.md configures Jool ("j").</summary>
    public static Nat64Translator Translator(Case c)
    {
        var options = new Nat64Options
        {
            Prefix = Ipv6Address.Parse("2001:db8:100::"),
            PrefixLength = 40,
            OfflinkMtu = c.LowestIpv6Mtu,
            Ipv6Mtu = c.Ipv6Mtu,
            Ipv4Mtu = c.Ipv4Mtu,
            UdpChecksumMode = c.AmendUdpZero ? UdpChecksumMode.Calculate : UdpChecksumMode.Drop,
            TranslatorIpv4 = Ipv4Address.Parse("198.51.100.1"),
            Rfc6791Ipv4 = Ipv4Address.Parse("203.0.113.8"),
            TranslatorIpv6 = Ipv6Address.Parse("2001:db8:1c0:2:1::"),
            IcmpErrorsPerSecond = 0,
        };
        var map = new Nat64AddressMap(options);
        map.AddExplicit(Ipv4Address.Parse("1.0.0.0"), 24, Ipv6Address.Parse("2001:db8:3::"), 120);
        map.AddExplicit(Ipv4Address.Parse("10.0.0.0"), 24, Ipv6Address.Parse("2001:db8:2::"), 120);
        return new Nat64Translator(options, map);
    }

    [SkippableTheory]
    [MemberData(nameof(Rfc7915Cases))]
    public void Rfc7915(Case c) => Run(c);

    [SkippableTheory]
    [MemberData(nameof(PktgenCases))]
    public void Pktgen(Case c) => Run(c);

    private static void Run(Case c)
    {
        Skip.If(c.Name == "missing", "Jool's graybox packets are not at ../shared/thirdparty/jool-graybox (beside the repository)");
        Skip.If(Nat64Conformance.Deviations.TryGetValue(c.Name, out string? reason), $"documented deviation: {reason}");
        string dir = Path.Combine(GrayboxRoot()!, "siit", c.Folder);
        byte[] sent = File.ReadAllBytes(Path.Combine(dir, c.Sent + ".pkt"));
        var translator = Translator(c);
        var sink = new TranslationSink();
        if (c.Direction[0] == '6') translator.FromIpv6(0, sent, sink);
        else translator.FromIpv4(0, sent, sink);
        var got = sink.Take();
        Assert.True(got.Count == c.Expected.Length,
            $"{c.Name}: {got.Count} packets out, expected {c.Expected.Length}; counters: {Describe(translator)}");
        for (int i = 0; i < got.Count; i++)
        {
            byte[] expected = File.ReadAllBytes(Path.Combine(dir, c.Expected[i] + ".pkt"));
            string? difference = Compare(expected, got[i], c.Ignored);
            Assert.True(difference is null, $"{c.Name} → {c.Expected[i]}: {difference}\n got      {Convert.ToHexString(got[i])}\n expected {Convert.ToHexString(expected)}");
        }
    }

    public static string? Compare(byte[] expected, byte[] actual, int[] ignored)
    {
        if (expected.Length != actual.Length) return $"length {actual.Length}, expected {expected.Length}";
        var offsets = new List<int>();
        for (int i = 0; i < expected.Length; i++)
            if (expected[i] != actual[i] && !ignored.Contains(i)) offsets.Add(i);
        return offsets.Count == 0 ? null : $"bytes differ at offsets {string.Join(",", offsets.Take(20))}";
    }

    public static string Describe(Nat64Translator t) =>
        string.Join(", ", Nat64Counters.All.Where(k => t.Counters[k] != 0).Select(k => $"{k}={t.Counters[k]}"));

    [GeneratedRegex(@"^(\w+)=([0-9,]+)$")]
    private static partial Regex VariableLine();

    [GeneratedRegex(@"^test(\d\d)_(11|12|auto) (.*)$")]
    private static partial Regex TestLine();
}

/// <summary>Graybox cases where we deliberately differ from Jool, with the reason (docs/nat64-conformance.md).</summary>
public static class Nat64Conformance
{
    public static readonly Dictionary<string, string> Deviations = new()
    {
        ["ib2t"] = "RFC 4884 §5.1: the translated original datagram is zero-padded up to a 64-bit boundary (152 bytes); Jool rounds down and cuts 2 bytes of it (144)",
        ["ib3t"] = "RFC 4884 §5.1: the translated original datagram is zero-padded up to a 64-bit boundary (152 bytes); Jool rounds down and cuts 4 bytes of it (144)",
    };
}
