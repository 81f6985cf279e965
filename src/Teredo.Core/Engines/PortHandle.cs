namespace Teredo.Engines;

/// <summary>
/// One of the UDP sockets a role declared, by its place in the role's list (the server: primary, secondary;
/// the client: service, secondary, probe, discovery). The host maps it to a bind; the engine never sees one.
/// </summary>
public readonly record struct PortHandle(int Index)
{
    public override string ToString() => $"port {Index}";
}
