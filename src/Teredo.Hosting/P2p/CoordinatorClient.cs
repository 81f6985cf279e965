using System.Buffers.Binary;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Teredo.Hosting.Sockets;
using Teredo.Net;
using Teredo.P2p.Control;

namespace Teredo.Hosting.P2p;

public sealed record CoordinatorClientOptions
{
    public required string Host { get; init; }
    public int Port { get; init; } = ControlFrame.DefaultPort;
    /// <summary>SHA-256 of the coordinator's DER certificate; null to verify the chain and name against the system CAs instead.</summary>
    public byte[]? Pin { get; init; }
    /// <summary>Holds the identity file, so the static address survives restarts.</summary>
    public required string StateDirectory { get; init; }
    public string Token { get; init; } = "";
    /// <summary>The address announced in hello; null for the local address of the TCP connection (the peer's own, behind its NAT).</summary>
    public Ipv4Address? LocalAddress { get; init; }
    public uint Capacity { get; init; } = 10_000;
    public uint BandwidthKbps { get; init; }
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromSeconds(1);
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(60);
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Host)) throw new ArgumentException("a coordinator host is required", nameof(Host));
        if (Pin is { Length: not CertificatePin.Length }) throw new ArgumentException("a pin is 32 bytes (SHA-256)", nameof(Pin));
        if (!HelloMessage.IsValidToken(Token)) throw new ArgumentException("a token is at most 255 bytes", nameof(Token));
        if (InitialBackoff <= TimeSpan.Zero || MaxBackoff < InitialBackoff) throw new ArgumentOutOfRangeException(nameof(InitialBackoff));
    }
}

/// <summary>
/// The IPv4 peer's side of the control channel: TLS 1.3 to the coordinator with a pinned certificate (or
/// CA verification), hello/welcome, keepalives, reconnection with jittered exponential backoff, and a clean
/// goodbye on stop. Raises the coordinator's messages as events on its reader task; the peer's data path
/// subscribes. The identity is a random 128-bit id created once in the state directory.
/// </summary>
public sealed class CoordinatorClient : IAsyncDisposable
{
    public const string IdentityFile = "identity";

    private readonly CoordinatorClientOptions _options;
    private readonly ILogger _log;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly byte[] _writeBuffer = new byte[ControlFrame.MaxFrameBytes];
    private SslStream? _stream;
    private Task? _loop;
    private uint _keepaliveSequence;
    private volatile string _state = "starting";

    public CoordinatorClient(CoordinatorClientOptions options, ILogger log)
    {
        options.Validate();
        _options = options;
        _log = log;
        Identity = LoadOrCreateIdentity(options.StateDirectory);
    }

    public UInt128 Identity { get; }
    /// <summary>The last welcome; null before the first one.</summary>
    public WelcomeMessage? Welcome { get; private set; }
    public bool IsConnected => _stream is not null && Welcome is not null && _state == "connected";
    /// <summary>connecting, connected, retrying (with the reason) or stopped.</summary>
    public string State => _state;
    public int Connects { get; private set; }
    public int Failures { get; private set; }
    public DateTimeOffset? LastKeepaliveAnswer { get; private set; }
    public TimeSpan? NextRetryIn { get; private set; }

    public event Action<WelcomeMessage>? Welcomed;
    public event Action<BubbleNotification>? BubbleNotified;
    public event Action<LeaseGranted>? LeaseGranted;
    public event Action<LeaseRenewed>? LeaseRenewed;
    public event Action<LeaseReleased>? LeaseReleased;
    public event Action<LeaseRevoked>? LeaseRevoked;
    /// <summary>The session ended (the text says why); the client reconnects on its own unless stopped.</summary>
    public event Action<string>? Disconnected;

    public static UInt128 LoadOrCreateIdentity(string stateDirectory)
    {
        string path = Path.Combine(stateDirectory, IdentityFile);
        if (File.Exists(path) && UInt128.TryParse(File.ReadAllText(path).Trim(), System.Globalization.NumberStyles.HexNumber, null, out var id) && id != 0)
            return id;
        Span<byte> random = stackalloc byte[16];
        RandomNumberGenerator.Fill(random);
        var identity = BinaryPrimitives.ReadUInt128BigEndian(random);
        AtomicFile.WriteText(path, identity.ToString("x32") + "\n");
        return identity;
    }

    public void Start() => _loop ??= Task.Run(RunAsync);

