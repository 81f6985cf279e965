using FsCheck.Xunit;
using Teredo.Tests.Support;
using Teredo.Wire;
using static Teredo.Tests.Support.Nat64Packets;

namespace Teredo.Tests.Nat64;

/// <summary>
/// The translator updates transport checksums incrementally (RFC 1624) instead of summing the payload
/// again: for random TCP, UDP and echo packets both ways, the checksum it writes is bit for bit the one a
/// full sum over the translated packet gives.
/// </summary>
public class Nat64ChecksumPropertyTests
{
    [Property(MaxTest = 500)]
    public bool Translated_checksum_equals_a_full_sum(byte[] data, byte kind, bool fromIpv6, ushort sourcePort, ushort destinationPort, uint rest)
    {
        data ??= [];
        if (data.Length > 1000) data = data[..1000];
        // About one in five carries only zeros: an echo reply then meets RFC 1624 §3's all-zero corner.
        if (kind >= 200)
        {
            data = new byte[data.Length];
            rest = 0;
        }
        bool echo = kind % 3 == 2;
        bool reply = (kind & 8) != 0;
        byte[] upper = (kind % 3) switch
        {
            0 => Udp(sourcePort, destinationPort, data),
            1 => Tcp(sourcePort, destinationPort, data),
            _ => Icmp(fromIpv6 ? (reply ? Icmpv6Type.EchoReply : Icmpv6Type.EchoRequest) : (reply ? Icmpv4Type.EchoReply : Icmpv4Type.EchoRequest), 0, rest, data),
        };
        byte protocol = (kind % 3) switch { 0 => IpProtocol.Udp, 1 => IpProtocol.Tcp, _ => fromIpv6 ? IpProtocol.Icmpv6 : IpProtocol.Icmp };
        var translator = Nat64TranslatorTests.Make();
        var sink = new TranslationSink();
        if (fromIpv6) translator.FromIpv6(0, Ipv6(Host6, Server6, protocol, upper), sink);
        else translator.FromIpv4(0, Ipv4(Server4, Host4, protocol, upper), sink);
        if (sink.Packets.Count != 1) return false;
        byte[] output = sink.Packets[0];
        byte[] translated;
        byte[] expected;
        if (fromIpv6)
        {
            if (!Ipv4Packet.TryParse(output, out var ip)) return false;
            translated = ip.Payload.ToArray();
            expected = (byte[])translated.Clone();
            FillTransportChecksum(ip.Protocol, expected,
                Checksum.Ipv4PseudoHeader(ip.Source, ip.Destination, ip.Protocol, (ushort)expected.Length), icmpHasPseudo: false);
        }
        else
        {
            if (!Ipv6Packet.TryParse(output, out var ip)) return false;
            translated = ip.Payload.ToArray();
            expected = (byte[])translated.Clone();
            FillTransportChecksum(ip.NextHeader, expected,
                Checksum.Ipv6PseudoHeader(ip.Source, ip.Destination, (uint)expected.Length, ip.NextHeader), icmpHasPseudo: true);
        }
        // Echo: the payload is the data the host sent, only type and checksum differ.
        return translated.AsSpan().SequenceEqual(expected) && (!echo || translated.AsSpan(IcmpHeader.Length).SequenceEqual(data));
    }
}
