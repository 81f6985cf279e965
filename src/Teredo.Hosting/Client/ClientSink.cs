using Teredo.Client;
using Teredo.Engines;
using Teredo.Hosting.Sockets;
using Teredo.Net;

namespace Teredo.Hosting.Client;

/// <summary>
/// The client engine's output for one batch of input: datagrams for the service port gathered for one
/// sendmmsg, IPv6 packets gathered for the TUN, and the rare datagram for the secondary port (§5.2.7)
/// or the cone-probe socket handed straight to its sender. The engine writes into a scratch slot; <see cref="Send"/> copies the
/// packet where it goes. One per thread; <see cref="Flush"/> after the engine lock is released.
/// </summary>
public sealed class ClientSink : IPacketOutput, IDisposable
{
    private readonly byte[] _scratch;
    private readonly Action<UdpBatch> _sendUdp;
    private readonly Action<ReadOnlySpan<byte>> _writeTun;
    private readonly Action<PortHandle, ReadOnlySpan<byte>, Ipv4Endpoint> _sendOther;

    /// <param name="sendOther">Sends a datagram from the secondary port or the probe socket (a few per minute at most).</param>
    public ClientSink(int batchSize, int slotSize, Action<UdpBatch> sendUdp, Action<ReadOnlySpan<byte>> writeTun,
        Action<PortHandle, ReadOnlySpan<byte>, Ipv4Endpoint> sendOther)
    {
        Udp = new UdpBatch(batchSize, slotSize) { Segmentation = true };
        Tun = new UdpBatch(batchSize, slotSize);
        _scratch = new byte[slotSize];
        _sendUdp = sendUdp;
        _writeTun = writeTun;
        _sendOther = sendOther;
    }

    public UdpBatch Udp { get; }
    public UdpBatch Tun { get; }

    public Span<byte> Reserve(int maxLength)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxLength, _scratch.Length);
        return _scratch;
    }

    public void Send(PortHandle from, Ipv4Endpoint to, int length)
    {
        if (from != ClientPort.Service)
        {
            _sendOther(from, _scratch.AsSpan(0, length), to);
            return;
        }
        if (Udp.IsFull) FlushUdp();
        _scratch.AsSpan(0, length).CopyTo(Udp.Next());
        Udp.Commit(length, to);
    }

    /// <summary>The client has one device, its TUN.</summary>
    public void Write(DeviceHandle device, int length)
    {
        if (Tun.IsFull) FlushTun();
        _scratch.AsSpan(0, length).CopyTo(Tun.Next());
        Tun.Commit(length, default);
    }

    public void Flush()
    {
        FlushUdp();
        FlushTun();
    }

    private void FlushUdp()
    {
        if (Udp.Count > 0) _sendUdp(Udp);
        Udp.Clear();
    }

    private void FlushTun()
    {
        for (int i = 0; i < Tun.Count; i++) _writeTun(Tun.Committed(i));
        Tun.Clear();
    }

    public void Dispose()
    {
        Udp.Dispose();
        Tun.Dispose();
    }
}
