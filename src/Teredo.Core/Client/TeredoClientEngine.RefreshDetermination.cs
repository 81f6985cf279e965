using Teredo.Addressing;
using Teredo.Common;
using Teredo.Engines;
using Teredo.Net;
using Teredo.Wire;

namespace Teredo.Client;

/// <summary>Where the optional refresh interval determination procedure stands.</summary>
public enum RefreshDeterminationPhase
{
    /// <summary>Not configured, or waiting for qualification.</summary>
    Off,
    /// <summary>Qualifying the secondary port.</summary>
    Qualifying,
    /// <summary>Letting the secondary port's mapping idle for the candidate interval.</summary>
    Waiting,
    /// <summary>Bubbles from the service port to the secondary address: is its mapping still there?</summary>
    Probing,
    /// <summary>Refreshing the secondary port's mapping before the next candidate (step 6).</summary>
    Maintaining,
    /// <summary>Concluded (or the secondary qualification failed); the secondary port may be closed.</summary>
    Done,
}

/// <summary>
/// The optional refresh interval determination procedure (RFC 4380 §5.2.7) over a secondary port, off
/// unless <see cref="ClientOptions.RefreshDetermination"/>. The secondary port qualifies right after the
/// service port; then, for each candidate interval (starting at twice the refresh interval, at most the
/// 120 s maximum), its mapping idles for the candidate, and a bubble from the service port to the
/// secondary Teredo address tests whether it survived (2 s, three repetitions). A success raises the
/// refresh interval to the candidate; a failure lowers the maximum. The procedure concludes when the
/// interval reaches 75 % of the maximum, tested after failures as the RFC says and also after successes
/// (otherwise successive successes approach the maximum for ever without concluding).
/// </summary>
public sealed partial class TeredoClientEngine
{
    private long _candidateMs;
    private long _maximumMs;
    private long _lastSecondaryMs = long.MinValue;
    private long _refreshProbeNextMs;
    private int _refreshProbeAttempts;
    private TeredoAddress _secondaryPortAddress;

    public RefreshDeterminationPhase RefreshDetermination { get; private set; }
    public long CandidateRefreshIntervalMs => _candidateMs;
    public long MaximumRefreshIntervalMs => _maximumMs;
    /// <summary>The secondary port's Teredo address, the target of the determination bubbles.</summary>
    public TeredoAddress SecondaryPortAddress => _secondaryPortAddress;

    private void StartRefreshDetermination(long nowMs, IPacketOutput sink)
    {
        if (!_options.RefreshDetermination || RefreshDetermination != RefreshDeterminationPhase.Off) return;
        RefreshDetermination = RefreshDeterminationPhase.Qualifying;
        StartProbe(_secondaryPortProbe, cone: false, _primary, nowMs, sink);
    }

    /// <summary>Qualification was lost: stop, and start over when the client qualifies again (unless already concluded).</summary>
    private void StopRefreshDetermination(long nowMs)
    {
        _secondaryPortProbe.Cancel();
        if (RefreshDetermination is RefreshDeterminationPhase.Off or RefreshDeterminationPhase.Done) return;
        RefreshDetermination = RefreshDeterminationPhase.Off;
    }

    private void OnSecondaryPortAnswered(Ipv4Endpoint mapping, long nowMs)
    {
        _lastSecondaryMs = nowMs;
        if (_secondaryPortAddress.Address == default || _secondaryPortAddress.Mapped != mapping)
            _secondaryPortAddress = TeredoAddress.Create(_options.ServicePrefix, _options.Server, TeredoFlags.None, mapping);
        if (RefreshDetermination == RefreshDeterminationPhase.Qualifying)
        {
            _maximumMs = _options.MaximumRefreshIntervalMs;
            _candidateMs = Math.Min(2 * _refreshIntervalMs, _maximumMs);
            if (_candidateMs <= _refreshIntervalMs)
            {
                Conclude(nowMs);
                return;
            }
        }
        if (RefreshDetermination is RefreshDeterminationPhase.Qualifying or RefreshDeterminationPhase.Maintaining)
            RefreshDetermination = RefreshDeterminationPhase.Waiting;
    }

