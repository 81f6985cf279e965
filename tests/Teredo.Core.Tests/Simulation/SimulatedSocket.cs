using Teredo.Net;

namespace Teredo.Tests.Simulation;

/// <summary>A bound UDP/IPv4 socket of a <see cref="SimulatedHost"/>: the in-memory twin of one bind.</summary>
public sealed class SimulatedSocket
{
    private readonly Action<Ipv4Endpoint, byte[]> _receive;

    internal SimulatedSocket(SimulatedHost host, Ipv4Endpoint local, Action<Ipv4Endpoint, byte[]> receive)
    {
        Host = host;
        Local = local;
        _receive = receive;
    }

    public SimulatedHost Host { get; }
    public Ipv4Endpoint Local { get; }

    /// <summary>Hands a copy of <paramref name="payload"/> to the network; it arrives (or not) later.</summary>
    public void Send(Ipv4Endpoint to, ReadOnlySpan<byte> payload) => Host.Network.Send(this, to, payload.ToArray());

    internal void Deliver(Ipv4Endpoint from, byte[] payload) => _receive(from, payload);

    public override string ToString() => $"{Host.Name} {Local}";
}
