namespace Teredo.Hosting.Privileges;

/// <summary>The Linux capabilities a daemon may keep after it dropped root (numbers from linux/capability.h).</summary>
public enum Capability
{
    /// <summary>Binding a port below 1024: none of the roles needs it (Teredo is UDP 3544, the control channel TCP 3544).</summary>
    NetBindService = 10,

    /// <summary>TUN interfaces, addresses, routes, nftables, the network sysctls.</summary>
    NetAdmin = 12,

    /// <summary>Raw sockets: the server's IPv6 forwarding of its clients' ICMPv6.</summary>
    NetRaw = 13,
}
