using Teredo.Engines;
using Teredo.Net;

namespace Teredo.Hosting.Sockets;

/// <summary>
/// An engine's output for one batch of input: UDP datagrams gathered for one sendmmsg, IPv6 packets
/// gathered for the TUN. The engine writes into a scratch slot; <see cref="Send"/> and <see cref="Write"/> copy
/// the packet into the batch it goes to (one copy of at most an MTU, cheaper than a second system call).
/// For a role with one UDP socket (port 0) and one TUN (device 0): the relay and the P2P peers.
/// </summary>
public sealed class BatchSink : IPacketOutput, IDisposable
{
    private static readonly PortHandle OnlyPort = new(0);
    private static readonly DeviceHandle OnlyDevice = new(0);

    private readonly byte[] _scratch;
    private readonly Action<ReadOnlySpan<byte>> _writeTun;
    private readonly Action<UdpBatch> _sendUdp;

    public BatchSink(int batchSize, int slotSize, Action<UdpBatch> sendUdp, Action<ReadOnlySpan<byte>> writeTun)
    {
        Udp = new UdpBatch(batchSize, slotSize);
        Tun = new UdpBatch(batchSize, slotSize);
        _scratch = new byte[slotSize];
        _sendUdp = sendUdp;
        _writeTun = writeTun;
    }

    public UdpBatch Udp { get; }
    /// <summary>Packets for the TUN; the batch's addresses are unused.</summary>
    public UdpBatch Tun { get; }

    public Span<byte> Reserve(int maxLength)
    {
        if (maxLength > _scratch.Length) throw new ArgumentOutOfRangeException(nameof(maxLength));
        return _scratch;
    }

    /// <summary>Packets an engine addressed to a port or device this sink does not have (an engine/host mismatch), dropped.</summary>
    public long UnknownHandleDrops { get; private set; }

    public void Send(PortHandle from, Ipv4Endpoint to, int length)
    {
        if (from != OnlyPort) UnknownHandleDrops++;
        else Gather(Udp, to, length);
    }

    public void Write(DeviceHandle device, int length)
    {
        if (device != OnlyDevice) UnknownHandleDrops++;
        else Gather(Tun, default, length);
    }

    private void Gather(UdpBatch batch, Ipv4Endpoint to, int length)
    {
        if (batch.IsFull) Flush();
        _scratch.AsSpan(0, length).CopyTo(batch.Next());
        batch.Commit(length, to);
    }

    /// <summary>Sends what was gathered: one sendmmsg, then one write per TUN packet.</summary>
    public void Flush()
    {
        if (Udp.Count > 0) _sendUdp(Udp);
        for (int i = 0; i < Tun.Count; i++) _writeTun(Tun.Committed(i));
        Tun.Clear();
    }

    public void Dispose()
    {
        Udp.Dispose();
        Tun.Dispose();
    }
}
