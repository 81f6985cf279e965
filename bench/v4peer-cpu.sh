#!/usr/bin/env bash
# CPU per translated packet: `teredo v4peer` beside Debian's Tayga on the same traffic, one run on the
# lab's `p2p` topology. host6 (IPv6) sends to host4 (IPv4 only) through
#   v4peer  our relay -> the IPv4 peer behind natsym (clsym) -> host4     (T(host4) in the coordinator's /64)
#   tayga   Tayga on the nat64 node -> host4                             (2001:db8:64::host4)
# iperf3 UDP at one fixed rate (the same offered load on both, 1200-byte payloads) and TCP (as fast as it
# goes), each for SECONDS. Per run: Mbit/s and packets/s received, the translator's packets (both
# directions: what crossed its TUN, plus for v4peer what it wrote back, i.e. TUN rx + tx; Tayga reads and
# writes every packet on its one TUN, so its TUN tx) and its CPU (utime+stime from /proc/PID/stat) per
# such packet, then the ratio v4peer/tayga. The relay's CPU is not the translator's and is not counted
# (bench/p2p-throughput.sh has every role of the chain).
# Usage: sudo bench/v4peer-cpu.sh [seconds=5] [udp-mbit=100]    (needs root and lab/apt-packages.txt)
set -euo pipefail
secs=${1:-5} rate=${2:-100}
[[ $secs =~ ^[0-9]+$ ]] && [ "$secs" -ge 1 ] && [ "$secs" -le 60 ] || { echo "v4peer-cpu: seconds must be 1..60" >&2; exit 2; }
[[ $rate =~ ^[0-9]+$ ]] && [ "$rate" -ge 1 ] && [ "$rate" -le 2000 ] || { echo "v4peer-cpu: udp-mbit must be 1..2000" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/bench/lab-bench.sh"   # bench_prepare, cpu_ticks, link_packets
bench_prepare v4peer-cpu
command -v tayga >/dev/null || { echo "v4peer-cpu: Debian's tayga is not installed (lab/apt-packages.txt)" >&2; exit 3; }
work=$(mktemp -d)
trap '"$L" down >/dev/null 2>&1 || true; rm -rf "$work"' EXIT INT TERM

# T(host4) under the coordinator on coord (198.18.0.40): 2001:0 | c612:0028 | 00 | c6120064 | 000000
VIA_V4PEER=2001:0:c612:28:c6:1200:6400:0 VIA_TAYGA=2001:db8:64::c612:64
"$L" up p2p >/dev/null 2>&1
"$L" coordinator coord >/dev/null 2>&1
"$L" teredo-relay relay >/dev/null 2>&1
"$L" v4peer clsym >/dev/null 2>&1
"$L" tayga nat64 tayga >/dev/null 2>&1

declare -A TARGET=([v4peer]=$VIA_V4PEER [tayga]=$VIA_TAYGA)
declare -A ROLE=([v4peer]="clsym v4peer" [tayga]="nat64 tayga")
translated() { # path -> packets the translator handled so far
  case $1 in
    v4peer) link_packets clsym teredo-v4peer ;;
    tayga) ip -n tlab-nat64 -s -j link show nat64 | jq -r '.[0].stats64.tx.packets' ;;
  esac
}

run() { # path proto -> one RESULT line: path proto mbit/s pkt/s translated cpu-µs-per-translated-packet
  local path=$1 proto=$2 c0 c1 n0 n1 out mbps pps args
  "$L" start host4 iperf3-server -- iperf3 -s -1 -p 5201 >/dev/null 2>&1
  for _ in $(seq 50); do "$L" exec host4 -- ss -Hltn "sport = :5201" | grep -q . && break; sleep 0.1; done
  # warm the path (the relay's bubble exchange, the lease, the JIT) so that the figures are the steady state
  "$L" exec host6 -- ping -6 -c 3 -i 0.3 -W 2 "${TARGET[$path]}" >/dev/null 2>&1 || true
  c0=$(cpu_ticks ${ROLE[$path]}); n0=$(translated "$path")
  args=(-c "${TARGET[$path]}" -p 5201 -t "$secs" -J --connect-timeout 5000)
  [ "$proto" = udp ] && args+=(-u -b "${rate}M" -l 1200)
  if ! out=$("$L" exec host6 -- timeout -k 2 $((secs + 20)) iperf3 "${args[@]}" 2>&1); then
    echo "RESULT $path $proto failed" >>"$work/results"; "$L" stop host4 iperf3-server >/dev/null 2>&1 || true; return
  fi
  c1=$(cpu_ticks ${ROLE[$path]}); n1=$(translated "$path")
  "$L" stop host4 iperf3-server >/dev/null 2>&1 || true
  if [ "$proto" = udp ]; then
    read -r mbps pps < <(echo "$out" | jq -r '(.end.sum_received // .end.sum) as $r | "\($r.bits_per_second / 1e6) \(($r.packets - $r.lost_packets) / $r.seconds)"')
  else
    mbps=$(echo "$out" | jq -r '.end.sum_received.bits_per_second / 1e6')
    pps=$(awk -v n="$((n1 - n0))" -v s="$secs" 'BEGIN { print n / s }')
  fi
  echo "RESULT $path $proto $mbps $pps $((n1 - n0)) $(awk -v t="$((c1 - c0))" -v n="$((n1 - n0))" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { printf "%.2f", (n > 0 ? t * 1e6 / hz / n : 0) }')" >>"$work/results"
}

for proto in udp tcp; do for path in tayga v4peer; do run "$path" "$proto"; done; done

echo "v4peer vs Tayga, host6 -> host4, ${secs}s per run, UDP offered at ${rate} Mbit/s (1200-byte payloads), TCP unbounded; $(nproc) cores, $(date -u +%FT%TZ)"
echo "(pkt/s: received by iperf3 for UDP, translated for TCP; translated: packets the translator handled, both directions)"
printf '%-7s %-4s %10s %10s %11s %16s\n' path proto Mbit/s pkt/s translated "CPU µs/packet"
awk '$1 == "RESULT" { if ($4 == "failed") { printf "%-7s %-4s %10s\n", $2, $3, "failed"; next }
  printf "%-7s %-4s %10.1f %10.0f %11d %16.2f\n", $2, $3, $4, $5, $6, $7; cpu[$2 "/" $3] = $7; mb[$2 "/" $3] = $4 }
  END {
    split("udp tcp", p, " ")
    for (i = 1; i <= 2; i++) if (cpu["v4peer/" p[i]] > 0 && cpu["tayga/" p[i]] > 0)
      printf "v4peer / tayga (%s): CPU per packet %.2fx, Mbit/s %.2fx\n", p[i], cpu["v4peer/" p[i]] / cpu["tayga/" p[i]], mb["v4peer/" p[i]] / mb["tayga/" p[i]]
  }' "$work/results"
