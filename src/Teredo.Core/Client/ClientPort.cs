using Teredo.Engines;

namespace Teredo.Client;

/// <summary>The client's UDP sockets, as the <see cref="PortHandle"/>s its engine reads from and sends on.</summary>
public static class ClientPort
{
    /// <summary>The Teredo service port: everything but the two optional procedures.</summary>
    public static readonly PortHandle Service = new(0);
    /// <summary>The secondary port of the refresh interval determination procedure (§5.2.7).</summary>
    public static readonly PortHandle Secondary = new(1);
    /// <summary>The socket the cone probe of qualification goes out from (see <see cref="TeredoClientEngine"/>'s qualification).</summary>
    public static readonly PortHandle Probe = new(2);
    /// <summary>The socket joined to the Teredo IPv4 discovery address 224.0.0.253, port 3544 (§5.2.8); only read from.</summary>
    public static readonly PortHandle Discovery = new(3);
    /// <summary>How many ports a host declares for a client (the optional ones may stay unbound).</summary>
    public const int Count = 4;
}
