#!/usr/bin/env bash
# P2P NAT64 network throughput, one run on the lab's `p2p` topology: iperf3 TCP and UDP from v6c
# (IPv6 only) to host4 (IPv4 only) through
#   chain-ours    v6peer -> our relay -> IPv4 peer behind natsym -> host4   (N::host4)
#   chain-miredo  the same with Miredo's unmodified relay
#   tayga         Debian's Tayga as a single NAT64 box on the nat64 node    (2001:db8:64::host4)
#   no-tunnel     plain routed IPv6, v6c -> host6 (the same first hops, no translation, no tunnel)
# TCP both ways (tcp: v6c sends; tcp-down: host4 sends, iperf3 -R, what a web user does), UDP from v6c.
# For each: Mbit/s, packets/s, and each role's CPU time per packet (µs; packets = both directions on
# v6c's interface, the same denominator for every role of a path), then the issue's ratios.
# Usage: sudo bench/p2p-throughput.sh [seconds=5]      (needs root and lab/apt-packages.txt)
set -euo pipefail
secs=${1:-5}
[[ $secs =~ ^[0-9]+$ ]] && [ "$secs" -ge 1 ] && [ "$secs" -le 60 ] || { echo "p2p-throughput: seconds must be 1..60" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/bench/lab-bench.sh"   # bench_prepare, cpu_ticks, link_packets
bench_prepare p2p-throughput
"$TEREDO_BIN" v4peer --help 2>&1 | grep -q -- --pin && "$TEREDO_BIN" v6peer --help 2>&1 | grep -q -- --prefix \
  || { echo "p2p-throughput: this build has no teredo v4peer / v6peer" >&2; exit 4; }
work=$(mktemp -d)
trap '"$L" down >/dev/null 2>&1 || true; rm -rf "$work"' EXIT INT TERM

HOST4=198.18.0.100 VIA_P2P=2001:db8:6464::c612:64 VIA_TAYGA=2001:db8:64::c612:64 HOST6=2001:db8:1::100
"$L" up p2p >/dev/null 2>&1
"$L" coordinator coord >/dev/null 2>&1
"$L" v6peer v6peer >/dev/null 2>&1
"$L" v4peer clsym >/dev/null 2>&1
"$L" tayga nat64 tayga >/dev/null 2>&1

v6c_packets() { link_packets v6c eth0; }

# roles per path: "node:pidfile-name" (the relay's name is filled in per path)
declare -A ROLES=(
  [chain-ours]="v6peer:v6peer relay:teredo-relay clsym:v4peer coord:coordinator"
  [chain-miredo]="v6peer:v6peer relay:miredo-relay clsym:v4peer coord:coordinator"
  [tayga]="nat64:tayga"
  [no-tunnel]=""
)
declare -A TARGET=([chain-ours]=$VIA_P2P [chain-miredo]=$VIA_P2P [tayga]=$VIA_TAYGA [no-tunnel]=$HOST6)
declare -A SERVER=([chain-ours]=host4 [chain-miredo]=host4 [tayga]=host4 [no-tunnel]=host6)

run() { # path proto -> one RESULT line
  local path=$1 proto=$2 r t0 p0 p1 out mbps pps args cpu=""
  "$L" start "${SERVER[$path]}" iperf3-server -- iperf3 -s -1 -p 5201 >/dev/null 2>&1
  for _ in $(seq 50); do "$L" exec "${SERVER[$path]}" -- ss -Hltn "sport = :5201" | grep -q . && break; sleep 0.1; done
  # warm the path (the relay's bubble exchange, the leases) so that the figures are the steady state
  "$L" exec v6c -- ping -6 -c 2 -i 0.3 -W 2 "${TARGET[$path]}" >/dev/null 2>&1 || true
  declare -A c0=()
  for r in ${ROLES[$path]}; do c0[$r]=$(cpu_ticks "${r%%:*}" "${r#*:}"); done
  p0=$(v6c_packets)
  args=(-c "${TARGET[$path]}" -p 5201 -t "$secs" -J --connect-timeout 5000)
  [ "$proto" = udp ] && args+=(-u -b 0 -l 1200)
  [ "$proto" = tcp-down ] && args+=(-R)
  if ! out=$("$L" exec v6c -- timeout -k 2 $((secs + 20)) iperf3 "${args[@]}" 2>&1); then
    echo "RESULT $path $proto failed" >>"$work/results"; "$L" stop "${SERVER[$path]}" iperf3-server >/dev/null 2>&1 || true; return
  fi
  p1=$(v6c_packets)
  for r in ${ROLES[$path]}; do
    cpu+=" ${r#*:}=$(awk -v a="${c0[$r]}" -v b="$(cpu_ticks "${r%%:*}" "${r#*:}")" -v n="$((p1 - p0))" 'BEGIN { printf "%.2f", (n > 0 ? (b - a) * 1e4 / n : 0) }')"
  done
  "$L" stop "${SERVER[$path]}" iperf3-server >/dev/null 2>&1 || true
  if [ "$proto" = udp ]; then
    read -r mbps pps < <(echo "$out" | jq -r '(.end.sum_received // .end.sum) as $r | "\($r.bits_per_second / 1e6) \(($r.packets - $r.lost_packets) / $r.seconds)"')
  else
    mbps=$(echo "$out" | jq -r '.end.sum_received.bits_per_second / 1e6')
    pps=$(awk -v n="$((p1 - p0))" -v s="$secs" 'BEGIN { print n / s }')
  fi
  echo "RESULT $path $proto $mbps $pps${cpu:- -}" >>"$work/results"
}

for path in no-tunnel tayga chain-ours chain-miredo; do
  case $path in
    chain-ours) "$L" teredo-relay relay >/dev/null 2>&1 ;;
    chain-miredo) "$L" miredo-relay relay >/dev/null 2>&1 ;;
  esac
  for proto in tcp tcp-down udp; do run "$path" "$proto"; done
done

echo "P2P NAT64 throughput, ${secs}s per run, v6c -> host4 (no-tunnel: v6c -> host6); $(nproc) cores, $(date -u +%FT%TZ)"
printf '%-13s %-8s %10s %10s  %s\n' path proto Mbit/s pkt/s "CPU µs per packet of each role"
awk '$1 == "RESULT" { if ($4 == "failed") { printf "%-13s %-8s %10s\n", $2, $3, "failed"; next }
  cpu = ""; for (i = 6; i <= NF; i++) cpu = cpu " " $i
  printf "%-13s %-8s %10.1f %10.0f %s\n", $2, $3, $4, $5, cpu; m[$2 "/" $3] = $4 }
  END {
    if (m["chain-ours/tcp"] > 0 && m["tayga/tcp"] > 0) printf "chain-ours / tayga (TCP): %.2f   (goal >= 1)\n", m["chain-ours/tcp"] / m["tayga/tcp"]
    if (m["chain-ours/tcp"] > 0 && m["chain-miredo/tcp"] > 0) printf "chain-ours / chain-miredo (TCP): %.2f\n", m["chain-ours/tcp"] / m["chain-miredo/tcp"]
    if (m["chain-ours/tcp-down"] > 0 && m["tayga/tcp-down"] > 0) printf "chain-ours / tayga (TCP down): %.2f\n", m["chain-ours/tcp-down"] / m["tayga/tcp-down"]
    if (m["chain-ours/udp"] > 0 && m["tayga/udp"] > 0) printf "chain-ours / tayga (UDP): %.2f\n", m["chain-ours/udp"] / m["tayga/udp"]
  }' "$work/results"
echo "(relay-only throughput for the issue's 0.8x goal: bench/relay-throughput.sh)"
