using Teredo.Client;
using Teredo.Common;
using Teredo.Relay;
using Teredo.Server;

namespace Teredo.Tests.Simulation;

/// <summary>
/// The packet host adds batching, locks, deadline bookkeeping and an event queue between the network and
/// the engine; none of it may change what the roles decide. The same seeded scenario, run once through
/// the host's manual driver and once with the engines called directly, must give the same events at the
/// same virtual times, the same answers and the same counters. (Not the same bytes: within one
/// millisecond the host sends bind by bind, so the cone probe and the primary probe reach the NAT in
/// another order and get each other's public ports.)
/// </summary>
public class DriverEquivalenceTests
{
    private static List<string> Run(SimulationDriver driver)
    {
        using var sim = new TeredoSimulation(seed: 7, driver: driver);
        foreach (var kind in Enum.GetValues<NatKind>()) sim.AddClient(kind);
        var trace = new List<string>();
        trace.Add($"qualified {sim.QualifyAll()} at {sim.Network.NowMs}");
        ushort seq = 0;
        foreach (var client in sim.Clients)
        {
            trace.Add($"ping to {client.Host.Name} {sim.Ping(sim.NativeHost, client.Address, ++seq)} at {sim.Network.NowMs}");
            trace.Add($"ping from {client.Host.Name} {sim.Ping(client.Stack, TeredoSimulation.NativeHostAddress, ++seq)} at {sim.Network.NowMs}");
        }
        var remapped = sim.Clients[2];
        remapped.Nat!.Remap(remapped.Host.Address);
        sim.Network.RunFor(40_000);
        trace.Add($"ping after remap {sim.Ping(sim.NativeHost, remapped.Address, ++seq)} at {sim.Network.NowMs}");
        sim.Network.RunFor(120_000);

        foreach (var client in sim.Clients)
        {
            trace.AddRange(client.Events.Select(e => $"{client.Host.Name} {e.Kind} {e.TimeMs} {e.State} {e.NatType} {e.Value}"));
            trace.AddRange(Counters(client.Host.Name, client.Engine.Counters));
        }
        trace.AddRange(Counters("relay", sim.Relay.Engine.Counters));
        trace.AddRange(Counters("server", sim.Server.Engine.Counters));
        trace.Add($"datagrams {sim.Network.Datagrams.Count}, delivered {sim.Network.Counters[DatagramFate.Delivered]}");
        return trace;
    }

    private static IEnumerable<string> Counters<T>(string role, CounterSet<T> counters) where T : struct, Enum =>
        CounterSet<T>.All.Select(c => $"{role} {c} {counters[c]}");

    [Fact]
    public void The_packet_host_and_the_bare_engines_decide_the_same()
    {
        var host = Run(SimulationDriver.PacketHost);
        var engine = Run(SimulationDriver.Engine);
        Assert.Contains(host, line => line.Contains("AddressChanged"));
        Assert.All(host.Where(line => line.StartsWith("ping") || line.StartsWith("qualified")), line => Assert.Contains(" True ", line));
        Assert.Equal(engine, host);
    }
}
