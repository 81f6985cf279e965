using System.Diagnostics;
using Teredo.Hosting.Tun;
using Teredo.Net;
using Teredo.Wire;

namespace Teredo.Tests.Tun;

public class InMemoryTunTests
{
    private static readonly Ipv6Address A = Ipv6Address.Parse("2001:db8:77::1");
    private static readonly Ipv6Address B = Ipv6Address.Parse("2001:db8:77::2");

    private static byte[] Echo(Ipv6Address from, Ipv6Address to, bool request, ushort sequence)
    {
        var packet = new byte[Ipv6Packet.HeaderLength + Icmpv6Echo.HeaderLength + 4];
        int length = Icmpv6Echo.Emit(packet, from, to, request, 0x7e57, sequence, [1, 2, 3, 4]);
        return packet[..length];
    }

    [Fact]
    public void Injected_packets_are_read_by_the_engine_and_written_ones_are_taken_by_the_test()
    {
        using var tun = new InMemoryTun();
        var request = Echo(B, A, request: true, 1);
        Assert.True(tun.Inject(request));

        var buffer = new byte[tun.Mtu];
        int n = tun.Read(buffer);
        Assert.Equal(request, buffer[..n]);

        // The engine answers; the test sees the answer, byte for byte.
        var reply = Echo(A, B, request: false, 1);
        tun.Write(reply);
        Assert.Equal(reply, tun.TakeWritten(TimeSpan.FromSeconds(1)));
        Assert.Null(tun.TakeWritten(TimeSpan.FromMilliseconds(10)));
    }

    [Fact]
    public void Read_returns_zero_when_nothing_arrives_within_the_timeout()
    {
        using var tun = new InMemoryTun(readTimeoutMilliseconds: 50);
        var clock = Stopwatch.StartNew();
        Assert.Equal(0, tun.Read(new byte[1280]));
        Assert.InRange(clock.ElapsedMilliseconds, 40, 2000);
    }

    [Fact]
    public async Task Dispose_unblocks_a_blocked_read()
    {
        var tun = new InMemoryTun(readTimeoutMilliseconds: 60_000);
        var reader = Task.Factory.StartNew(() => tun.Read(new byte[1280]), TaskCreationOptions.LongRunning);
        Thread.Sleep(50);
        var clock = Stopwatch.StartNew();
        tun.Dispose();
        Assert.Equal(0, await reader.WaitAsync(TimeSpan.FromSeconds(2)));
        Assert.InRange(clock.ElapsedMilliseconds, 0, 1000);
        Assert.Throws<ObjectDisposedException>(() => tun.Write(new byte[40]));
        Assert.False(tun.Inject(new byte[40]));
    }

    [Fact]
    public void Full_queues_drop_instead_of_blocking()
    {
        using var tun = new InMemoryTun(capacity: 2);
        var packet = Echo(A, B, request: true, 1);
        tun.Write(packet);
        tun.Write(packet);
        tun.Write(packet);
        Assert.Equal(1, tun.DroppedWrites);
        Assert.True(tun.Inject(packet));
        Assert.True(tun.Inject(packet));
        Assert.False(tun.Inject(packet));
    }

    [Fact]
    public void A_read_buffer_smaller_than_the_packet_is_an_error()
    {
        using var tun = new InMemoryTun();
        tun.Inject(Echo(A, B, request: true, 1));
        Assert.Throws<ArgumentException>(() => tun.Read(new byte[10]));
    }
}
