using Teredo.Net;

namespace Teredo.Addressing;

/// <summary>How an address reads as a Teredo address (RFC 4380 §4, RFC 5991 §4).</summary>
public sealed record TeredoReading(
    Ipv4Address Server,
    TeredoFlags Flags,
    Ipv4Endpoint Mapped,
    IReadOnlyList<string> Remarks);

/// <summary>How an address reads under the coordinator plan (DESIGN.md §B.1), or why it does not.</summary>
public sealed record CoordinatorReading(CoordinatorAddress? Address, string? NotValidBecause);

/// <summary>Everything <c>teredo decode</c> can say about an address; <see cref="Error"/> set means "not decodable".</summary>
public sealed record AddressDecoding(
    string Input,
    Ipv6Address? Address,
    TeredoReading? Teredo,
    CoordinatorReading? Coordinator,
    string? Error);

/// <summary>
/// Decodes an IPv6 address for people, as seed 001 does by hand. An address in 2001::/32 always has a
/// Teredo reading; when bits 64-71 are zero it also has a reading under the coordinator plan, because
/// the same bits can be either and only the context tells which.
/// </summary>
public static class AddressDecoder
{
    public static AddressDecoding Decode(string input)
    {
        string text = input.Trim();
        if (!Ipv6Address.TryParse(text, out var address))
            return new AddressDecoding(input, null, null, null, $"'{text}' is not an IPv6 address");
        if (!TeredoAddress.IsTeredo(address))
            return new AddressDecoding(input, address, null, null,
                $"{address} is not a Teredo address: it is outside the Teredo prefix 2001::/32");

        var teredo = new TeredoAddress(address);
        var reading = new TeredoReading(teredo.Server, teredo.Flags, teredo.Mapped, Remarks(teredo));

        CoordinatorReading? coordinator = null;
        if (address[8] == 0)
        {
            coordinator = CoordinatorAddress.TryParse(address, out var plan, out string? reason)
                ? new CoordinatorReading(plan, null)
                : new CoordinatorReading(null, reason);
        }
        return new AddressDecoding(input, address, reading, coordinator, null);
    }

    private static List<string> Remarks(TeredoAddress address)
    {
        var remarks = new List<string>();
        var flags = address.Flags;
        if (flags.ReservedBit) remarks.Add("reserved flag bit R is set (RFC 5991 says zero)");
        if (flags.UniversalGroupBits) remarks.Add("flag bits UG are set (RFC 4380 says zero)");
        if (!Ipv4Classification.IsTeredoGlobalUnicast(address.Server))
            remarks.Add("the server IPv4 is not global unicast (RFC 4380 §5.2.4): no valid Teredo address has it");
        if (!Ipv4Classification.IsTeredoGlobalUnicast(address.MappedAddress))
            remarks.Add("the mapped IPv4 is not global unicast (RFC 4380 §5.2.4): relays and servers will not send to it");
        return remarks;
    }
}
