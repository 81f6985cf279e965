using Teredo.Client;
using Teredo.Common;
using Teredo.Engines;
using Teredo.Net;
using Teredo.Server;
using Teredo.Wire;

namespace Teredo.Tests.Support;

/// <summary>
/// A Teredo client engine wired to a real <see cref="TeredoServerEngine"/> through a <see cref="SimulatedNat"/>,
/// with a fake clock: what the client sends to the server is translated, answered and filtered as in
/// the lab. Packets for anyone else stay in <see cref="Others"/> for the test to look at.
/// </summary>
public sealed class ClientHarness
{
    public static readonly Ipv4Address ServerPrimary = new(198, 18, 0, 10);
    public static readonly Ipv4Address ServerSecondary = new(198, 18, 0, 11);
    public static readonly Ipv4Endpoint Local = new(new Ipv4Address(10, 2, 0, 2), 50000);

    private readonly CapturedAnswer _serverOutput = new();

    public ClientHarness(NatBehaviour nat, Func<ClientOptions, ClientOptions>? configure = null, ServerOptions? server = null,
        IRandomSource? random = null)
    {
        var options = new ClientOptions { Server = ServerPrimary, NonceKey = new byte[32] };
        Options = configure is null ? options : configure(options);
        Client = new TeredoClientEngine(Options, random ?? new ScriptedRandom());
        Server = new TeredoServerEngine(server ?? new ServerOptions { Primary = ServerPrimary });
        Nat = new SimulatedNat(nat, nat == NatBehaviour.None ? Local.Address : new Ipv4Address(198, 18, 2, 1));
    }

    public ClientOptions Options { get; }
    public TeredoClientEngine Client { get; }
    public TeredoServerEngine Server { get; }
    public SimulatedNat Nat { get; }
    public ListSink Sink { get; } = new();
    public long Now { get; set; }
    public bool ServerUp { get; set; } = true;
    public List<ClientEvent> Events { get; } = [];
    /// <summary>Datagrams to anyone but the server, and TUN packets.</summary>
    public List<(OutputRoute Route, Ipv4Endpoint To, byte[] Bytes)> Others { get; } = [];
    /// <summary>Everything the client wrote, in order, with the moment it did.</summary>
    public List<(long AtMs, OutputRoute Route, Ipv4Endpoint To, byte[] Bytes)> Trace { get; } = [];
    /// <summary>
    /// Set for a harness driven by <see cref="AdvanceByDeadlines"/>: every input then checks that it left the
    /// deadline no earlier than now (that host served every earlier deadline first).
    /// </summary>
    public bool DeadlineHost { get; set; }
    /// <summary>Calls of the client's timer so far.</summary>
    public int TimerCalls { get; private set; }
    /// <summary>Every datagram the client sent to the server, as the server received it.</summary>
    public List<(Ipv4Endpoint To, Ipv4Endpoint From, byte[] Bytes)> ToServer { get; } = [];

    public void Start()
    {
        Client.Start(Now, Sink);
        Pump();
    }

    /// <summary>Runs the timer every <paramref name="stepMs"/> for <paramref name="ms"/> milliseconds.</summary>
    public void Advance(long ms, long stepMs = 100)
    {
        long end = Now + ms;
        while (Now < end)
        {
            Now = Math.Min(end, Now + stepMs);
            Client.OnTimer(Now, Sink);
            TimerCalls++;
            Pump();
        }
    }

    /// <summary>
    /// Runs the timer only when the client's deadline is due, the clock jumping straight to it, for
    /// <paramref name="ms"/> milliseconds; checks that no call leaves the deadline in the past.
    /// </summary>
    public void AdvanceByDeadlines(long ms)
    {
        long end = Now + ms;
        while (Client.NextDeadlineMs <= end)
        {
            Now = Math.Max(Now, Client.NextDeadlineMs);
            Client.OnTimer(Now, Sink);
            TimerCalls++;
            Assert.True(Client.NextDeadlineMs > Now, $"after OnTimer({Now}) the deadline is {Client.NextDeadlineMs}");
            Pump();
            // The server's answers came in at Now: the deadline may be due at once, never before.
            Assert.True(Client.NextDeadlineMs >= Now, $"after the answers at {Now} the deadline is {Client.NextDeadlineMs}");
        }
        Now = end;
    }

