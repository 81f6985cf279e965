using Teredo.Net;

namespace Teredo.Engines;

/// <summary>
/// The one shape of every packet engine (quinn-proto's I/O-free state machine is the model): input is a
/// datagram, a device packet or the clock; output goes to an <see cref="IPacketOutput"/>; the engine says
/// when it next needs the clock. No sockets, threads or clocks inside: the same engine serves the daemon,
/// the in-memory network of the tests and the benchmarks. Not thread-safe: the host serialises calls.
/// </summary>
public interface IPacketEngine
{
    /// <summary>A UDP datagram arrived on <paramref name="port"/> from <paramref name="source"/>.</summary>
    void OnDatagram(long nowMs, PortHandle port, Ipv4Endpoint source, ReadOnlySpan<byte> payload, IPacketOutput output);

    /// <summary>A whole IP packet was read from <paramref name="device"/>.</summary>
    void OnDevicePacket(long nowMs, DeviceHandle device, ReadOnlySpan<byte> packet, IPacketOutput output);

    /// <summary>The clock reached <see cref="NextDeadlineMs"/> (or later): retransmissions, expiries, refreshes.</summary>
    void OnTimer(long nowMs, IPacketOutput output);

    /// <summary>
    /// When the engine next needs <see cref="OnTimer"/>, on the same millisecond clock as nowMs;
    /// <see cref="long.MaxValue"/> when nothing is pending. The host reads it after every call into the engine.
    /// </summary>
    long NextDeadlineMs { get; }
}

/// <summary>An engine that also tells its host about things a packet cannot carry (address acquired, lease lost...).</summary>
public interface IPacketEngine<TEvent> : IPacketEngine
{
    /// <summary>The next event, oldest first; the host drains them after every call into the engine.</summary>
    bool TryTakeEvent(out TEvent engineEvent);
}
