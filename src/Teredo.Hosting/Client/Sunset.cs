using System.Globalization;
using Teredo.Addressing;
using Teredo.Net;

namespace Teredo.Hosting.Client;

/// <summary>
/// RFC 4380 §5.5: a node that already has IPv6 connectivity must not be a Teredo client. "Already has"
/// is read as a global-scope IPv6 address on some interface of this network namespace that is neither
/// Teredo (2001::/32) nor unique-local (fc00::/7). Read from /proc/net/if_inet6, which costs next to
/// nothing at startup (the client's startup is the time a user waits for an address).
/// </summary>
public static class Sunset
{
    public const string AddressTable = "/proc/net/if_inet6";

    /// <summary>The first such address and its interface, or null when there is none (or no IPv6 at all).</summary>
    public static (Ipv6Address Address, string Interface)? NativeIpv6()
    {
        string text;
        try { text = File.ReadAllText(AddressTable); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
        return FirstNative(text);
    }

    /// <summary>Parses the table's lines: address (32 hex digits), index, prefix length, scope, flags, name.</summary>
    public static (Ipv6Address Address, string Interface)? FirstNative(string table)
    {
        foreach (string line in table.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 6 || fields[0].Length != 32) continue;
            if (!UInt128.TryParse(fields[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var value)) continue;
            if (!int.TryParse(fields[3], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int scope) || scope != 0) continue;
            var address = new Ipv6Address(value);
            if (TeredoAddress.IsTeredo(address) || address.IsIn(new Ipv6Address(0xFC00_0000_0000_0000, 0), 7)) continue;
            return (address, fields[5]);
        }
        return null;
    }
}
