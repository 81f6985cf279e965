#!/usr/bin/env bash
# Load test of `teredo coordinator` on loopback: PEERS TLS peers (the real CoordinatorClient), LEASES
# leases, then the coordinator's RSS, its idle CPU with keepalives only, and the bubble-to-notification
# latency (p50/p99, TLS on both ends included) at RATE bubbles/s. The load generator runs on the same
# machine and shares its cores, so the latency is an upper bound. Bounded: at most 20k peers, 1M leases,
# 100k bubbles/s, 60 s of load.
# Usage: bench/coordinator-load.sh [peers=10000] [leases=100000] [rate=50000] [seconds=5] [idle=30]
# TEREDO=path/to/teredo runs another build of the coordinator (a baseline) under the same generator;
# COORDINATOR_ENV="VAR=value ..." runs it with those environment variables (GC settings).
set -euo pipefail
peers=${1:-10000}; leases=${2:-100000}; rate=${3:-50000}; seconds=${4:-5}; idle=${5:-30}
root=$(cd "$(dirname "$0")/.." && pwd)
# Peers fsync their identity files; on tmpfs that costs nothing, so the join rate measures TLS and the coordinator.
work=$(mktemp -d /dev/shm/coordinator-load.XXXXXX 2>/dev/null || mktemp -d /tmp/coordinator-load.XXXXXX)
coordinator_pid=""
cleanup() {
  [ -n "$coordinator_pid" ] && kill "$coordinator_pid" 2>/dev/null && wait "$coordinator_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

dotnet build -c Release "$root/src/Teredo.Cli" -nologo -v quiet >/dev/null
dotnet build -c Release "$root/bench/Teredo.CoordinatorLoad" -nologo -v quiet >/dev/null
teredo="${TEREDO:-$root/src/Teredo.Cli/bin/Release/net10.0/teredo}"
load="$root/bench/Teredo.CoordinatorLoad/bin/Release/net10.0/teredo-coordinator-load"

# Rate limits off (every bubble comes from one loopback "relay"); leases stay on probation for the run.
cat > "$work/coordinator.conf" <<CONF
Address 127.0.0.1
TlsPort 23544
BubblePort 23545
StateDirectory $work/state
ControlSocket $work/coordinator.sock
MaxPeers $((peers + 100))
MaxLeases $((leases + 1000))
ProbationTimeout 3600
BubbleRateLimit 0
NotificationRateLimit 0
NewLeaseRateLimit 1000000
NewLeaseBurst 1000000
MaxPendingSessions 4096
CONF
# shellcheck disable=SC2086
env ${COORDINATOR_ENV:-} "$teredo" coordinator -c "$work/coordinator.conf" --log-level Warning 2>"$work/coordinator.log" &
coordinator_pid=$!
for _ in $(seq 100); do [ -S "$work/coordinator.sock" ] && break; sleep 0.1; done
pin=$("$teredo" status --control "$work/coordinator.sock" --json | sed -n 's/.*"pin": "\(.*\)".*/\1/p')
echo "coordinator pid $coordinator_pid, pin $pin; $peers peers, $leases leases, $rate bubbles/s for $seconds s"
"$load" 127.0.0.1 23544 23545 "$pin" "$coordinator_pid" "$peers" "$leases" "$rate" "$seconds" "$idle" "$work/peers" "$work/coordinator.sock"
"$teredo" status --control "$work/coordinator.sock" --json 2>/dev/null | grep -E '"(peerCount|leaseCount|bubblesReceived|notificationsSent|notificationsSessionGone|sessionsOverflowed|connectionsRefusedBusy|peersTimedOut|tlsBuffersKept|keepalivesReceived)"' || true
tail -5 "$work/coordinator.log"
