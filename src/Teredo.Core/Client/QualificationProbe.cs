using Teredo.Net;

namespace Teredo.Client;

/// <summary>What a Router Solicitation probe is for.</summary>
public enum ProbeKind
{
    /// <summary>Cone bit set, to the primary address: the server answers from the secondary (§5.3.2).</summary>
    Cone,
    /// <summary>Cone bit clear, to the primary address: the answer that qualifies the client.</summary>
    Primary,
    /// <summary>Cone bit clear, to the secondary address: its mapping against the primary's tells restricted from symmetric.</summary>
    Secondary,
    /// <summary>The periodic solicitation of the maintenance procedure (§5.2.5).</summary>
    Maintenance,
    /// <summary>Qualification and maintenance of the secondary port (§5.2.7).</summary>
    SecondaryPort,
}

/// <summary>
/// One outstanding Router Solicitation: its own link-local source (so that the RA's destination tells
/// which probe it answers), its own nonce, and its retransmission state (T, N of §5.2.1). Retransmissions
/// repeat the same source and nonce, so that a late answer to an earlier copy still counts.
/// </summary>
public sealed class QualificationProbe(ProbeKind kind)
{
    public ProbeKind Kind { get; } = kind;
    public bool Active { get; private set; }
    public bool Cone { get; private set; }
    public Ipv4Endpoint Target { get; private set; }
    public Ipv6Address Source { get; private set; }
    public ulong Nonce { get; private set; }
    public int Sent { get; internal set; }
    public long StartedMs { get; private set; }
    public long NextMs { get; internal set; }
    /// <summary>A valid RA came back (from <see cref="AnsweredFrom"/>, reporting <see cref="Mapped"/>).</summary>
    public bool Answered { get; private set; }
    public Ipv4Endpoint Mapped { get; private set; }
    public Ipv4Endpoint AnsweredFrom { get; private set; }
    public long AnsweredMs { get; private set; }
    /// <summary>N solicitations went unanswered.</summary>
    public bool Failed { get; private set; }

    public void Begin(bool cone, Ipv4Endpoint target, Ipv6Address source, ulong nonce, long nowMs)
    {
        Active = true;
        Cone = cone;
        Target = target;
        Source = source;
        Nonce = nonce;
        Sent = 0;
        StartedMs = nowMs;
        NextMs = nowMs;
        Answered = false;
        Failed = false;
        Mapped = default;
        AnsweredFrom = default;
    }

    /// <summary>A valid answer; the probe stays active when <paramref name="done"/> is false (the cone probe waits for the secondary's answer).</summary>
    public void Answer(Ipv4Endpoint mapped, Ipv4Endpoint from, long nowMs, bool done)
    {
        if (!Answered)
        {
            Answered = true;
            Mapped = mapped;
            AnsweredFrom = from;
            AnsweredMs = nowMs;
        }
        else if (from != AnsweredFrom)
        {
            AnsweredFrom = from;
        }
        if (done) Active = false;
    }

    public void Fail()
    {
        Active = false;
        Failed = true;
    }

    public void Cancel() => Active = false;
}
