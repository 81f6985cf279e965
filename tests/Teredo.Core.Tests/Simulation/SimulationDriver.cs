namespace Teredo.Tests.Simulation;

/// <summary>What drives the roles' engines in a simulation.</summary>
public enum SimulationDriver
{
    /// <summary>The real packet host's manual driver, with in-memory binds and TUNs: the daemons' code path (<see cref="HostNode"/>).</summary>
    PacketHost,
    /// <summary>The engine called directly (<see cref="EngineNode"/>): the reference the host is compared with.</summary>
    Engine,
}

public static class SimulationDriverExtensions
{
    public static SimulatedNode NewNode(this SimulationDriver driver, SimulatedNetwork network, string name) => driver switch
    {
        SimulationDriver.PacketHost => new HostNode(network, name),
        _ => new EngineNode(network, name),
    };
}
