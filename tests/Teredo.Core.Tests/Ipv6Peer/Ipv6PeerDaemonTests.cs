using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Teredo.Cli.Commands;
using Teredo.Hosting.Configuration;
using Teredo.Hosting.Ipv6Peer;
using Teredo.Hosting.Tun;
using Teredo.P2p.Ipv6Peer;
using Teredo.Tests.Support;
using Teredo.Wire;
using static Teredo.Tests.P2p.Ipv6PeerPackets;

namespace Teredo.Tests.Ipv6Peer;

/// <summary>The daemon's packet loop and status on the in-memory TUN: what the kernel would see, without a kernel.</summary>
public class Ipv6PeerDaemonTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Packets_from_the_tun_go_back_to_the_tun_rewritten_both_ways_and_status_shows_them()
    {
        string control = Path.Combine(Path.GetTempPath(), $"teredo-v6peer-{Guid.NewGuid():N}.sock");
        var settings = new Ipv6PeerHostSettings { Engine = Options(coordinators: 2), ControlSocket = control };
        using var tun = new InMemoryTun("v6peer-test");
        using var daemon = new Ipv6PeerDaemon(settings, NullLogger<Ipv6PeerDaemon>.Instance, tun);
        await daemon.StartAsync(CancellationToken.None);
        try
        {
            Assert.True(tun.Inject(Echo(ClientAddr, Nat64Of(Destination))));
            var outbound = tun.TakeWritten(Wait);
            Assert.NotNull(outbound);
            Assert.True(Ipv6Packet.TryParse(outbound, out var ip));
            int k = daemon.Engine.Ring.IndexOf(ip.Destination);
            Assert.Equal(TeredoOf(Coordinators[k], Destination), ip.Destination);
            Assert.True(ChecksumValid(outbound));

            Assert.True(tun.Inject(Echo(ip.Destination, ip.Source, request: false)));
            var inbound = tun.TakeWritten(Wait);
            Assert.NotNull(inbound);
            Assert.True(Ipv6Packet.TryParse(inbound, out var back));
            Assert.Equal(Nat64Of(Destination), back.Source);
            Assert.Equal(ClientAddr, back.Destination);
            Assert.True(ChecksumValid(inbound));

            // Through the control socket, as `teredo status --control SOCK --json` reads it.
            var output = new StringWriter();
            Assert.Equal(0, StatusCommand.Run(control, json: true, output, new StringWriter()));
            using var doc = JsonDocument.Parse(output.ToString());
            var root = doc.RootElement;
            Assert.Equal("v6peer", root.GetProperty("role").GetString());
            Assert.Equal(2, root.GetProperty("coordinators").GetArrayLength());
            Assert.Equal("healthy", root.GetProperty("coordinators")[k].GetProperty("health").GetString());
            Assert.Equal(1, root.GetProperty("coordinators")[k].GetProperty("packetsAnswered").GetInt64());
            var mapping = Assert.Single(root.GetProperty("mappings").EnumerateArray());
            Assert.Equal(ClientAddr.ToString(), mapping.GetProperty("client").GetString());
            Assert.Equal(ip.Source.ToString(), mapping.GetProperty("pooled").GetString());
            Assert.Equal(1, root.GetProperty("counters").GetProperty("forwardedToCoordinator").GetInt64());
            Assert.Equal(1, root.GetProperty("counters").GetProperty("forwardedToClient").GetInt64());

            var text = new StringWriter();
            Assert.Equal(0, StatusCommand.Run(control, json: false, text, new StringWriter()));
            Assert.Contains("health", text.ToString());
        }
        finally
        {
            await daemon.StopAsync(CancellationToken.None);
        }
        Assert.Equal(0, daemon.Engine.Counters[Ipv6PeerCounter.DropMalformed]);
    }
}
