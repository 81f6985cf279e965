using System.Diagnostics;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Teredo.Engines;
using Teredo.Hosting.Configuration;
using Teredo.Hosting.Control;
using Teredo.Hosting.Sockets;
using Teredo.Net;
using Teredo.Server;
using Teredo.Wire;

namespace Teredo.Hosting.Server;

/// <summary>
/// Runs <see cref="TeredoServerEngine"/> on real sockets: for each of the two server addresses,
/// <see cref="ServerHostSettings.Threads"/> SO_REUSEPORT sockets, each drained by its own thread with its
/// own engine (no locks on the packet path). Replies leave from the socket of the address the engine
/// picked; ICMPv6 for native IPv6 leaves through a raw socket.
/// </summary>
public sealed class ServerDaemon(ServerHostSettings settings, ILogger<ServerDaemon> log) : IHostedService, IDisposable
{
    private readonly List<Worker> _workers = [];
    private RawIpv6Sender? _raw;
    private StatusEndpoints? _endpoints;
    private readonly Stopwatch _uptime = Stopwatch.StartNew();
    private volatile bool _stopping;

    private sealed class Worker
    {
        public required TeredoServerEngine Engine { get; init; }
        public required PortHandle Via { get; init; }
        public required UdpChannel Receive { get; init; }
        public required UdpChannel Primary { get; init; }
        public required UdpChannel Secondary { get; init; }
        public Thread? Thread { get; set; }
        public long SendErrors;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var engineOptions = settings.Engine;
        if (engineOptions.Ipv6Forwarding)
        {
            _raw = RawIpv6Sender.TryOpen(out string? error);
            if (_raw is null)
            {
                log.LogWarning("cannot open a raw IPv6 socket ({Error}); ICMPv6 toward native IPv6 is off", error);
                engineOptions = engineOptions with { Ipv6Forwarding = false };
            }
        }
        var primary = new Ipv4Endpoint(engineOptions.Primary, settings.Port);
        var secondary = new Ipv4Endpoint(engineOptions.SecondaryAddress, settings.Port);
        try
        {
            for (int i = 0; i < settings.Threads; i++)
            {
                var p = UdpChannel.Bind(primary, reusePort: true);
                var s = UdpChannel.Bind(secondary, reusePort: true);
                _workers.Add(new Worker { Engine = new TeredoServerEngine(engineOptions), Via = TeredoServerEngine.PrimaryPort, Receive = p, Primary = p, Secondary = s });
                _workers.Add(new Worker { Engine = new TeredoServerEngine(engineOptions), Via = TeredoServerEngine.SecondaryPort, Receive = s, Primary = p, Secondary = s });
            }
        }
        catch (SocketException e)
        {
            Dispose();
            throw new InvalidOperationException(
                $"cannot bind UDP {primary} and {secondary}: {e.Message} (both addresses must be assigned to this host)", e);
        }
        foreach (var w in _workers)
        {
            w.Thread = new Thread(() => Run(w)) { IsBackground = true, Name = w.Via == TeredoServerEngine.PrimaryPort ? "teredo-server-Primary" : "teredo-server-Secondary" };
            w.Thread.Start();
        }
        _endpoints = StatusEndpoints.Start(settings.ControlSocket, settings.Metrics, "server", StatusJson, log);
        log.LogInformation("Teredo server on {Primary} and {Secondary}, prefix {Prefix}/64, MTU {Mtu}, ICMPv6 to native IPv6 {Forwarding}, {Threads} thread(s) per address, control socket {Control}",
            primary, secondary, _workers[0].Engine.AdvertisedPrefix, engineOptions.Mtu, engineOptions.Ipv6Forwarding ? "on" : "off",
            settings.Threads, settings.ControlSocket);
        return Task.CompletedTask;
    }

    /// <summary>Slot size for received datagrams: Teredo packets fit in the 1280-byte MTU plus encapsulations;
    /// anything longer is truncated by the kernel and then fails the length check as malformed.</summary>
    private const int SlotSize = 2048;
    private const int BatchSize = 64;

