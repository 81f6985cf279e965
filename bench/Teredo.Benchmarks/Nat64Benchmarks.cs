using BenchmarkDotNet.Attributes;
using Teredo.Nat64;
using Teredo.Net;
using Teredo.Wire;

namespace Teredo.Benchmarks;

/// <summary>
/// Per-packet cost of the RFC 7915 translator (no system calls): 6→4 and 4→6 for TCP, UDP, ICMP echo
/// and an ICMP error with its inner packet. Goal: 0 B allocated.
/// </summary>
[MemoryDiagnoser]
public class Nat64Benchmarks
{
    private static readonly Ipv6Address Host6 = Ipv6Address.Parse("2001:db8:1::10");
    private static readonly Ipv4Address Host4 = new(192, 0, 2, 10);
    private static readonly Ipv4Address Server4 = new(203, 0, 113, 7);
    private static readonly Ipv6Address Server6 = Ipv6Address.Parse("2001:db8:64::203.0.113.7");

    private Nat64Translator _translator = null!;
    private Nat64Translator _dynamic = null!;
    private readonly Sink _sink = new();
    private byte[] _tcp6 = null!, _udp6 = null!, _echo6 = null!, _error6 = null!;
    private byte[] _tcp4 = null!, _udp4 = null!, _echo4 = null!, _error4 = null!;

    [GlobalSetup]
    public void Setup()
    {
        var options = new Nat64Options
        {
            Prefix = Ipv6Address.Parse("2001:db8:64::"),
            TranslatorIpv4 = new Ipv4Address(192, 0, 2, 1),
            TranslatorIpv6 = Ipv6Address.Parse("2001:db8:1::1"),
        };
        var map = new Nat64AddressMap(options);
        map.AddExplicit(Host4, 32, Host6, 128);
        _translator = new Nat64Translator(options, map);

        // Full-size TCP segments (1280-byte IPv6 / 1260-byte IPv4 packets), 512-byte UDP, 64-byte pings.
        _tcp6 = Ipv6(Host6, Server6, IpProtocol.Tcp, Transport(1220, checksumAt: 16));
        _udp6 = Ipv6(Host6, Server6, IpProtocol.Udp, Udp(504));
        _echo6 = Ipv6(Host6, Server6, IpProtocol.Icmpv6, Icmp(Icmpv6Type.EchoRequest, 0, 0x00010001, new byte[56]));
        byte[] inner6 = Ipv6(Server6, Host6, IpProtocol.Tcp, Transport(1220, checksumAt: 16));
        _error6 = Ipv6(Host6, Server6, IpProtocol.Icmpv6, Icmp(Icmpv6Type.PacketTooBig, 0, 1280, inner6[..(1280 - 48)]));

        _tcp4 = Ipv4(Server4, Host4, IpProtocol.Tcp, Transport(1240, checksumAt: 16));
        _udp4 = Ipv4(Server4, Host4, IpProtocol.Udp, Udp(504));
        _echo4 = Ipv4(Server4, Host4, IpProtocol.Icmp, Icmp(Icmpv4Type.EchoReply, 0, 0x00010001, new byte[56]));
        byte[] inner4 = Ipv4(Host4, Server4, IpProtocol.Tcp, Transport(1240, checksumAt: 16));
        _error4 = Ipv4(Server4, Host4, IpProtocol.Icmp, Icmp(Icmpv4Type.DestinationUnreachable, 4, 1400, inner4[..548]));

        // The IPv4 peer's setup: the IPv6 host leased from a dynamic pool (the lease is taken here, then reused).
        var dynamicMap = new Nat64AddressMap(options);
        dynamicMap.SetDynamicPool(new Ipv4Address(198, 18, 0, 0), 16);
        _dynamic = new Nat64Translator(options, dynamicMap);
        _dynamic.FromIpv6(0, _udp6, _sink);
        if (_dynamic.Counters[Nat64Counter.Translated6To4Udp] != 1) throw new InvalidOperationException("dynamic-pool packet not translated");

        // Measure translations, not drops: each packet must come out as intended.
        foreach (var p in new[] { _tcp6, _udp6, _echo6, _error6 }) _translator.FromIpv6(0, p, _sink);
        foreach (var p in new[] { _tcp4, _udp4, _echo4, _error4 }) _translator.FromIpv4(0, p, _sink);
        Nat64Counter[] expected =
        [
            Nat64Counter.Translated6To4Tcp, Nat64Counter.Translated6To4Udp, Nat64Counter.Translated6To4IcmpEcho, Nat64Counter.Translated6To4IcmpError,
            Nat64Counter.Translated4To6Tcp, Nat64Counter.Translated4To6Udp, Nat64Counter.Translated4To6IcmpEcho, Nat64Counter.Translated4To6IcmpError,
        ];
        foreach (var c in expected)
            if (_translator.Counters[c] != 1) throw new InvalidOperationException($"benchmark packet not translated: {c} = {_translator.Counters[c]}");
    }

    [Benchmark] public void Tcp6To4() => _translator.FromIpv6(0, _tcp6, _sink);
    [Benchmark] public void Udp6To4() => _translator.FromIpv6(0, _udp6, _sink);
    [Benchmark] public void Echo6To4() => _translator.FromIpv6(0, _echo6, _sink);
    [Benchmark] public void IcmpError6To4() => _translator.FromIpv6(0, _error6, _sink);
    [Benchmark] public void Udp6To4DynamicPool() => _dynamic.FromIpv6(0, _udp6, _sink);
    [Benchmark] public void Tcp4To6() => _translator.FromIpv4(0, _tcp4, _sink);
    [Benchmark] public void Udp4To6() => _translator.FromIpv4(0, _udp4, _sink);
    [Benchmark] public void Echo4To6() => _translator.FromIpv4(0, _echo4, _sink);
    [Benchmark] public void IcmpError4To6() => _translator.FromIpv4(0, _error4, _sink);

    private static byte[] Transport(int length, int checksumAt)
    {
        var b = new byte[length];
        for (int i = 0; i < b.Length; i++) b[i] = (byte)i;
        b[checksumAt] = 0x12;
        b[checksumAt + 1] = 0x34;
        return b;
    }

    private static byte[] Udp(int dataLength)
    {
        var b = Transport(8 + dataLength, checksumAt: 6);
        b[4] = (byte)(b.Length >> 8);
        b[5] = (byte)b.Length;
        return b;
    }

    private static byte[] Icmp(byte type, byte code, uint rest, byte[] data)
    {
        var b = new byte[8 + data.Length];
        b[0] = type;
        b[1] = code;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(4), rest);
        data.CopyTo(b, 8);
        return b;
    }

    private static byte[] Ipv6(Ipv6Address source, Ipv6Address destination, byte protocol, byte[] upper)
    {
        var b = new byte[40 + upper.Length];
        new Ipv6Header(source, destination, protocol, (ushort)upper.Length).Emit(b);
        upper.CopyTo(b, 40);
        return b;
    }

    private static byte[] Ipv4(Ipv4Address source, Ipv4Address destination, byte protocol, byte[] upper)
    {
        var b = new byte[20 + upper.Length];
        new Ipv4Header(source, destination, protocol, (ushort)upper.Length, DontFragment: true).Emit(b);
        upper.CopyTo(b, 20);
        return b;
    }

    private sealed class Sink : ITranslationSink
    {
        private readonly byte[] _buffer = new byte[65536];
        public int Length;
        public Span<byte> Reserve(int maxLength) => _buffer.AsSpan(0, maxLength);
        public void Commit(int length) => Length = length;
    }
}
