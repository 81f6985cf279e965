namespace Teredo.Hosting.Packets;

/// <summary>How a <see cref="UdpBind"/> sets up its socket.</summary>
public sealed record UdpBindOptions
{
    /// <summary>SO_REUSEPORT: several binds share the address and the kernel spreads senders over them (the server's shards).</summary>
    public bool ReusePort { get; init; }

    /// <summary>SO_REUSEADDR: a multicast group's port that other listeners on the host may share (the client's local discovery).</summary>
    public bool ReuseAddress { get; init; }

    /// <summary>SO_RCVBUF and SO_SNDBUF.</summary>
    public int BufferBytes { get; init; } = 4 << 20;

    /// <summary>How long a receive waits before it returns empty, so that its loop notices shutdown.</summary>
    public int ReceiveTimeoutMs { get; init; } = 250;

    /// <summary>UDP GSO for runs of datagrams to one destination (bulk traffic through a relay or client).</summary>
    public bool Segmentation { get; init; }

    /// <exception cref="ArgumentOutOfRangeException">A size or timeout out of range.</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(BufferBytes, 4096, nameof(BufferBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(ReceiveTimeoutMs, 1, nameof(ReceiveTimeoutMs));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(ReceiveTimeoutMs, 60_000, nameof(ReceiveTimeoutMs));
    }
}
