using Teredo.Common;

namespace Teredo.P2p.Coordinator;

/// <summary>
/// What the coordinator did with each input. Three groups add up (tests check them):
/// bubbles: <see cref="BubblesReceived"/> = every Bubble* outcome below it;
/// notifications: <see cref="BubbleForLease"/> + <see cref="BubbleLeaseCreated"/> + <see cref="BubbleForStaticAddress"/>
///   = <see cref="NotificationsSent"/> + <see cref="NotificationsReflectionLimited"/> + <see cref="NotificationsSessionGone"/>;
/// leases: the leases held now = <see cref="LeasesGranted"/> − <see cref="LeasesExpired"/> − <see cref="LeasesReleasedByPeer"/>
///   − <see cref="LeasesDroppedNoOwner"/> − <see cref="LeasesEvictedUnproven"/>.
/// </summary>
public enum CoordinatorCounter
{
    // UDP 3544: relays' indirect bubbles
    BubblesReceived,
    BubbleIntakeLimited,
    BubbleMalformed,
    BubbleNotBubble,
    BubbleOtherPrefix,
    BubbleDestinationRefused,
    BubbleStaticUnknown,
    BubbleNoPeer,
    BubbleNewLeaseLimited,
    BubbleLeaseTableFull,
    BubbleForLease,
    BubbleLeaseCreated,
    BubbleForStaticAddress,
    NotificationsSent,
    NotificationsReflectionLimited,
    NotificationsSessionGone,
    // Leases
    LeasesGranted,
    LeasesRenewed,
    LeasesExpired,
    LeasesReleasedByPeer,
    LeasesMoved,
    LeasesDroppedNoOwner,
    LeasesEvictedUnproven,
    // Sessions
    HellosReceived,
    PeersJoined,
    HelloRejectedVersion,
    HelloRejectedToken,
    HelloRejectedFull,
    PeersSuperseded,
    PeersLeft,
    PeersTimedOut,
    ProtocolErrors,
    KeepalivesReceived,
    UseReportsReceived,
    UseReportEntriesForeign,
    StaticAddressesAssigned,
    StaticBookFull,
    NoStaticAddressNotPrivate,
}

public sealed class CoordinatorCounters : CounterSet<CoordinatorCounter>;
