using Teredo.Hosting.Configuration;
using Teredo.Hosting.Coordinator;
using Teredo.Hosting.P2p;
using Teredo.Tests.Support;

namespace Teredo.Tests.P2p;

/// <summary>Pins as operators paste them, the crash-safe journal, the identity file, and the directive file.</summary>
public sealed class CoordinatorHostingTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private const string Hex = "8AB5869663040C214120E9D0C0BE37161053B212CAC30590F1921E814EB96696";

    [Theory]
    [InlineData("sha256 Fingerprint=8A:B5:86:96:63:04:0C:21:41:20:E9:D0:C0:BE:37:16:10:53:B2:12:CA:C3:05:90:F1:92:1E:81:4E:B9:66:96")]
    [InlineData("SHA256 Fingerprint=8A:B5:86:96:63:04:0C:21:41:20:E9:D0:C0:BE:37:16:10:53:B2:12:CA:C3:05:90:F1:92:1E:81:4E:B9:66:96\n")]
    [InlineData("8a:b5:86:96:63:04:0c:21:41:20:e9:d0:c0:be:37:16:10:53:b2:12:ca:c3:05:90:f1:92:1e:81:4e:b9:66:96")]
    [InlineData(Hex)]
    public void Pins_are_accepted_as_openssl_prints_them_or_as_plain_hex(string text)
    {
        Assert.True(CertificatePin.TryParse(text, out var pin));
        Assert.Equal(Hex, Convert.ToHexString(pin));
    }

    [Theory]
    [InlineData("")]
    [InlineData("sha1 Fingerprint=8A:B5:86:96:63:04:0C:21:41:20:E9:D0:C0:BE:37:16:10:53:B2:12")]
    [InlineData("8AB5")]
    [InlineData("ZZB5869663040C214120E9D0C0BE37161053B212CAC30590F1921E814EB96696")]
    public void Other_text_is_not_a_pin(string text) => Assert.False(CertificatePin.TryParse(text, out _));

    [Fact]
    public void Journal_keeps_every_record_and_drops_only_a_torn_tail()
    {
        string state = Path.Combine(_dir.FullPath, "state");
        using (var j = StaticAssignmentJournal.Open(state, out var none, out _))
        {
            Assert.Empty(none);
            j.Record(1, 0x10);
            j.Record(2, 0x20);
        }
        // A kill -9 in the middle of a third append.
        string file = Path.Combine(state, StaticAssignmentJournal.FileName);
        File.AppendAllText(file, "torn");
        using (var j = StaticAssignmentJournal.Open(state, out var recovered, out long discarded))
        {
            Assert.Equal([new(1, 0x10), new(2, 0x20)], recovered);
            Assert.Equal(4, discarded);
            j.Record(3, 0x30); // appended in line with the valid records
        }
        using (StaticAssignmentJournal.Open(state, out var all, out long none2))
        {
            Assert.Equal(3, all.Count);
            Assert.Equal(0, none2);
        }
        Assert.Equal(3 * StaticAssignmentJournal.RecordLength, new FileInfo(file).Length);
    }

    [Fact]
    public void Identity_is_created_once_and_reused()
    {
        string state = Path.Combine(_dir.FullPath, "peer");
        var id = CoordinatorClient.LoadOrCreateIdentity(state);
        Assert.NotEqual(UInt128.Zero, id);
        Assert.Equal(id, CoordinatorClient.LoadOrCreateIdentity(state));
        Assert.NotEqual(id, CoordinatorClient.LoadOrCreateIdentity(Path.Combine(_dir.FullPath, "other")));
    }

    [Fact]
    public void Directive_file_with_repeatable_allow_destination_and_tokens()
    {
        string tokens = _dir.Write("tokens", "# peers\nalpha\n\nbeta\n");
        string conf = _dir.Write("coordinator.conf", $"""
            Address 198.18.0.30
            TlsPort 4443
            AllowDestination 198.18.0.0/15
            AllowDestination 192.0.2.0/24
            TokenFile {tokens}
            LeaseIdleTimeout 120
            StateDirectory /tmp/x
            """);
        var s = CoordinatorConfiguration.Load(conf, null, ["203.0.113.0/24"]);
        Assert.Equal("198.18.0.30", s.Engine.Address.ToString());
        Assert.Equal(4443, s.TlsPort);
        Assert.Equal(["198.18.0.0/15", "192.0.2.0/24", "203.0.113.0/24"], s.Engine.AllowDestinations.Select(a => a.ToString()));
        Assert.Equal(new HashSet<string> { "alpha", "beta" }, s.Engine.Tokens);
        Assert.Equal(120, s.Engine.LeaseIdleSeconds);
        Assert.Equal("/tmp/x", s.StateDirectory);
    }

    [Theory]
    [InlineData("Address 198.18.0.30\nBogus 1\n", "coordinator.conf:2: unknown directive 'Bogus'")]
    [InlineData("TlsPort 1\n", "Address")]
    [InlineData("Address 198.18.0.30\nAllowDestination 10.0.0.0/33\n", "coordinator.conf:2")]
    [InlineData("Address 198.18.0.30\nCertificate /x.pem\n", "Certificate and Key go together")]
    [InlineData("Address 198.18.0.30\nKeepaliveInterval 60\nSessionTimeout 30\n", "keepalive")]
    public void Errors_name_the_file_and_line(string text, string expected)
    {
        string conf = _dir.Write("coordinator.conf", text);
        var e = Assert.Throws<ConfigException>(() => CoordinatorConfiguration.Load(conf));
        Assert.Contains(expected, e.Message);
    }
}
