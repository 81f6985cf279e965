namespace Teredo.Engines;

/// <summary>
/// One of the packet devices a role declared (a TUN interface, or a raw IPv6 socket that only sends), by
/// its place in the role's list. Whole IP packets, no link header.
/// </summary>
public readonly record struct DeviceHandle(int Index)
{
    public override string ToString() => $"device {Index}";
}
