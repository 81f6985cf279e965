using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Teredo.Hosting.Metrics;

/// <summary>
/// The HTTP side of <c>--metrics</c>: answers <c>GET /metrics</c> with the registry in the Prometheus
/// text format (0.0.4), anything else with 404, one connection at a time.
/// Why not prometheus-net's own servers: KestrelMetricServer pulls in ASP.NET Core, and MetricServer
/// is an HttpListener, which binds by URL prefix and then matches each request's Host header against
/// it (a scraper that names the host differently gets 400; 0.0.0.0 is not a prefix it accepts, "+"
/// binds everything). This is a plain socket bound to exactly the address given, with nothing for the
/// trimmer or Native AOT to lose; prometheus-net still does the registry and the exposition format.
/// A slow or silent client costs at most <see cref="ClientTimeout"/>; requests are capped at 8 KiB.
/// </summary>
public sealed class MetricsListener : IDisposable
{
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(5);
    private const int MaxRequestBytes = 8192;

    private readonly Socket _listener;
    private readonly Func<Stream, CancellationToken, Task> _export;
    private readonly ILogger _log;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    private MetricsListener(Socket listener, Func<Stream, CancellationToken, Task> export, ILogger log)
    {
        _listener = listener;
        _export = export;
        _log = log;
        _loop = Task.Run(() => Sockets.AcceptLoop.Run(_listener, "metrics", _log, ClientTimeout, Serve, _stop.Token));
    }

    /// <summary>The address and port actually bound (the port the kernel chose when 0 was asked).</summary>
    public IPEndPoint LocalEndPoint => (IPEndPoint)_listener.LocalEndPoint!;

    public static MetricsListener Start(IPEndPoint endpoint, Func<Stream, CancellationToken, Task> export, ILogger log)
    {
        var listener = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            if (endpoint.AddressFamily == AddressFamily.InterNetworkV6 && endpoint.Address.Equals(IPAddress.IPv6Any)) listener.DualMode = true;
            listener.Bind(endpoint);
            listener.Listen(16);
        }
        catch (SocketException e)
        {
            listener.Dispose();
            throw new InvalidOperationException($"metrics endpoint {endpoint}: {e.Message}", e);
        }
        return new MetricsListener(listener, export, log);
    }

    private async Task Serve(Socket client, CancellationToken ct)
    {
        string? target = await ReadRequestTarget(client, ct);
        if (target is null) return;
        bool head = target.StartsWith("HEAD ", StringComparison.Ordinal);
        string path = target[(target.IndexOf(' ') + 1)..];
        int query = path.IndexOf('?');
        if (query >= 0) path = path[..query];
        if (path is not ("/metrics" or "/metrics/"))
        {
            await Respond(client, "404 Not Found", "text/plain; charset=utf-8", "not found: the metrics are at /metrics\n"u8.ToArray(), head, ct);
            return;
        }
        using var body = new MemoryStream();
        try
        {
            await _export(body, ct);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or ArgumentException)
        {
            // A status the exporter cannot read is a bug to see in the log, not a reason to stop serving.
            _log.LogWarning("metrics scrape failed: {Error}", e.Message);
            await Respond(client, "500 Internal Server Error", "text/plain; charset=utf-8", Encoding.UTF8.GetBytes(e.Message + "\n"), head, ct);
            return;
        }
        await Respond(client, "200 OK", "text/plain; version=0.0.4; charset=utf-8", body.ToArray(), head, ct);
    }

    /// <summary>Reads the request head and returns "METHOD PATH" for GET and HEAD, or null after answering anything else.</summary>
    private static async Task<string?> ReadRequestTarget(Socket client, CancellationToken ct)
    {
        var buffer = new byte[MaxRequestBytes];
        int length = 0;
        while (true)
        {
            int n = await client.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None, ct);
            if (n == 0) return null;
            length += n;
            if (buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8) >= 0) break;
            if (length == buffer.Length)
            {
                await Respond(client, "431 Request Header Fields Too Large", "text/plain; charset=utf-8", [], false, ct);
                return null;
            }
        }
        var head = buffer.AsSpan(0, length);
        string line = Encoding.ASCII.GetString(head[..head.IndexOf("\r\n"u8)]);
        string[] parts = line.Split(' ');
        if (parts.Length != 3 || !parts[2].StartsWith("HTTP/1.", StringComparison.Ordinal))
        {
            await Respond(client, "400 Bad Request", "text/plain; charset=utf-8", [], false, ct);
            return null;
        }
        if (parts[0] is not ("GET" or "HEAD"))
        {
            await Respond(client, "405 Method Not Allowed", "text/plain; charset=utf-8", [], false, ct);
            return null;
        }
        return parts[0] + " " + parts[1];
    }

    private static async Task Respond(Socket client, string status, string contentType, byte[] body, bool head, CancellationToken ct)
    {
        byte[] header = Encoding.ASCII.GetBytes(
            $"HTTP/1.1 {status}\r\nContent-Type: {contentType}\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n");
        await client.SendAsync(header, SocketFlags.None, ct);
        if (!head && body.Length > 0) await client.SendAsync(body, SocketFlags.None, ct);
        client.Shutdown(SocketShutdown.Both);
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
        try { _loop.Wait(TimeSpan.FromSeconds(2)); } catch (AggregateException) { }
    }
}
