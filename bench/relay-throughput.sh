#!/usr/bin/env bash
# Relay throughput, side by side in one run on the lab's `basic` topology: iperf3 TCP and UDP from
# host6 (native IPv6) to a Teredo client behind the port-restricted NAT, through the Miredo relay and
# through `teredo relay`, plus the no-tunnel baseline (host6 -> the relay host's native address).
# For each relay: Mbit/s, packets/s, and the relay's CPU time per packet it forwarded (both
# directions, counted on its tunnel interface; for UDP, per datagram delivered to the client, since an
# overloaded relay's interface counters include what the kernel dropped), with ours/Miredo ratios.
# Usage: sudo bench/relay-throughput.sh [seconds=5] [client=miredo|teredo]    (needs root and the lab's packages)
set -euo pipefail
secs=${1:-5}
client_kind=${2:-miredo}
root=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "relay-throughput: needs root (network namespaces)" >&2; exit 3; }
dotnet build -c Release "$root/src/Teredo.Cli" -nologo -v quiet >/dev/null
dotnet build -c Release "$root/tests/Teredo.LabTools" -nologo -v quiet >/dev/null
tools="$root/tests/Teredo.LabTools/bin/Release/net10.0/teredo-labtools"
# Relay capacity alone: a Teredo address whose mapping is a UDP sink on host4 that answers bubbles
# (server 198.18.0.10, flags 0, mapped 198.18.0.100:40000), so no client and no NAT limit the rate.
SINK_ADDR=2001:0:c612:a:0:63bf:39ed:ff9b
export TEREDO_BIN="$root/src/Teredo.Cli/bin/Release/net10.0/teredo"
L="$root/lab/lab.sh"
work=$(mktemp -d)
trap '"$L" down >/dev/null 2>&1 || true; rm -rf "$work"' EXIT INT TERM

"$L" up basic >/dev/null
"$L" miredo-server srv >/dev/null 2>&1

cpu_ticks() { # pidfile -> utime+stime of the process and its children
  local pid; pid=$(cut -d' ' -f1 "$1")
  { cat "/proc/$pid/stat"; for c in $(pgrep -P "$pid" || true); do cat "/proc/$c/stat"; done; } 2>/dev/null |
    awk '{ sub(/^.*\) /, ""); t += $12 + $13 } END { print t + 0 }'
}
tun_packets() { # -> "rx tx tx_dropped" of the relay's tunnel interface
  ip -n tlab-relay -s -j link show teredo | jq -r '.[0].stats64 | "\(.rx.packets) \(.tx.packets) \(.tx.dropped)"'
}

start_client() {
  "$L" miredo-stop clprc client >/dev/null 2>&1 || true
  "$L" stop clprc teredo-client >/dev/null 2>&1 || true
  if [ "$client_kind" = teredo ]; then
    "$L" start clprc teredo-client -- "$TEREDO_BIN" client --server 198.18.0.10 --interface teredo \
      --control /run/tlab/clprc/teredo-client.sock >/dev/null
  else
    "$L" miredo-client clprc >/dev/null 2>&1
  fi
  "$L" wait-qualified clprc 20
}

udp_in() { # host4's UDP datagrams delivered or dropped at the socket
  "$L" exec host4 -- cat /proc/net/snmp | awk '/^Udp:/ { n++; if (n == 1) for (i = 2; i <= NF; i++) h[$i] = i; else print $h["InDatagrams"] + $h["RcvbufErrors"] }'
}

capacity() { # label pidfile: blast host6 -> sink through the relay; pps arriving and relay CPU per packet
  local label=$1 pidfile=$2 c0 c1 u0 u1
  "$L" start host4 udp-sink -- "$tools" sink "$SINK_ADDR" 40000 $((secs + 30)) >/dev/null
  sleep 0.3
  "$L" exec host6 -- "$tools" blast6 "$SINK_ADDR" 1 >/dev/null 2>&1 || true   # warm-up (peer entry)
  u0=$(udp_in); c0=$(cpu_ticks "$pidfile")
  "$L" exec host6 -- "$tools" blast6 "$SINK_ADDR" "$secs" >"$work/blast.log" 2>&1 || true
  u1=$(udp_in); c1=$(cpu_ticks "$pidfile")
  "$L" stop host4 udp-sink >/dev/null 2>&1 || true
  awk -v l="$label" -v n="$((u1 - u0))" -v c="$((c1 - c0))" -v s="$secs" '
    /blast6: sent/ { sent = $3 }
    END { printf "RESULT %s capacity %.1f %.0f %.0f %.2f %.1f\n", l, n * 1248 * 8 / s / 1e6, n / s, sent / s,
          (n > 0 ? 1e6 * (c / 100.0) / n : 0), (sent > 0 ? 100 * (sent - n) / sent : 0) }' "$work/blast.log" >>"$work/results"
}

