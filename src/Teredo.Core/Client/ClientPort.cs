namespace Teredo.Client;

/// <summary>Which of the client's sockets a datagram arrived on.</summary>
public enum ClientPort
{
    /// <summary>The Teredo service port: everything but the two optional procedures.</summary>
    Service,
    /// <summary>The secondary port of the refresh interval determination procedure (§5.2.7).</summary>
    Secondary,
    /// <summary>The socket the cone probe of qualification goes out from (see <see cref="TeredoClientEngine"/>'s qualification).</summary>
    Probe,
    /// <summary>The socket joined to the Teredo IPv4 discovery address 224.0.0.253, port 3544 (§5.2.8).</summary>
    Discovery,
}