    /// <summary>Delivers what the client sent to the server, and the server's answers back through the NAT.</summary>
    public void Pump()
    {
        for (int round = 0; round < 10 && Sink.Packets.Count > 0; round++)
        {
            foreach (var (route, to, bytes) in Sink.Take())
            {
                Trace.Add((Now, route, to, bytes));
                bool toServer = route != OutputRoute.Tun && to.Port == 3544 && (to.Address == ServerPrimary || to.Address == ServerSecondary);
                if (!toServer)
                {
                    // Opens the NAT toward that destination, as the real one would.
                    if (route != OutputRoute.Tun && !to.Address.IsIn(new Ipv4Address(224, 0, 0, 0), 4))
                        Nat.Outbound(LocalFor(route), to);
                    Others.Add((route, to, bytes));
                    continue;
                }
                var local = LocalFor(route);
                var mapped = Nat.Outbound(local, to);
                ToServer.Add((to, mapped, bytes));
                if (!ServerUp) continue;
                var via = to.Address == ServerPrimary ? TeredoServerEngine.PrimaryPort : TeredoServerEngine.SecondaryPort;
                var result = Server.Answer(_serverOutput, Now, via, mapped, bytes);
                if (result.Kind != AnswerKind.Udp) continue;
                var from = new Ipv4Endpoint(result.From == TeredoServerEngine.PrimaryPort ? ServerPrimary : ServerSecondary, 3544);
                if (!Nat.Inbound(from, result.To)) continue;
                // The answer comes back to the socket the request left from.
                Client.OnDatagram(Now, route.Port, from, _serverOutput.Buffer.AsSpan(0, result.Length), Sink);
            }
            TakeEvents();
        }
        TakeEvents();
    }

    /// <summary>The client's sockets: service port, secondary port (§5.2.7), cone-probe socket.</summary>
    public static Ipv4Endpoint LocalFor(OutputRoute route) =>
        route == OutputRoute.UdpSecondary ? Local with { Port = (ushort)(Local.Port + 1) }
        : route == OutputRoute.UdpProbe ? Local with { Port = (ushort)(Local.Port + 2) }
        : Local;

    public void TakeEvents()
    {
        while (Client.TryTakeEvent(out var e)) Events.Add(e);
    }

    /// <summary>A datagram from <paramref name="from"/> to the client's public mapping, if the NAT lets it in.</summary>
    public bool Receive(Ipv4Endpoint from, ReadOnlySpan<byte> payload, PortHandle port = default)
    {
        if (port == ClientPort.Service && !Nat.Inbound(from, Client.Mapped)) return false;
        Client.OnDatagram(Now, port, from, payload, Sink);
        Pump();
        CheckDeadline();
        return true;
    }

    public void FromTun(ReadOnlySpan<byte> packet)
    {
        Client.OnDevicePacket(Now, TeredoClientEngine.TunDevice, packet, Sink);
        Pump();
        CheckDeadline();
    }

    private void CheckDeadline()
    {
        if (DeadlineHost) Assert.True(Client.NextDeadlineMs >= Now, $"after an input at {Now} the deadline is {Client.NextDeadlineMs}");
    }

    public List<(OutputRoute Route, Ipv4Endpoint To, byte[] Bytes)> TakeOthers()
    {
        var taken = Others.ToList();
        Others.Clear();
        return taken;
    }

    public void Qualify()
    {
        Start();
        Assert.Equal(ClientState.Qualified, Client.State);
        TakeOthers();
        Events.Clear();
    }

    public static bool IsBubble(byte[] bytes, out Ipv6Address source, out Ipv6Address destination)
    {
        source = destination = default;
        if (!Ipv6Packet.TryParse(bytes, out var ip) || !ip.IsBubble) return false;
        source = ip.Source;
        destination = ip.Destination;
        return true;
    }
}
