using System.Buffers.Binary;
using Teredo.Net;

namespace Teredo.P2p.Control;

/// <summary>
/// Coordinator → peer: a standard relay sent an indirect bubble for an address this peer holds
/// (DESIGN.md §B.2 step 3). The peer answers with a bubble from its Teredo socket to <see cref="Relay"/>:
/// source <see cref="Destination"/> (T(D) or its static address), destination <see cref="Source"/> (the
/// relay's fe80::nonce). Fixed size, so it is built on the stack for every relay bubble.
/// </summary>
public readonly record struct BubbleNotification(Ipv4Endpoint Relay, Ipv6Address Source, Ipv6Address Destination)
    : IControlMessage<BubbleNotification>
{
    public const int RelayAddressOffset = 0;
    public const int RelayPortOffset = RelayAddressOffset + RelaySighting.RelayPortOffset;
    public const int SourceOffset = RelayAddressOffset + RelaySighting.EndpointLength;
    public const int DestinationOffset = 22;
    public const int Length = 38;

    public static ControlMessageType Type => ControlMessageType.BubbleNotification;

    public int BodyLength => Length;

    public void WriteBody(Span<byte> body)
    {
        RelaySighting.WriteEndpoint(body.Slice(RelayAddressOffset), Relay);
        Source.Write(body.Slice(SourceOffset));
        Destination.Write(body.Slice(DestinationOffset));
    }

    public static bool TryParseBody(ReadOnlySpan<byte> body, out BubbleNotification message)
    {
        message = default;
        if (body.Length != Length) return false;
        message = new BubbleNotification(RelaySighting.ReadEndpoint(body.Slice(RelayAddressOffset)),
            Ipv6Address.Read(body.Slice(SourceOffset)), Ipv6Address.Read(body.Slice(DestinationOffset)));
        return true;
    }
}

/// <summary>
/// A relay a lease was bubbled from: its IPv4 socket address and the IPv6 source of its bubble (Miredo's
/// fe80::nonce). A new owner of a moved lease bubbles each one so the relays re-map at once (DESIGN.md §B.6).
/// </summary>
public readonly record struct RelaySighting(Ipv4Endpoint Relay, Ipv6Address BubbleSource)
{
    // An IPv4 endpoint (address | port) opens the sighting; BubbleNotification embeds the same encoding.
    public const int RelayAddressOffset = 0;
    public const int RelayPortOffset = 4;
    public const int EndpointLength = 6;
    public const int BubbleSourceOffset = EndpointLength;
    public const int Length = BubbleSourceOffset + Ipv6Address.Size;

    public void Write(Span<byte> destination)
    {
        WriteEndpoint(destination, Relay);
        BubbleSource.Write(destination.Slice(BubbleSourceOffset));
    }

    public static RelaySighting Read(ReadOnlySpan<byte> source) =>
        new(ReadEndpoint(source), Ipv6Address.Read(source.Slice(BubbleSourceOffset)));

    internal static void WriteEndpoint(Span<byte> destination, Ipv4Endpoint endpoint)
    {
        endpoint.Address.Write(destination.Slice(RelayAddressOffset));
        BinaryPrimitives.WriteUInt16BigEndian(destination.Slice(RelayPortOffset), endpoint.Port);
    }

    internal static Ipv4Endpoint ReadEndpoint(ReadOnlySpan<byte> source) =>
        new(Ipv4Address.Read(source.Slice(RelayAddressOffset)), BinaryPrimitives.ReadUInt16BigEndian(source.Slice(RelayPortOffset)));
}
