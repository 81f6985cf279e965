namespace Teredo.Tests.Simulation;

/// <summary>
/// Something the simulation's clock drives: a role's engine (through <see cref="EngineNode"/>), or later a
/// packet host pumped by its manual driver. Packets reach it through its sockets and devices.
/// </summary>
public interface ISimulatedNode
{
    string Name { get; }

    /// <summary>When the node next needs <see cref="OnTimer"/>; <see cref="long.MaxValue"/> when nothing is pending.</summary>
    long NextDeadlineMs { get; }

    void OnTimer(long nowMs);
}
