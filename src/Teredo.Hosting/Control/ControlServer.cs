using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Teredo.Hosting.Control;

/// <summary>
/// The daemon's local control socket (a Unix domain socket, its path configurable so several daemons
/// can share a host): a client connects, and the daemon writes its status as one JSON document and
/// closes. File permissions on the socket decide who may read it.
/// </summary>
public sealed class ControlServer : IDisposable
{
    /// <summary>A reader that does not take its status in this long is dropped, so it cannot hold the socket.</summary>
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(5);

    private readonly Socket _listener;
    private readonly Func<string> _status;
    private readonly ILogger _log;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly string _path;

    private ControlServer(string path, Socket listener, Func<string> status, ILogger log)
    {
        _path = path;
        _listener = listener;
        _status = status;
        _log = log;
        _loop = Task.Run(() => Sockets.AcceptLoop.Run(_listener, "control socket", _log, ClientTimeout, Serve, _stop.Token));
    }

    public static ControlServer Start(string path, Func<string> status, ILogger log)
    {
        string? dir = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        // A socket file left by a killed daemon would make bind fail.
        if (File.Exists(path)) File.Delete(path);
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(8);
        return new ControlServer(path, listener, status, log);
    }

    private async Task Serve(Socket client, CancellationToken ct)
    {
        byte[] body = Encoding.UTF8.GetBytes(_status());
        await client.SendAsync(body, SocketFlags.None, ct);
        client.Shutdown(SocketShutdown.Both);
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
        try { _loop.Wait(TimeSpan.FromSeconds(2)); } catch (AggregateException) { }
        try { File.Delete(_path); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }   // a daemon that dropped root may not remove it
    }
}

/// <summary>Reads a daemon's status from its control socket.</summary>
public static class ControlClient
{
    public static string ReadStatus(string path, TimeSpan timeout)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.ReceiveTimeout = (int)timeout.TotalMilliseconds;
        socket.Connect(new UnixDomainSocketEndPoint(path));
        using var stream = new NetworkStream(socket);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
