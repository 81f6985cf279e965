using Teredo.Net;

namespace Teredo.Tests.Simulation;

public enum DatagramFate
{
    Delivered,
    /// <summary>Lost on the sender's or the receiver's link.</summary>
    Lost,
    /// <summary>Multicast or broadcast: the model has no LAN multicast.</summary>
    NotUnicast,
    /// <summary>No host or NAT owns the destination address, or it is private and not on the sender's LAN.</summary>
    NoRoute,
    /// <summary>The destination NAT has no mapping at that port, or its filter refused the sender.</summary>
    RefusedByNat,
    /// <summary>The destination host has no socket bound there.</summary>
    NoListener,
}

/// <summary>
/// One datagram as the network saw it, for assertions: who sent it (inside its NAT and as the Internet
/// saw it), to whom, when, and what became of it.
/// </summary>
public sealed class SimulatedDatagram(long sentMs, SimulatedSocket from, Ipv4Endpoint to, byte[] payload)
{
    public long SentMs { get; } = sentMs;
    public SimulatedSocket From { get; } = from;
    /// <summary>The source as the Internet saw it: the sender's NAT mapping, or its own endpoint.</summary>
    public Ipv4Endpoint PublicSource { get; internal set; } = from.Local;
    public Ipv4Endpoint To { get; } = to;
    public byte[] Payload { get; } = payload;
    public DatagramFate? Fate { get; internal set; }
    public long ArrivedMs { get; internal set; } = -1;
}