    private async Task RunAsync()
    {
        int attempt = 0;
        while (!_stop.IsCancellationRequested)
        {
            _state = "connecting";
            string reason;
            try
            {
                reason = await SessionAsync(() => attempt = 0).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or SocketException or AuthenticationException or OperationCanceledException
                                          or ObjectDisposedException or InvalidOperationException)
            {
                reason = e is OperationCanceledException && !_stop.IsCancellationRequested ? "timed out" : e.Message;
            }
            _stream = null;
            if (_stop.IsCancellationRequested) break;
            Failures++;
            // Full jitter over an exponential ceiling: many peers that lost one coordinator do not return in step.
            double ceiling = Math.Min(_options.MaxBackoff.TotalMilliseconds, _options.InitialBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 20)));
            var delay = TimeSpan.FromMilliseconds(ceiling / 2 + Random.Shared.NextDouble() * ceiling / 2);
            attempt++;
            NextRetryIn = delay;
            // The state says "retrying" before listeners hear of the disconnect, so they never see a stale "connecting".
            _state = $"retrying ({reason})";
            Disconnected?.Invoke(reason);
            _log.LogWarning("coordinator {Host}:{Port}: {Reason}; retrying in {Delay:F1} s", _options.Host, _options.Port, reason, delay.TotalSeconds);
            try { await Task.Delay(delay, _stop.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) { break; }
        }
        _state = "stopped";
    }

    /// <summary>One session, from connect to its end; returns why it ended.</summary>
    private async Task<string> SessionAsync(Action welcomed)
    {
        using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        TcpOptions.SetUserTimeout(tcp, TcpOptions.ControlUserTimeout);
        using (var connect = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token))
        {
            connect.CancelAfter(_options.ConnectTimeout);
            await tcp.ConnectAsync(_options.Host, _options.Port, connect.Token).ConfigureAwait(false);
        }
        var local = _options.LocalAddress ?? Ipv4Address.FromIPAddress(((IPEndPoint)tcp.LocalEndPoint!).Address);
        await using var ssl = new SslStream(new NetworkStream(tcp, ownsSocket: false), leaveInnerStreamOpen: false);
        using (var handshake = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token))
        {
            handshake.CancelAfter(_options.ConnectTimeout);
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = _options.Host,
                EnabledSslProtocols = SslProtocols.Tls13,
                ApplicationProtocols = [new SslApplicationProtocol(ControlFrame.Alpn)],
                RemoteCertificateValidationCallback = (_, certificate, _, errors) => _options.Pin is { } pin
                    ? CertificatePin.Matches(certificate, pin)
                    : errors == SslPolicyErrors.None,
            }, handshake.Token).ConfigureAwait(false);
        }
        if (ssl.NegotiatedApplicationProtocol.ToString() != ControlFrame.Alpn) return "the coordinator did not agree on ALPN " + ControlFrame.Alpn;
        _stream = ssl;
        await SendAsync(new HelloMessage(ControlFrame.Version, ControlFrame.Version, Identity, local, _options.Capacity, _options.BandwidthKbps, _options.Token))
            .ConfigureAwait(false);

        using var reader = new ControlFrameReader();
        using var session = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        Task? keepalive = null;
        var timeout = TimeSpan.FromSeconds(30);
        try
        {
            while (true)
            {
                using var read = CancellationTokenSource.CreateLinkedTokenSource(session.Token);
                read.CancelAfter(timeout); // no welcome, or nothing for a session timeout: the path is dead
                if (!await reader.FillAsync(ssl, read.Token).ConfigureAwait(false)) return "the coordinator closed the connection";
                while (true)
                {
                    var status = reader.TryNext(out var type, out var body);
                    if (status == FrameReadStatus.NeedMore) break;
                    if (status == FrameReadStatus.Malformed) return "malformed frame from the coordinator";
                    string? end = Dispatch(type, body);
                    if (end is not null) return end;
                    if (type == ControlMessageType.Welcome && keepalive is null)
                    {
                        var w = Welcome!.Value;
                        timeout = TimeSpan.FromSeconds(Math.Max(w.SessionTimeoutSeconds, w.KeepaliveSeconds * 2));
                        Connects++;
                        welcomed();
                        _log.LogInformation("joined coordinator {Host}:{Port}: static address {Static}, keepalive {Keepalive} s",
                            _options.Host, _options.Port, w.HasStaticAddress ? w.StaticAddress : "none", w.KeepaliveSeconds);
                        keepalive = KeepaliveLoop(TimeSpan.FromSeconds(w.KeepaliveSeconds), session.Token);
                        // Listeners take the welcome (the static address, the prefix) before anyone can read
                        // "connected": a status query in between once showed connected with no address.
                        Welcomed?.Invoke(w);
                        NextRetryIn = null;
                        _state = "connected";
                    }
                }
            }
        }
        finally
        {
            await session.CancelAsync().ConfigureAwait(false);
            if (keepalive is not null) await keepalive.ConfigureAwait(false);
        }
    }

    /// <summary>Raises one coordinator message; returns a reason when the session must end.</summary>
    private string? Dispatch(ControlMessageType type, ReadOnlySpan<byte> body)
    {
        switch (type)
        {
            case ControlMessageType.BubbleNotification when BubbleNotification.TryParseBody(body, out var m):
                BubbleNotified?.Invoke(m);
                return null;
            case ControlMessageType.Welcome when WelcomeMessage.TryParseBody(body, out var m):
                if (m.Version != ControlFrame.Version) return $"the coordinator chose version {m.Version}";
                Welcome = m;
                return null;
            case ControlMessageType.Keepalive when KeepaliveMessage.TryParseBody(body, out _):
                LastKeepaliveAnswer = DateTimeOffset.UtcNow;
                return null;
            case ControlMessageType.LeaseGranted when Teredo.P2p.Control.LeaseGranted.TryParseBody(body, out var m):
                LeaseGranted?.Invoke(m);
                return null;
            case ControlMessageType.LeaseRenewed when Teredo.P2p.Control.LeaseRenewed.TryParseBody(body, out var m):
                LeaseRenewed?.Invoke(m);
                return null;
            case ControlMessageType.LeaseReleased when Teredo.P2p.Control.LeaseReleased.TryParseBody(body, out var m):
                LeaseReleased?.Invoke(m);
                return null;
            case ControlMessageType.LeaseRevoked when Teredo.P2p.Control.LeaseRevoked.TryParseBody(body, out var m):
                LeaseRevoked?.Invoke(m);
                return null;
            case ControlMessageType.Goodbye when GoodbyeMessage.TryParseBody(body, out var m):
                return $"goodbye from the coordinator: {m.Reason} {m.Text}".TrimEnd();
            case ControlMessageType.Error when ErrorMessage.TryParseBody(body, out var m):
                return $"error from the coordinator: {m.Code} {m.Text}".TrimEnd();
            default:
                return $"unexpected or malformed {type} frame from the coordinator";
        }
    }

    private async Task KeepaliveLoop(TimeSpan interval, CancellationToken token)
    {
        try
        {
            while (true)
            {
                await Task.Delay(interval, token).ConfigureAwait(false);
                await SendAsync(new KeepaliveMessage(++_keepaliveSequence)).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The session is over; the reader reports why.
        }
    }

    /// <summary>Sends one message on the current session; false when there is none.</summary>
    public async Task<bool> SendAsync<T>(T message) where T : struct, IControlMessage<T>
    {
        var stream = _stream;
        if (stream is null) return false;
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            int n = ControlFrame.Emit(_writeBuffer, message);
            await stream.WriteAsync(_writeBuffer.AsMemory(0, n)).ConfigureAwait(false);
            await stream.FlushAsync().ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or NotSupportedException)
        {
            return false;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Reports lease use, split into frames of at most <see cref="LeaseUseReport.MaxEntries"/> entries.</summary>
    public async Task<bool> ReportUseAsync(IReadOnlyList<LeaseUse> entries)
    {
        for (int i = 0; i < entries.Count; i += LeaseUseReport.MaxEntries)
        {
            int n = Math.Min(LeaseUseReport.MaxEntries, entries.Count - i);
            var chunk = new LeaseUse[n];
            for (int k = 0; k < n; k++) chunk[k] = entries[i + k];
            if (!await SendAsync(new LeaseUseReport(chunk)).ConfigureAwait(false)) return false;
        }
        return true;
    }

    /// <summary>Says goodbye (when connected) and stops reconnecting.</summary>
    public async Task StopAsync()
    {
        if (_stream is not null) await SendAsync(new GoodbyeMessage(GoodbyeReason.Shutdown, "peer stopping")).ConfigureAwait(false);
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            try { await _loop.ConfigureAwait(false); }
            catch (OperationCanceledException) { }
        }
        _state = "stopped";
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stop.Dispose();
    }
}
