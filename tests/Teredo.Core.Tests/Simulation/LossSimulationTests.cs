using Teredo.Client;
using Teredo.Relay;
using Teredo.Wire;

namespace Teredo.Tests.Simulation;

/// <summary>
/// The roles over a lossy access link (20 % of the datagrams crossing the client's link are lost, each
/// way): qualification still completes with the retransmissions RFC 4380 §5.2.1 allows (N = 3 per
/// solicitation, per round), and traffic through the relay still gets through. Every run is one seed.
/// </summary>
public class LossSimulationTests
{
    private static readonly SimulatedLink Lossy = new(LatencyMs: 5, Loss: 0.2);

    public static TheoryData<NatKind, int> KindsAndSeeds()
    {
        var data = new TheoryData<NatKind, int>();
        foreach (var kind in Enum.GetValues<NatKind>())
            for (int seed = 1; seed <= 10; seed++) data.Add(kind, seed);
        return data;
    }

    [Theory]
    [MemberData(nameof(KindsAndSeeds))]
    public void Qualification_completes_through_20_percent_loss_with_bounded_solicitations(NatKind kind, int seed)
    {
        using var sim = new TeredoSimulation(seed);
        var client = sim.AddClient(kind, link: Lossy);
        var options = client.Engine.Options;

        // Lost probes cost retransmissions, and a round whose primary probe is lost N times costs the
        // off-line wait; ten rounds is far beyond what 20 % loss should need.
        long bound = 10 * ((long)options.QualificationTimeoutMs * options.QualificationAttempts + options.OfflineRetryMs);
        Assert.True(sim.Network.RunUntil(() => client.Qualified, bound));

        int rounds = client.Events.Count(e => e.Kind == ClientEventKind.StateChanged && e.State == ClientState.Starting);
        int solicitations = sim.Network.Datagrams.Count(d => d.From.Host == client.Host && d.SentMs <= client.Engine.QualifiedAtMs
            && IsRouterSolicitation(d.Payload));
        // Three probes (cone, primary, secondary), each sent at most N times per round.
        Assert.InRange(solicitations, 3, 3 * options.QualificationAttempts * rounds);
    }

    [Fact]
    public void The_loss_really_bites_some_runs_need_retransmissions_or_a_second_round()
    {
        int retransmittingRuns = 0;
        for (int seed = 1; seed <= 10; seed++)
        {
            using var sim = new TeredoSimulation(seed);
            var client = sim.AddClient(NatKind.PortRestricted, link: Lossy);
            Assert.True(sim.Network.RunUntil(() => client.Qualified, 600_000));
            int solicitations = sim.Network.Datagrams.Count(d => d.From.Host == client.Host && d.SentMs <= client.Engine.QualifiedAtMs
                && IsRouterSolicitation(d.Payload));
            if (solicitations > 3) retransmittingRuns++;
        }
        Assert.InRange(retransmittingRuns, 1, 10);
    }

    [Theory]
    [InlineData(NatKind.FullCone, 1)]
    [InlineData(NatKind.AddressRestricted, 2)]
    [InlineData(NatKind.PortRestricted, 3)]
    [InlineData(NatKind.Symmetric, 4)]
    public void Pings_through_the_relay_get_through_20_percent_loss_and_bubbles_stay_bounded(NatKind kind, int seed)
    {
        using var sim = new TeredoSimulation(seed);
        var client = sim.AddClient(kind, link: Lossy);
        Assert.True(sim.QualifyAll(600_000));

        int answered = 0;
        for (ushort seq = 1; seq <= 20; seq++)
            if (sim.Ping(sim.NativeHost, client.Address, seq, maxMs: 10_000)) answered++;

        Assert.InRange(answered, 1, 20);
        Assert.True(sim.Relay.Engine.Peers.Find(client.Address) is { Trusted: true });
        // A knock ends in trust (kept while the pings keep coming) or in a give-up, and costs the first
        // bubble plus at most BubbleRetries repetitions.
        var relay = sim.Relay.Engine.Counters;
        long knocks = relay[RelayCounter.PeersGivenUp] + 1;
        Assert.InRange(relay[RelayCounter.IndirectBubblesSent], 1, knocks * (sim.Relay.Engine.Options.BubbleRetries + 1));
    }

    private static bool IsRouterSolicitation(byte[] payload) =>
        TeredoDatagram.TryParse(payload, out var datagram) == TeredoParseError.None
        && Icmpv6Packet.TryParse(datagram.Ipv6, out var icmp) && icmp.Type == Icmpv6Type.RouterSolicitation;
}
