using System.Globalization;
using Teredo.Addressing;
using Teredo.Hosting.Tun;
using Teredo.Net;

namespace Teredo.Hosting.Client;

/// <summary>
/// What the client's addresses mean for the Teredo interface: the Teredo address as a /32 (so the kernel
/// routes 2001::/32 into the tunnel, as Miredo's hook does), its fe80:: twin as a /64, and optionally a
/// default route with a high metric so that native IPv6, if any, keeps precedence. A new address is
/// added before the old one is withdrawn, so the interface is never without one during a change. Each
/// change is one ip process (<see cref="IpBatch"/>); the first one also brings the link up (no
/// kernel-made link-local address, the MTU, up), so that qualifying costs a single ip run.
/// </summary>
public sealed class ClientInterface(string device, int mtu, bool defaultRoute, int metric)
{
    private TeredoAddress? _configured;
    private bool _routed;
    private bool _up;

    /// <summary>IPv6 on for the new interface (a host may have it off by default).</summary>
    public void Prepare() => new TunConfigurator().EnableIpv6(device);

    public void Acquire(TeredoAddress address)
    {
        if (_configured is { } old)
        {
            if (old != address) Change(old, address);
            return;
        }
        var lines = Add(address);
        if (!_up)
        {
            // addrgenmode before up: otherwise the kernel gives the link a random fe80:: address of its own.
            lines.Insert(0, $"link set dev {device} addrgenmode none");
            lines.Insert(1, $"link set dev {device} mtu {mtu.ToString(CultureInfo.InvariantCulture)} up");
        }
        if (defaultRoute && !_routed) lines.Add(DefaultRoute("add"));
        IpBatch.Run(lines);
        _up = true;
        _configured = address;
        _routed |= defaultRoute;
    }

    public void Change(TeredoAddress old, TeredoAddress address)
    {
        var lines = Add(address);
        if (defaultRoute && !_routed) lines.Add(DefaultRoute("add"));
        IpBatch.Run(lines);
        _configured = address;
        _routed |= defaultRoute;
        IpBatch.Run(Remove(old), force: true);
    }

    public void Lose(TeredoAddress old)
    {
        var lines = Remove(old);
        if (_routed) lines.Insert(0, DefaultRoute("del"));
        IpBatch.Run(lines, force: true);
        _routed = false;
        if (_configured == old) _configured = null;
    }

    private List<string> Add(TeredoAddress address) =>
    [
        $"address add {address}/{TeredoAddress.ServicePrefixLength} dev {device} nodad",
        $"address add {LinkLocal(address)}/64 dev {device} nodad",
    ];

    private List<string> Remove(TeredoAddress address) =>
    [
        $"address del {address}/{TeredoAddress.ServicePrefixLength} dev {device}",
        $"address del {LinkLocal(address)}/64 dev {device}",
    ];

    private string DefaultRoute(string verb) => $"route {verb} ::/0 dev {device} metric {metric.ToString(CultureInfo.InvariantCulture)}";

    public static Ipv6Address LinkLocal(TeredoAddress address) => new(0xFE80_0000_0000_0000, address.Address.Lower);
}
