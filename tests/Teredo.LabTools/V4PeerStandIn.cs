using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Teredo.Hosting.P2p;
using Teredo.Net;
using Teredo.P2p.Control;
using Teredo.Wire;

/// <summary>
/// A throw-away IPv4 peer on the real control channel (<see cref="CoordinatorClient"/>, TLS with a pin): on
/// each bubble notification it bubbles the relay from its own Teredo socket (source T(D), destination the
/// relay's fe80::nonce, DESIGN.md §B.2 step 4), re-bubbles the relays of a lease moved to it (§B.6), answers
/// ICMPv6 echo for the addresses it holds (no NAT64 yet: that is the v4peer's job), and reports lease use.
/// </summary>
internal static class V4PeerStandIn
{
    public static int Run(string host, int port, string pin, string state, int seconds)
    {
        using var teredo = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        teredo.Bind(new IPEndPoint(IPAddress.Any, 0));
        teredo.ReceiveTimeout = 200;
        var held = new ConcurrentDictionary<Ipv6Address, long>(); // address -> packets since the last report
        var gate = new Lock();
        var log = new ConsoleLog();
        var client = new CoordinatorClient(new CoordinatorClientOptions
        {
            Host = host, Port = port, Pin = CertificatePin.Parse(pin), StateDirectory = state,
            InitialBackoff = TimeSpan.FromMilliseconds(500), MaxBackoff = TimeSpan.FromSeconds(4),
        }, log);
        Console.WriteLine($"v4peer: identity {client.Identity:x32}, teredo socket {teredo.LocalEndPoint}");

        void Bubble(Ipv4Endpoint relay, Ipv6Address source, Ipv6Address nonce, string why)
        {
            var b = new byte[Teredo.Wire.Bubble.Length];
            Teredo.Wire.Bubble.Emit(b, source, nonce);
            lock (gate) teredo.SendTo(b, new IPEndPoint(relay.Address.ToIPAddress(), relay.Port));
            Console.WriteLine($"v4peer: bubbled relay {relay} for {source} ({why})");
        }

        client.Welcomed += w =>
        {
            Console.WriteLine($"v4peer: welcome, static address {w.StaticAddress} suffix {w.StaticSuffix:x}");
            if (w.HasStaticAddress) held[w.StaticAddress] = 0;
        };
        client.BubbleNotified += n => Bubble(n.Relay, n.Destination, n.Source, "notification");
        client.LeaseGranted += g =>
        {
            held.TryAdd(g.Address, 0);
            Console.WriteLine($"v4peer: lease {g.Address} granted ({g.Relays.Length} relays)");
            foreach (var r in g.Relays) Bubble(r.Relay, g.Address, r.BubbleSource, "moved lease");
        };
        client.LeaseReleased += r => { held.TryRemove(r.Address, out _); Console.WriteLine($"v4peer: lease {r.Address} released ({r.Reason})"); };
        client.LeaseRevoked += r => { held.TryRemove(r.Address, out _); Console.WriteLine($"v4peer: lease {r.Address} revoked ({r.Reason})"); };
        client.Disconnected += reason => Console.WriteLine($"v4peer: disconnected: {reason}");
        client.Start();

        var buffer = new byte[2048];
        var reply = new byte[2048];
        var until = DateTime.UtcNow.AddSeconds(Math.Min(seconds, 600));
        var lastReport = DateTime.UtcNow;
        long answered = 0;
        while (DateTime.UtcNow < until)
        {
            EndPoint from = new IPEndPoint(IPAddress.Any, 0);
            int n = 0;
            try { n = teredo.ReceiveFrom(buffer, ref from); }
            catch (SocketException) { }
            if (n > 0 && TeredoDatagram.TryParse(buffer.AsSpan(0, n), out var d) == TeredoParseError.None && held.ContainsKey(d.Ipv6.Destination))
            {
                held.AddOrUpdate(d.Ipv6.Destination, 1, (_, c) => c + 1);
                if (Icmpv6Packet.TryParse(d.Ipv6, out var icmp) && Icmpv6Echo.TryParse(icmp, out var echo) && echo.IsRequest)
                {
                    int length = Icmpv6Echo.Emit(reply, d.Ipv6.Destination, d.Ipv6.Source, false, echo.Identifier, echo.Sequence, echo.Data);
                    lock (gate) teredo.SendTo(reply.AsSpan(0, length), from);
                    answered++;
                }
            }
            if (DateTime.UtcNow - lastReport > TimeSpan.FromSeconds(2))
            {
                lastReport = DateTime.UtcNow;
                var uses = new List<LeaseUse>();
                foreach (var (address, packets) in held)
                    if (packets > 0 && held.TryUpdate(address, 0, packets)) uses.Add(new LeaseUse(address, (uint)packets, 0));
                if (uses.Count > 0) _ = client.ReportUseAsync(uses);
            }
        }
        client.StopAsync().GetAwaiter().GetResult();
        Console.WriteLine($"v4peer: answered {answered} echo requests; {client.Connects} session(s)");
        return 0;
    }

    private sealed class ConsoleLog : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Console.WriteLine($"v4peer: {formatter(state, exception)}");
    }
}

/// <summary>Indirect bubbles toward COUNT random T(D) in a coordinator's /64, as fast as one socket sends them.</summary>
internal static class BubbleFlood
{
    public static int Run(Ipv4Address coordinator, int count)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        var to = new IPEndPoint(coordinator.ToIPAddress(), 3544);
        var bubble = new byte[Teredo.Wire.Bubble.Length];
        var random = new Random(7);
        int sent = 0;
        for (int i = 0; i < Math.Min(count, 1_000_000); i++)
        {
            var d = new Ipv4Address((uint)random.Next(0x0B00_0000, 0x5F00_0000));
            Teredo.Wire.Bubble.Emit(bubble, new Ipv6Address(0xFE80UL << 48, (ulong)random.NextInt64()),
                Teredo.Addressing.CoordinatorAddress.Dynamic(coordinator, d).ToIpv6());
            try { socket.SendTo(bubble, to); sent++; }
            catch (SocketException) { }
        }
        Console.WriteLine($"bubble-flood: sent {sent} of {count} bubbles to {to}");
        return 0;
    }
}
