using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Teredo.Common;
using Teredo.Hosting.Configuration;
using Teredo.Hosting.Control;
using Teredo.Hosting.Sockets;
using Teredo.Hosting.Tun;
using Teredo.Nat64;
using Teredo.Net;
using Teredo.Wire;

namespace Teredo.Hosting.Nat64;

/// <summary>
/// <c>teredo nat64</c>: the stateless translator between one TUN interface and itself, as Tayga runs it.
/// The kernel routes the NAT64 prefix and the IPv4 pool into the TUN; each packet thread reads a batch
/// from its queue (one per queue of a multi-queue TUN), translates it under one lock (the translator and
/// its dynamic pool are single-writer), and writes the batch back after releasing the lock. A timer
/// thread saves the dynamic pool to data-dir when it changed and reports the packet log.
/// </summary>
public sealed class Nat64Daemon(Nat64HostSettings settings, ILogger<Nat64Daemon> log, Nat64ProcessOptions? process = null) : IHostedService, IDisposable
{
    private const int BatchSize = 64;
    private static readonly TimeSpan SaveInterval = TimeSpan.FromSeconds(5);

    private readonly Lock _lock = new();
    private readonly Stopwatch _uptime = Stopwatch.StartNew();
    private readonly List<Thread> _threads = [];
    private readonly List<TunTranslationSink> _sinks = [];
    private LinuxTun[] _queues = [];
    private Nat64Translator? _translator;
    private StatusEndpoints? _endpoints;
    private volatile bool _stopping;
    private readonly Ipv6Address _selfIpv6 = settings.TranslatorIpv6;
    private long _notIp;
    private long _selfEchoAnswered;
    private long _selfDropped;
    private long _multicastDropped;
    private long _saveErrors;
    private int _slotSize;

    public Nat64Translator? Translator => _translator;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _queues = OpenTun();
        var tun = _queues[0];
        if (settings.TunUp) ConfigureTun(tun);
        int mtu = tun.Mtu;
        // A read slot holds the largest packet the interface can give; the output slot also the 20
        // bytes an IPv6 header adds and the fragment header of a split packet.
        _slotSize = Math.Max(2048, mtu + 128);
        _translator = Nat64Setup.Translator(settings, mtu);
        LoadDynamic();

