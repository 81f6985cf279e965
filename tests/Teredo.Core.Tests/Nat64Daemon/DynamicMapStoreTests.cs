using Teredo.Hosting.Nat64;
using Teredo.Nat64;
using Teredo.Net;
using Teredo.Tests.Support;

namespace Teredo.Tests.Nat64Daemon;

public class DynamicMapStoreTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Mappings_survive_a_restart_with_their_age()
    {
        string path = _dir.Write("dynamic.map", "");
        var wall = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);
        var saved = new[]
        {
            new DynamicMapping(new Ipv4Address(192, 168, 255, 2), Ipv6Address.Parse("2001:db8:6::100"), 50_000),
            new DynamicMapping(new Ipv4Address(192, 168, 255, 3), Ipv6Address.Parse("2001:db8:6::101"), 110_000),
        };
        DynamicMapStore.Save(path, saved, nowMs: 120_000, wall);

        // The next process starts 30 s later with a monotonic clock that began anew.
        var loaded = DynamicMapStore.Load(path, nowMs: 5_000, wall.AddSeconds(30), out int bad);
        Assert.Equal(0, bad);
        Assert.Equal(2, loaded.Count);
        Assert.Equal(saved[0] with { LastUseMs = 5_000 - (70 + 30) * 1000 }, loaded[0]);
        Assert.Equal(saved[1] with { LastUseMs = 5_000 - (10 + 30) * 1000 }, loaded[1]);
        Assert.False(File.Exists(path + ".tmp"));
    }

    [Fact]
    public void No_file_means_no_mappings() =>
        Assert.Empty(DynamicMapStore.Load(Path.Combine(Path.GetTempPath(), "does-not-exist", "x.map"), 0, DateTimeOffset.UtcNow, out _));

    [Fact]
    public void Unreadable_lines_are_skipped_and_counted()
    {
        string path = _dir.Write("dynamic.map", "# comment\n192.168.255.2 2001:db8::1 1800000000\nnonsense\n192.168.255.999 2001:db8::2 1\n192.168.255.4 2001:db8::4 -5\n");
        var loaded = DynamicMapStore.Load(path, 0, DateTimeOffset.FromUnixTimeSeconds(1_800_000_000), out int bad);
        Assert.Single(loaded);
        Assert.Equal(3, bad);
    }

    [Fact]
    public void A_clock_that_went_back_does_not_make_a_mapping_younger_than_now()
    {
        string path = _dir.Write("dynamic.map", "192.168.255.2 2001:db8::1 1900000000\n");
        var loaded = DynamicMapStore.Load(path, 7_000, DateTimeOffset.FromUnixTimeSeconds(1_800_000_000), out _);
        Assert.Equal(7_000, loaded[0].LastUseMs);
    }
}
