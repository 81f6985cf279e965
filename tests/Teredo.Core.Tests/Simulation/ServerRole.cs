using Teredo.Net;
using Teredo.Server;

namespace Teredo.Tests.Simulation;

/// <summary>A Teredo server on two consecutive public addresses, its native-IPv6 output wired to the IPv6 Internet.</summary>
public sealed class ServerRole
{
    public ServerRole(SimulatedNetwork network, SimulationDriver driver, Ipv6Internet internet, ServerOptions options)
    {
        Engine = new TeredoServerEngine(options);
        Host = network.AddHost("server", options.Primary, options.SecondaryAddress);
        Node = driver.NewNode(network, "server");
        Node.AddPort(TeredoServerEngine.PrimaryPort, Host, new Ipv4Endpoint(options.Primary, 3544));
        Node.AddPort(TeredoServerEngine.SecondaryPort, Host, new Ipv4Endpoint(options.SecondaryAddress, 3544));
        Node.AddDevice(TeredoServerEngine.NativeIpv6Device, "native IPv6").Peer = internet;
        Node.Start(Engine);
    }

    public TeredoServerEngine Engine { get; }
    public SimulatedHost Host { get; }
    public SimulatedNode Node { get; }
}
