using Teredo.Client;
using Teredo.Net;
using Teredo.Relay;
using Teredo.Server;
using Teredo.Tests.Support;

namespace Teredo.Tests.Simulation;

/// <summary>
/// Standard Teredo on the simulated network, the template for the P2P roles: a server (198.18.0.10 and
/// .11, forwarding ICMPv6 to native IPv6), a relay (198.18.0.20), the IPv6 Internet with a native host
/// (2001:db8:1::10) that answers pings, and clients added behind a NAT of each kind. Every role is the
/// real engine, run by the real packet host's manual driver unless <paramref name="driver"/> says otherwise;
/// every chance (link loss, the roles' nonces and jitter) comes from <paramref name="seed"/>.
/// </summary>
public sealed class TeredoSimulation : IDisposable
{
    public static readonly Ipv4Address ServerPrimary = new(198, 18, 0, 10);
    /// <summary>Where clients qualify and refresh: the server's primary address, port 3544.</summary>
    public static readonly Ipv4Endpoint ServerPrimaryEndpoint = new(ServerPrimary, 3544);
    public static readonly Ipv4Address RelayAddress = new(198, 18, 0, 20);
    public static readonly Ipv6Address NativeHostAddress = Ipv6Address.Parse("2001:db8:1::10");
    public static readonly Ipv6Address RelayOwnAddress = Ipv6Address.Parse("2001:db8:ffff::1");

    private readonly int _seed;
    private readonly SimulationDriver _driver;
    private int _clients;

    public TeredoSimulation(int seed = 1, SimulatedLink? link = null, Func<ServerOptions, ServerOptions>? server = null,
        Func<RelayOptions, RelayOptions>? relay = null, SimulationDriver driver = SimulationDriver.PacketHost)
    {
        _seed = seed;
        _driver = driver;
        Network = new SimulatedNetwork(seed, link);
        Internet = new Ipv6Internet(Network);
        var serverOptions = new ServerOptions { Primary = ServerPrimary, Ipv6Forwarding = true };
        Server = new ServerRole(Network, driver, Internet, server is null ? serverOptions : server(serverOptions));
        var relayOptions = new RelayOptions { NonceKey = Key(0), OwnAddress = RelayOwnAddress };
        Relay = new RelayRole(Network, driver, Internet, RelayAddress, relay is null ? relayOptions : relay(relayOptions));
        NativeHost = new Ipv6Host("native host", NativeHostAddress) { Uplink = Internet };
        Internet.Route(NativeHostAddress, 128, NativeHost);
    }

    public SimulatedNetwork Network { get; }
    public Ipv6Internet Internet { get; }
    public ServerRole Server { get; }
    public RelayRole Relay { get; }
    public Ipv6Host NativeHost { get; }
    public List<ClientRole> Clients { get; } = [];

    /// <summary>
    /// A client on host 10.N.0.2 behind a NAT of <paramref name="nat"/>'s kind at 198.18.1.N (or on the
    /// public address 198.18.2.N when <paramref name="nat"/> is null). It starts at its first timer.
    /// </summary>
    public ClientRole AddClient(NatKind? nat, Func<ClientOptions, ClientOptions>? configure = null, SimulatedLink? link = null,
        long natTimeoutMs = 120_000)
    {
        int n = ++_clients;
        SimulatedHost host;
        if (nat is { } kind)
        {
            var box = Network.AddNat(new NatBox(kind, new Ipv4Address(198, 18, 1, (byte)n), natTimeoutMs), link);
            host = Network.AddHostBehind(box, $"client{n}", new Ipv4Address(10, (byte)n, 0, 2));
        }
        else
        {
            host = Network.AddHost($"client{n}", link, new Ipv4Address(198, 18, 2, (byte)n));
        }
        var options = new ClientOptions { Server = ServerPrimary, NonceKey = Key(n) };
        var client = new ClientRole(Network, _driver, host, configure is null ? options : configure(options), new ScriptedRandom(_seed * 1000 + n));
        Clients.Add(client);
        return client;
    }

    /// <summary>Runs until every client is qualified; false if <paramref name="maxMs"/> passed first.</summary>
    public bool QualifyAll(long maxMs = 60_000) => Network.RunUntil(() => Clients.TrueForAll(c => c.Qualified), maxMs);

    /// <summary>Pings <paramref name="to"/> from <paramref name="from"/> and runs until the reply is back or <paramref name="maxMs"/> passed.</summary>
    public bool Ping(Ipv6Host from, Ipv6Address to, ushort sequence, long maxMs = 20_000)
    {
        from.Ping(to, sequence);
        return Network.RunUntil(() => from.GotReply(to, sequence), maxMs);
    }

    /// <summary>Closes the packet hosts.</summary>
    public void Dispose() => Network.Dispose();

    /// <summary>A nonce key per role, fixed by the seed: runs repeat bit for bit.</summary>
    private byte[] Key(int role)
    {
        var key = new byte[32];
        new Random(_seed * 7919 + role).NextBytes(key);
        return key;
    }
}
