using System.Buffers.Binary;
using Teredo.Net;

namespace Teredo.P2p.Control;

/// <summary>One lease's use since the previous report: packets carried and seconds since the last one.</summary>
public readonly record struct LeaseUse(Ipv6Address Address, uint Packets, ushort IdleSeconds)
{
    public const int AddressOffset = 0;
    public const int PacketsOffset = 16;
    public const int IdleOffset = 20;
    public const int Length = 22;
}

/// <summary>
/// Peer → coordinator: how its leases were used. A lease with traffic is renewed; one that stays idle past
/// the idle timeout is released. Sent at most every few seconds, split over frames of
/// <see cref="MaxEntries"/> entries.
/// </summary>
public readonly record struct LeaseUseReport(LeaseUse[] Entries) : IControlMessage<LeaseUseReport>
{
    public const int CountOffset = 0;
    public const int EntriesOffset = 1;
    public const int MaxEntries = 128;

    public static ControlMessageType Type => ControlMessageType.LeaseUse;

    public int BodyLength => EntriesOffset + (Entries?.Length ?? 0) * LeaseUse.Length;

    public void WriteBody(Span<byte> body)
    {
        var entries = Entries ?? [];
        if (entries.Length > MaxEntries) throw new ArgumentException($"at most {MaxEntries} entries", nameof(Entries));
        body[CountOffset] = (byte)entries.Length;
        for (int i = 0; i < entries.Length; i++)
        {
            var e = body.Slice(EntriesOffset + i * LeaseUse.Length);
            entries[i].Address.Write(e.Slice(LeaseUse.AddressOffset));
            BinaryPrimitives.WriteUInt32BigEndian(e.Slice(LeaseUse.PacketsOffset), entries[i].Packets);
            BinaryPrimitives.WriteUInt16BigEndian(e.Slice(LeaseUse.IdleOffset), entries[i].IdleSeconds);
        }
    }

    public static bool TryParseBody(ReadOnlySpan<byte> body, out LeaseUseReport message)
    {
        message = default;
        if (body.Length < EntriesOffset) return false;
        int count = body[CountOffset];
        if (count > MaxEntries || body.Length != EntriesOffset + count * LeaseUse.Length) return false;
        var entries = count == 0 ? [] : new LeaseUse[count];
        for (int i = 0; i < count; i++) entries[i] = ReadEntry(body, i);
        message = new LeaseUseReport(entries);
        return true;
    }

    /// <summary>Entry <paramref name="index"/> of a body already accepted by <see cref="TryParseBody"/>, without allocating.</summary>
    public static LeaseUse ReadEntry(ReadOnlySpan<byte> body, int index)
    {
        var e = body.Slice(EntriesOffset + index * LeaseUse.Length);
        return new LeaseUse(Ipv6Address.Read(e.Slice(LeaseUse.AddressOffset)),
            BinaryPrimitives.ReadUInt32BigEndian(e.Slice(LeaseUse.PacketsOffset)),
            BinaryPrimitives.ReadUInt16BigEndian(e.Slice(LeaseUse.IdleOffset)));
    }

    public bool Equals(LeaseUseReport other) => (Entries ?? []).AsSpan().SequenceEqual(other.Entries ?? []);

    public override int GetHashCode() => Entries?.Length ?? 0;
}
