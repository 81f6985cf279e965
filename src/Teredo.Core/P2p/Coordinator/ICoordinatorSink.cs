namespace Teredo.P2p.Coordinator;

/// <summary>
/// Where the coordinator engine's output goes: frames into a TLS session's send buffer, and the order to
/// close a session once what was sent before is flushed. The host numbers sessions; the engine never
/// touches a socket.
/// </summary>
public interface ICoordinatorSink
{
    /// <summary>Queues one whole frame for <paramref name="session"/>; false when that session is gone or its buffer is full.</summary>
    bool Send(long session, ReadOnlySpan<byte> frame);

    /// <summary>Closes the session after its queued frames; the host then stops feeding its frames to the engine.</summary>
    void Close(long session);
}
