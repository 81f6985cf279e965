using Teredo.Engines;

namespace Teredo.Tests.Support;

/// <summary>
/// Where an engine sent a packet, as the tests name it: one of its ports or one of its devices. The names
/// are the handles every engine under test gives the same meaning: port 0 is its main UDP socket (the
/// client's service port, the relay's socket, the server's primary address), device 0 its TUN.
/// </summary>
public readonly record struct OutputRoute(bool IsDevice, int Index)
{
    public static readonly OutputRoute Udp = Of(new PortHandle(0));
    public static readonly OutputRoute Tun = Of(new DeviceHandle(0));
    /// <summary>The client's secondary port (§5.2.7), the server's secondary address.</summary>
    public static readonly OutputRoute UdpSecondary = Of(new PortHandle(1));
    /// <summary>The client's cone-probe socket.</summary>
    public static readonly OutputRoute UdpProbe = Of(new PortHandle(2));

    public static OutputRoute Of(PortHandle port) => new(false, port.Index);
    public static OutputRoute Of(DeviceHandle device) => new(true, device.Index);

    public PortHandle Port => IsDevice ? throw new InvalidOperationException($"{this} is a device") : new PortHandle(Index);

    public override string ToString() => IsDevice ? $"device {Index}" : $"port {Index}";
}
