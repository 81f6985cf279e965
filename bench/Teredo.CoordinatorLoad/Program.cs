using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging.Abstractions;
using Teredo.Addressing;
using Teredo.Hosting.P2p;
using Teredo.Net;
using Teredo.Wire;

// teredo-coordinator-load S TLS_PORT BUBBLE_PORT PIN COORDINATOR_PID PEERS LEASES RATE SECONDS IDLE_SECONDS STATE_DIR [CONTROL_SOCKET]
// 1. PEERS CoordinatorClients join (in waves, each with its own identity and RFC 1918 address);
// 2. LEASES bubbles for distinct global D create LEASES leases;
// 3. the coordinator's RSS (anonymous and file-backed, and the GC heap from its status when CONTROL_SOCKET is
//    given: RssAnon minus the GC's committed bytes is native memory, mostly OpenSSL's per-session state),
//    then its CPU over IDLE_SECONDS with only keepalives and its 1 s clock;
// 4. RATE bubbles/s for SECONDS toward existing leases, each carrying its send time in the bubble source:
//    the notification's arrival at the peer gives the bubble-to-notification latency (TLS both ways included).
// Every loop is bounded: at most 20,000 peers, 1,000,000 leases, 100,000 bubbles/s, 60 s.
if (args.Length is not (11 or 12))
{
    Console.Error.WriteLine("usage: teredo-coordinator-load S TLS_PORT BUBBLE_PORT PIN COORDINATOR_PID PEERS LEASES RATE SECONDS IDLE_SECONDS STATE_DIR [CONTROL_SOCKET]");
    return 2;
}
var s = Ipv4Address.Parse(args[0]);
int tlsPort = int.Parse(args[1]), bubblePort = int.Parse(args[2]);
byte[] pin = CertificatePin.Parse(args[3]);
int pid = int.Parse(args[4]);
int peers = Math.Clamp(int.Parse(args[5]), 1, 20_000);
int leases = Math.Clamp(int.Parse(args[6]), 1, 1_000_000);
int rate = Math.Clamp(int.Parse(args[7]), 1, 100_000);
double seconds = Math.Clamp(double.Parse(args[8], System.Globalization.CultureInfo.InvariantCulture), 1, 60);
double idleSeconds = Math.Clamp(double.Parse(args[9], System.Globalization.CultureInfo.InvariantCulture), 1, 120);
string stateDir = args[10];
string? controlSocket = args.Length > 11 ? args[11] : null;

long welcomed = 0, granted = 0, notified = 0;
var leased = new bool[leases];
long[] latencies = new long[(int)(rate * seconds) + 1024];
long latencyCount = 0;
var clients = new List<CoordinatorClient>(peers);
var clock = Stopwatch.StartNew();

// 1. Peers
const int Wave = 250;
for (int i = 0; i < peers; i++)
{
    var client = new CoordinatorClient(new CoordinatorClientOptions
    {
        Host = s.ToString(), Port = tlsPort, Pin = pin, StateDirectory = Path.Combine(stateDir, i.ToString()),
        LocalAddress = new Ipv4Address(0x0A00_0000u + (uint)i + 1), Capacity = 1_000_000,
        InitialBackoff = TimeSpan.FromMilliseconds(200), MaxBackoff = TimeSpan.FromSeconds(2),
    }, NullLogger.Instance);
    client.Welcomed += _ => Interlocked.Increment(ref welcomed);
    client.LeaseGranted += g =>
    {
        int index = (int)((uint)(g.Address.Lower >> 24) - 0x0B00_0000u);
        if ((uint)index < (uint)leases && !leased[index])
        {
            leased[index] = true;
            Interlocked.Increment(ref granted);
        }
    };
    client.BubbleNotified += n =>
    {
        Interlocked.Increment(ref notified);
        if ((n.Source.Upper >> 48) != 0xFE81) return; // only the timed bubbles of phase 4
        long sent = (long)n.Source.Lower;
        long i2 = Interlocked.Increment(ref latencyCount) - 1;
        if (i2 < latencies.Length) latencies[i2] = Stopwatch.GetTimestamp() - sent;
    };
    clients.Add(client);
    client.Start();
    if ((i + 1) % Wave == 0 || i == peers - 1)
    {
        var waveDeadline = DateTime.UtcNow.AddSeconds(60);
        while (Interlocked.Read(ref welcomed) < i + 1 && DateTime.UtcNow < waveDeadline) Thread.Sleep(10);
    }
}
double joinSeconds = clock.Elapsed.TotalSeconds;
Console.WriteLine($"peers joined: {welcomed}/{peers} in {joinSeconds:F1} s");

// 2. Leases: closed loop (at most 2,000 bubbles ahead of the grants seen), then up to 5 passes over the
//    destinations still without a lease, so that UDP drops on a busy machine do not leave the table short.
using var relay = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
relay.SendBufferSize = 4 << 20;
relay.Connect(new IPEndPoint(s.ToIPAddress(), bubblePort));
var bubble = new byte[Bubble.Length];
Ipv6Address T(int i) => CoordinatorAddress.Dynamic(s, new Ipv4Address(0x0B00_0000u + (uint)i)).ToIpv6(); // 11.0.0.0 + i: global
var leaseClock = Stopwatch.StartNew();
for (int pass = 0; pass < 6 && Interlocked.Read(ref granted) < leases; pass++)
{
    long sentThisPass = 0;
    bool windowed = pass == 0; // a stall (bubbles lost) ends the window for this pass: the next passes resend
    for (int i = 0; i < leases; i++)
    {
        if (leased[i]) continue;
        Bubble.Emit(bubble, new Ipv6Address(0xFE80UL << 48, (ulong)i), T(i));
        relay.Send(bubble);
        sentThisPass++;
        var windowDeadline = DateTime.UtcNow.AddSeconds(2);
        while (windowed && i - Interlocked.Read(ref granted) > 2000)
        {
            if (DateTime.UtcNow > windowDeadline) { windowed = false; break; }
            Thread.Sleep(1);
        }
    }
    var passDeadline = DateTime.UtcNow.AddSeconds(10);
    while (Interlocked.Read(ref granted) < leases && DateTime.UtcNow < passDeadline) Thread.Sleep(50);
    Console.WriteLine($"  lease pass {pass}: sent {sentThisPass}, granted so far {granted}");
}
Console.WriteLine($"leases granted: {granted}/{leases} in {leaseClock.Elapsed.TotalSeconds:F1} s");

