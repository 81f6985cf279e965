using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Teredo.Hosting.Configuration;
using Teredo.Hosting.Control;
using Teredo.Hosting.P2p;
using Teredo.Hosting.Sockets;
using Teredo.Net;
using Teredo.P2p.Control;
using Teredo.P2p.Coordinator;

namespace Teredo.Hosting.Coordinator;

/// <summary>Host-side events of the coordinator daemon (the engine counts the protocol's).</summary>
public enum CoordinatorHostCounter
{
    ConnectionsAccepted,
    ConnectionsRefusedBusy,
    HandshakesFailed,
    HelloTimeouts,
    SessionsOverflowed,
    /// <summary>Sessions whose OpenSSL record buffers could not be set to be released while idle (see OpenSslBuffers).</summary>
    TlsBuffersKept,
    UdpReceiveErrors,
}

/// <summary>
/// <c>teredo coordinator</c>: TLS 1.3 control sessions with IPv4 peers (TCP, ALPN teredo-p2p/1), relays'
/// indirect bubbles on UDP S:3544, and a 1 s clock, all feeding one <see cref="CoordinatorEngine"/> under
/// one lock. The UDP socket is only read from: the coordinator sends nothing to relays or native IPv6.
/// </summary>
public sealed class CoordinatorDaemon(CoordinatorHostSettings settings, ILogger<CoordinatorDaemon> log) : IHostedService, IDisposable, ICoordinatorSink
{
    private readonly Lock _gate = new();
    private readonly ConcurrentDictionary<long, CoordinatorSession> _sessions = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly long[] _hostCounters = new long[Enum.GetValues<CoordinatorHostCounter>().Length];
    private readonly Stopwatch _uptime = Stopwatch.StartNew();
    private CoordinatorEngine? _engine;
    private StaticAssignmentJournal? _journal;
    private X509Certificate2? _certificate;
    private SslServerAuthenticationOptions? _tls;
    private Socket? _listener;
    private UdpChannel? _udp;
    private Thread? _udpThread;
    private Task? _acceptLoop;
    private Task? _clock;
    private StatusEndpoints? _endpoints;
    private SemaphoreSlim? _pending;
    private long _nextSession;
    private bool _certificateGenerated;
    private volatile bool _stopping;

    public CoordinatorEngine Engine => _engine ?? throw new InvalidOperationException("not started");
    /// <summary>The certificate pin peers must be given (SHA-256 of the DER certificate, openssl's format).</summary>
    public string Pin { get; private set; } = "";
    public Ipv4Endpoint TlsEndpoint { get; private set; }
    public Ipv4Endpoint BubbleEndpoint { get; private set; }

    public long this[CoordinatorHostCounter c] => Interlocked.Read(ref _hostCounters[(int)c]);

