using System.Net;
using System.Net.Sockets;
using Teredo.Addressing;
using Teredo.Net;
using Teredo.Wire;

// teredo-labtools p2p-coordinator ADDRESS       listens on ADDRESS:3544 (relay bubbles) and ADDRESS:4000 (peers)
// teredo-labtools p2p-peer COORDINATOR SECONDS  registers, answers bubbles for its T(D) and echo requests to it
// teredo-labtools p2p-v4peer HOST PORT PIN STATE SECONDS  the real control channel (TLS, pinned), answers bubbles and echo
// teredo-labtools bubble-flood COORDINATOR COUNT   indirect bubbles for COUNT random T(D) (at most a million)
// teredo-labtools flood6 SERVER COUNT           UDP/IPv6 to COUNT distinct Teredo destinations under a server
// teredo-labtools sink TEREDO-ADDRESS PORT SECONDS  a public Teredo endpoint that only answers bubbles
// teredo-labtools blast6 DESTINATION SECONDS    1200-byte UDP/IPv6 datagrams to one destination, as fast as possible
// teredo-labtools tun-exchange TUN CASES        Jool graybox packets through the kernel and a translator's TUN (TunExchange.cs)
// teredo-labtools bubbles COORDINATOR COUNT SECONDS   random relay-style bubbles into a coordinator's /64 (UDP 3544)
// teredo-labtools garbage ADDRESS PORT COUNT SECONDS  random and mutated Teredo datagrams at one UDP socket
return args switch
{
    ["p2p-coordinator", var address] => P2P.Coordinator(Ipv4Address.Parse(address)),
    ["p2p-peer", var coordinator, var seconds] => P2P.Peer(Ipv4Address.Parse(coordinator), int.Parse(seconds)),
    ["p2p-v4peer", var host, var port, var pin, var state, var seconds] => V4PeerStandIn.Run(host, int.Parse(port), pin, state, int.Parse(seconds)),
    ["bubble-flood", var coordinator, var count] => BubbleFlood.Run(Ipv4Address.Parse(coordinator), int.Parse(count)),
    ["flood6", var server, var count] => Flood.Run(Ipv4Address.Parse(server), int.Parse(count)),
    ["sink", var teredoAddress, var port, var seconds] => Sink.Run(Ipv6Address.Parse(teredoAddress), ushort.Parse(port), int.Parse(seconds)),
    ["blast6", var destination, var seconds] => Flood.Blast(Ipv6Address.Parse(destination), double.Parse(seconds, System.Globalization.CultureInfo.InvariantCulture)),
    ["tun-exchange", var device, var cases] => TunExchange.Run(device, cases),
    ["bubbles", var coordinator, var count, var seconds] => Storm.Bubbles(Ipv4Address.Parse(coordinator), int.Parse(count), int.Parse(seconds)),
    ["garbage", var address, var port, var count, var seconds] => Storm.Garbage(Ipv4Address.Parse(address), ushort.Parse(port), int.Parse(count), int.Parse(seconds)),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: teredo-labtools p2p-coordinator ADDRESS | p2p-peer COORDINATOR SECONDS | flood6 SERVER COUNT");
    return 2;
}

/// <summary>
/// The smallest stand-in for the P2P network's coordinator and IPv4 peer, over plain UDP instead of
/// TLS: the peer registers over a control socket, the coordinator hands it each relay bubble for an
/// address in its /64 (with the relay's socket address), and the peer answers the relay from its own
/// Teredo socket, whose address is not the one embedded in T(D).
/// </summary>
internal static class P2P
{
    private const int ControlPort = 4000;

    public static int Coordinator(Ipv4Address address)
    {
        using var bubbles = Bind(address, TeredoAddress.Port);
        using var control = Bind(address, ControlPort);
        EndPoint? peer = null;
        var buffer = new byte[2048];
        Console.WriteLine($"coordinator on {address}");
        while (true)
        {
            var ready = new List<Socket> { bubbles, control };
            Socket.Select(ready, null, null, 1_000_000);
            foreach (var socket in ready)
            {
                EndPoint from = new IPEndPoint(IPAddress.Any, 0);
                int n = socket.ReceiveFrom(buffer, ref from);
                if (socket == control)
                {
                    peer = from; // registration / keepalive: remember the peer's mapping
                    continue;
                }
                if (peer is null || TeredoDatagram.TryParse(buffer.AsSpan(0, n), out var d) != TeredoParseError.None || !d.Ipv6.IsBubble)
                    continue;
                var relay = (IPEndPoint)from;
                // relay IPv4 (4) | relay port (2) | bubble source, the relay's nonce (16) | bubble destination, T(D) (16)
                var notice = new byte[38];
                relay.Address.TryWriteBytes(notice, out _);
                notice[4] = (byte)(relay.Port >> 8);
                notice[5] = (byte)relay.Port;
                d.Ipv6.Source.Write(notice.AsSpan(6));
                d.Ipv6.Destination.Write(notice.AsSpan(22));
                control.SendTo(notice, peer);
                Console.WriteLine($"bubble from relay {relay} for {d.Ipv6.Destination}: handed to peer {peer}");
            }
        }
    }

