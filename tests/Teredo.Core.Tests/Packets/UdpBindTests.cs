using Teredo.Hosting.Packets;
using Teredo.Hosting.Sockets;
using Teredo.Net;

namespace Teredo.Tests.Packets;

public class UdpBindTests
{
    private static readonly Ipv4Endpoint Loopback = new(Ipv4Address.Parse("127.0.0.1"), 0);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_batch_sent_from_one_bind_is_received_by_another_with_its_source(bool segmentation)
    {
        using var a = UdpBind.Open(Loopback, new UdpBindOptions { Segmentation = segmentation });
        using var b = UdpBind.Open(Loopback, new UdpBindOptions { ReceiveTimeoutMs = 2000 });
        Assert.NotEqual(0, a.Local.Port);
        using var tx = new UdpBatch(8, 2048);
        for (int i = 0; i < 3; i++)
        {
            tx.Next()[..100].Fill((byte)i);
            tx.Commit(100, b.Local);
        }

        Assert.Equal(0, a.Send(tx));
        Assert.Equal(0, tx.Count);

        using var rx = new UdpBatch(8, 2048);
        int received = 0;
        for (int tries = 0; received < 3 && tries < 5; tries++)
        {
            int n = received == 0 ? b.Receive(rx) : b.Poll(rx);
            for (int i = 0; i < n; i++)
            {
                Assert.Equal(a.Local, rx.Source(i));
                Assert.Equal(100, rx.Received(i).Length);
                Assert.Equal((byte)(received + i), rx.Received(i)[0]);
            }
            received += n;
        }
        Assert.Equal(3, received);
        Assert.Equal(0, b.Poll(rx));
    }

    [Fact]
    public void A_closed_bind_ends_its_receive_loop()
    {
        var bind = UdpBind.Open(Loopback);
        bind.Dispose();
        using var rx = new UdpBatch(1, 2048);
        Assert.Throws<ObjectDisposedException>(() => bind.Receive(rx));
    }
}
