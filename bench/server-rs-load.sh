#!/usr/bin/env bash
# RS→RA throughput of `teredo server` and miredo-server on the same topology in the same run.
# Two namespaces joined by one veth: the server (198.18.210.1 and .2) pinned to CPU 0, the load
# generator (198.18.210.10) pinned to CPU 1. Each server gets the same bounded load in turn; the
# table shows answered RS per second, server CPU per answered RS, and our/miredo ratios.
# Usage: sudo bench/server-rs-load.sh [seconds=5] [sources=64]     (needs root, miredo-server)
set -euo pipefail
seconds=${1:-5}
sources=${2:-64}
root=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "server-rs-load: needs root (network namespaces)" >&2; exit 3; }
command -v miredo-server >/dev/null || { echo "server-rs-load: miredo-server is not installed" >&2; exit 3; }
ncpu=$(nproc)
srv_cpu=0; gen_cpu=$(( ncpu > 1 ? 1 : 0 ))
work=$(mktemp -d)
S=tbench-srv G=tbench-gen

cleanup() {
  for ns in $S $G; do ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true; done
  sleep 0.3
  for ns in $S $G; do ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true; ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
cleanup 2>/dev/null || true
work=$(mktemp -d)

dotnet build -c Release "$root/src/Teredo.Cli" -nologo -v quiet >/dev/null
dotnet build -c Release "$root/bench/Teredo.LoadGen" -nologo -v quiet >/dev/null
teredo="$root/src/Teredo.Cli/bin/Release/net10.0/teredo"
loadgen="$root/bench/Teredo.LoadGen/bin/Release/net10.0/teredo-loadgen"

ip netns add $S; ip netns add $G
ip link add tb0 netns $S type veth peer name tb1 netns $G
ip -n $S addr add 198.18.210.1/24 dev tb0; ip -n $S addr add 198.18.210.2/24 dev tb0
ip -n $G addr add 198.18.210.10/24 dev tb1
for ns in $S $G; do ip -n $ns link set lo up; done
ip -n $S link set tb0 up; ip -n $G link set tb1 up
# Note: veth delivers each RA into the generator's namespace on the server's CPU, so both servers'
# CPU figures include that receive processing (steering it away with RPS overloaded the generator).

run_load() { # label pid
  ip netns exec $G taskset -c $gen_cpu "$loadgen" --server 198.18.210.1 --sources "$sources" --seconds "$seconds" \
    --server-pid "$2" --label "$1" | tee -a "$work/results"
}

wait_port() { for _ in $(seq 50); do ip netns exec $S ss -uln | grep -q '198.18.210.2:3544' && return 0; sleep 0.1; done; return 1; }

printf 'ServerBindAddress 198.18.210.1\n' > "$work/miredo-server.conf"
ip netns exec $S taskset -c $srv_cpu miredo-server -f -c "$work/miredo-server.conf" -p "$work/miredo-server.pid" >/dev/null 2>&1 &
mpid=$!
wait_port
run_load miredo-server "$mpid"
kill "$mpid"; wait "$mpid" 2>/dev/null || true

ip netns exec $S taskset -c $srv_cpu "$teredo" server --primary 198.18.210.1 --threads 1 --advertisement-rate-limit 0 \
  --ipv6-forwarding no --control "$work/server.sock" --log-level Warning &
tpid=$!
wait_port
run_load "teredo server" "$tpid"
kill "$tpid"; wait "$tpid" 2>/dev/null || true

awk -v secs="$seconds" '
  /^RESULT/ {
    for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    n++; name[n] = v["label"]; rate[n] = v["answered"] / v["seconds"]; cpu[n] = 1e6 * v["cpu"] / (v["answered"] > 0 ? v["answered"] : 1)
  }
  END {
    printf "\n%-16s %14s %16s\n", "server", "RS answered/s", "CPU µs per RS"
    for (i = 1; i <= n; i++) printf "%-16s %14.0f %16.2f\n", name[i], rate[i], cpu[i]
    if (n == 2 && rate[1] > 0 && cpu[2] > 0)
      printf "%-16s %14.2fx %15.2fx  (ours/miredo rate; miredo/ours CPU per RS)\n", "ratio", rate[2] / rate[1], cpu[1] / cpu[2]
  }' <(sed 's/RESULT label=teredo server/RESULT label=teredo-server/' "$work/results")
