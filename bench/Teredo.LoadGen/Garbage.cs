using System.Net;
using System.Net.Sockets;
using Teredo.Addressing;
using Teredo.Hosting.Sockets;
using Teredo.Net;
using Teredo.Wire;

/// <summary>
/// Random and mutated datagrams for a running server: a quarter pure noise, the rest valid Teredo
/// packets (RS with and without authentication, bubbles, echo requests, origin indications) with a few
/// bytes flipped and sometimes truncated, so that the input reaches deep into the checks.
/// </summary>
internal static class Garbage
{
    public static int Send(Ipv4Address server, int count, int seed, int batchSize)
    {
        var random = new Random(seed);
        var seeds = Seeds();
        var targets = new[] { new Ipv4Endpoint(server, 3544), new Ipv4Endpoint(new Ipv4Address(server.Value + 1), 3544) };
        var sockets = Enumerable.Range(0, 8).Select(_ =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            s.Bind(new IPEndPoint(IPAddress.Any, 0));
            return s;
        }).ToArray();
        using var batch = new UdpBatch(batchSize, 1500);
        long sent = 0;
        try
        {
            while (sent < count)
            {
                int n = (int)Math.Min(batchSize, count - sent);
                for (int i = 0; i < n; i++)
                {
                    var slot = batch.Next();
                    int length;
                    if (random.Next(4) == 0)
                    {
                        length = random.Next(0, 300);
                        random.NextBytes(slot[..length]);
                    }
                    else
                    {
                        var template = seeds[random.Next(seeds.Length)];
                        template.CopyTo(slot);
                        length = template.Length;
                        for (int flips = random.Next(1, 4); flips > 0; flips--)
                            slot[random.Next(length)] ^= (byte)random.Next(1, 256);
                        if (random.Next(8) == 0) length = random.Next(length);
                    }
                    batch.Commit(length, targets[random.Next(2)]);
                }
                sent += batch.Send(sockets[random.Next(sockets.Length)]);
                // Stay within what a socket buffer drains, so the server sees (nearly) all of it.
                if ((sent / batchSize) % 64 == 0) Thread.Sleep(1);
            }
        }
        finally
        {
            foreach (var s in sockets) s.Dispose();
        }
        Console.WriteLine($"garbage: sent {sent} datagrams");
        return 0;
    }

    private static byte[][] Seeds()
    {
        var client = TeredoAddress.Create(new Ipv4Address(198, 18, 0, 10), TeredoFlags.None, new Ipv4Endpoint(new Ipv4Address(198, 18, 0, 100), 40000)).Address;
        var other = TeredoAddress.Create(new Ipv4Address(198, 18, 0, 10), TeredoFlags.None, new Ipv4Endpoint(new Ipv4Address(198, 18, 2, 1), 50000)).Address;
        var list = new List<byte[]>();
        var b = new byte[600];
        int n = RouterSolicitation.Emit(b, Ipv6Address.Parse("fe80::ffff:ffff:ffff"), Ipv6Address.AllRouters);
        list.Add(b[..n]);
        n = TeredoAuthentication.Emit(b, "id"u8, 20, 1, 0);
        n += RouterSolicitation.Emit(b.AsSpan(n), Ipv6Address.Parse("fe80::8000:ffff:ffff:fffe"), Ipv6Address.AllRouters);
        list.Add(b[..n]);
        n = Bubble.Emit(b, client, other);
        list.Add(b[..n]);
        n = TeredoOriginIndication.Emit(b, new Ipv4Endpoint(new Ipv4Address(198, 18, 0, 20), 3544));
        n += Bubble.Emit(b.AsSpan(n), Ipv6Address.Parse("fe80::1"), other);
        list.Add(b[..n]);
        n = Icmpv6Echo.Emit(b, client, Ipv6Address.Parse("2001:db8:1::100"), true, 1, 1, new byte[200]);
        list.Add(b[..n]);
        return [.. list];
    }
}