        for (int i = 0; i < _queues.Length; i++)
        {
            var queue = _queues[i];
            var sink = new TunTranslationSink(queue, BatchSize * 2, _slotSize);
            _sinks.Add(sink);
            Start($"teredo-nat64-q{i}", () => PacketLoop(queue, sink));
        }
        Start("teredo-nat64-timer", TimerLoop);
        _endpoints = StatusEndpoints.Start(settings.ControlSocket, settings.Metrics, "nat64", StatusJson, log);
        // Written as root, before the host gives it up (-u, -g) now that the TUN, its routes, the control socket
        // and the metrics listener exist.
        if (process?.PidFile is { } pidFile) File.WriteAllText(pidFile, $"{Environment.ProcessId}\n");
        log.LogInformation("NAT64 on {Interface} (MTU {Mtu}, {Queues} queue(s)): prefix {Prefix}, IPv4 {V4}, IPv6 {V6}, {Maps} map(s), dynamic pool {Pool}, data-dir {DataDir}, udp-cksum-mode {Udp}, control socket {Control}",
            tun.Name, mtu, _queues.Length, settings.Prefix is { } p ? $"{p}/{settings.PrefixLength}" : "(none)", settings.Ipv4Address,
            settings.TranslatorIpv6, settings.Maps.Count, settings.DynamicPool is { } d ? $"{d}/{settings.DynamicPoolLength}" : "(none)",
            settings.DataDirectory ?? "(none: dynamic mappings are lost on exit)", settings.UdpChecksumMode, settings.ControlSocket);
        return Task.CompletedTask;
    }

    /// <summary>
    /// One queue per packet thread. A persistent single-queue interface (made by Tayga's or our --mktun)
    /// cannot take more queues: then one queue it is, said in the log.
    /// </summary>
    private LinuxTun[] OpenTun()
    {
        if (settings.Queues > 1)
        {
            try { return LinuxTun.OpenQueues(settings.TunDevice, settings.Queues); }
            catch (IOException e)
            {
                log.LogWarning("{Interface}: no multi-queue TUN ({Error}); using one queue", settings.TunDevice, e.Message);
            }
        }
        return [LinuxTun.Open(settings.TunDevice)];
    }

    /// <summary>Tayga 0.9.6's tun-up: the interface up, then tun-ip addresses and tun-route routes.</summary>
    private void ConfigureTun(LinuxTun tun)
    {
        var ip = TunConfigurator.For(tun);
        ip.SetUp(tun.Name);
        foreach (var a in settings.TunAddresses)
        {
            if (a.Ipv4 is { } v4) ip.AddAddress(tun.Name, v4, a.Length);
            else ip.AddAddress(tun.Name, a.Ipv6!.Value, a.Length);
        }
        foreach (var r in settings.TunRoutes)
        {
            if (r.Ipv4 is { } v4) ip.AddRoute(tun.Name, v4, r.Length);
            else ip.AddRoute(tun.Name, r.Ipv6!.Value, r.Length);
        }
    }

    private void Start(string name, ThreadStart body)
    {
        var thread = new Thread(body) { IsBackground = true, Name = name };
        _threads.Add(thread);
        thread.Start();
    }

    private void PacketLoop(LinuxTun queue, TunTranslationSink sink)
    {
        var translator = _translator!;
        using var packets = new UdpBatch(BatchSize, _slotSize);
        while (!_stopping)
        {
            if (TunBatchReader.Read(queue, packets) == 0) continue;
            long now = Environment.TickCount64;
            lock (_lock)
            {
                for (int i = 0; i < packets.Count; i++)
                {
                    var packet = packets.Committed(i);
                    if (MulticastFilter.IsMulticast(packet))
                    {
                        _multicastDropped++;
                        continue;
                    }
                    switch (IpVersion.Of(packet))
                    {
                        case IpVersion.V6:
                            if (Count(TranslatorSelf.FromIpv6(packet, _selfIpv6, sink))) translator.FromIpv6(now, packet, sink);
                            break;
                        case IpVersion.V4:
                            if (Count(TranslatorSelf.FromIpv4(packet, settings.Ipv4Address, sink))) translator.FromIpv4(now, packet, sink);
                            break;
                        default: _notIp++; break;
                    }
                }
            }
            sink.Flush();
        }
    }

    /// <summary>Counts what <see cref="TranslatorSelf"/> did; true when the packet is for translation.</summary>
    private bool Count(TranslatorSelf.Outcome outcome)
    {
        switch (outcome)
        {
            case TranslatorSelf.Outcome.EchoAnswered: _selfEchoAnswered++; return false;
            case TranslatorSelf.Outcome.Dropped: _selfDropped++; return false;
            default: return true;
        }
    }

    private void TimerLoop()
    {
        var logged = new long[CounterSet<Nat64Counter>.All.Count];
        while (!_stopping)
        {
            for (int i = 0; i < 50 && !_stopping; i++) Thread.Sleep((int)SaveInterval.TotalMilliseconds / 50);
            if (_stopping) return;
            SaveDynamic(onlyIfChanged: true);
            if (settings.Log != Nat64PacketLog.None) LogPacketEvents(logged);
        }
    }

    /// <summary>
    /// Tayga's `log` lines, as counts per interval rather than one line per packet: a flood of drops must
    /// not become a flood of log writes.
    /// </summary>
    private void LogPacketEvents(long[] last)
    {
        var counters = _translator!.Counters;
        var all = CounterSet<Nat64Counter>.All;
        for (int i = 0; i < all.Count; i++)
        {
            var c = all[i];
            long now = counters[c], delta = now - last[i];
            last[i] = now;
            if (delta == 0) continue;
            string name = c.ToString();
            bool wanted =
                (settings.Log.HasFlag(Nat64PacketLog.Drop) && name.StartsWith("Drop", StringComparison.Ordinal)) ||
                ((settings.Log & (Nat64PacketLog.Reject | Nat64PacketLog.Icmp)) != 0 && name.EndsWith("ErrorsSent", StringComparison.Ordinal)) ||
                (settings.Log.HasFlag(Nat64PacketLog.Icmp) && name.Contains("IcmpError", StringComparison.Ordinal));
            if (wanted) log.LogInformation("{Counter}: {Delta} in the last {Seconds} s", name, delta, SaveInterval.TotalSeconds);
        }
    }

    private void LoadDynamic()
    {
        if (settings.DynamicMapFile is not { } path || settings.DynamicPool is null) return;
        long now = Environment.TickCount64;
        var entries = DynamicMapStore.Load(path, now, DateTimeOffset.UtcNow, out int bad);
        if (bad > 0) log.LogWarning("{File}: {Bad} unreadable line(s) skipped", path, bad);
        lock (_lock) _translator!.Map.ImportDynamic(entries, now);
        log.LogInformation("dynamic pool: {Count} mapping(s) restored from {File}", _translator!.Map.DynamicCount, path);
    }

    private void SaveDynamic(bool onlyIfChanged)
    {
        if (settings.DynamicMapFile is not { } path || settings.DynamicPool is null || _translator is null) return;
        long now = Environment.TickCount64;
        IReadOnlyList<DynamicMapping> entries;
        lock (_lock)
        {
            if (onlyIfChanged && !_translator.Map.DynamicChangedSinceExport) return;
            entries = _translator.Map.ExportDynamic(now);
        }
        try { DynamicMapStore.Save(path, entries, now, DateTimeOffset.UtcNow); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Interlocked.Increment(ref _saveErrors);
            log.LogWarning("could not save the dynamic pool to {File}: {Error}", path, e.Message);
        }
    }

    public string StatusJson() => Control.StatusJson.Build(j =>
    {
        var t = _translator;
        j.WriteString("role", "nat64");
        j.WriteString("state", _stopping ? "stopping" : "running");
        j.WriteString("interface", settings.TunDevice);
        j.WriteNumber("queues", _queues.Length);
        j.WriteString("prefix", settings.Prefix is { } p ? $"{p}/{settings.PrefixLength}" : null);
        j.WriteString("ipv4Address", settings.Ipv4Address.ToString());
        j.WriteString("ipv6Address", settings.TranslatorIpv6.ToString());
        j.WriteString("dynamicPool", settings.DynamicPool is { } d ? $"{d}/{settings.DynamicPoolLength}" : null);
        j.WriteString("dynamicMapFile", settings.DynamicMapFile);
        j.WriteNumber("uptimeSeconds", (long)_uptime.Elapsed.TotalSeconds);
        if (t is null) return;
        long now = Environment.TickCount64;
        lock (_lock)
        {
            j.WriteStartArray("staticMappings");
            foreach (var m in t.Map.ExplicitMappings)
            {
                j.WriteStartObject();
                j.WriteString("ipv4", $"{m.V4}/{m.V4Length}");
                j.WriteString("ipv6", $"{m.V6}/{m.V6Length}");
                j.WriteEndObject();
            }
            j.WriteEndArray();
            j.WriteNumber("dynamicCount", t.Map.DynamicCount);
            j.WriteStartArray("dynamicMappings");
            int shown = 0;
            foreach (var m in t.Map.ExportDynamic(now))
            {
                if (shown++ == 100) break;
                j.WriteStartObject();
                j.WriteString("ipv4", m.V4.ToString());
                j.WriteString("ipv6", m.V6.ToString());
                j.WriteNumber("idleSeconds", (now - m.LastUseMs) / 1000);
                j.WriteEndObject();
            }
            j.WriteEndArray();
        }
        long writeErrors = 0, written = 0;
        foreach (var s in _sinks) { writeErrors += s.WriteErrors; written += s.Written; }
        long truncated = 0, dropped = 0;
        foreach (var q in _queues) { truncated += q.TruncatedReads; dropped += q.DroppedWrites; }
        Control.StatusJson.WriteCounters<Nat64Counter>(j, c => t.Counters[c],
            ("tunPacketsWritten", written), ("tunWriteErrors", writeErrors), ("tunWritesDroppedFull", dropped),
            ("tunReadsTruncated", truncated), ("notIp", Interlocked.Read(ref _notIp)),
            ("selfEchoAnswered", Interlocked.Read(ref _selfEchoAnswered)), ("selfDropped", Interlocked.Read(ref _selfDropped)),
            ("multicastDropped", Interlocked.Read(ref _multicastDropped)), ("dynamicSaveErrors", Interlocked.Read(ref _saveErrors)));
    });

    public Task StopAsync(CancellationToken cancellationToken)
    {
        if (_translator is { } t)
            log.LogInformation("stopping: {V6} IPv6 and {V4} IPv4 packets seen, {Dynamic} dynamic mapping(s)",
                t.Counters[Nat64Counter.Ipv6Received], t.Counters[Nat64Counter.Ipv4Received], t.Map.DynamicCount);
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        if (_stopping) return;
        _stopping = true;
        _endpoints?.Dispose();
        _endpoints = null;
        foreach (var q in _queues) q.Dispose();
        foreach (var thread in _threads) thread.Join(TimeSpan.FromSeconds(2));
        _threads.Clear();
        SaveDynamic(onlyIfChanged: false);
        foreach (var s in _sinks) s.Dispose();
        _sinks.Clear();
        if (process?.PidFile is { } pidFile)
        {
            try { File.Delete(pidFile); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
    }
}
