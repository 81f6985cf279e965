namespace Teredo.Tests.Simulation;

/// <summary>
/// The in-memory twin of a TUN device: what the role writes goes to <see cref="Peer"/> (the IPv6 Internet,
/// or the host stack behind a client), on the network's clock so that no engine is re-entered; what the
/// peer hands it is read by the role.
/// </summary>
public sealed class SimulatedDevice(SimulatedNetwork network, string name, Action<byte[]> read) : IIpv6Receiver
{
    public string Name { get; } = name;
    /// <summary>Where packets the role writes go; null drops them (counted in <see cref="Dropped"/>).</summary>
    public IIpv6Receiver? Peer { get; set; }
    /// <summary>Every packet the role wrote, in order.</summary>
    public List<byte[]> Written { get; } = [];
    public int Dropped { get; private set; }

    /// <summary>The role wrote a packet.</summary>
    public void Write(ReadOnlySpan<byte> packet)
    {
        var copy = packet.ToArray();
        Written.Add(copy);
        if (Peer is not { } peer)
        {
            Dropped++;
            return;
        }
        network.Schedule(0, () => peer.Receive(copy));
    }

    /// <summary>A packet for the role to read (the kernel routed it into the device).</summary>
    public void Receive(byte[] packet) => read(packet);

    public override string ToString() => Name;
}
