using System.Globalization;
using Teredo.Addressing;
using Teredo.Net;

namespace Teredo.Hosting.Addresses;

/// <summary>
/// The one answer to "does this host have native IPv6, and at which addresses": global scope on some
/// interface of this network namespace, neither Teredo (2001::/32) nor unique-local (fc00::/7), since
/// neither reaches the IPv6 Internet by itself. The client's sunset rule (RFC 4380 §5.5), the server's
/// choice to relay ICMPv6, and the relay's own and served addresses all read it. Read from
/// /proc/net/if_inet6, which costs next to nothing at start (the client's start is the time a user
/// waits for an address).
/// </summary>
public static class NativeIpv6
{
    public const string AddressTable = "/proc/net/if_inet6";

    /// <summary>Every such address with its interface; none when the table can't be read (no IPv6 at all).</summary>
    public static IReadOnlyList<(Ipv6Address Address, string Interface)> Read()
    {
        string text;
        try { text = File.ReadAllText(AddressTable); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return []; }
        return Parse(text);
    }

    /// <summary>The first such address and its interface, or null.</summary>
    public static (Ipv6Address Address, string Interface)? First() => Read() is [var first, ..] ? first : null;

    /// <summary>Parses the table's lines: address (32 hex digits), index, prefix length, scope, flags, name.</summary>
    public static List<(Ipv6Address Address, string Interface)> Parse(string table)
    {
        var found = new List<(Ipv6Address, string)>();
        foreach (string line in table.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 6 || fields[0].Length != 32) continue;
            if (!UInt128.TryParse(fields[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var value)) continue;
            if (!int.TryParse(fields[3], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int scope) || scope != 0) continue;
            var address = new Ipv6Address(value);
            if (TeredoAddress.IsTeredo(address) || address.IsIn(new Ipv6Address(0xFC00_0000_0000_0000, 0), 7)) continue;
            found.Add((address, fields[5]));
        }
        return found;
    }
}
