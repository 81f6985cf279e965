using System.Net;

namespace Teredo.Hosting.Metrics;

/// <summary>
/// The <c>--metrics ADDR:PORT</c> value (and the <c>Metrics</c> directive): an IPv4 address and port,
/// <c>[IPv6]:port</c>, or <c>localhost:port</c>. A literal address, because the listener binds exactly
/// there: 0.0.0.0 or [::] opens it to every interface, which an operator should have to write out.
/// </summary>
public static class MetricsEndpoint
{
    public static bool TryParse(string text, out IPEndPoint endpoint, out string error)
    {
        endpoint = new IPEndPoint(IPAddress.Loopback, 0);
        error = "";
        string s = text.Trim();
        int colon = s.LastIndexOf(':');
        if (colon <= 0 || colon == s.Length - 1)
        {
            error = $"wants ADDR:PORT such as 127.0.0.1:9437 or [::1]:9437, not '{text}'";
            return false;
        }
        string host = s[..colon], portText = s[(colon + 1)..];
        if (host.StartsWith('[') && host.EndsWith(']')) host = host[1..^1];
        else if (host.Contains(':'))
        {
            error = $"wants an IPv6 address in brackets ([::1]:9437), not '{text}'";
            return false;
        }
        IPAddress? address;
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase)) address = IPAddress.Loopback;
        else if (!IPAddress.TryParse(host, out address))
        {
            error = $"wants a literal IPv4 or IPv6 address before the port, not '{host}'";
            return false;
        }
        if (!ushort.TryParse(portText, out ushort port) || port == 0)
        {
            error = $"wants a port from 1 to 65535, not '{portText}'";
            return false;
        }
        endpoint = new IPEndPoint(address, port);
        return true;
    }
}
