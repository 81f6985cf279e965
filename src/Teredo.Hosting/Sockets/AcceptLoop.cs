using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Teredo.Hosting.Sockets;

/// <summary>
/// The loop behind the daemons' small stream listeners (the control socket, the metrics endpoint):
/// accept, serve one connection at a time, close it. A client is given <c>perClient</c> at most, so a
/// silent or slow one cannot hold the listener; one that goes away is forgotten; a failed accept is
/// logged and the loop goes on until <c>stop</c>.
/// </summary>
public static class AcceptLoop
{
    public static async Task Run(Socket listener, string what, ILogger log, TimeSpan perClient,
        Func<Socket, CancellationToken, Task> serve, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            Socket client;
            try { client = await listener.AcceptAsync(stop); }
            catch (Exception) when (stop.IsCancellationRequested) { return; }
            catch (SocketException e)
            {
                log.LogWarning("{What} accept failed: {Error}", what, e.Message);
                continue;
            }
            using (client)
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop))
            {
                timeout.CancelAfter(perClient);
                try { await serve(client, timeout.Token); }
                catch (Exception e) when (e is SocketException or OperationCanceledException or IOException)
                {
                    // The client went away or was too slow; the next one is served.
                }
            }
        }
    }
}