    public static int Peer(Ipv4Address coordinator, int seconds)
    {
        using var control = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        using var teredo = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        control.Bind(new IPEndPoint(IPAddress.Any, 0));
        teredo.Bind(new IPEndPoint(IPAddress.Any, 0));
        var coordinatorControl = new IPEndPoint(coordinator.ToIPAddress(), ControlPort);
        var buffer = new byte[2048];
        var reply = new byte[2048];
        var until = DateTime.UtcNow.AddSeconds(seconds);
        var lastHello = DateTime.MinValue;
        int answered = 0;
        Console.WriteLine($"peer: control {control.LocalEndPoint}, teredo {teredo.LocalEndPoint}");
        while (DateTime.UtcNow < until)
        {
            if (DateTime.UtcNow - lastHello > TimeSpan.FromSeconds(1))
            {
                control.SendTo("hello"u8.ToArray(), coordinatorControl);
                lastHello = DateTime.UtcNow;
            }
            var ready = new List<Socket> { control, teredo };
            Socket.Select(ready, null, null, 200_000);
            foreach (var socket in ready)
            {
                EndPoint from = new IPEndPoint(IPAddress.Any, 0);
                int n = socket.ReceiveFrom(buffer, ref from);
                if (socket == control && n == 38)
                {
                    var relay = new IPEndPoint(new IPAddress(buffer.AsSpan(0, 4)), buffer[4] << 8 | buffer[5]);
                    var nonceSource = Ipv6Address.Read(buffer.AsSpan(6));
                    var target = Ipv6Address.Read(buffer.AsSpan(22));
                    int length = Bubble.Emit(reply, target, nonceSource);
                    teredo.SendTo(reply.AsSpan(0, length), relay);
                    Console.WriteLine($"answered relay {relay} for {target} from {teredo.LocalEndPoint}");
                }
                else if (socket == teredo && TeredoDatagram.TryParse(buffer.AsSpan(0, n), out var d) == TeredoParseError.None
                         && Icmpv6Packet.TryParse(d.Ipv6, out var icmp) && Icmpv6Echo.TryParse(icmp, out var echo) && echo.IsRequest)
                {
                    int length = Icmpv6Echo.Emit(reply, d.Ipv6.Destination, d.Ipv6.Source, false, echo.Identifier, echo.Sequence, echo.Data);
                    teredo.SendTo(reply.AsSpan(0, length), from);
                    answered++;
                }
            }
        }
        Console.WriteLine($"peer: answered {answered} echo requests");
        return 0;
    }

    private static Socket Bind(Ipv4Address address, ushort port)
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        s.Bind(new IPEndPoint(address.ToIPAddress(), port));
        return s;
    }
}

/// <summary>UDP over IPv6 to many distinct Teredo destinations (non-cone, global mapped addresses) under one server.</summary>
internal static class Flood
{
    public static int Run(Ipv4Address server, int count)
    {
        using var socket = new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp);
        var payload = new byte[32];
        var random = new Random(6);
        int sent = 0;
        for (int i = 0; i < count; i++)
        {
            var mapped = new Ipv4Endpoint(new Ipv4Address((uint)random.Next(0x0B00_0000, 0x6000_0000)), (ushort)random.Next(1024, 65535));
            var destination = TeredoAddress.Create(server, TeredoFlags.None, mapped).Address;
            try
            {
                socket.SendTo(payload, new IPEndPoint(destination.ToIPAddress(), 9));
                sent++;
            }
            catch (SocketException)
            {
                // A full queue or an unreachable error from an earlier packet: keep flooding.
            }
        }
        Console.WriteLine($"flood6: sent {sent} of {count} datagrams to distinct Teredo destinations");
        return 0;
    }

    /// <summary>Open-loop load for a relay: what reaches the far side measures the relay alone.</summary>
    public static int Blast(Ipv6Address destination, double seconds)
    {
        using var socket = new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp);
        socket.Connect(new IPEndPoint(destination.ToIPAddress(), 40000));
        var payload = new byte[1200]; // 1200 + 8 + 40 fits the 1280-byte Teredo MTU
        var clock = System.Diagnostics.Stopwatch.StartNew();
        long sent = 0;
        while (clock.Elapsed.TotalSeconds < Math.Min(seconds, 60))
        {
            try { socket.Send(payload); sent++; }
            catch (SocketException) { }
        }
        Console.WriteLine($"blast6: sent {sent} datagrams in {clock.Elapsed.TotalSeconds:F2} s ({sent / clock.Elapsed.TotalSeconds:F0}/s)");
        return 0;
    }
}

