using System.CommandLine;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Teredo.Hosting.Sockets;
using Teredo.Net;
using Teredo.Wire;

// Sends Router Solicitations to a Teredo server from many source ports with sendmmsg, and counts the
// Router Advertisements that come back from the kernel's per-namespace UDP counters (/proc/net/snmp),
// so that counting costs no user-space time. Run it alone in its network namespace. Before the load,
// every source port gets one RS answered and checked, which proves the server answers properly.
var server = new Option<string>("--server") { Description = "Server primary IPv4 address", Required = true };
var sources = new Option<int>("--sources") { Description = "Number of source ports", DefaultValueFactory = _ => 64 };
var seconds = new Option<double>("--seconds") { Description = "Duration of the load (bounded: at most 60)", DefaultValueFactory = _ => 5 };
var batch = new Option<int>("--batch") { Description = "Datagrams per sendmmsg", DefaultValueFactory = _ => 32 };
var pid = new Option<int?>("--server-pid") { Description = "Process to charge CPU time to (utime+stime from /proc)" };
var label = new Option<string>("--label") { Description = "Name printed with the result", DefaultValueFactory = _ => "server" };
var verifyOnly = new Option<bool>("--verify-only") { Description = "Only check that every source port gets a valid RA" };
var garbage = new Option<int>("--garbage") { Description = "Instead of RS load, send this many random and mutated datagrams (at most 10 million)" };
var seed = new Option<int>("--seed") { Description = "Random seed for --garbage", DefaultValueFactory = _ => 4380 };
var root = new RootCommand("RS→RA load generator") { server, sources, seconds, batch, pid, label, verifyOnly, garbage, seed };
root.SetAction(r =>
{
    var target = Ipv4Address.Parse(r.GetValue(server)!);
    if (r.GetValue(garbage) is > 0 and var count)
        return Garbage.Send(target, Math.Min(count, 10_000_000), r.GetValue(seed), Math.Clamp(r.GetValue(batch), 1, 1024));
    return Run(target, Math.Clamp(r.GetValue(sources), 1, 4096), Math.Clamp(r.GetValue(seconds), 0.5, 60),
        Math.Clamp(r.GetValue(batch), 1, 1024), r.GetValue(pid), r.GetValue(label)!, r.GetValue(verifyOnly));
});
return root.Parse(args).Invoke();

