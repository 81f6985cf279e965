using Teredo.Client;
using Teredo.Relay;

namespace Teredo.Tests.Simulation;

/// <summary>
/// Teredo client to Teredo client through both NATs (RFC 4380 §5.2.4 case 5, §5.2.6): the initiator's
/// direct bubble and its indirect bubble through the server, the responder's direct bubble to the origin
/// indication, and the nonce that proves a symmetric responder's new mapping. Every pair of NAT kinds
/// (null: a public address), first ping answered or not, as the NATs' definitions decide.
/// </summary>
public class ClientToClientSimulationTests
{
    public static TheoryData<NatKind?, NatKind?> EveryPair()
    {
        NatKind?[] kinds = [NatKind.FullCone, NatKind.AddressRestricted, NatKind.PortRestricted, NatKind.Symmetric, null];
        var data = new TheoryData<NatKind?, NatKind?>();
        foreach (var initiator in kinds)
            foreach (var responder in kinds) data.Add(initiator, responder);
        return data;
    }

    /// <summary>
    /// Which pairs connect. The responder answers the indirect bubble with a direct one to the initiator's
    /// mapping toward the server. A symmetric initiator's NAT lets only the server in there: nothing
    /// connects (the responder cannot trust the initiator's own direct bubble, which comes from a mapping
    /// its address does not embed). A symmetric responder answers from a new mapping, which the nonce in
    /// the bubble's destination proves, but which a port-restricted initiator's NAT filters: only an
    /// initiator whose NAT lets any port of the responder's address in (full cone, address-restricted,
    /// none) gets it.
    /// </summary>
    private static bool Connects(NatKind? initiator, NatKind? responder) =>
        initiator != NatKind.Symmetric && (responder != NatKind.Symmetric || initiator != NatKind.PortRestricted);

    [Theory]
    [MemberData(nameof(EveryPair))]
    public void A_client_pings_another_through_both_NATs_where_their_kinds_allow(NatKind? initiator, NatKind? responder)
    {
        using var sim = new TeredoSimulation();
        var one = sim.AddClient(initiator);
        var two = sim.AddClient(responder);
        Assert.True(sim.QualifyAll());

        bool answered = sim.Ping(one.Stack, two.Address, 1, maxMs: 30_000);

        Assert.Equal(Connects(initiator, responder), answered);
        if (!answered)
        {
            // The initiator gave up after its bubbles and told its stack (ICMPv6 address unreachable).
            Assert.True(one.Engine.Counters[ClientCounter.PeersGivenUp] >= 1);
            Assert.Equal(0, two.Stack.EchoRequestsAnswered);
            return;
        }
        Assert.Equal(1, two.Stack.EchoRequestsAnswered);
        // Each side trusts the other at the mapping it really uses; only a symmetric responder's differs
        // from the one its address embeds, proven by the initiator's nonce.
        var seen = one.Engine.Peers.Find(two.Address)!;
        Assert.True(seen.Trusted);
        Assert.Equal(responder == NatKind.Symmetric, seen.Mapped != two.Engine.Address.Mapped);
        Assert.Equal(responder == NatKind.Symmetric ? 1 : 0, one.Engine.Counters[ClientCounter.NonceBubbleAccepted]);
        // No relay and no native IPv6 on this path.
        Assert.Equal(0, sim.Relay.Engine.Counters[RelayCounter.UdpReceived]);
        Assert.Empty(sim.Internet.Forwarded);

        // The path stays open: the next ping needs no bubble.
        long bubbles = one.Engine.Counters[ClientCounter.IndirectBubblesSent];
        Assert.True(sim.Ping(one.Stack, two.Address, 2));
        Assert.Equal(bubbles, one.Engine.Counters[ClientCounter.IndirectBubblesSent]);
    }
}
