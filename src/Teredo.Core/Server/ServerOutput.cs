using Teredo.Net;

namespace Teredo.Server;

/// <summary>Which of the server's two IPv4 addresses a datagram arrived on or leaves from.</summary>
public enum ServerAddress
{
    Primary,
    Secondary,
}

public enum ServerOutputKind
{
    None,
    /// <summary>Send the output bytes over UDP from <see cref="ServerOutput.From"/>:3544 to <see cref="ServerOutput.To"/>.</summary>
    Udp,
    /// <summary>Send the output bytes (a whole IPv6 packet) to the native IPv6 network.</summary>
    NativeIpv6,
}

/// <summary>What the engine asks the host to do with the bytes it wrote into the output buffer.</summary>
public readonly record struct ServerOutput(ServerOutputKind Kind, ServerAddress From, Ipv4Endpoint To, int Length)
{
    public static readonly ServerOutput None = default;
}
