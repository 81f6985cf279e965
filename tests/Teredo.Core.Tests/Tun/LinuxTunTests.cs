using System.Diagnostics;
using Teredo.Hosting.Tun;
using Teredo.Net;
using Teredo.Wire;
using Xunit.Abstractions;

namespace Teredo.Tests.Tun;

/// <summary>Real TUN devices, each in its own network namespace so nothing touches the host's interfaces.</summary>
public class LinuxTunTests(ITestOutputHelper output)
{
    private static readonly Ipv6Address Local = Ipv6Address.Parse("2001:db8:77::1");
    private static readonly Ipv6Address OnLink = Ipv6Address.Parse("2001:db8:77::2");
    private static readonly Ipv6Address RoutedPrefix = Ipv6Address.Parse("2001:db8:99::");
    private static readonly Ipv6Address Routed = Ipv6Address.Parse("2001:db8:99::5");

    private static void SkipUnlessAvailable()
    {
        string? reason = TestNetworkNamespace.WhyUnavailable();
        Skip.If(reason is not null, reason);
    }

    private static void Configure(LinuxTun tun)
    {
        var ip = TunConfigurator.For(tun);
        ip.BringUp(tun.Name, mtu: 1280);
        ip.AddAddress(tun.Name, Local, 64);
        ip.AddRoute(tun.Name, RoutedPrefix, 48);
    }

    /// <summary>
    /// Answers the first echo request for <paramref name="target"/> that one of the queues reads, as the
    /// host behind the tunnel would, and hands back the request it saw.
    /// </summary>
    private static Task<byte[]> Answer(IReadOnlyList<LinuxTun> queues, Ipv6Address target, TimeSpan within)
    {
        var answered = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        foreach (var queue in queues)
        {
            new Thread(() =>
            {
                try
                {
                    var deadline = Stopwatch.StartNew();
                    var buffer = new byte[65536];
                    var reply = new byte[65536];
                    while (!answered.Task.IsCompleted && deadline.Elapsed < within)
                    {
                        int n = queue.Read(buffer);
                        // Other traffic (MLD reports when the link comes up) is not for us.
                        if (n == 0 || !Ipv6Packet.TryParse(buffer.AsSpan(0, n), out var ip) || ip.Destination != target
                            || !Icmpv6Packet.TryParse(ip, out var icmp) || !Icmpv6Echo.TryParse(icmp, out var echo) || !echo.IsRequest)
                            continue;
                        Assert.True(icmp.VerifyChecksum(ip.Source, ip.Destination), "the kernel's echo request has a bad checksum: not a whole packet?");
                        int length = Icmpv6Echo.Emit(reply, ip.Destination, ip.Source, request: false, echo.Identifier, echo.Sequence, echo.Data);
                        queue.Write(reply.AsSpan(0, length));
                        answered.TrySetResult(buffer[..n]);
                    }
                    answered.TrySetException(new TimeoutException($"no echo request for {target} on {queue.Name} within {within}"));
                }
                catch (Exception e) { answered.TrySetException(e); }
            }) { IsBackground = true, Name = "tun responder" }.Start();
        }
        return answered.Task;
    }

    private async Task Ping(TestNetworkNamespace ns, IReadOnlyList<LinuxTun> queues, Ipv6Address target)
    {
        var request = Answer(queues, target, TimeSpan.FromSeconds(10));
        var clock = Stopwatch.StartNew();
        // Throws with ping's stderr when no reply came back.
        string said = ns.Exec("ping", "-6", "-n", "-c", "1", "-W", "5", target.ToString());
        output.WriteLine($"ping {target}: {clock.ElapsedMilliseconds} ms\n{said}");
        byte[] seen = await request.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(Ipv6Packet.TryParse(seen, out var ip));
        Assert.Equal(Local, ip.Source);
        Assert.Equal(target, ip.Destination);
        Assert.Contains("1 received", said);
    }

    [SkippableFact]
    public async Task Ping_inside_a_namespace_is_read_from_the_tun_and_answered_through_it()
    {
        SkipUnlessAvailable();
        using var ns = TestNetworkNamespace.Create();
        using var tun = LinuxTun.Open(null, ns.Name);
        Assert.StartsWith("tun", tun.Name);
        Configure(tun);

        Assert.Equal(1280, tun.Mtu);
        var ip = TunConfigurator.For(tun);
        string shown = ip.Show(tun.Name);
        output.WriteLine(shown);
        Assert.Contains("2001:db8:77::1/64", shown);
        // Without addrgenmode none a TUN gets a random fe80:: address the moment it comes up.
        Assert.DoesNotContain("fe80", shown);
        Assert.Contains("addrgenmode none", IpCommand.Run("-n", ns.Name, "-d", "link", "show", "dev", tun.Name));
        Assert.Contains("2001:db8:99::/48", ip.ShowRoutes(tun.Name));
        // The interface is in the namespace, not on the host.
        Assert.DoesNotContain($" {tun.Name}:", IpCommand.Run("-o", "link", "show"));

        await Ping(ns, [tun], OnLink);
        await Ping(ns, [tun], Routed);

        ip.RemoveAddress(tun.Name, Local, 64);
        Assert.DoesNotContain("2001:db8:77::1", ip.Show(tun.Name));
    }

    [SkippableFact]
    public async Task A_multi_queue_device_shares_one_name_and_answers_from_any_queue()
    {
        SkipUnlessAvailable();
        using var ns = TestNetworkNamespace.Create();
        var queues = LinuxTun.OpenQueues("teredo%d", 3, ns.Name);
        try
        {
            Assert.Equal(3, queues.Length);
            Assert.All(queues, q => Assert.Equal("teredo0", q.Name));
            Configure(queues[0]);
            Assert.Contains("multi_queue", TunConfigurator.For(queues[0]).Show("teredo0"));
            await Ping(ns, queues, OnLink);
        }
        finally
        {
            foreach (var queue in queues) queue.Dispose();
        }
    }