measure() { # label pidfile
  local label=$1 pidfile=$2 addr proto c0 c1 p0 p1 out
  addr=$(start_client)
  "$L" exec host6 -- ping -6 -c 3 -i 0.2 -W 2 "$addr" >/dev/null 2>&1 || true
  for proto in tcp udp; do
    c0=$(cpu_ticks "$pidfile"); p0=$(tun_packets)
    out=$(TLAB_NO_PLAIN=1 "$L" iperf host6 "$addr" "$proto" "$secs" 2>&1) || { echo "$label $proto: iperf failed: $out" >&2; continue; }
    c1=$(cpu_ticks "$pidfile"); p1=$(tun_packets)
    echo "$out" | awk -v l="$label" -v p="$proto" -v c="$((c1 - c0))" -v a="$p0" -v b="$p1" -v s="$secs" '
      $1 == "requested" {
        split(a, x, " "); split(b, y, " ")
        handled = (y[1] - x[1]) + (y[2] - x[2]) - (y[3] - x[3])
        per = (p == "udp" ? $3 * s : handled)
        printf "RESULT %s %s %s %s %.0f %.2f %.1f\n", l, p, $2, (p == "udp" ? $3 : "-"), handled / s,
          (per > 0 ? 1e6 * (c / 100.0) / per : 0), (p == "udp" ? $4 : 0)
      }' >>"$work/results"
  done
}

echo "== Miredo relay"
"$L" miredo-relay relay >/dev/null 2>&1
capacity miredo /run/tlab/relay/miredo-relay.pid
measure miredo /run/tlab/relay/miredo-relay.pid
"$L" miredo-stop relay relay >/dev/null 2>&1

echo "== teredo relay (ours)"
"$L" teredo-relay relay >/dev/null 2>&1
capacity ours /run/tlab/relay/teredo-relay.pid
measure ours /run/tlab/relay/teredo-relay.pid
"$L" stop relay teredo-relay >/dev/null 2>&1

echo "== no tunnel: host6 -> relay host's native address"
for proto in tcp udp; do
  TLAB_NO_PLAIN=1 "$L" iperf host6 2001:db8:1::20 "$proto" "$secs" 2>&1 |
    awk -v p="$proto" '$1 == "requested" { printf "RESULT baseline %s %s %s - - %s\n", p, $2, (p == "udp" ? $3 : "-"), (p == "udp" ? $4 : 0) }' >>"$work/results"
done

awk -v client="$client_kind" '
  /^RESULT/ { k = $2 "/" $3; mbps[k] = $4; pps[k] = $5; relay_pps[k] = $6; cpu[k] = $7; loss[k] = $8 }
  END {
    printf "\nhost6 -> Teredo client behind natprc (client: %s), %s\n", client, "iperf3, same topology, one run"
    printf "%-10s %-4s %10s %12s %16s %14s %7s\n", "path", "", "Mbit/s", "recv pkt/s", "relay pkt/s", "relay µs/pkt", "loss%"
    printf "(capacity: 1200-byte UDP blasted from host6 to a Teredo address whose mapping is a public UDP sink;\n"
    printf " recv = arriving at the sink, relay column = offered; µs/pkt = relay CPU per arriving datagram.\n"
    printf " tcp/udp: iperf3 to a client behind natprc; relay pkt/s through its tunnel interface; UDP µs per delivered datagram)\n"
    split("miredo ours baseline", names, " ")
    for (i = 1; i <= 3; i++) for (j = 0; j <= 2; j++) {
      p = (j == 0 ? "capacity" : j == 1 ? "tcp" : "udp"); k = names[i] "/" p
      if (!(k in mbps)) continue
      printf "%-10s %-4s %10.1f %12s %16s %14s %7s\n", names[i], p, mbps[k], pps[k], relay_pps[k], cpu[k], loss[k]
    }
    for (j = 0; j <= 2; j++) {
      p = (j == 0 ? "capacity" : j == 1 ? "tcp" : "udp")
      if (("miredo/" p) in mbps && ("ours/" p) in mbps && mbps["miredo/" p] > 0) {
        # capacity: compare what arrived; tcp/udp: what went through the relay tunnel interface
        a = (p == "capacity" ? pps["ours/" p] : relay_pps["ours/" p]); b = (p == "capacity" ? pps["miredo/" p] : relay_pps["miredo/" p])
        printf "ratio %s: ours/miredo %.2fx Mbit/s, %.2fx packets/s; miredo/ours CPU per packet %.2fx", p,
          mbps["ours/" p] / mbps["miredo/" p], (b > 0 ? a / b : 0), (cpu["ours/" p] > 0 ? cpu["miredo/" p] / cpu["ours/" p] : 0)
        if (("baseline/" p) in mbps && mbps["baseline/" p] > 0) printf "; ours/baseline %.3f", mbps["ours/" p] / mbps["baseline/" p]
        printf "\n"
      }
    }
  }' "$work/results"
