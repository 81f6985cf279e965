using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Teredo.Addressing;
using Teredo.Hosting.Configuration;
using Teredo.Hosting.Coordinator;
using Teredo.Hosting.P2p;
using Teredo.Net;
using Teredo.P2p.Control;
using Teredo.P2p.Coordinator;
using Teredo.Tests.Support;
using Teredo.Wire;

namespace Teredo.Tests.P2p;

/// <summary>
/// The whole role on loopback without root: the coordinator daemon (TLS 1.3, UDP bubbles, journal, status)
/// and the peer's <see cref="CoordinatorClient"/>, talking over real sockets.
/// </summary>
public sealed class CoordinatorDaemonTests : IDisposable
{
    private static readonly Ipv4Address Loopback = Ipv4Address.Parse("127.0.0.1");
    private static readonly Ipv4Address Host4 = Ipv4Address.Parse("198.18.0.100");
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);
    private readonly TempDirectory _dir = new();
    private readonly List<IDisposable> _cleanup = [];
    private readonly List<CoordinatorClient> _clients = [];

    public void Dispose()
    {
        foreach (var c in _clients) c.DisposeAsync().AsTask().Wait(5000);
        foreach (var d in _cleanup) d.Dispose();
        _dir.Dispose();
    }

    private string State => Path.Combine(_dir.FullPath, "coordinator");

    private CoordinatorDaemon StartDaemon(ushort tlsPort = 0, Func<CoordinatorOptions, CoordinatorOptions>? engine = null)
    {
        var options = new CoordinatorOptions { Address = Loopback, AllowDestinations = [new(Ipv4Address.Parse("198.18.0.0"), 15)], KeepaliveSeconds = 1, SessionTimeoutSeconds = 5 };
        var settings = new CoordinatorHostSettings
        {
            Engine = engine?.Invoke(options) ?? options,
            TlsPort = tlsPort,
            BubblePort = 0,
            StateDirectory = State,
            ControlSocket = Path.Combine(_dir.FullPath, $"c{Guid.NewGuid():N}.sock"),
        };
        var daemon = new CoordinatorDaemon(settings, NullLogger<CoordinatorDaemon>.Instance);
        daemon.StartAsync(CancellationToken.None).Wait();
        _cleanup.Add(daemon);
        return daemon;
    }

    private sealed class Events
    {
        public readonly BlockingCollection<WelcomeMessage> Welcomes = [];
        public readonly BlockingCollection<BubbleNotification> Bubbles = [];
        public readonly BlockingCollection<LeaseGranted> Granted = [];
        public readonly BlockingCollection<string> Disconnects = [];
    }

    private (CoordinatorClient, Events) StartClient(CoordinatorDaemon daemon, string name = "peer", byte[]? pin = null, ushort? port = null)
    {
        var client = new CoordinatorClient(new CoordinatorClientOptions
        {
            Host = "127.0.0.1",
            Port = port ?? daemon.TlsEndpoint.Port,
            Pin = pin ?? CertificatePin.Parse(daemon.Pin),
            StateDirectory = Path.Combine(_dir.FullPath, name),
            LocalAddress = Ipv4Address.Parse("10.9.0.2"),
            InitialBackoff = TimeSpan.FromMilliseconds(100),
            MaxBackoff = TimeSpan.FromMilliseconds(400),
        }, NullLogger.Instance);
        var events = new Events();
        client.Welcomed += w => events.Welcomes.Add(w);
        client.BubbleNotified += b => events.Bubbles.Add(b);
        client.LeaseGranted += g => events.Granted.Add(g);
        client.Disconnected += r => events.Disconnects.Add(r);
        client.Start();
        _clients.Add(client);
        return (client, events);
    }

    private static T Take<T>(BlockingCollection<T> queue)
    {
        Assert.True(queue.TryTake(out var item, Wait), $"no {typeof(T).Name} within {Wait.TotalSeconds} s");
        return item!;
    }

    private static void SendBubble(CoordinatorDaemon daemon, Socket relay, Ipv6Address source, Ipv6Address destination)
    {
        var bubble = new byte[Bubble.Length];
        Bubble.Emit(bubble, source, destination);
        relay.SendTo(bubble, new IPEndPoint(IPAddress.Loopback, daemon.BubbleEndpoint.Port));
    }

    private static Socket RelaySocket()
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        s.ReceiveTimeout = 300;
        return s;
    }

    private static JsonElement Status(CoordinatorDaemon daemon) => JsonDocument.Parse(daemon.StatusJson()).RootElement.Clone();

    [Fact]
    public async Task A_peer_joins_over_TLS_and_a_relay_bubble_reaches_it_as_a_notification_and_nothing_goes_back_on_UDP()
    {
        var daemon = StartDaemon();
        var (client, events) = StartClient(daemon);
        var welcome = Take(events.Welcomes);
        Assert.True(welcome.HasStaticAddress);
        Assert.Equal(CoordinatorAddress.Prefix(Loopback).Upper, welcome.Prefix);

        using var relay = RelaySocket();
        var nonce = Ipv6Address.Parse("fe80::8000:f227:bec3:51c4");
        var target = CoordinatorAddress.Dynamic(Loopback, Host4).ToIpv6();
        SendBubble(daemon, relay, nonce, target);
        var granted = Take(events.Granted);
        Assert.Equal(target, granted.Address);
        var note = Take(events.Bubbles);
        Assert.Equal(target, note.Destination);
        Assert.Equal(nonce, note.Source);
        Assert.Equal(((IPEndPoint)relay.LocalEndPoint!).Port, note.Relay.Port);
        Assert.Equal(Loopback, note.Relay.Address);
        // The coordinator never answers on UDP.
        Assert.Throws<SocketException>(() => relay.Receive(new byte[2048]));

        // Lease use renews it; the status shows the peer and the lease.
        Assert.True(await client.ReportUseAsync([new LeaseUse(target, 3, 0)]));
        var deadline = DateTime.UtcNow + Wait;
        JsonElement status;
        do
        {
            Thread.Sleep(50);
            status = Status(daemon);
        } while (status.GetProperty("counters").GetProperty("leasesRenewed").GetInt64() == 0 && DateTime.UtcNow < deadline);
        var peer = Assert.Single(status.GetProperty("peers").EnumerateArray());
        Assert.Equal(PeerState.FormatIdentity(client.Identity), peer.GetProperty("identity").GetString());
        Assert.Equal(welcome.StaticAddress.ToString(), peer.GetProperty("staticAddress").GetString());
        var lease = Assert.Single(status.GetProperty("leases").EnumerateArray());
        Assert.Equal(target.ToString(), lease.GetProperty("address").GetString());
        Assert.Equal("198.18.0.100", lease.GetProperty("destination").GetString());
        Assert.True(lease.GetProperty("proven").GetBoolean());
        Assert.Single(lease.GetProperty("relays").EnumerateArray());
        Assert.Equal(daemon.Pin, status.GetProperty("pin").GetString());
        Assert.Equal(1, status.GetProperty("keepaliveSeconds").GetInt32());
        Assert.Equal(5, status.GetProperty("sessionTimeoutSeconds").GetInt32());
        var memory = status.GetProperty("memory");
        Assert.True(memory.GetProperty("gcHeapBytes").GetInt64() > 0);
        Assert.True(memory.GetProperty("rssBytes").GetInt64() >= memory.GetProperty("gcHeapBytes").GetInt64() / 2);
        // On Linux the session's OpenSSL record buffers are released while it is idle.
        if (OperatingSystem.IsLinux()) Assert.Equal(0, status.GetProperty("counters").GetProperty("tlsBuffersKept").GetInt64());
    }

    [Fact]
    public void Keepalives_keep_the_session_up_past_the_session_timeout()
    {
        var daemon = StartDaemon();
        var (client, events) = StartClient(daemon);
        Take(events.Welcomes);
        Thread.Sleep(6500); // longer than SessionTimeout 5 s; keepalives every 1 s
        Assert.True(client.IsConnected);
        Assert.Equal(0, daemon.Engine.Counters[CoordinatorCounter.PeersTimedOut]);
        Assert.True(daemon.Engine.Counters[CoordinatorCounter.KeepalivesReceived] >= 4);
        Assert.NotNull(client.LastKeepaliveAnswer);
    }

    [Fact]
    public void After_a_coordinator_restart_the_peer_reconnects_with_backoff_and_keeps_its_static_address_and_pin()
    {
        var daemon = StartDaemon();
        string pin = daemon.Pin;
        ushort port = daemon.TlsEndpoint.Port;
        var (client, events) = StartClient(daemon);
        var first = Take(events.Welcomes);
        // A second identity, so the journal holds more than one record.
        var (_, otherEvents) = StartClient(daemon, "other");
        var other = Take(otherEvents.Welcomes);
        Assert.NotEqual(first.StaticSuffix, other.StaticSuffix);

        daemon.Dispose(); // abrupt: no goodbye, like a kill
        Take(events.Disconnects);
        var again = StartDaemon(port);
        Assert.Equal(pin, again.Pin); // the generated certificate is reused
        var second = Take(events.Welcomes);
        Assert.Equal(first.StaticAddress, second.StaticAddress);
        Assert.Equal(other.StaticAddress, Take(otherEvents.Welcomes).StaticAddress);
        Assert.True(client.Connects >= 2);
        Assert.True(client.Failures >= 1);
    }

    [Fact]
    public void A_wrong_pin_is_refused_and_the_client_keeps_retrying()
    {
        var daemon = StartDaemon();
        var (client, events) = StartClient(daemon, pin: new byte[32]);
        string reason = Take(events.Disconnects);
        Assert.False(client.IsConnected);
        // Retrying, or already on its next attempt when the backoff is short and this machine is slow.
        Assert.Matches("^(retrying|connecting)", client.State);
        Take(events.Disconnects); // it tried again after its backoff
        Assert.Empty(events.Welcomes);
        Assert.NotEmpty(reason);
        Assert.Empty(daemon.Engine.Peers);
        Assert.Equal(0, daemon.Engine.Counters[CoordinatorCounter.HellosReceived]);
    }

    private static bool Eventually(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!condition() && DateTime.UtcNow < deadline) Thread.Sleep(20);
        return condition();
    }

    private static async Task<SslStream> RawSession(CoordinatorDaemon daemon, string alpn = ControlFrame.Alpn)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, daemon.TlsEndpoint.Port);
        var ssl = new SslStream(tcp.GetStream());
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "coordinator",
            EnabledSslProtocols = SslProtocols.Tls13,
            ApplicationProtocols = [new SslApplicationProtocol(alpn)],
            RemoteCertificateValidationCallback = (_, c, _, _) => CertificatePin.Matches(c, CertificatePin.Parse(daemon.Pin)),
        });
        return ssl;
    }

    [Fact]
    public async Task A_bad_frame_closes_that_session_and_nothing_else()
    {
        var daemon = StartDaemon();
        var (client, events) = StartClient(daemon);
        Take(events.Welcomes);

        await using var bad = await RawSession(daemon);
        await bad.WriteAsync(ControlFrame.ToArray(new HelloMessage(1, 1, 77, Ipv4Address.Parse("10.0.0.7"), 5, 0, "")));
        await bad.WriteAsync(new byte[] { 0xFF, 0xFF, 0x03 }); // a length past the maximum
        var buffer = new byte[4096];
        int total = 0, n;
        using var timeout = new CancellationTokenSource(Wait);
        while ((n = await bad.ReadAsync(buffer.AsMemory(total), timeout.Token)) > 0) total += n;
        // welcome, then error, then the connection closes
        Assert.Equal(FrameReadStatus.Complete, ControlFrame.TryRead(buffer.AsSpan(0, total), out var t1, out _, out int c1));
        Assert.Equal(ControlMessageType.Welcome, t1);
        Assert.True(ControlFrame.TryParse<ErrorMessage>(buffer.AsSpan(c1, total - c1), out var error));
        Assert.Equal(ControlErrorCode.MalformedFrame, error.Code);

        Assert.True(client.IsConnected);
        Assert.Single(daemon.Engine.Peers);
        Assert.Equal(1, daemon.Engine.Counters[CoordinatorCounter.ProtocolErrors]);
    }

    [Fact]
    public async Task A_client_without_the_ALPN_id_is_turned_away()
    {
        var daemon = StartDaemon();
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var s = await RawSession(daemon, "http/1.1");
            var one = new byte[1];
            int n = await s.ReadAsync(one);
            if (n == 0) throw new IOException("closed");
        });
        Assert.True(Eventually(() => daemon[CoordinatorHostCounter.HandshakesFailed] >= 1));
    }

    [Fact]
    public async Task A_moved_lease_reaches_the_other_peer_with_its_relays_when_the_owner_says_goodbye()
    {
        var daemon = StartDaemon();
        var (a, ea) = StartClient(daemon, "a");
        var (b, eb) = StartClient(daemon, "b");
        Take(ea.Welcomes);
        Take(eb.Welcomes);
        using var relay = RelaySocket();
        var nonce = Ipv6Address.Parse("fe80::42");
        var target = CoordinatorAddress.Dynamic(Loopback, Host4).ToIpv6();
        SendBubble(daemon, relay, nonce, target);
        Assert.True(Eventually(() => ea.Granted.Count + eb.Granted.Count == 1));
        bool aOwns = ea.Granted.Count == 1;
        var (owner, survivor) = aOwns ? (a, eb) : (b, ea);
        await owner.StopAsync();
        var moved = Take(survivor.Granted);
        Assert.Equal(target, moved.Address);
        var sighting = Assert.Single(moved.Relays);
        Assert.Equal(nonce, sighting.BubbleSource);
        Assert.Equal(((IPEndPoint)relay.LocalEndPoint!).Port, sighting.Relay.Port);
    }
}