static int Run(Ipv4Address serverAddress, int sourceCount, double seconds, int batchSize, int? serverPid, string label, bool verifyOnly)
{
    var target = new Ipv4Endpoint(serverAddress, 3544);
    byte[] rs = new byte[RouterSolicitation.PacketLength];
    RouterSolicitation.Emit(rs, Ipv6Address.Parse("fe80::ffff:ffff:ffff"), Ipv6Address.AllRouters);

    var sockets = new List<Socket>();
    try
    {
        for (int i = 0; i < sourceCount; i++)
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            s.ReceiveBufferSize = 1 << 16;
            s.Bind(new IPEndPoint(IPAddress.Any, 0));
            sockets.Add(s);
        }

        // 1. Every source port gets a valid RA back.
        int verified = 0;
        var reply = new byte[2048];
        foreach (var s in sockets)
        {
            s.ReceiveTimeout = 2000;
            s.SendTo(rs, new IPEndPoint(serverAddress.ToIPAddress(), 3544));
            try
            {
                int n = s.Receive(reply);
                if (TeredoDatagram.TryParse(reply.AsSpan(0, n), out var d) == TeredoParseError.None && d.HasOrigin
                    && Icmpv6Packet.TryParse(d.Ipv6, out var icmp) && RouterAdvertisement.TryParse(icmp, out var ra) && ra.Prefix is not null
                    && d.Origin.Port == ((IPEndPoint)s.LocalEndPoint!).Port)
                    verified++;
            }
            catch (SocketException) { }
        }
        if (verified != sockets.Count)
        {
            Console.Error.WriteLine($"{label}: only {verified} of {sockets.Count} source ports got a valid RA; not loading");
            return 1;
        }
        Console.WriteLine($"{label}: all {verified} source ports got a valid RA");
        if (verifyOnly) return 0;

        // 2. Open-loop load for a bounded time.
        using var tx = new UdpBatch(batchSize, rs.Length);
        for (int i = 0; i < batchSize; i++)
        {
            rs.CopyTo(tx.Next());
            tx.Commit(rs.Length, target);
        }
        var (inBefore, errBefore) = UdpCounters();
        var cpuBefore = ProcessCpu(serverPid);
        long sent = 0;
        var clock = Stopwatch.StartNew();
        var until = TimeSpan.FromSeconds(seconds);
        int next = 0;
        while (clock.Elapsed < until)
        {
            for (int k = 0; k < 16; k++)
            {
                var s = sockets[next];
                next = next + 1 == sockets.Count ? 0 : next + 1;
                // The batch's slots stay committed; re-send them as they are.
                sent += SendCommitted(tx, s, batchSize);
            }
        }
        double elapsed = clock.Elapsed.TotalSeconds;
        Thread.Sleep(300); // let the last answers arrive
        var (inAfter, errAfter) = UdpCounters();
        var cpuAfter = ProcessCpu(serverPid);
        long answered = inAfter - inBefore + (errAfter - errBefore);
        double userSeconds = (cpuAfter.User - cpuBefore.User) / 100.0; // USER_HZ
        double cpuSeconds = userSeconds + (cpuAfter.System - cpuBefore.System) / 100.0;
        Console.WriteLine(
            $"{label}: sent {sent} RS in {elapsed:F2} s ({sent / elapsed:F0}/s), {answered} RA back ({answered / elapsed:F0}/s, {100.0 * answered / Math.Max(sent, 1):F1}%)" +
            (serverPid is null ? "" : $", server CPU {cpuSeconds:F2} s ({userSeconds:F2} s user) = {1e6 * cpuSeconds / Math.Max(answered, 1):F2} µs per RA"));
        Console.WriteLine($"RESULT label={label.Replace(' ', '-')} sent={sent} answered={answered} seconds={elapsed:F3} cpu={cpuSeconds:F3} user={userSeconds:F3}");
        return 0;
    }
    finally
    {
        foreach (var s in sockets) s.Dispose();
    }
}

static int SendCommitted(UdpBatch tx, Socket socket, int count)
{
    // UdpBatch.Send clears the batch; refill the count without rewriting the bytes.
    int sent = tx.Send(socket);
    tx.Recommit(count);
    return sent;
}

static (long InDatagrams, long Errors) UdpCounters()
{
    // "Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors ..." header line, then values.
    var lines = File.ReadAllLines("/proc/net/snmp").Where(l => l.StartsWith("Udp:", StringComparison.Ordinal)).ToArray();
    var names = lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
    var values = lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
    long Get(string n) => long.Parse(values[Array.IndexOf(names, n)]);
    return (Get("InDatagrams"), Get("RcvbufErrors"));
}

static (long User, long System) ProcessCpu(int? pid)
{
    if (pid is null) return (0, 0);
    // The process and its children: miredo-server, for one, answers from a forked unprivileged child.
    long user = 0, system = 0;
    foreach (string dir in Directory.GetDirectories("/proc"))
    {
        if (!int.TryParse(Path.GetFileName(dir), out int candidate)) continue;
        string stat;
        try { stat = File.ReadAllText(Path.Combine(dir, "stat")); }
        catch (IOException) { continue; }
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        int parent = int.Parse(fields[1]);
        if (candidate == pid || parent == pid)
        {
            user += long.Parse(fields[11]);   // utime (stat field 14)
            system += long.Parse(fields[12]); // stime (stat field 15)
        }
    }
    return (user, system);
}