    private void OnSecondaryPortFailed(long nowMs)
    {
        // The secondary port cannot qualify (or lost its server): the interval stays as it is.
        if (RefreshDetermination is RefreshDeterminationPhase.Qualifying or RefreshDeterminationPhase.Maintaining) Conclude(nowMs);
    }

    private void RefreshDeterminationTimer(long nowMs, IPacketOutput sink)
    {
        if (State != ClientState.Qualified) return;
        switch (RefreshDetermination)
        {
            case RefreshDeterminationPhase.Waiting when Elapsed(nowMs, _lastSecondaryMs) >= _candidateMs:
                RefreshDetermination = RefreshDeterminationPhase.Probing;
                _refreshProbeAttempts = 0;
                SendRefreshProbe(nowMs, sink);
                break;
            case RefreshDeterminationPhase.Probing when nowMs >= _refreshProbeNextMs:
                if (_refreshProbeAttempts > _options.Retries) OnCandidateTested(succeeded: false, nowMs, sink);
                else SendRefreshProbe(nowMs, sink);
                break;
        }
    }

    /// <summary>Step 2: a bubble to the secondary Teredo address, through the service port.</summary>
    private void SendRefreshProbe(long nowMs, IPacketOutput sink)
    {
        SendBubble(sink, _secondaryPortAddress.Mapped, _address.Address, _secondaryPortAddress.Address);
        Count(ClientCounter.RefreshBubblesSent);
        _refreshProbeAttempts++;
        _refreshProbeNextMs = nowMs + _options.RetryIntervalMs;
    }

    private ClientCounter ReceiveOnSecondaryPort(long nowMs, Ipv4Endpoint source, bool fromServer, TeredoDatagram datagram, IPacketOutput sink)
    {
        var ip = datagram.Ipv6;
        if (fromServer && IsRouterAdvertisement(ip)) return HandleRouterAdvertisement(nowMs, ClientPort.Secondary, source, datagram, sink);
        // §5.2.7: the secondary port serves the procedure and nothing else.
        if (RefreshDetermination != RefreshDeterminationPhase.Probing || !ip.IsBubble || !HasAddress
            || ip.Source != _address.Address || ip.Destination != _secondaryPortAddress.Address)
            return ClientCounter.SecondaryPortDropped;
        _lastSecondaryMs = nowMs;
        OnCandidateTested(succeeded: true, nowMs, sink);
        return ClientCounter.RefreshProbeReceived;
    }

    /// <summary>Steps 4-6.</summary>
    private void OnCandidateTested(bool succeeded, long nowMs, IPacketOutput sink)
    {
        if (succeeded)
        {
            _refreshIntervalMs = _candidateMs;
            Raise(ClientEventKind.RefreshIntervalChanged, nowMs, _address, value: _refreshIntervalMs);
            _candidateMs = Math.Min(2 * _refreshIntervalMs, (_refreshIntervalMs + _maximumMs) / 2);
        }
        else
        {
            _maximumMs = _candidateMs;
            _candidateMs = (_refreshIntervalMs + _maximumMs) / 2;
        }
        if (_refreshIntervalMs * 4 >= _maximumMs * 3 || _candidateMs <= _refreshIntervalMs)
        {
            Conclude(nowMs);
            return;
        }
        RefreshDetermination = RefreshDeterminationPhase.Maintaining;
        StartProbe(_secondaryPortProbe, cone: false, _primary, nowMs, sink);
    }

    private void Conclude(long nowMs)
    {
        _secondaryPortProbe.Cancel();
        RefreshDetermination = RefreshDeterminationPhase.Done;
        Raise(ClientEventKind.SecondaryPortDone, nowMs, _address, value: _refreshIntervalMs);
    }
}
