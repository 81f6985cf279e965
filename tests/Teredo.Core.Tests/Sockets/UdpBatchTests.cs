using System.Net;
using System.Net.Sockets;
using Teredo.Hosting.Sockets;
using Teredo.Net;

namespace Teredo.Tests.Sockets;

/// <summary>recvmmsg/sendmmsg over loopback, with and without UDP segmentation offload.</summary>
public class UdpBatchTests
{
    private static Socket Receiver(out Ipv4Endpoint endpoint)
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        s.ReceiveTimeout = 2000;
        endpoint = new Ipv4Endpoint(new Ipv4Address(127, 0, 0, 1), (ushort)((IPEndPoint)s.LocalEndPoint!).Port);
        return s;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Every_datagram_arrives_whole_and_in_order(bool segmentation)
    {
        using var a = Receiver(out var toA);
        using var b = Receiver(out var toB);
        using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        sender.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var batch = new UdpBatch(64, 2048) { Segmentation = segmentation };
        // A run of equal datagrams to A ending in a shorter one, then B, then A again.
        var expectedA = new List<byte[]>();
        var expectedB = new List<byte[]>();
        void Add(Ipv4Endpoint to, int length, byte tag, List<byte[]> expected)
        {
            var data = Enumerable.Range(0, length).Select(i => (byte)(tag + i)).ToArray();
            data.CopyTo(batch.Next());
            batch.Commit(length, to);
            expected.Add(data);
        }
        for (byte i = 0; i < 20; i++) Add(toA, 1280, i, expectedA);
        Add(toA, 100, 99, expectedA);
        Add(toB, 1280, 7, expectedB);
        Add(toA, 1280, 8, expectedA);
        Assert.Equal(23, batch.Send(sender));

        using var rx = new UdpBatch(64, 2048);
        foreach (var (socket, expected) in new[] { (a, expectedA), (b, expectedB) })
        {
            var got = new List<byte[]>();
            while (got.Count < expected.Count)
            {
                int n = rx.Receive(socket);
                Assert.True(n > 0, "timed out");
                for (int i = 0; i < n; i++) got.Add(rx.Received(i).ToArray());
            }
            Assert.Equal(expected, got);
        }
    }
}