// 3. RSS and idle CPU
Thread.Sleep(2000);
GC.Collect();
long rssKb = Status(pid, "VmRSS"), anonKb = Status(pid, "RssAnon"), fileKb = Status(pid, "RssFile");
var (gcHeap, gcCommitted) = GcFigures(controlSocket);
Console.WriteLine($"coordinator memory: RSS {rssKb / 1024.0:F0} MiB = anonymous {anonKb / 1024.0:F0} MiB + file {fileKb / 1024.0:F0} MiB; " +
                  $"GC heap {gcHeap / 1048576.0:F0} MiB (committed {gcCommitted / 1048576.0:F0} MiB), so native ~{(anonKb * 1024.0 - gcCommitted) / 1048576.0:F0} MiB; " +
                  $"{rssKb / Math.Max(1.0, welcomed):F1} KiB RSS per peer; load average {File.ReadAllText("/proc/loadavg").Trim()}");
long cpu0 = CpuTicks(pid);
var idle = Stopwatch.StartNew();
Thread.Sleep(TimeSpan.FromSeconds(idleSeconds));
double idleCpu = (CpuTicks(pid) - cpu0) / 100.0 / idle.Elapsed.TotalSeconds * 100;
Console.WriteLine($"coordinator RSS {rssKb / 1024.0:F0} MiB; idle CPU {idleCpu:F2} % of a core over {idleSeconds:F0} s (keepalives only)");

// 4. Latency at a bounded rate
long notifiedBefore = Interlocked.Read(ref notified);
long cpu1 = CpuTicks(pid);
var load = Stopwatch.StartNew();
long sentTimed = 0;
var random = new Random(3);
while (load.Elapsed.TotalSeconds < seconds)
{
    long due = (long)(load.Elapsed.TotalSeconds * rate);
    for (; sentTimed < due; sentTimed++)
    {
        Bubble.Emit(bubble, new Ipv6Address(0xFE81UL << 48, (ulong)Stopwatch.GetTimestamp()), T(random.Next(leases)));
        try { relay.Send(bubble); } catch (SocketException) { }
    }
    Thread.Sleep(1);
}
double loadSeconds = load.Elapsed.TotalSeconds;
double loadCpu = (CpuTicks(pid) - cpu1) / 100.0 / loadSeconds * 100;
Thread.Sleep(2000);
long got = Math.Min(Interlocked.Read(ref latencyCount), latencies.Length);
var sorted = latencies.AsSpan(0, (int)got).ToArray();
Array.Sort(sorted);
double Ms(double q) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(q * sorted.Length))] * 1000.0 / Stopwatch.Frequency;
Console.WriteLine($"bubbles at {rate}/s for {loadSeconds:F1} s: sent {sentTimed}, notifications {got} ({100.0 * got / Math.Max(sentTimed, 1):F1} %), " +
                  $"coordinator CPU {loadCpu:F0} % of a core");
Console.WriteLine($"bubble-to-notification latency: p50 {Ms(0.50):F3} ms, p99 {Ms(0.99):F3} ms, p99.9 {Ms(0.999):F3} ms, max {Ms(1.0):F3} ms");
Console.WriteLine($"RESULT peers={welcomed} leases={granted} rss_mib={rssKb / 1024.0:F0} anon_mib={anonKb / 1024.0:F0} gc_heap_mib={gcHeap / 1048576.0:F0} idle_cpu_pct={idleCpu:F2} rate={rate} delivered_pct={100.0 * got / Math.Max(sentTimed, 1):F1} p50_ms={Ms(0.5):F3} p99_ms={Ms(0.99):F3} load_cpu_pct={loadCpu:F0}");

foreach (var c in clients) _ = c.StopAsync();
Thread.Sleep(1000);
return 0;

static long Status(int pid, string field) => long.Parse(Regex.Match(File.ReadAllText($"/proc/{pid}/status"), field + @":\s+(\d+)").Groups[1].Value);

// The coordinator's own figures from its status document ("memory": gcHeapBytes, gcCommittedBytes); zeros without one.
static (long Heap, long Committed) GcFigures(string? controlSocket)
{
    if (controlSocket is null) return (0, 0);
    try
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Connect(new UnixDomainSocketEndPoint(controlSocket));
        using var stream = new NetworkStream(socket);
        using var json = System.Text.Json.JsonDocument.Parse(stream);
        if (!json.RootElement.TryGetProperty("memory", out var m)) return (0, 0);
        return (m.GetProperty("gcHeapBytes").GetInt64(), m.GetProperty("gcCommittedBytes").GetInt64());
    }
    catch (Exception e) when (e is SocketException or IOException or System.Text.Json.JsonException or KeyNotFoundException)
    {
        return (0, 0);
    }
}

static long CpuTicks(int pid)
{
    // /proc/PID/stat: fields after the ")" — utime is the 12th, stime the 13th of what follows.
    string stat = File.ReadAllText($"/proc/{pid}/stat");
    var f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    return long.Parse(f[11]) + long.Parse(f[12]);
}
