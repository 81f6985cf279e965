namespace Teredo.Tests.Simulation;

/// <summary>
/// An access link: one-way latency and the chance that a datagram crossing it is lost. A datagram
/// crosses the sender's link and the receiver's (a host behind a NAT shares the NAT's link).
/// </summary>
public sealed record SimulatedLink(long LatencyMs = 5, double Loss = 0)
{
    public static readonly SimulatedLink Default = new();

    /// <summary>A link to a host on the same LAN (behind the same NAT): no loss, no Internet latency.</summary>
    public static readonly SimulatedLink Lan = new(1, 0);
}
