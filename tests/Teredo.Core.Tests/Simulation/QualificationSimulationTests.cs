using Teredo.Client;

namespace Teredo.Tests.Simulation;

/// <summary>
/// Qualification (RFC 4380 §5.2.1) of the real client against the real server through each kind of NAT:
/// the NAT type the client finds, and the address it builds from what the primary address saw.
/// </summary>
public class QualificationSimulationTests
{
    [Theory]
    [InlineData(NatKind.FullCone, NatType.Cone)]
    [InlineData(NatKind.AddressRestricted, NatType.Restricted)]
    [InlineData(NatKind.PortRestricted, NatType.Restricted)]
    [InlineData(NatKind.Symmetric, NatType.Symmetric)]
    public void A_client_behind_each_NAT_kind_qualifies_and_finds_its_NAT_type(NatKind kind, NatType expected)
    {
        using var sim = new TeredoSimulation();
        var client = sim.AddClient(kind);

        Assert.True(sim.Network.RunUntil(() => client.Qualified && client.Engine.NatTypeFinal, 60_000));

        Assert.Equal(expected, client.Engine.NatType);
        // The address embeds the server and the mapping the primary address saw, which the NAT holds.
        Assert.True(client.Nat!.TryGetMapping(client.ServiceSocket, TeredoSimulation.ServerPrimaryEndpoint, out var mapped));
        Assert.Equal(mapped, client.Engine.Mapped);
        Assert.Equal(mapped, client.Engine.Address.Mapped);
        Assert.Equal(TeredoSimulation.ServerPrimary, client.Engine.Address.Server);
        Assert.Equal(client.Address, client.Stack.Address);
        Assert.Contains(client.Events, e => e.Kind == ClientEventKind.AddressAcquired);
        Assert.Contains(client.Events, e => e.Kind == ClientEventKind.NatTypeDetermined && e.NatType == expected);
    }

    [Fact]
    public void A_client_with_a_public_address_finds_a_cone_and_embeds_its_own_socket()
    {
        using var sim = new TeredoSimulation();
        var client = sim.AddClient(nat: null);

        Assert.True(sim.Network.RunUntil(() => client.Qualified && client.Engine.NatTypeFinal, 60_000));

        Assert.Equal(NatType.Cone, client.Engine.NatType);
        Assert.Equal(client.ServiceSocket, client.Engine.Address.Mapped);
    }

    /// <summary>
    /// The cone verdict takes the cone probe's answer; the restricted one waits for that probe to fail (N × T),
    /// and the symmetric one needs only the two mappings: what the client finds first, the primary's answer,
    /// qualifies it at once in every case.
    /// </summary>
    [Theory]
    [InlineData(NatKind.FullCone)]
    [InlineData(NatKind.PortRestricted)]
    [InlineData(NatKind.Symmetric)]
    public void The_address_comes_with_the_first_answer_and_the_restricted_verdict_only_after_the_cone_probe_gives_up(NatKind kind)
    {
        using var sim = new TeredoSimulation();
        var client = sim.AddClient(kind);
        Assert.True(sim.Network.RunUntil(() => client.Engine.NatTypeFinal, 60_000));
        var options = client.Engine.Options;
        long toQualify = client.Engine.QualifiedAtMs - client.Engine.StartedAtMs;
        long toVerdict = client.Engine.NatTypeFinalAtMs - client.Engine.StartedAtMs;
        // One round trip (two 5 ms links each way) is the first answer.
        Assert.Equal(4 * sim.Network.DefaultLink.LatencyMs, toQualify);
        if (kind == NatKind.PortRestricted) Assert.True(toVerdict >= (long)options.QualificationTimeoutMs * options.QualificationAttempts);
        else Assert.Equal(toQualify, toVerdict);
    }

    [Fact]
    public void A_strict_client_behind_a_symmetric_NAT_refuses_to_qualify_as_RFC_4380_says()
    {
        using var sim = new TeredoSimulation();
        var client = sim.AddClient(NatKind.Symmetric, o => o with { StrictSymmetric = true });

        sim.Network.RunFor(20_000);

        Assert.Equal(ClientState.Offline, client.Engine.State);
        Assert.Equal(NatType.Symmetric, client.Engine.NatType);
        Assert.False(client.Engine.HasAddress);
        Assert.DoesNotContain(client.Events, e => e.Kind == ClientEventKind.AddressAcquired);
    }

    [Theory]
    [InlineData(NatKind.FullCone)]
    [InlineData(NatKind.AddressRestricted)]
    [InlineData(NatKind.PortRestricted)]
    public void A_strict_client_behind_a_cone_or_restricted_NAT_qualifies(NatKind kind)
    {
        using var sim = new TeredoSimulation();
        var client = sim.AddClient(kind, o => o with { StrictSymmetric = true });
        Assert.True(sim.Network.RunUntil(() => client.Qualified, 20_000));
    }
}