/// <summary>
/// The far end of a relay capacity test: a host with a public address owning a Teredo address that
/// embeds its own socket, answering indirect bubbles (which arrive through the server with an origin
/// indication) with a direct bubble, as any client would, and otherwise just receiving.
/// </summary>
internal static class Sink
{
    public static int Run(Ipv6Address own, ushort port, int seconds)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.ReceiveBufferSize = 8 << 20;
        socket.ReceiveTimeout = 200;
        socket.Bind(new IPEndPoint(IPAddress.Any, port));
        var buffer = new byte[2048];
        var reply = new byte[Bubble.Length];
        var until = DateTime.UtcNow.AddSeconds(Math.Min(seconds, 600));
        long received = 0, answered = 0;
        while (DateTime.UtcNow < until)
        {
            int n;
            try { n = socket.Receive(buffer); }
            catch (SocketException) { continue; }
            received++;
            if (TeredoDatagram.TryParse(buffer.AsSpan(0, n), out var d) != TeredoParseError.None || !d.Ipv6.IsBubble || !d.HasOrigin)
                continue;
            Bubble.Emit(reply, own, d.Ipv6.Source);
            socket.SendTo(reply, new IPEndPoint(d.Origin.Address.ToIPAddress(), d.Origin.Port));
            answered++;
        }
        Console.WriteLine($"sink: received {received}, answered {answered} bubbles");
        return 0;
    }
}

/// <summary>
/// Bounded storms for the P2P fault tests: bubbles as a relay would send them (fe80::nonce → an address
/// of the coordinator's /64 with a random embedded destination and suffix), and random or mutated
/// Teredo datagrams at an IPv4 peer's socket. Both stop at COUNT datagrams or SECONDS, whichever first.
/// </summary>
internal static class Storm
{
    public static int Bubbles(Ipv4Address coordinator, int count, int seconds)
    {
        var random = new Random(5991);
        var datagram = new byte[Bubble.Length];
        var target = new byte[16];
        var source = new byte[16];
        return Send(new Ipv4Endpoint(coordinator, TeredoAddress.Port), count, seconds, span =>
        {
            // 2001:0000 | S | 0x00 | random D | random suffix (zero half of the time: a dynamic address)
            random.NextBytes(target);
            target[0] = 0x20; target[1] = 0x01; target[2] = 0; target[3] = 0;
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(target.AsSpan(4), coordinator.Value);
            target[8] = 0;
            if (random.Next(2) == 0) target[13] = target[14] = target[15] = 0;
            random.NextBytes(source);
            source[0] = 0xfe; source[1] = 0x80;
            source.AsSpan(2, 6).Clear();
            int n = Bubble.Emit(datagram, Ipv6Address.Read(source), Ipv6Address.Read(target));
            datagram.AsSpan(0, n).CopyTo(span);
            return n;
        });
    }

    public static int Garbage(Ipv4Address address, ushort port, int count, int seconds)
    {
        var random = new Random(4380);
        var bubble = new byte[Bubble.Length];
        return Send(new Ipv4Endpoint(address, port), count, seconds, span =>
        {
            if (random.Next(2) == 0)
            {
                int length = random.Next(0, 1300);
                random.NextBytes(span[..length]);
                return length;
            }
            // a bubble with a few bytes flipped and sometimes cut short: reaches past the first checks
            var addresses = new byte[32];
            random.NextBytes(addresses);
            int n = Bubble.Emit(bubble, Ipv6Address.Read(addresses), Ipv6Address.Read(addresses.AsSpan(16)));
            bubble.AsSpan(0, n).CopyTo(span);
            for (int flips = random.Next(0, 4); flips > 0; flips--) span[random.Next(n)] ^= (byte)random.Next(1, 256);
            return random.Next(4) == 0 ? random.Next(0, n) : n;
        });
    }

    private static int Send(Ipv4Endpoint target, int count, int seconds, Func<Span<byte>, int> next)
    {
        var sockets = new Socket[8];
        for (int i = 0; i < sockets.Length; i++)
        {
            sockets[i] = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            sockets[i].Bind(new IPEndPoint(IPAddress.Any, 0));
        }
        var to = new IPEndPoint(target.Address.ToIPAddress(), target.Port);
        var buffer = new byte[1500];
        var clock = System.Diagnostics.Stopwatch.StartNew();
        long sent = 0;
        for (int i = 0; i < Math.Min(count, 10_000_000) && clock.Elapsed.TotalSeconds < Math.Min(seconds, 120); i++)
        {
            int n = next(buffer);
            try { sockets[i & 7].SendTo(buffer.AsSpan(0, n), SocketFlags.None, to); sent++; }
            catch (SocketException) { } // a full queue or an ICMP error from an earlier datagram: keep going
        }
        foreach (var s in sockets) s.Dispose();
        Console.WriteLine($"storm: sent {sent} datagrams to {target} in {clock.Elapsed.TotalSeconds:F2} s");
        return 0;
    }
}