    [SkippableFact]
    public async Task Dispose_unblocks_a_blocked_read_at_once()
    {
        SkipUnlessAvailable();
        using var ns = TestNetworkNamespace.Create();
        var tun = LinuxTun.Open("ttun0", ns.Name);
        // Only the wake-up, not the poll timeout, can end this read.
        tun.ReadTimeoutMilliseconds = 60_000;
        var blocked = new ManualResetEventSlim();
        var reader = Task.Factory.StartNew(() =>
        {
            blocked.Set();
            return tun.Read(new byte[2048]);
        }, TaskCreationOptions.LongRunning);
        blocked.Wait();
        Thread.Sleep(100);
        Assert.False(reader.IsCompleted);

        var clock = Stopwatch.StartNew();
        tun.Dispose();
        int read = await reader.WaitAsync(TimeSpan.FromSeconds(5));
        output.WriteLine($"Read returned {clock.Elapsed.TotalMilliseconds:F2} ms after Dispose");
        Assert.Equal(0, read);
        Assert.InRange(clock.ElapsedMilliseconds, 0, 250);

        Assert.Equal(0, tun.Read(new byte[2048]));
        Assert.Throws<ObjectDisposedException>(() => tun.Write(new byte[40]));
        // The kernel removed the non-persistent interface with its last descriptor.
        Assert.Throws<IpCommandException>(() => new TunConfigurator(ns.Name).Show("ttun0"));
    }

    [SkippableFact]
    public async Task A_packet_larger_than_the_buffer_is_dropped_and_counted_not_returned_cut_short()
    {
        SkipUnlessAvailable();
        using var ns = TestNetworkNamespace.Create();
        using var tun = LinuxTun.Open("ttun0", ns.Name);
        Configure(tun);
        // Nobody answers this ping; it only puts a 1240-byte packet on the TUN.
        var ping = Task.Run(() => Assert.Throws<IpCommandException>(() => ns.Exec("ping", "-6", "-c", "1", "-W", "1", "-s", "1192", OnLink.ToString())));
        var buffer = new byte[200];
        var clock = Stopwatch.StartNew();
        while (tun.TruncatedReads == 0 && clock.Elapsed < TimeSpan.FromSeconds(5))
        {
            int n = tun.Read(buffer);
            Assert.InRange(n, 0, buffer.Length);
        }
        Assert.Equal(1, tun.TruncatedReads);
        await ping;
    }

    [SkippableFact]
    public async Task Ipv6_is_turned_back_on_where_the_namespace_disables_it_by_default()
    {
        SkipUnlessAvailable();
        using var ns = TestNetworkNamespace.Create();
        ns.Exec("sysctl", "-q", "-w", "net.ipv6.conf.default.disable_ipv6=1");
        using var tun = LinuxTun.Open("ttun0", ns.Name);
        Assert.Equal("1", ns.Exec("cat", "/proc/sys/net/ipv6/conf/ttun0/disable_ipv6").Trim());
        Configure(tun);
        Assert.Equal("0", ns.Exec("cat", "/proc/sys/net/ipv6/conf/ttun0/disable_ipv6").Trim());
        await Ping(ns, [tun], OnLink);
    }

    [SkippableFact]
    public void NetworkNamespace_Run_moves_only_its_own_thread()
    {
        SkipUnlessAvailable();
        using var ns = TestNetworkNamespace.Create();
        static string Current() => new FileInfo("/proc/thread-self/ns/net").LinkTarget!;
        string before = Current();
        string inside = NetworkNamespace.Run(ns.Name, Current);
        Assert.NotEqual(before, inside);
        Assert.Equal(before, Current());
        Assert.Equal(before, NetworkNamespace.Run(null, Current));
        var error = Assert.Throws<IOException>(() => NetworkNamespace.Run(TestNetworkNamespace.Prefix + "does-not-exist", Current));
        Assert.Contains("does-not-exist", error.Message);
    }

    [SkippableFact]
    public void A_quiet_device_returns_zero_after_the_read_timeout()
    {
        SkipUnlessAvailable();
        using var ns = TestNetworkNamespace.Create();
        using var tun = LinuxTun.Open("ttun0", ns.Name);
        tun.ReadTimeoutMilliseconds = 100;
        var clock = Stopwatch.StartNew();
        Assert.Equal(0, tun.Read(new byte[2048]));
        Assert.InRange(clock.ElapsedMilliseconds, 90, 2000);
    }

    [SkippableFact]
    public void Reading_after_the_interface_was_deleted_fails_clearly()
    {
        SkipUnlessAvailable();
        using var ns = TestNetworkNamespace.Create();
        using var tun = LinuxTun.Open("ttun0", ns.Name);
        TunConfigurator.For(tun).DeleteInterface(tun.Name);
        var error = Assert.Throws<IOException>(() => tun.Read(new byte[2048]));
        Assert.Contains("deleted", error.Message);
    }

    [SkippableFact]
    public void Ip_failures_carry_ips_message()
    {
        SkipUnlessAvailable();
        using var ns = TestNetworkNamespace.Create();
        var error = Assert.Throws<IpCommandException>(() => new TunConfigurator(ns.Name).SetUp("nosuchtun0"));
        output.WriteLine(error.Message);
        Assert.Contains("nosuchtun0", error.StandardError);
        Assert.Contains("nosuchtun0", error.Message);
        Assert.NotEqual(0, error.ExitCode);
    }
}
