using System.Collections.Concurrent;
using System.Text;
using Teredo.Engines;
using Teredo.Net;

namespace Teredo.Tests.Packets;

/// <summary>
/// An engine for host tests, driven by what its datagrams say: "echo" answers from the port it came in on,
/// "both" answers from ports 0 and 1, "tun" writes the payload to device 0, "deadline N" sets the next
/// deadline to N ms, "event" raises an event carrying its sequence number, "big" sends 5000 bytes. Device packets are sent to
/// <see cref="DevicePeer"/> from port 0. It records every call.
/// </summary>
internal sealed class FakeEngine : IPacketEngine<int>
{
    public static readonly Ipv4Endpoint DevicePeer = new(Ipv4Address.Parse("198.18.0.9"), 3544);

    private readonly Queue<int> _events = new();
    private int _sequence;

    public ConcurrentQueue<(long Now, PortHandle Port, Ipv4Endpoint Source, string Text)> Datagrams { get; } = new();
    public ConcurrentQueue<(long Now, DeviceHandle Device, byte[] Packet)> DevicePackets { get; } = new();
    public ConcurrentQueue<long> Timers { get; } = new();

    /// <summary>Set when the timer fires, for threaded tests.</summary>
    public ManualResetEventSlim TimerFired { get; } = new(false);

    public long NextDeadlineMs { get; set; } = long.MaxValue;

    public void OnDatagram(long nowMs, PortHandle port, Ipv4Endpoint source, ReadOnlySpan<byte> payload, IPacketOutput output)
    {
        string text = Encoding.ASCII.GetString(payload);
        Datagrams.Enqueue((nowMs, port, source, text));
        if (text.StartsWith("deadline ", StringComparison.Ordinal)) NextDeadlineMs = long.Parse(text["deadline ".Length..]);
        else if (text == "event") _events.Enqueue(_sequence++);
        else if (text == "echo") Reply(output, port, source, payload);
        else if (text == "big")
        {
            output.Reserve(5000)[4999] = 1;
            output.Send(port, source, 5000);
        }
        else if (text == "both")
        {
            Reply(output, new PortHandle(0), source, payload);
            Reply(output, new PortHandle(1), source, payload);
        }
        else if (text.StartsWith("tun", StringComparison.Ordinal))
        {
            payload.CopyTo(output.Reserve(payload.Length));
            output.Write(new DeviceHandle(0), payload.Length);
        }
    }

    public void OnDevicePacket(long nowMs, DeviceHandle device, ReadOnlySpan<byte> packet, IPacketOutput output)
    {
        DevicePackets.Enqueue((nowMs, device, packet.ToArray()));
        Reply(output, new PortHandle(0), DevicePeer, packet);
    }

    public void OnTimer(long nowMs, IPacketOutput output)
    {
        Timers.Enqueue(nowMs);
        NextDeadlineMs = long.MaxValue;
        TimerFired.Set();
    }

    public bool TryTakeEvent(out int engineEvent) => _events.TryDequeue(out engineEvent);

    private static void Reply(IPacketOutput output, PortHandle from, Ipv4Endpoint to, ReadOnlySpan<byte> payload)
    {
        payload.CopyTo(output.Reserve(payload.Length));
        output.Send(from, to, payload.Length);
    }
}
