using System.Buffers.Binary;
using Teredo.Net;

namespace Teredo.P2p.Control;

/// <summary>
/// Coordinator → peer: the peer now holds <see cref="Address"/> (a dynamic T(D)) for as long as it reports
/// traffic within <see cref="IdleSeconds"/>. A lease moved from a peer that left lists the relays it was
/// bubbled from, so the new owner can bubble them at once instead of waiting for them to time out.
/// </summary>
public readonly record struct LeaseGranted(Ipv6Address Address, ushort IdleSeconds, RelaySighting[] Relays)
    : IControlMessage<LeaseGranted>
{
    public const int AddressOffset = 0;
    public const int IdleOffset = 16;
    public const int CountOffset = 18;
    public const int RelaysOffset = 19;
    public const int MaxRelays = 8;

    public static ControlMessageType Type => ControlMessageType.LeaseGranted;

    public int BodyLength => RelaysOffset + (Relays?.Length ?? 0) * RelaySighting.Length;

    public void WriteBody(Span<byte> body)
    {
        var relays = Relays ?? [];
        if (relays.Length > MaxRelays) throw new ArgumentException($"at most {MaxRelays} relays", nameof(Relays));
        Address.Write(body.Slice(AddressOffset));
        BinaryPrimitives.WriteUInt16BigEndian(body.Slice(IdleOffset), IdleSeconds);
        body[CountOffset] = (byte)relays.Length;
        for (int i = 0; i < relays.Length; i++) relays[i].Write(body.Slice(RelaysOffset + i * RelaySighting.Length));
    }

    public static bool TryParseBody(ReadOnlySpan<byte> body, out LeaseGranted message)
    {
        message = default;
        if (body.Length < RelaysOffset) return false;
        int count = body[CountOffset];
        if (count > MaxRelays || body.Length != RelaysOffset + count * RelaySighting.Length) return false;
        var relays = count == 0 ? [] : new RelaySighting[count];
        for (int i = 0; i < count; i++) relays[i] = RelaySighting.Read(body.Slice(RelaysOffset + i * RelaySighting.Length));
        message = new LeaseGranted(Ipv6Address.Read(body.Slice(AddressOffset)), BinaryPrimitives.ReadUInt16BigEndian(body.Slice(IdleOffset)), relays);
        return true;
    }

    public bool Equals(LeaseGranted other) =>
        Address == other.Address && IdleSeconds == other.IdleSeconds && (Relays ?? []).AsSpan().SequenceEqual(other.Relays ?? []);

    public override int GetHashCode() => HashCode.Combine(Address, IdleSeconds, Relays?.Length ?? 0);
}
