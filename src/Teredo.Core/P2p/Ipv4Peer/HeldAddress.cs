using Teredo.Net;

namespace Teredo.P2p.Ipv4Peer;

/// <summary>An address this peer answers for: a dynamic lease T(D) or its static address, with its traffic.</summary>
public sealed class HeldAddress(Ipv6Address address, bool isStatic, long nowMs)
{
    public Ipv6Address Address { get; } = address;
    public bool IsStatic { get; } = isStatic;
    public long GrantedMs { get; } = nowMs;
    /// <summary>When the coordinator's announced idle period ends (renewals move it); long.MaxValue for the static address.</summary>
    public long ExpiresMs { get; internal set; } = long.MaxValue;
    /// <summary>long.MinValue until the first packet.</summary>
    public long LastUseMs { get; internal set; } = long.MinValue;
    public long PacketsIn { get; internal set; }
    public long PacketsOut { get; internal set; }
    public long BytesIn { get; internal set; }
    public long BytesOut { get; internal set; }
    /// <summary>Packets since the last use report.</summary>
    internal long Unreported;

    internal void UsedIn(long nowMs, int bytes)
    {
        PacketsIn++;
        BytesIn += bytes;
        Unreported++;
        LastUseMs = nowMs;
    }

    internal void UsedOut(long nowMs, int bytes)
    {
        PacketsOut++;
        BytesOut += bytes;
        Unreported++;
        LastUseMs = nowMs;
    }
}
