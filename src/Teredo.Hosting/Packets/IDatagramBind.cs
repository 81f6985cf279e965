using Teredo.Hosting.Sockets;
using Teredo.Net;

namespace Teredo.Hosting.Packets;

/// <summary>
/// One UDP/IPv4 socket as the packet host sees it (wireguard-go's conn.Bind is the model): batches in,
/// batches out. The kernel's bind (<see cref="UdpBind"/>) uses recvmmsg, sendmmsg and UDP GSO; the
/// in-memory twin (<see cref="InMemoryBind"/>) carries datagrams through the tests' simulated network.
/// One thread may receive while others send.
/// </summary>
public interface IDatagramBind : IDisposable
{
    /// <summary>The address and port datagrams leave from.</summary>
    Ipv4Endpoint Local { get; }

    /// <summary>
    /// Fills <paramref name="batch"/> with what arrived, from slot 0: waits up to the bind's receive
    /// timeout for the first datagram, then takes what else is queued. 0 on timeout.
    /// Throws <see cref="ObjectDisposedException"/> once the bind is closed: the receive loop ends.
    /// </summary>
    int Receive(UdpBatch batch);

    /// <summary>Like <see cref="Receive"/> but never waits: what is queued now, 0 when nothing is (the host's manual driver).</summary>
    int Poll(UdpBatch batch);

    /// <summary>Sends every datagram committed to <paramref name="batch"/>, then clears it; returns how many were lost.</summary>
    int Send(UdpBatch batch);
}
