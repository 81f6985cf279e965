namespace Teredo.Nat64;

/// <summary>What to do with an IPv4 UDP datagram whose checksum is zero ("not computed", RFC 768) when
/// IPv6 requires one (RFC 8200 §8.1; RFC 7915 §4.5). Tayga's <c>udp-cksum-mode drop|fwd|calc</c>.</summary>
public enum UdpChecksumMode
{
    /// <summary>Drop it (RFC 7915's default for unfragmented and fragmented datagrams alike).</summary>
    Drop,
    /// <summary>Forward it with the zero checksum (RFC 6935/6936 tunnels may accept it).</summary>
    Forward,
    /// <summary>Compute the checksum when the datagram is whole; fragments are still dropped.</summary>
    Calculate,
}
