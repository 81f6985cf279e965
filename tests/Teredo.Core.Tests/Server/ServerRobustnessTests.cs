using FsCheck.Xunit;
using Teredo.Engines;
using Teredo.Net;
using Teredo.Server;
using Teredo.Tests.Support;
using Teredo.Wire;

namespace Teredo.Tests.Server;

/// <summary>Garbage never crashes the server, every datagram lands in exactly one counter, and it keeps answering RS.</summary>
public class ServerRobustnessTests
{
    private static readonly byte[][] Seeds =
    [
        CapturedPackets.TeredoPayload(CapturedPackets.RouterSolicitation),
        CapturedPackets.TeredoPayload(CapturedPackets.RouterAdvertisement),
        CapturedPackets.TeredoPayload(CapturedPackets.IndirectBubble),
        CapturedPackets.TeredoPayload(CapturedPackets.ConnectivityTestEcho),
    ];

    [Fact]
    public void A_million_random_and_mutated_datagrams()
    {
        var engine = new TeredoServerEngine(new ServerOptions { Primary = new Ipv4Address(198, 18, 200, 1), Ipv6Forwarding = true });
        var random = new Random(4380);
        var output = new CapturedAnswer();
        var buffer = new byte[1500];
        const int count = 1_000_000;
        for (int i = 0; i < count; i++)
        {
            int length = DatagramMutator.Next(random, Seeds, buffer, i);
            var source = new Ipv4Endpoint(new Ipv4Address((uint)random.Next()), (ushort)random.Next(65536));
            var result = engine.Answer(output, i, new PortHandle(i & 1), source, buffer.AsSpan(0, length));
            Assert.True(result.Length <= length + TeredoServerEngine.OutputHeadroom);
        }
        Assert.Equal(count, engine.Counters[ServerCounter.Received]);
        Assert.Equal(count, engine.Counters.Outcomes);

        var client = new Ipv4Endpoint(new Ipv4Address(198, 18, 200, 10), 40016);
        var answer = engine.Answer(output, count, TeredoServerEngine.PrimaryPort, client, Seeds[0]);
        Assert.Equal(AnswerKind.Udp, answer.Kind);
        Assert.Equal(CapturedPackets.TeredoPayload(CapturedPackets.RouterAdvertisement), output.Buffer[..answer.Length]);
    }

    [Property(MaxTest = 1000)]
    public bool Any_bytes_from_any_source_end_in_one_counter(byte[] payload, uint address, ushort port, bool secondary)
    {
        var engine = new TeredoServerEngine(new ServerOptions { Primary = new Ipv4Address(198, 18, 200, 1), Ipv6Forwarding = true });
        engine.OnDatagram(0, secondary ? TeredoServerEngine.SecondaryPort : TeredoServerEngine.PrimaryPort,
            new Ipv4Endpoint(new Ipv4Address(address), port), payload ?? [], new CapturedAnswer());
        return engine.Counters.Outcomes == 1;
    }
}