    private void Run(Worker w)
    {
        using var rx = new UdpBatch(BatchSize, SlotSize);
        using var txPrimary = new UdpBatch(BatchSize, SlotSize + TeredoServerEngine.OutputHeadroom);
        using var txSecondary = new UdpBatch(BatchSize, SlotSize + TeredoServerEngine.OutputHeadroom);
        var output = new WorkerOutput(this, w, txPrimary, txSecondary);
        UdpBatch.SetReceiveTimeout(w.Receive.Socket, TimeSpan.FromMilliseconds(250));
        while (!_stopping)
        {
            int n;
            try { n = rx.Receive(w.Receive.Socket); }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                if (_stopping) return;
                // An ICMP error for an earlier send surfaces as ECONNREFUSED on the next receive; keep going.
                continue;
            }
            long now = Environment.TickCount64;
            for (int i = 0; i < n; i++) w.Engine.OnDatagram(now, w.Via, rx.Source(i), rx.Received(i), output);
            Flush(w, txPrimary, TeredoServerEngine.PrimaryPort);
            Flush(w, txSecondary, TeredoServerEngine.SecondaryPort);
        }
    }

    private static void Flush(Worker w, UdpBatch tx, PortHandle from)
    {
        if (tx.Count == 0) return;
        Interlocked.Add(ref w.SendErrors, tx.SendReportingLoss((from == TeredoServerEngine.PrimaryPort ? w.Primary : w.Secondary).Socket));
    }

    /// <summary>
    /// One worker's output: the engine writes into one scratch buffer, which is copied into the send batch of
    /// the port it picked (flushed when full) or sent at once on the raw IPv6 socket. The packet host that
    /// replaces this loop (issue 9) will hand out the batch slots themselves.
    /// </summary>
    private sealed class WorkerOutput(ServerDaemon daemon, Worker w, UdpBatch txPrimary, UdpBatch txSecondary) : IPacketOutput
    {
        private readonly byte[] _scratch = new byte[SlotSize + TeredoServerEngine.OutputHeadroom];
        private readonly System.Net.SocketAddress _to6 = Ipv6SocketAddress.Create();

        public Span<byte> Reserve(int maxLength) => _scratch;

        public void Send(PortHandle from, Ipv4Endpoint to, int length)
        {
            var tx = from == TeredoServerEngine.PrimaryPort ? txPrimary : txSecondary;
            _scratch.AsSpan(0, length).CopyTo(tx.Next());
            tx.Commit(length, to);
            if (tx.IsFull) Flush(w, tx, from);
        }

        public void Write(DeviceHandle device, int length)
        {
            try
            {
                Ipv6Packet.TryParse(_scratch.AsSpan(0, length), out var packet);
                daemon._raw!.Send(_scratch.AsSpan(0, length), packet.Destination, _to6);
            }
            catch (SocketException)
            {
                Interlocked.Increment(ref w.SendErrors);
            }
        }
    }

    public long this[ServerCounter counter]
    {
        get
        {
            long sum = 0;
            foreach (var w in _workers) sum += w.Engine.Counters[counter];
            return sum;
        }
    }

    public string StatusJson() => Control.StatusJson.Build(j =>
    {
        var o = settings.Engine;
        j.WriteString("role", "server");
        j.WriteString("state", _stopping ? "stopping" : "running");
        j.WriteString("primary", o.Primary.ToString());
        j.WriteString("secondary", o.SecondaryAddress.ToString());
        j.WriteString("prefix", $"{_workers.FirstOrDefault()?.Engine.AdvertisedPrefix}/64");
        j.WriteNumber("mtu", o.Mtu);
        j.WriteBoolean("ipv6Forwarding", _raw is not null);
        j.WriteBoolean("requireAuthentication", o.RequireAuthentication);
        j.WriteNumber("threadsPerAddress", settings.Threads);
        j.WriteNumber("uptimeSeconds", (long)_uptime.Elapsed.TotalSeconds);
        long sendErrors = 0;
        foreach (var w in _workers) sendErrors += Interlocked.Read(ref w.SendErrors);
        Control.StatusJson.WriteCounters<ServerCounter>(j, c => this[c], ("sendErrors", sendErrors));
    });

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _stopping = true;
        log.LogInformation("stopping: {Received} datagrams received, {Ra} router advertisements sent",
            this[ServerCounter.Received], this[ServerCounter.RouterAdvertisementSent]);
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _stopping = true;
        _endpoints?.Dispose();
        _endpoints = null;
        foreach (var w in _workers)
        {
            w.Receive.Dispose();
        }
        foreach (var w in _workers) w.Thread?.Join(TimeSpan.FromSeconds(2));
        _raw?.Dispose();
    }
}
