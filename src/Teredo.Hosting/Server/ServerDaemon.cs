using System.Diagnostics;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
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
    private ControlServer? _control;
    private readonly Stopwatch _uptime = Stopwatch.StartNew();
    private volatile bool _stopping;

    private sealed class Worker
    {
        public required TeredoServerEngine Engine { get; init; }
        public required ServerAddress Via { get; init; }
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
                _workers.Add(new Worker { Engine = new TeredoServerEngine(engineOptions), Via = ServerAddress.Primary, Receive = p, Primary = p, Secondary = s });
                _workers.Add(new Worker { Engine = new TeredoServerEngine(engineOptions), Via = ServerAddress.Secondary, Receive = s, Primary = p, Secondary = s });
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
            w.Thread = new Thread(() => Run(w)) { IsBackground = true, Name = $"teredo-server-{w.Via}" };
            w.Thread.Start();
        }
        _control = ControlServer.Start(settings.ControlSocket, StatusJson, log);
        log.LogInformation("Teredo server on {Primary} and {Secondary}, prefix {Prefix}/64, MTU {Mtu}, ICMPv6 to native IPv6 {Forwarding}, {Threads} thread(s) per address, control socket {Control}",
            primary, secondary, _workers[0].Engine.AdvertisedPrefix, engineOptions.Mtu, engineOptions.Ipv6Forwarding ? "on" : "off",
            settings.Threads, settings.ControlSocket);
        return Task.CompletedTask;
    }

    private void Run(Worker w)
    {
        var input = new byte[65536];
        var output = new byte[65536 + TeredoServerEngine.OutputHeadroom];
        var from = Ipv4SocketAddress.Create();
        var to = Ipv4SocketAddress.Create();
        var to6 = Ipv6SocketAddress.Create();
        while (!_stopping)
        {
            int n;
            try { n = w.Receive.Receive(input, from); }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                if (_stopping) return;
                // ICMP port unreachable from an earlier send surfaces here as ConnectionReset; keep going.
                continue;
            }
            var source = Ipv4SocketAddress.Read(from);
            var result = w.Engine.Process(Environment.TickCount64, w.Via, source, input.AsSpan(0, n), output);
            try
            {
                switch (result.Kind)
                {
                    case ServerOutputKind.Udp:
                        (result.From == ServerAddress.Primary ? w.Primary : w.Secondary).Send(output.AsSpan(0, result.Length), result.To, to);
                        break;
                    case ServerOutputKind.NativeIpv6:
                        Ipv6Packet.TryParse(output.AsSpan(0, result.Length), out var packet);
                        _raw!.Send(output.AsSpan(0, result.Length), packet.Destination, to6);
                        break;
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
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

    public string StatusJson()
    {
        var o = settings.Engine;
        using var stream = new MemoryStream();
        using (var j = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            j.WriteStartObject();
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
            j.WriteStartObject("counters");
            foreach (var c in ServerCounters.All) j.WriteNumber(JsonNamingPolicy.CamelCase.ConvertName(c.ToString()), this[c]);
            long sendErrors = 0;
            foreach (var w in _workers) sendErrors += Interlocked.Read(ref w.SendErrors);
            j.WriteNumber("sendErrors", sendErrors);
            j.WriteEndObject();
            j.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

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
        _control?.Dispose();
        _control = null;
        foreach (var w in _workers)
        {
            w.Receive.Dispose();
        }
        foreach (var w in _workers) w.Thread?.Join(TimeSpan.FromSeconds(2));
        _raw?.Dispose();
    }
}
