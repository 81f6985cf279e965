using Teredo.Engines;
using Teredo.Net;
using Teredo.Server;

namespace Teredo.Tests.Support;

public enum AnswerKind
{
    None,
    /// <summary>A datagram from one of the server's two ports.</summary>
    Udp,
    /// <summary>An IPv6 packet for the native IPv6 device.</summary>
    NativeIpv6,
}

/// <summary>What the server engine did with one datagram: nothing, or the one packet it wrote (bytes in <see cref="CapturedAnswer.Buffer"/>).</summary>
public readonly record struct ServerAnswer(AnswerKind Kind, PortHandle From, Ipv4Endpoint To, int Length);

/// <summary>
/// An <see cref="IPacketOutput"/> for the server engine, which writes at most one packet per datagram: it
/// keeps that packet in one buffer, as a daemon's send slot would, and fails the test on a second one.
/// </summary>
public sealed class CapturedAnswer : IPacketOutput
{
    public byte[] Buffer { get; } = new byte[65536 + TeredoServerEngine.OutputHeadroom];
    public ServerAnswer Last { get; set; }

    public Span<byte> Reserve(int maxLength)
    {
        Assert.InRange(maxLength, 0, Buffer.Length);
        return Buffer;
    }

    public void Send(PortHandle from, Ipv4Endpoint to, int length) => Keep(new ServerAnswer(AnswerKind.Udp, from, to, length));

    public void Write(DeviceHandle device, int length)
    {
        Assert.Equal(TeredoServerEngine.NativeIpv6Device, device);
        Keep(new ServerAnswer(AnswerKind.NativeIpv6, default, default, length));
    }

    private void Keep(ServerAnswer answer)
    {
        Assert.Equal(AnswerKind.None, Last.Kind);
        Last = answer;
    }
}

public static class ServerAnswerExtensions
{
    /// <summary>Hands one datagram to the engine and returns what it wrote into <paramref name="output"/>.</summary>
    public static ServerAnswer Answer(this TeredoServerEngine engine, CapturedAnswer output, long nowMs, PortHandle via,
        Ipv4Endpoint source, ReadOnlySpan<byte> payload)
    {
        output.Last = default;
        engine.OnDatagram(nowMs, via, source, payload, output);
        return output.Last;
    }
}
