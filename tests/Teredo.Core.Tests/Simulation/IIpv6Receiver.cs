namespace Teredo.Tests.Simulation;

/// <summary>Anything a whole IPv6 packet can be handed to: the IPv6 Internet, a host's stack, a role's device.</summary>
public interface IIpv6Receiver
{
    void Receive(byte[] packet);
}
