using Teredo.Client;
using Teredo.Engines;
using Teredo.Net;

namespace Teredo.Tests.Simulation;

/// <summary>
/// A Teredo client on its host (behind <see cref="Nat"/>, or public): its service, secondary and probe
/// sockets, its TUN wired to <see cref="Stack"/> (the host's IPv6 stack, which answers pings), and the
/// host's side of the events: the stack takes the address the client acquires, changes or loses.
/// </summary>
public sealed class ClientRole
{
    /// <summary>
    /// The sockets bound and their local ports. The discovery socket (a multicast group) stays unbound:
    /// the model has no LAN multicast, and local discovery is off unless a test turns it on.
    /// </summary>
    public static readonly (PortHandle Handle, ushort Port)[] LocalPorts =
        [(ClientPort.Service, 50000), (ClientPort.Secondary, 50001), (ClientPort.Probe, 50002)];

    public ClientRole(SimulatedNetwork network, SimulationDriver driver, SimulatedHost host, ClientOptions options, Common.IRandomSource random)
    {
        Engine = new TeredoClientEngine(options, random);
        Host = host;
        Node = driver.NewNode(network, host.Name);
        foreach (var (handle, port) in LocalPorts) Node.AddPort(handle, host, new Ipv4Endpoint(host.Address, port));
        Stack = new Ipv6Host($"{host.Name} stack", Ipv6Address.Unspecified);
        Tun = Node.AddDevice(TeredoClientEngine.TunDevice, "tun");
        Tun.Peer = Stack;
        Stack.Uplink = Tun;
        Node.Start(Engine, OnEvent);
    }

    public TeredoClientEngine Engine { get; }
    public SimulatedHost Host { get; }
    public NatBox? Nat => Host.Nat;
    public SimulatedNode Node { get; }
    public SimulatedDevice Tun { get; }
    public Ipv6Host Stack { get; }
    /// <summary>Every event the client raised, oldest first.</summary>
    public List<ClientEvent> Events { get; } = [];
    public bool Qualified => Engine.State == ClientState.Qualified;
    public Ipv6Address Address => Engine.Address.Address;
    public Ipv4Endpoint ServiceSocket => Node.Ports[ClientPort.Service].Local;

    private void OnEvent(ClientEvent e)
    {
        Events.Add(e);
        switch (e.Kind)
        {
            case ClientEventKind.AddressAcquired or ClientEventKind.AddressChanged:
                Stack.Address = e.Address.Address;
                break;
            case ClientEventKind.AddressLost:
                Stack.Address = Ipv6Address.Unspecified;
                break;
        }
    }
}
