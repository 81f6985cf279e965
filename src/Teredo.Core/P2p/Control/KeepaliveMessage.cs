using System.Buffers.Binary;

namespace Teredo.P2p.Control;

/// <summary>
/// Either direction: the peer sends one every keepalive interval with a sequence number; the coordinator
/// echoes it, so both sides know the session (and every NAT on its path) is alive.
/// </summary>
public readonly record struct KeepaliveMessage(uint Sequence) : IControlMessage<KeepaliveMessage>
{
    public const int SequenceOffset = 0;
    public const int Length = 4;

    public static ControlMessageType Type => ControlMessageType.Keepalive;

    public int BodyLength => Length;

    public void WriteBody(Span<byte> body) => BinaryPrimitives.WriteUInt32BigEndian(body.Slice(SequenceOffset), Sequence);

    public static bool TryParseBody(ReadOnlySpan<byte> body, out KeepaliveMessage message)
    {
        message = default;
        if (body.Length != Length) return false;
        message = new KeepaliveMessage(BinaryPrimitives.ReadUInt32BigEndian(body.Slice(SequenceOffset)));
        return true;
    }
}
