using Teredo.Common;
using Teredo.Net;

namespace Teredo.Hosting.Sockets;

/// <summary>
/// An engine's output for one batch of input: UDP datagrams gathered for one sendmmsg, IPv6 packets
/// gathered for the TUN. The engine writes into a scratch slot; <see cref="Commit"/> copies the packet
/// into the batch it is routed to (one copy of at most an MTU, cheaper than a second system call).
/// </summary>
public sealed class BatchSink : IPacketSink, IDisposable
{
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

    public void Commit(PacketRoute route, Ipv4Endpoint to, int length)
    {
        var batch = route switch
        {
            PacketRoute.Udp => Udp,
            PacketRoute.Tun => Tun,
            // Only the client's probes use the other routes, and the client has its own sink.
            _ => throw new ArgumentOutOfRangeException(nameof(route), route, "this sink has one UDP socket and one TUN"),
        };
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
