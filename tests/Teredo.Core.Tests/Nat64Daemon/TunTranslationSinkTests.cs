using Teredo.Hosting.Nat64;
using Teredo.Hosting.Tun;

namespace Teredo.Tests.Nat64Daemon;

public class TunTranslationSinkTests
{
    private static byte[] Packet(int length, byte fill)
    {
        var p = new byte[length];
        Array.Fill(p, fill);
        p[0] = 0x45;
        return p;
    }

    [Fact]
    public void Packets_reach_the_tun_in_order_only_on_flush()
    {
        using var tun = new InMemoryTun(mtu: 1500);
        using var sink = new TunTranslationSink(tun, batchSize: 4, slotSize: 2048);
        foreach (byte b in new byte[] { 1, 2, 3 })
        {
            var p = Packet(100 + b, b);
            p.CopyTo(sink.Reserve(1500));
            sink.Commit(p.Length);
        }
        Assert.Null(tun.TakeWritten(TimeSpan.Zero));
        sink.Flush();
        foreach (byte b in new byte[] { 1, 2, 3 }) Assert.Equal(Packet(100 + b, b), tun.TakeWritten(TimeSpan.FromSeconds(1)));
        Assert.Equal(3, sink.Written);
    }

    [Fact]
    public void A_full_batch_is_flushed_before_the_next_packet()
    {
        using var tun = new InMemoryTun(mtu: 1500);
        using var sink = new TunTranslationSink(tun, batchSize: 2, slotSize: 2048);
        for (byte b = 1; b <= 3; b++)
        {
            var p = Packet(60, b);
            p.CopyTo(sink.Reserve(60));
            sink.Commit(60);
        }
        Assert.Equal(Packet(60, 1), tun.TakeWritten(TimeSpan.FromSeconds(1)));
        Assert.Equal(Packet(60, 2), tun.TakeWritten(TimeSpan.FromSeconds(1)));
        sink.Flush();
        Assert.Equal(Packet(60, 3), tun.TakeWritten(TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void An_output_larger_than_a_slot_is_written_at_once()
    {
        using var tun = new InMemoryTun(mtu: 9000);
        using var sink = new TunTranslationSink(tun, batchSize: 2, slotSize: 2048);
        var big = Packet(5000, 7);
        big.CopyTo(sink.Reserve(5000));
        sink.Commit(5000);
        Assert.Equal(big, tun.TakeWritten(TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void A_gone_device_counts_write_errors()
    {
        var tun = new InMemoryTun();
        using var sink = new TunTranslationSink(tun, batchSize: 2, slotSize: 2048);
        tun.Dispose();
        Packet(60, 1).CopyTo(sink.Reserve(60));
        sink.Commit(60);
        sink.Flush();
        Assert.Equal(1, sink.WriteErrors);
    }
}