    private void Count(CoordinatorHostCounter c) => Interlocked.Increment(ref _hostCounters[(int)c]);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var o = settings.Engine;
        _journal = StaticAssignmentJournal.Open(settings.StateDirectory, out var recovered, out long discarded);
        if (discarded > 0) log.LogWarning("static address journal: dropped a torn last record ({Bytes} bytes)", discarded);
        _engine = new CoordinatorEngine(o, this, _journal, recovered);
        _certificate = CoordinatorCertificate.Load(settings.CertificateFile, settings.KeyFile, settings.StateDirectory, o.Address, out _certificateGenerated);
        Pin = CertificatePin.Format(CertificatePin.Of(_certificate));
        _tls = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = SslStreamCertificateContext.Create(_certificate, null, offline: true),
            EnabledSslProtocols = SslProtocols.Tls13,
            ApplicationProtocols = [new SslApplicationProtocol(ControlFrame.Alpn)],
            ClientCertificateRequired = false,
        };
        _pending = new SemaphoreSlim(settings.MaxPendingSessions);

        try
        {
            _udp = UdpChannel.Bind(new Ipv4Endpoint(o.Address, settings.BubblePort), reusePort: false);
            BubbleEndpoint = new Ipv4Endpoint(o.Address, (ushort)((IPEndPoint)_udp.Socket.LocalEndPoint!).Port);
            _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            _listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            _listener.Bind(new IPEndPoint(o.Address.ToIPAddress(), settings.TlsPort));
            _listener.Listen(1024);
            TlsEndpoint = new Ipv4Endpoint(o.Address, (ushort)((IPEndPoint)_listener.LocalEndPoint!).Port);
        }
        catch (SocketException e)
        {
            Dispose();
            throw new InvalidOperationException($"cannot bind {o.Address} (TCP {settings.TlsPort}, UDP {settings.BubblePort}): {e.Message}", e);
        }
        _udpThread = new Thread(ReceiveBubbles) { IsBackground = true, Name = "teredo-coordinator-udp" };
        _udpThread.Start();
        _acceptLoop = Task.Run(AcceptLoop);
        _clock = Task.Run(ClockLoop);
        _endpoints = StatusEndpoints.Start(settings.ControlSocket, settings.Metrics, "coordinator", StatusJson, log);

        log.LogInformation("coordinator {Address}: prefix {Prefix}/64, TLS on {Tls} (ALPN {Alpn}), relay bubbles on UDP {Udp}, control socket {Control}",
            o.Address, Teredo.Addressing.CoordinatorAddress.Prefix(o.Address), TlsEndpoint, ControlFrame.Alpn, BubbleEndpoint, settings.ControlSocket);
        log.LogInformation("certificate {Source}; pin sha256 {Pin}",
            settings.CertificateFile ?? (_certificateGenerated ? $"generated into {settings.StateDirectory}" : $"self-signed from {settings.StateDirectory}"), Pin);
        log.LogInformation("state {State}: {Static} static address(es) recovered; join {Join}; destinations: globally reachable (RFC 6890){Allowed}",
            settings.StateDirectory, recovered.Count, o.Tokens is null ? "open to any peer" : $"by token ({o.Tokens.Count} listed)",
            o.AllowDestinations.Count == 0 ? "" : " plus AllowDestination " + string.Join(", ", o.AllowDestinations));
        if (OpenSslBuffers.Unavailable is { } why)
            log.LogWarning("TLS sessions keep their OpenSSL record buffers while idle (~15 KB each): {Reason}", why);
        return Task.CompletedTask;
    }

    // ICoordinatorSink: called under _gate by the engine.
    bool ICoordinatorSink.Send(long session, ReadOnlySpan<byte> frame)
    {
        if (!_sessions.TryGetValue(session, out var s)) return false;
        if (s.Enqueue(frame)) return true;
        if (s.Overflowed) Count(CoordinatorHostCounter.SessionsOverflowed);
        return false;
    }

    void ICoordinatorSink.Close(long session)
    {
        if (_sessions.TryGetValue(session, out var s)) s.CloseAfterFlush();
    }

    private async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try { socket = await _listener!.AcceptAsync(_stop.Token).ConfigureAwait(false); }
            catch (Exception) when (_stop.IsCancellationRequested) { return; }
            catch (SocketException) { continue; }
            if (!_pending!.Wait(0))
            {
                // Too many connections that have not said hello: a scanner or a flood, not peers.
                Count(CoordinatorHostCounter.ConnectionsRefusedBusy);
                socket.Dispose();
                continue;
            }
            Count(CoordinatorHostCounter.ConnectionsAccepted);
            _ = RunSession(socket);
        }
    }

    private async Task RunSession(Socket socket)
    {
        long id = Interlocked.Increment(ref _nextSession);
        bool pendingReleased = false;
        CoordinatorSession? session = null;
        socket.NoDelay = true;
        TcpOptions.SetUserTimeout(socket, TcpOptions.ControlUserTimeout);
        var remote = socket.RemoteEndPoint;
        var ssl = new SslStream(new NetworkStream(socket, ownsSocket: true), leaveInnerStreamOpen: false);
        var reader = new ControlFrameReader();
        // The only timer of a session: handshake and hello must be done in time. It is gone once the peer
        // has joined; from then on the session waits in a plain read, and a close (engine, timeout, stop)
        // shuts the socket down, which ends that read.
        var hello = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        hello.CancelAfter(TimeSpan.FromSeconds(settings.HandshakeTimeoutSeconds));
        try
        {
            try
            {
                await ssl.AuthenticateAsServerAsync(_tls!, hello.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException or SocketException)
            {
                Count(CoordinatorHostCounter.HandshakesFailed);
                log.LogDebug("TLS handshake with {Remote} failed: {Error}", remote, e.Message);
                return;
            }
            if (ssl.NegotiatedApplicationProtocol.ToString() != ControlFrame.Alpn)
            {
                Count(CoordinatorHostCounter.HandshakesFailed);
                return;
            }
            // Before the first read or write of the session: idle sessions then hold no TLS record buffers.
            if (!OpenSslBuffers.Release(ssl)) Count(CoordinatorHostCounter.TlsBuffersKept);
            session = new CoordinatorSession(id, socket, ssl, remote, settings.MaxQueuedBytesPerSession);
            _sessions[id] = session;
            bool joined = false;
            while (true)
            {
                if (!Drain(session, reader, ref joined)) break;
                if (joined && !pendingReleased)
                {
                    pendingReleased = true;
                    _pending!.Release();
                    hello.Dispose();
                    var peer = PeerOf(id);
                    log.LogInformation("peer {Identity} joined from {Remote} (local {Local}), static address {Static}",
                        peer is null ? "?" : PeerState.FormatIdentity(peer.Identity), remote, peer?.LocalAddress, peer?.StaticAddress);
                }
                if (!await reader.FillAsync(ssl, joined ? CancellationToken.None : hello.Token).ConfigureAwait(false)) break;
            }
        }
        catch (OperationCanceledException)
        {
            if (PeerOf(id) is null && !_stopping) Count(CoordinatorHostCounter.HelloTimeouts);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException or InvalidOperationException)
        {
            // The connection broke, or the session was closed and its socket shut down.
        }
        finally
        {
            if (!pendingReleased) _pending!.Release();
            hello.Dispose();
            var peer = PeerOf(id);
            lock (_gate) _engine!.OnDisconnected(id, Environment.TickCount64);
            if (peer is not null) log.LogInformation("peer {Identity} ({Remote}) left", PeerState.FormatIdentity(peer.Identity), remote);
            if (session is not null)
            {
                session.CloseAfterFlush();
                await Task.WhenAny(session.Finished, Task.Delay(2000)).ConfigureAwait(false);
            }
            _sessions.TryRemove(id, out _);
            reader.Dispose();
            await ssl.DisposeAsync().ConfigureAwait(false);
        }
    }

    private PeerState? PeerOf(long id)
    {
        lock (_gate) return _engine!.PeerBySession(id);
    }

    /// <summary>Hands every complete frame in the buffer to the engine; false when the session must end.</summary>
    private bool Drain(CoordinatorSession session, ControlFrameReader reader, ref bool joined)
    {
        while (true)
        {
            var status = reader.TryNext(out var type, out var body);
            if (status == FrameReadStatus.NeedMore) break;
            lock (_gate)
            {
                if (session.IsClosing) return false;
                long now = Environment.TickCount64;
                if (status == FrameReadStatus.Malformed)
                {
                    _engine!.OnMalformedFrame(session.Id, now);
                    return false;
                }
                _engine!.OnMessage(session.Id, now, type, body);
                joined = _engine.PeerBySession(session.Id) is not null;
            }
        }
        return !session.IsClosing;
    }

    private void ReceiveBubbles()
    {
        using var rx = new UdpBatch(64, 2048);
        UdpBatch.SetReceiveTimeout(_udp!.Socket, TimeSpan.FromMilliseconds(250));
        while (!_stopping)
        {
            int n;
            try { n = rx.Receive(_udp.Socket); }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                if (_stopping) return;
                Count(CoordinatorHostCounter.UdpReceiveErrors);
                continue;
            }
            if (n == 0) continue;
            lock (_gate)
            {
                long now = Environment.TickCount64;
                for (int i = 0; i < n; i++) _engine!.OnBubble(now, rx.Source(i), rx.Received(i));
            }
        }
    }

    private async Task ClockLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            try { await Task.Delay(1000, _stop.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
            lock (_gate) _engine!.Tick(Environment.TickCount64);
        }
    }

    /// <summary>Entries listed in the status document at most; the totals are always complete.</summary>
    public const int StatusListLimit = 1000;

    public string StatusJson() => Control.StatusJson.Build(j =>
    {
        var o = settings.Engine;
        long now = Environment.TickCount64;
        lock (_gate)
        {
            var engine = _engine!;
            j.WriteString("role", "coordinator");
            j.WriteString("state", _stopping ? "stopping" : "running");
            j.WriteString("address", o.Address.ToString());
            j.WriteString("prefix", $"{Teredo.Addressing.CoordinatorAddress.Prefix(o.Address)}/64");
            j.WriteString("tls", TlsEndpoint.ToString());
            j.WriteString("alpn", ControlFrame.Alpn);
            j.WriteString("bubbles", BubbleEndpoint.ToString());
            j.WriteString("pin", Pin);
            j.WriteString("certificate", settings.CertificateFile ?? Path.Combine(settings.StateDirectory, CoordinatorCertificate.GeneratedCertificate));
            j.WriteString("stateDirectory", settings.StateDirectory);
            j.WriteBoolean("tokenRequired", o.Tokens is not null);
            j.WriteStartArray("allowDestinations");
            foreach (var a in o.AllowDestinations) j.WriteStringValue(a.ToString());
            j.WriteEndArray();
            j.WriteNumber("uptimeSeconds", (long)_uptime.Elapsed.TotalSeconds);
            j.WriteNumber("keepaliveSeconds", o.KeepaliveSeconds);
            j.WriteNumber("sessionTimeoutSeconds", o.SessionTimeoutSeconds);
            j.WriteNumber("peerCount", engine.Peers.Count);
            j.WriteNumber("leaseCount", engine.Leases.Count);
            j.WriteNumber("probationLeaseCount", engine.ProbationLeases);
            j.WriteNumber("staticAssignments", engine.StaticAssignments);
            WriteMemory(j);
            j.WriteStartArray("peers");
            int shown = 0;
            foreach (var p in engine.Peers)
            {
                if (shown++ == StatusListLimit) break;
                j.WriteStartObject();
                j.WriteString("identity", PeerState.FormatIdentity(p.Identity));
                j.WriteString("remote", _sessions.TryGetValue(p.Session, out var s) ? s.Remote?.ToString() : null);
                j.WriteString("localAddress", p.LocalAddress.ToString());
                j.WriteString("staticAddress", p.StaticSuffix == 0 ? null : p.StaticAddress.ToString());
                j.WriteNumber("staticSuffix", p.StaticSuffix);
                j.WriteNumber("leases", p.LeaseCount);
                j.WriteNumber("leaseLimit", p.LeaseLimit);
                j.WriteNumber("capacity", p.Capacity);
                j.WriteNumber("bandwidthKbps", p.BandwidthKbps);
                j.WriteNumber("notificationsSent", p.NotificationsSent);
                j.WriteNumber("connectedSeconds", (now - p.JoinedMs) / 1000);
                j.WriteNumber("lastKeepaliveSecondsAgo", (now - p.LastKeepaliveMs) / 1000);
                j.WriteEndObject();
            }
            j.WriteEndArray();
            j.WriteStartArray("leases");
            shown = 0;
            foreach (var l in engine.Leases)
            {
                if (shown++ == StatusListLimit) break;
                j.WriteStartObject();
                j.WriteString("address", l.Address.ToString());
                j.WriteString("destination", l.Destination.ToString());
                j.WriteString("owner", PeerState.FormatIdentity(l.Owner.Identity));
                j.WriteNumber("ageSeconds", (now - l.CreatedMs) / 1000);
                j.WriteNumber("expiresInSeconds", Math.Max(0, (l.ExpiresMs - now) / 1000));
                j.WriteBoolean("proven", l.Proven);
                j.WriteNumber("bubbles", l.Bubbles);
                j.WriteStartArray("relays");
                foreach (var r in l.Relays) j.WriteStringValue($"{r.Relay} {r.BubbleSource}");
                j.WriteEndArray();
                j.WriteEndObject();
            }
            j.WriteEndArray();
            var host = Enum.GetValues<CoordinatorHostCounter>().Select(c => (char.ToLowerInvariant(c.ToString()[0]) + c.ToString()[1..], this[c])).ToArray();
            Control.StatusJson.WriteCounters<CoordinatorCounter>(j, c => engine.Counters[c], host);
        }
    });

    /// <summary>
    /// The process's memory split the way a sizing question needs it: the GC heap (sessions, tables, the
    /// pooled buffers in use) against the resident anonymous memory, whose rest is native (OpenSSL's
    /// per-session state, the runtime). Socket buffers are kernel memory and in neither.
    /// </summary>
    private static void WriteMemory(System.Text.Json.Utf8JsonWriter j)
    {
        var gc = GC.GetGCMemoryInfo();
        j.WriteStartObject("memory");
        j.WriteNumber("rssBytes", Environment.WorkingSet);
        j.WriteNumber("gcHeapBytes", gc.HeapSizeBytes);
        j.WriteNumber("gcCommittedBytes", gc.TotalCommittedBytes);
        j.WriteEndObject();
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _stopping = true;
        lock (_gate)
        {
            if (_engine is not null)
                foreach (var p in _engine.Peers)
                {
                    var frame = ControlFrame.ToArray(new GoodbyeMessage(GoodbyeReason.Shutdown, "coordinator stopping"));
                    ((ICoordinatorSink)this).Send(p.Session, frame);
                    ((ICoordinatorSink)this).Close(p.Session);
                }
        }
        var deadline = Task.Delay(2000, cancellationToken);
        while (!_sessions.IsEmpty && !deadline.IsCompleted) await Task.Delay(20, CancellationToken.None).ConfigureAwait(false);
        log.LogInformation("stopping: {Bubbles} relay bubbles received, {Notifications} notifications sent, {Leases} leases granted",
            _engine?.Counters[CoordinatorCounter.BubblesReceived], _engine?.Counters[CoordinatorCounter.NotificationsSent],
            _engine?.Counters[CoordinatorCounter.LeasesGranted]);
        Dispose();
    }

    public void Dispose()
    {
        _stopping = true;
        _stop.Cancel();
        _endpoints?.Dispose();
        _endpoints = null;
        _listener?.Dispose();
        _udp?.Dispose();
        _udpThread?.Join(TimeSpan.FromSeconds(2));
        foreach (var s in _sessions.Values) s.CloseAfterFlush();
        _journal?.Dispose();
        _certificate?.Dispose();
    }
}
