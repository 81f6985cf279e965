using Teredo.Client;

namespace Teredo.Tests.Simulation;

/// <summary>
/// Maintenance (RFC 4380 §5.2.5) against the NAT's idle timeout: a refresh every 75-100 % of 30 s keeps a
/// mapping that lives longer than that, and cannot keep one that lives shorter.
/// </summary>
public class MaintenanceSimulationTests
{
    [Theory]
    [InlineData(NatKind.FullCone)]
    [InlineData(NatKind.PortRestricted)]
    [InlineData(NatKind.Symmetric)]
    public void Refreshes_keep_a_35_second_NAT_mapping_and_the_address_for_ten_idle_minutes(NatKind kind)
    {
        using var sim = new TeredoSimulation();
        var client = sim.AddClient(kind, natTimeoutMs: 35_000);
        Assert.True(sim.QualifyAll());
        var address = client.Address;
        long refreshesBefore = client.Engine.Counters[ClientCounter.RouterAdvertisementAccepted];

        sim.Network.RunFor(600_000);

        Assert.Equal(address, client.Address);
        Assert.Equal(0, client.Engine.Counters[ClientCounter.AddressChanges]);
        Assert.True(client.Nat!.TryGetMapping(client.ServiceSocket, TeredoSimulation.ServerPrimaryEndpoint, out var mapped));
        Assert.Equal(client.Engine.Mapped, mapped);
        // At least one refresh per 30 s (the interval's upper end), each answered.
        Assert.True(client.Engine.Counters[ClientCounter.RouterAdvertisementAccepted] - refreshesBefore >= 600_000 / client.Engine.RefreshIntervalMs);
        // And the address still works from the outside.
        Assert.True(sim.Ping(sim.NativeHost, client.Address, 1));
    }

    [Fact]
    public void A_NAT_that_forgets_in_15_seconds_costs_the_client_its_address_at_every_refresh()
    {
        using var sim = new TeredoSimulation();
        var client = sim.AddClient(NatKind.PortRestricted, natTimeoutMs: 15_000);
        Assert.True(sim.QualifyAll());

        sim.Network.RunFor(300_000);

        // Each refresh (22.5-30 s apart) finds the mapping expired and a new port in the RA's origin.
        long changes = client.Engine.Counters[ClientCounter.AddressChanges];
        Assert.InRange(changes, 300_000 / client.Engine.RefreshIntervalMs, 300_000 / (client.Engine.RefreshIntervalMs * 3 / 4));
        Assert.True(client.Nat!.Counters[NatCounter.MappingsExpired] >= changes);
        Assert.True(client.Qualified);
    }
}
