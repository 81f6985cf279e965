using System.Buffers.Binary;
using Teredo.Net;

namespace Teredo.P2p.Control;

/// <summary>Why a lease ended (released or revoked) or a session closed.</summary>
public enum LeaseEndReason : byte
{
    Idle = 1,
    /// <summary>The peer gave the lease back (it is shutting down or over its capacity).</summary>
    PeerReleased = 2,
    /// <summary>The lease went to another peer, e.g. a peer with the same identity came back.</summary>
    Moved = 3,
    /// <summary>An operator or a policy change (the destination is no longer allowed).</summary>
    Administrative = 4,
    CoordinatorShutdown = 5,
}

/// <summary>Coordinator → peer: the peer's traffic report extended the lease by another idle period.</summary>
public readonly record struct LeaseRenewed(Ipv6Address Address, ushort IdleSeconds) : IControlMessage<LeaseRenewed>
{
    public const int AddressOffset = 0;
    public const int IdleOffset = 16;
    public const int Length = 18;

    public static ControlMessageType Type => ControlMessageType.LeaseRenewed;

    public int BodyLength => Length;

    public void WriteBody(Span<byte> body)
    {
        Address.Write(body.Slice(AddressOffset));
        BinaryPrimitives.WriteUInt16BigEndian(body.Slice(IdleOffset), IdleSeconds);
    }

    public static bool TryParseBody(ReadOnlySpan<byte> body, out LeaseRenewed message)
    {
        message = default;
        if (body.Length != Length) return false;
        message = new LeaseRenewed(Ipv6Address.Read(body.Slice(AddressOffset)), BinaryPrimitives.ReadUInt16BigEndian(body.Slice(IdleOffset)));
        return true;
    }
}

/// <summary>
/// Either direction: the lease is over. From the coordinator: it expired (idle) or the coordinator is
/// stopping; from the peer: it gives the lease back.
/// </summary>
public readonly record struct LeaseReleased(Ipv6Address Address, LeaseEndReason Reason) : IControlMessage<LeaseReleased>
{
    public static ControlMessageType Type => ControlMessageType.LeaseReleased;

    public int BodyLength => LeaseEnd.Length;

    public void WriteBody(Span<byte> body) => LeaseEnd.Write(body, Address, Reason);

    public static bool TryParseBody(ReadOnlySpan<byte> body, out LeaseReleased message)
    {
        bool ok = LeaseEnd.TryRead(body, out var address, out var reason);
        message = new LeaseReleased(address, reason);
        return ok;
    }
}

/// <summary>Coordinator → peer: the lease was taken away before its time (moved elsewhere, or by policy).</summary>
public readonly record struct LeaseRevoked(Ipv6Address Address, LeaseEndReason Reason) : IControlMessage<LeaseRevoked>
{
    public static ControlMessageType Type => ControlMessageType.LeaseRevoked;

    public int BodyLength => LeaseEnd.Length;

    public void WriteBody(Span<byte> body) => LeaseEnd.Write(body, Address, Reason);

    public static bool TryParseBody(ReadOnlySpan<byte> body, out LeaseRevoked message)
    {
        bool ok = LeaseEnd.TryRead(body, out var address, out var reason);
        message = new LeaseRevoked(address, reason);
        return ok;
    }
}

/// <summary>The body that released and revoked share: address (16) | reason (u8).</summary>
internal static class LeaseEnd
{
    public const int AddressOffset = 0;
    public const int ReasonOffset = 16;
    public const int Length = 17;

    public static void Write(Span<byte> body, Ipv6Address address, LeaseEndReason reason)
    {
        address.Write(body.Slice(AddressOffset));
        body[ReasonOffset] = (byte)reason;
    }

    public static bool TryRead(ReadOnlySpan<byte> body, out Ipv6Address address, out LeaseEndReason reason)
    {
        address = default;
        reason = default;
        if (body.Length != Length || !Enum.IsDefined((LeaseEndReason)body[ReasonOffset])) return false;
        address = Ipv6Address.Read(body.Slice(AddressOffset));
        reason = (LeaseEndReason)body[ReasonOffset];
        return true;
    }
}
