using System.Collections.Concurrent;
using System.Text;
using Teredo.Engines;
using Teredo.Hosting.Packets;
using Teredo.Hosting.Tun;
using Teredo.Net;

namespace Teredo.Tests.Packets;

public class PacketHostTests
{
    private static readonly Ipv4Endpoint Local = new(Ipv4Address.Parse("198.18.0.1"), 3544);
    private static readonly Ipv4Endpoint Local2 = new(Ipv4Address.Parse("198.18.0.2"), 3544);
    private static readonly Ipv4Endpoint Peer = new(Ipv4Address.Parse("198.18.0.50"), 40000);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private static byte[] Text(string s) => Encoding.ASCII.GetBytes(s);

    private static string Sent(InMemoryBind bind)
    {
        Assert.True(bind.TryTakeSent(out var d), "nothing was sent");
        return Encoding.ASCII.GetString(d.Payload);
    }

    private static void WaitFor(Func<bool> condition, string what)
    {
        var until = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < until, $"{what}: not within {Patience.TotalSeconds} s");
            Thread.Sleep(5);
        }
    }

    [Fact]
    public void The_manual_driver_delivers_datagrams_with_their_port_source_and_the_virtual_time()
    {
        var engine = new FakeEngine();
        var bind = new InMemoryBind(Local);
        using var host = new PacketHost();
        host.AddShard("s", engine, [bind]);
        Assert.True(bind.Deliver(Peer, Text("echo")));
        Assert.True(bind.Deliver(Peer, Text("echo")));

        Assert.Equal(2 + 0, host.Pump(1234));

        Assert.Equal(2, engine.Datagrams.Count);
        foreach (var d in engine.Datagrams) Assert.Equal((1234L, new PortHandle(0), Peer, "echo"), d);
        Assert.True(bind.TryTakeSent(out var reply));
        Assert.Equal(new InMemoryDatagram(Local, Peer, reply.Payload), reply);
        Assert.Equal("echo", Sent(bind));
        Assert.False(bind.TryTakeSent(out _));
        Assert.Equal(0, host.Pump(1235));
    }

    [Fact]
    public void Output_is_batched_per_bind_one_send_per_bind_per_wake_up()
    {
        var engine = new FakeEngine();
        var primary = new CountingBind(Local);
        var secondary = new CountingBind(Local2);
        using var host = new PacketHost();
        host.AddShard("s", engine, [primary, secondary], read: [new PortHandle(0)]);
        for (int i = 0; i < 10; i++) primary.Inner.Deliver(Peer, Text("both"));

        host.Pump(0);

        Assert.Equal([10], primary.SendSizes);
        Assert.Equal([10], secondary.SendSizes);
        Assert.True(secondary.Inner.TryTakeSent(out var fromSecondary));
        Assert.Equal(Local2, fromSecondary.Source);
    }

    [Fact]
    public void A_batch_larger_than_the_batch_size_is_sent_in_full_batches()
    {
        var engine = new FakeEngine();
        var bind = new CountingBind(Local);
        using var host = new PacketHost(new PacketHostOptions { BatchSize = 4 });
        host.AddShard("s", engine, [bind]);
        for (int i = 0; i < 10; i++) bind.Inner.Deliver(Peer, Text("echo"));

        host.Pump(0);

        Assert.Equal([4, 4, 2], bind.SendSizes);
    }

    [Fact]
    public void Unread_binds_are_left_to_the_shard_that_reads_them()
    {
        var a = new FakeEngine();
        var b = new FakeEngine();
        var primary = new InMemoryBind(Local);
        var secondary = new InMemoryBind(Local2);
        using var host = new PacketHost();
        host.AddShard("primary", a, [primary, secondary], read: [new PortHandle(0)]);
        host.AddShard("secondary", b, [primary, secondary], read: [new PortHandle(1)]);
        primary.Deliver(Peer, Text("x"));
        secondary.Deliver(Peer, Text("y"));

        host.Pump(0);

        Assert.Equal((0L, new PortHandle(0), Peer, "x"), Assert.Single(a.Datagrams));
        Assert.Equal((0L, new PortHandle(1), Peer, "y"), Assert.Single(b.Datagrams));
    }

    [Fact]
    public void With_a_virtual_clock_the_timer_fires_at_the_engines_deadline_and_not_before()
    {
        var engine = new FakeEngine { NextDeadlineMs = 1000 };
        using var host = new PacketHost();
        host.AddShard("s", engine, [new InMemoryBind(Local)]);

        Assert.Equal(1000, host.NextDeadlineMs);
        Assert.Equal(0, host.Pump(999));
        Assert.Empty(engine.Timers);
        Assert.Equal(1, host.Pump(1000));
        Assert.Equal([1000L], engine.Timers);
        Assert.Equal(long.MaxValue, host.NextDeadlineMs);
        Assert.Equal(0, host.Pump(5000));
    }

    [Fact]
    public void A_datagram_that_moves_the_deadline_is_honoured_in_the_same_pump()
    {
        var engine = new FakeEngine();
        var bind = new InMemoryBind(Local);
        using var host = new PacketHost();
        host.AddShard("s", engine, [bind]);
        bind.Deliver(Peer, Text("deadline 10"));

        host.Pump(10);

        Assert.Equal([10L], engine.Timers);
    }

    [Fact]
    public void The_threaded_timer_wakes_early_when_a_call_moves_the_deadline_earlier()
    {
        var engine = new FakeEngine();
        var bind = new InMemoryBind(Local);
        // Without the early wake-up the timer thread would sleep ten minutes before looking again.
        using var host = new PacketHost(new PacketHostOptions { IdleTimerWakeMs = 600_000 });
        host.AddShard("s", engine, [bind]);
        host.Start();
        WaitFor(() => host.LiveThreads == 2, "the bind loop and the timer thread");
        Thread.Sleep(50); // let the timer thread go to sleep on "nothing pending"

        bind.Deliver(Peer, Text($"deadline {Environment.TickCount64 + 20}"));

        Assert.True(engine.TimerFired.Wait(Patience), "the timer did not fire");
        Assert.Single(engine.Timers);
    }

    [Fact]
    public void Events_reach_the_handler_in_order_off_the_packet_path()
    {
        var engine = new FakeEngine();
        var bind = new InMemoryBind(Local);
        var seen = new ConcurrentQueue<(int Event, string? Thread)>();
        using var host = new PacketHost(new PacketHostOptions { ThreadPrefix = "t" });
        host.AddShard<int>("s", engine, e => seen.Enqueue((e, Thread.CurrentThread.Name)), [bind]);
        host.Start();
        for (int i = 0; i < 200; i++) Assert.True(bind.Deliver(Peer, Text("event")));
        host.StartEvents();

        WaitFor(() => seen.Count == 200, "200 events");
        Assert.Equal(Enumerable.Range(0, 200), seen.Select(s => s.Event));
        Assert.All(seen, s => Assert.Equal("t-events", s.Thread));
    }

    [Fact]
    public void The_manual_driver_hands_events_over_after_the_pump()
    {
        var engine = new FakeEngine();
        var bind = new InMemoryBind(Local);
        var seen = new List<int>();
        using var host = new PacketHost();
        host.AddShard<int>("s", engine, seen.Add, [bind]);
        for (int i = 0; i < 3; i++) bind.Deliver(Peer, Text("event"));

        Assert.Equal(3 + 3, host.Pump(0));
        Assert.Equal([0, 1, 2], seen);
    }

    [Fact]
    public void Events_past_the_capacity_are_dropped_and_counted()
    {
        var engine = new FakeEngine();
        var bind = new InMemoryBind(Local);
        using var host = new PacketHost(new PacketHostOptions { EventCapacity = 5 });
        var shard = host.AddShard<int>("s", engine, _ => { }, [bind]);
        host.Start(); // events are not started: they wait in the bounded queue
        for (int i = 0; i < 8; i++) bind.Deliver(Peer, Text("event"));

        WaitFor(() => engine.Datagrams.Count == 8, "8 datagrams");
        Assert.Equal(3, shard.DroppedEvents);
    }

    [Fact]
    public void A_failure_on_the_event_thread_before_any_event_stops_the_start()
    {
        using var host = new PacketHost();
        host.AddShard<int>("s", new FakeEngine(), _ => { }, [new InMemoryBind(Local)]);
        host.Start();
        var e = Assert.Throws<InvalidOperationException>(() => host.StartEvents(() => throw new InvalidOperationException("setuid failed")));
        Assert.Equal("setuid failed", e.Message);
    }

    [Fact]
    public void Lost_sends_are_counted_and_a_port_without_a_bind_is_a_send_error()
    {
        var engine = new FakeEngine();
        // Room for one sent datagram: the test takes none, so the next two are lost.
        var bind = new InMemoryBind(Local, capacity: 1);
        using var host = new PacketHost();
        var shard = host.AddShard("s", engine, [bind, null]);
        bind.Deliver(Peer, Text("echo"));
        host.Pump(0);
        bind.Deliver(Peer, Text("echo"));
        host.Pump(0);
        Assert.Equal(1, shard.SendErrors);

        bind.TryTakeSent(out _);
        bind.Deliver(Peer, Text("both")); // port 0 fine, port 1 has no bind
        host.Pump(0);
        Assert.Equal(2, shard.SendErrors);
        Assert.Equal(2, host.SendErrors);
    }

    [Fact]
    public void A_packet_larger_than_an_output_slot_is_a_send_error_not_an_exception()
    {
        var bind = new InMemoryBind(Local);
        using var host = new PacketHost();
        var shard = host.AddShard("s", new FakeEngine(), [bind]);
        bind.Deliver(Peer, Text("big"));
        bind.Deliver(Peer, Text("echo"));

        host.Pump(0);

        Assert.Equal(1, shard.SendErrors);
        Assert.Equal("echo", Sent(bind));
    }

    [Fact]
    public void Devices_are_read_and_written_and_writes_before_attach_are_send_errors()
    {
        var engine = new FakeEngine();
        var bind = new InMemoryBind(Local);
        using var tun = new InMemoryTun();
        using var host = new PacketHost();
        var shard = host.AddShard("s", engine, [bind], devices: 1);
        bind.Deliver(Peer, Text("tun early"));
        host.Pump(0);
        Assert.Equal(1, shard.SendErrors);

        host.Attach(shard, new DeviceHandle(0), tun);
        bind.Deliver(Peer, Text("tun now"));
        tun.Inject(Text("from the stack"));
        host.Pump(7);

        Assert.Equal("tun now", Encoding.ASCII.GetString(tun.TakeWritten(TimeSpan.Zero)!));
        var (now, device, packet) = Assert.Single(engine.DevicePackets);
        Assert.Equal((7L, new DeviceHandle(0), "from the stack"), (now, device, Encoding.ASCII.GetString(packet)));
        Assert.True(bind.TryTakeSent(out var sent));
        Assert.Equal(FakeEngine.DevicePeer, sent.Destination);
    }

    [Fact]
    public void The_threaded_driver_reads_binds_and_a_device_attached_after_start()
    {
        var engine = new FakeEngine();
        var replies = new BlockingCollection<InMemoryDatagram>();
        var bind = new InMemoryBind(Local, replies.Add);
        var tun = new InMemoryTun();
        using var host = new PacketHost();
        var shard = host.AddShard("s", engine, [bind], devices: 1);
        host.Start();
        bind.Deliver(Peer, Text("echo"));
        Assert.True(replies.TryTake(out var reply, Patience));
        Assert.Equal(Peer, reply.Destination);

        host.Attach(shard, new DeviceHandle(0), tun);
        tun.Inject(Text("up"));
        Assert.True(replies.TryTake(out var fromDevice, Patience));
        Assert.Equal(FakeEngine.DevicePeer, fromDevice.Destination);
    }

    [Fact]
    public void Shutdown_joins_every_thread_and_closes_binds_and_devices()
    {
        var engine = new FakeEngine();
        var bind = new InMemoryBind(Local);
        var tun = new InMemoryTun();
        var host = new PacketHost();
        var shard = host.AddShard<int>("s", engine, _ => { }, [bind], devices: 1);
        host.Attach(shard, new DeviceHandle(0), tun);
        host.Start();
        host.StartEvents();
        WaitFor(() => host.LiveThreads == 4, "bind, device, timer and event threads");

        host.Dispose();

        Assert.Equal(0, host.LiveThreads);
        Assert.False(bind.Deliver(Peer, Text("late")));
        Assert.False(tun.Inject(Text("late")));
        host.Dispose(); // twice is harmless
    }

    [Fact]
    public void What_the_host_owns_is_closed_once_even_if_it_never_reached_a_shard()
    {
        var host = new PacketHost();
        var unused = host.Own(new InMemoryTun());
        var bind = host.Own(new InMemoryBind(Local));
        host.AddShard("s", new FakeEngine(), [bind]);

        host.Dispose();

        Assert.False(unused.Inject(Text("late")));
        Assert.False(bind.Deliver(Peer, Text("late")));
    }

    [Fact]
    public void The_manual_driver_refuses_to_run_beside_the_threads()
    {
        using var host = new PacketHost();
        host.AddShard("s", new FakeEngine(), [new InMemoryBind(Local)]);
        host.Start();
        Assert.Throws<InvalidOperationException>(() => host.Pump(0));
        Assert.Throws<InvalidOperationException>(() => host.AddShard("late", new FakeEngine(), []));
    }
}
