using Teredo.Common;
using Teredo.Engines;
using Teredo.Net;

namespace Teredo.Client;

/// <summary>
/// Maintenance (RFC 4380 §5.2.5): when nothing came from the server for the randomized refresh interval
/// (75-100 % of the refresh interval, drawn again for every cycle), a Router Solicitation goes out. Its
/// answer either confirms the mapping or reports a new one, and then the address changes. When N
/// solicitations go unanswered the server is lost: the address is withdrawn and qualification starts
/// over (and, failing that, is retried from the off-line state).
///
/// The solicitation is sent with the cone bit clear, to the primary address, whatever the NAT: RFC 5991
/// retires the cone bit, and an answer from the primary address reaches the client through any NAT.
/// </summary>
public sealed partial class TeredoClientEngine
{
    private long _refreshIntervalMs;
    private long _randomizedRefreshMs;

    /// <summary>The Teredo refresh interval (§5.2): configured, or learned by §5.2.7.</summary>
    public long RefreshIntervalMs => _refreshIntervalMs;
    /// <summary>This cycle's randomized refresh interval.</summary>
    public long RandomizedRefreshMs => _randomizedRefreshMs;

    private long NextRandomizedRefresh() => _random.NextInRange(_refreshIntervalMs * 3 / 4, _refreshIntervalMs);

    private void MaintenanceTimer(long nowMs, IPacketOutput sink)
    {
        if (State != ClientState.Qualified || _maintenanceProbe.Active) return;
        if (Elapsed(nowMs, _lastServerMs) < _randomizedRefreshMs) return;
        StartProbe(_maintenanceProbe, cone: false, _primary, nowMs, sink);
    }

    private void OnMaintenanceAnswered(Ipv4Endpoint mapping, long nowMs)
    {
        _randomizedRefreshMs = NextRandomizedRefresh();
        if (State != ClientState.Qualified || mapping == _mapped) return;
        // §5.2.5: the mapping changed; the old address is invalid and the new one takes its place. What
        // peers and relays proved was proved for the old address (and, after a NAT restart, another
        // flow may even get another port): every peer starts over, through bubbles or the echo test.
        var old = _address;
        ClearPeers();
        SetAddress(BuildAddress(mapping), mapping, nowMs);
        Count(ClientCounter.AddressChanges);
        Raise(ClientEventKind.AddressChanged, nowMs, _address, old);
    }

    private void OnServerLost(long nowMs, IPacketOutput sink)
    {
        Count(ClientCounter.ServerLosses);
        StopRefreshDetermination(nowMs);
        WithdrawAddress(nowMs);
        ClearPeers();
        BeginQualification(nowMs, sink);
    }
}
