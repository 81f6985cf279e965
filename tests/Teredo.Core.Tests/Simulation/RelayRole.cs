using Teredo.Addressing;
using Teredo.Net;
using Teredo.Relay;

namespace Teredo.Tests.Simulation;

/// <summary>A Teredo relay on a public address; its TUN carries 2001::/32 for the IPv6 Internet.</summary>
public sealed class RelayRole
{
    public RelayRole(SimulatedNetwork network, SimulationDriver driver, Ipv6Internet internet, Ipv4Address address, RelayOptions options)
    {
        Engine = new TeredoRelayEngine(options);
        Host = network.AddHost("relay", address);
        Node = driver.NewNode(network, "relay");
        Node.AddPort(TeredoRelayEngine.UdpPort, Host, new Ipv4Endpoint(address, 3544));
        Tun = Node.AddDevice(TeredoRelayEngine.TunDevice, "tun");
        Tun.Peer = internet;
        internet.Route(options.ServicePrefix, 32, Tun);
        Node.Start(Engine);
    }

    public TeredoRelayEngine Engine { get; }
    public SimulatedHost Host { get; }
    public SimulatedNode Node { get; }
    public SimulatedDevice Tun { get; }
    public Ipv4Endpoint Endpoint => Node.Ports[TeredoRelayEngine.UdpPort].Local;
}
