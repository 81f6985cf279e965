#!/usr/bin/env bash
# NAT64 throughput, side by side in one run on the lab's `nat64` topology (host6 -> translator -> host4):
# Debian's tayga, then `teredo nat64` through a wrapper named tayga (one TUN queue, then two), all
# from the same generated tayga.conf. iperf3 TCP and UDP, 6->4 (host6 sends) and 4->6 (-R: host4
# sends), each for SECONDS. Per run: Mbit/s, translator packets/s (packets the kernel queued on the
# TUN for the translator, per second), the translator's CPU per packet (utime+stime from
# /proc/PID/stat over the run, divided by those packets) and, for UDP, the loss; then ratios
# ours/tayga.
# Usage: sudo bench/nat64-throughput.sh [seconds=5]     (needs root and the lab's packages, tayga and iperf3)
set -euo pipefail
secs=${1:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/bench/lab-bench.sh"   # bench_prepare
bench_prepare nat64-throughput
command -v tayga >/dev/null || { echo "nat64-throughput: Debian's tayga is not installed (lab/apt-packages.txt)" >&2; exit 3; }
HOST4_MAPPED=2001:db8:64::c612:64     # host4 (198.18.0.100) under the lab's prefix
UDP_LEN=1200                          # fits the 1280-byte IPv6 path tayga.conf's default offlink-mtu assumes
work=$(mktemp -d)
trap '"$L" down >/dev/null 2>&1 || true; rm -rf "$work"' EXIT INT TERM

"$L" up nat64 >/dev/null

cpu_ticks() { # pidfile -> "utime stime" of the translator (clock ticks)
  local pid; pid=$(cut -d' ' -f1 "$1")
  awk '{ sub(/^.*\) /, ""); print $12, $13 }' "/proc/$pid/stat"
}
to_translator() { # packets the kernel queued on the TUN for the translator (its tx counter)
  ip -n tlab-nat64 -s -j link show nat64 | jq -r '.[0].stats64.tx.packets'
}

measure() { # label proto direction
  local label=$1 proto=$2 dir=$3 u0 s0 u1 s1 p0 p1 opts=(-J -t "$secs") json
  [ "$proto" = udp ] && opts+=(-u -b 0 -l "$UDP_LEN")
  [ "$dir" = 4to6 ] && opts+=(-R)
  "$L" start host4 iperf3 -- iperf3 -s -1 >/dev/null
  sleep 0.3
  read -r u0 s0 < <(cpu_ticks /run/tlab/nat64/tayga.pid); p0=$(to_translator)
  json=$("$L" exec host6 -- iperf3 -c "$HOST4_MAPPED" "${opts[@]}" 2>/dev/null) || { echo "$label $proto $dir: iperf3 failed" >&2; "$L" stop host4 iperf3 >/dev/null 2>&1 || true; return 0; }
  read -r u1 s1 < <(cpu_ticks /run/tlab/nat64/tayga.pid); p1=$(to_translator)
  "$L" stop host4 iperf3 >/dev/null 2>&1 || true
  local hz; hz=$(getconf CLK_TCK)
  echo "$json" | jq -r --arg l "$label" --arg p "$proto" --arg d "$dir" --argjson c "$((u1 - u0 + s1 - s0))" --argjson cu "$((u1 - u0))" --argjson n "$((p1 - p0))" --argjson s "$secs" --argjson hz "$hz" '
    (if $p == "tcp" then .end.sum_received.bits_per_second else .end.sum.bits_per_second end) as $bps
    | (if $p == "udp" then .end.sum.lost_percent else 0 end) as $loss
    | "RESULT \($l) \($p) \($d) \($bps / 1e6) \($n / $s) \(if $n > 0 then 1e6 * ($c / $hz) / $n else 0 end) \($loss) \(if $c > 0 then 100 * $cu / $c else 0 end)"' >>"$work/results"
}

run() { # label impl [extra translator options]
  local label=$1 impl=$2; shift 2
  echo "== $label"
  if [ $# -gt 0 ]; then "$L" tayga nat64 "$impl" -- "$@" >/dev/null; else "$L" tayga nat64 "$impl" >/dev/null; fi
  "$L" exec host6 -- ping -6 -c 3 -i 0.2 -W 2 "$HOST4_MAPPED" >/dev/null   # warm-up: dynamic lease, JIT
  local proto dir
  for proto in tcp udp; do for dir in 6to4 4to6; do measure "$label" "$proto" "$dir"; done; done
  "$L" tayga-stop nat64 >/dev/null
}

run tayga tayga
run ours teredo
run ours-2q teredo --queues 2

awk -v secs="$secs" '
  /^RESULT/ { k = $2 "/" $3 "/" $4; mbps[k] = $5; pps[k] = $6; cpu[k] = $7; loss[k] = $8; user[k] = $9 }
  END {
    printf "\nhost6 -> translator -> host4, iperf3 %s s per run, same tayga.conf, one run\n", secs
    printf "(pkt/s: packets the kernel gave the translator per second; µs/pkt: translator CPU per such packet,\n"
    printf " user%%: the share of that CPU spent in user mode, the rest being the kernel inside its read/write calls)\n"
    printf "%-8s %-4s %-5s %10s %12s %10s %6s %7s\n", "impl", "", "dir", "Mbit/s", "pkt/s", "µs/pkt", "user%", "loss%"
    n = split("tayga ours ours-2q", names, " ")
    for (j = 0; j < 4; j++) {
      p = (j < 2 ? "tcp" : "udp"); d = (j % 2 == 0 ? "6to4" : "4to6")
      for (i = 1; i <= n; i++) {
        k = names[i] "/" p "/" d
        if (!(k in mbps)) continue
        printf "%-8s %-4s %-5s %10.1f %12.0f %10.2f %6.0f %7.2f\n", names[i], p, d, mbps[k], pps[k], cpu[k], user[k], loss[k]
      }
    }
    printf "\n"
    for (i = 2; i <= n; i++) for (j = 0; j < 4; j++) {
      p = (j < 2 ? "tcp" : "udp"); d = (j % 2 == 0 ? "6to4" : "4to6"); a = names[i] "/" p "/" d; b = "tayga/" p "/" d
      if (!(a in mbps) || !(b in mbps) || mbps[b] <= 0) continue
      printf "ratio %-7s %s %s: %.2fx Mbit/s, %.2fx packets/s; tayga/%s CPU per packet %.2fx\n", names[i], p, d,
        mbps[a] / mbps[b], (pps[b] > 0 ? pps[a] / pps[b] : 0), names[i], (cpu[a] > 0 ? cpu[b] / cpu[a] : 0)
    }
  }' "$work/results"
