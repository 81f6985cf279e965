#!/usr/bin/env bash
# Start-up and idle memory, side by side in one run on the lab's `p2p` topology (issue 15):
#  1. start → qualified: from launching the client (behind the port-restricted NAT, miredo-server on
#     srv) until its 2001:0: address is on the interface, for `teredo client` as the Native AOT binary,
#     as the JIT build, and for Miredo's client. Every start is launched the same way (setsid ip netns
#     exec, no lab.sh in between) and the interface is polled in a tight loop; NAT state is flushed
#     before each run. Median and min/max of RUNS runs, and ratios to Miredo.
#  2. idle RSS, and its private part (RssAnon + RssShmem: the JIT's code is in a shared-memory double
#     mapping), of each daemon a few seconds after it is ready: native,
#     JIT, and the C daemon it replaces (miredo for relay and client, miredo-server, tayga for nat64;
#     the P2P roles have none). Summed over the daemon's process tree (Miredo forks a privileged helper).
# Usage: sudo flock /run/teredo-lab.lock bench/start-and-rss.sh [runs=7] [idle-seconds=3]
# The native binary is artifacts/linux-x64/teredo (scripts/publish builds it when missing); extra
# environment for our daemons (e.g. DOTNET_gcConcurrent=0 to try a GC knob) can be given as
# BENCH_DOTNET_ENV="NAME=VALUE ...".
set -euo pipefail
runs=${1:-7}
idle=${2:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "start-and-rss: needs root (network namespaces)" >&2; exit 3; }
[ "$runs" -ge 1 ] && [ "$runs" -le 50 ] || { echo "start-and-rss: runs must be 1..50" >&2; exit 2; }
native="$root/artifacts/linux-x64/teredo"
[ -x "$native" ] || "$root/scripts/publish" linux-x64
dotnet build -c Release "$root/src/Teredo.Cli" -nologo -v quiet >/dev/null
jit="$root/src/Teredo.Cli/bin/Release/net10.0/teredo"
L="$root/lab/lab.sh"
S=/run/tlab
work=$(mktemp -d)
read -r -a dotnet_env <<<"${BENCH_DOTNET_ENV:-}"
trap '"$L" down >/dev/null 2>&1 || true; rm -rf "$work"' EXIT INT TERM

"$L" up p2p >/dev/null
"$L" miredo-server srv >/dev/null 2>&1

# ---------------------------------------------------------------------------------------------
# 1. start → qualified
# ---------------------------------------------------------------------------------------------
cat >"$work/miredo.conf" <<EOF
RelayType client
InterfaceName teredo
ServerAddress 198.18.0.10
SyslogFacility user
EOF

has_address() { ip -n tlab-clprc -6 -o addr show dev teredo scope global 2>/dev/null | grep -q ' 2001:0:'; }
wait_gone() {   # PID: wait (at most 10 s) for the process to end and its interface to go
  local i
  for i in $(seq 200); do
    kill -0 "$1" 2>/dev/null || ip -n tlab-clprc link show teredo >/dev/null 2>&1 || return 0
    sleep 0.05
  done
  kill -KILL "$1" 2>/dev/null || true
}

one_start() {   # IMPL -> milliseconds from launch to the address (or "fail")
  local impl=$1 pid t0 t1
  "$L" nat-flush natprc >/dev/null 2>&1 || true
  t0=$(date +%s%N)
  case $impl in
    miredo) setsid ip netns exec tlab-clprc miredo -f -c "$work/miredo.conf" -p "$work/miredo.pid" -u miredo \
              </dev/null >"$work/client.log" 2>&1 & ;;
    native|jit)
      local bin=$native; [ "$impl" = jit ] && bin=$jit
      setsid ip netns exec tlab-clprc env "${dotnet_env[@]}" "$bin" client --server 198.18.0.10 --interface teredo \
        --control "$work/client.sock" </dev/null >"$work/client.log" 2>&1 & ;;
  esac
  pid=$!
  while ! has_address; do
    if [ $(( $(date +%s%N) - t0 )) -gt 20000000000 ] || ! kill -0 "$pid" 2>/dev/null; then
      echo fail; kill -TERM "$pid" 2>/dev/null || true; wait_gone "$pid"; return 0
    fi
  done
  t1=$(date +%s%N)
  kill -TERM "$pid" 2>/dev/null || true
  wait_gone "$pid"
  wait "$pid" 2>/dev/null || true
  rm -f "$work/client.sock"
  echo $(( (t1 - t0) / 1000000 ))
}

stats() {   # numbers on stdin -> "median min max"
  sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) { print "- - -"; exit }
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; print m, v[1], v[NR] }'
}

declare -A start_ms
for impl in miredo native jit; do : >"$work/start-$impl"; done
one_start native >/dev/null; one_start jit >/dev/null; one_start miredo >/dev/null   # warm the page cache
for r in $(seq "$runs"); do
  for impl in miredo native jit; do
    v=$(one_start "$impl")
    [ "$v" = fail ] && { echo "start-and-rss: $impl did not qualify in run $r: $(tail -3 "$work/client.log")" >&2; continue; }
    echo "$v" >>"$work/start-$impl"
  done
done
for impl in miredo native jit; do start_ms[$impl]=$(stats <"$work/start-$impl"); done

# ---------------------------------------------------------------------------------------------
# 2. idle RSS
# ---------------------------------------------------------------------------------------------
tree_rss_kb() {   # PID [FIELDS] -> sum of FIELDS (default VmRSS) of the process and all its descendants, kB
  local pids=("$1") fields=${2:-VmRSS} all=() p kids
  while [ ${#pids[@]} -gt 0 ]; do
    p=${pids[0]}; pids=("${pids[@]:1}"); all+=("$p")
    kids=$(pgrep -P "$p" || true)
    for k in $kids; do pids+=("$k"); done
  done
  for p in "${all[@]}"; do awk -v f=" $fields " 'index(f, " " substr($1, 1, length($1) - 1) " ") { print $2 }' "/proc/$p/status" 2>/dev/null; done |
    awk '{ t += $1 } END { print t + 0 }'
}
pid_of() { cut -d' ' -f1 "$S/$1/$2.pid"; }   # NODE NAME -> pid recorded by lab.sh
sample() {   # NODE NAME -> "RSS private" of the idle daemon, kB
  local pid; pid=$(pid_of "$1" "$2"); sleep "$idle"
  echo "$(tree_rss_kb "$pid") $(tree_rss_kb "$pid" "RssAnon RssShmem")"
}

declare -A rss
measure_ours() {   # IMPL (native|jit): every role, one at a time, with TEREDO_BIN pointing at that build
  local impl=$1 bin=$native
  [ "$impl" = jit ] && bin=$jit
  # lab.sh runs "$TEREDO_BIN" as a word list: a wrapper carries the extra environment.
  printf '#!/bin/sh\nexec env %s %q "$@"\n' "${BENCH_DOTNET_ENV:-}" "$bin" >"$work/teredo-$impl"
  chmod +x "$work/teredo-$impl"
  export TEREDO_BIN="$work/teredo-$impl"

  "$L" miredo-stop srv server >/dev/null 2>&1 || true
  "$L" teredo-server srv >/dev/null
  rss[server,$impl]=$(sample srv teredo-server)
  "$L" stop srv teredo-server >/dev/null
  "$L" miredo-server srv >/dev/null 2>&1

  "$L" teredo-relay relay >/dev/null
  rss[relay,$impl]=$(sample relay teredo-relay)
  "$L" stop relay teredo-relay >/dev/null

  "$L" start clprc teredo-client -- "$TEREDO_BIN" client --server 198.18.0.10 --interface teredo --control "$S/clprc/teredo-client.sock" >/dev/null
  "$L" wait-qualified clprc 20 >/dev/null
  rss[client,$impl]=$(sample clprc teredo-client)
  "$L" stop clprc teredo-client >/dev/null

  "$L" tayga nat64 teredo >/dev/null
  rss[nat64,$impl]=$(sample nat64 tayga)
  "$L" tayga-stop nat64 >/dev/null

  "$L" coordinator coord >/dev/null
  rss[coordinator,$impl]=$(sample coord coordinator)
  "$L" v4peer clfc >/dev/null
  rss[v4peer,$impl]=$(sample clfc v4peer)
  "$L" v6peer v6peer >/dev/null
  rss[v6peer,$impl]=$(sample v6peer v6peer)
  "$L" stop v6peer v6peer >/dev/null; "$L" stop clfc v4peer >/dev/null; "$L" stop coord coordinator >/dev/null
  rm -rf "$S/coord/coordinator-state" "$S/clfc/v4peer-state"
}
measure_ours native
measure_ours jit

rss[server,c]=$(sample srv miredo-server)
"$L" miredo-relay relay >/dev/null 2>&1
rss[relay,c]=$(sample relay miredo-relay)
"$L" miredo-stop relay relay >/dev/null
"$L" miredo-client clprc >/dev/null 2>&1
"$L" wait-qualified clprc 20 >/dev/null
rss[client,c]=$(sample clprc miredo-client)
"$L" miredo-stop clprc client >/dev/null
"$L" tayga nat64 tayga >/dev/null
rss[nat64,c]=$(sample nat64 tayga)
"$L" tayga-stop nat64 >/dev/null

# ---------------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0 || a == "-") print "-"; else printf "%.2fx", a / b }'; }
mb() { awk -v k="$1" 'BEGIN { if (k == "-") print "-"; else printf "%.1f", k / 1024 }'; }
echo
echo "start → qualified, client behind the port-restricted NAT, miredo-server on srv ($runs runs; median [min-max] ms)${BENCH_DOTNET_ENV:+; ours with $BENCH_DOTNET_ENV}"
printf '%-22s %-18s %s\n' implementation "median [min-max]" "vs Miredo"
for impl in miredo native jit; do
  read -r m lo hi <<<"${start_ms[$impl]}"
  label=$impl; [ "$impl" = native ] && label="teredo (Native AOT)"; [ "$impl" = jit ] && label="teredo (JIT)"; [ "$impl" = miredo ] && label="miredo"
  read -r mm _ _ <<<"${start_ms[miredo]}"
  printf '%-22s %-18s %s\n' "$label" "$m [$lo-$hi]" "$(ratio "$m" "$mm")"
done
echo
echo "idle memory ${idle} s after ready, MB summed over the process tree: RSS, and in brackets its private part"
echo "(RssAnon + RssShmem; the rest is clean pages of the executable and libraries, shared and reclaimable)${BENCH_DOTNET_ENV:+; ours with $BENCH_DOTNET_ENV}"
printf '%-12s %-14s %-14s %-24s %-14s %s\n' role native JIT "C daemon" "native/C" "native/JIT"
declare -A cname=([server]=miredo-server [relay]=miredo [client]=miredo [nat64]=tayga)
both() { [ -z "$1" ] && { echo -; return; }; set -- $1; echo "$(mb "$1") [$(mb "$2")]"; }   # "rss anon" -> "R [A]"
ratios() { [ -z "$1" ] || [ -z "$2" ] && { echo -; return; }; set -- $1 $2; echo "$(ratio "$1" "$3") [$(ratio "$2" "$4")]"; }
for role in server relay client nat64 coordinator v4peer v6peer; do
  c=${rss[$role,c]:-}
  printf '%-12s %-14s %-14s %-24s %-14s %s\n' "$role" "$(both "${rss[$role,native]}")" "$(both "${rss[$role,jit]}")" \
    "$( [ -z "$c" ] && echo "(none)" || echo "$(both "$c") ${cname[$role]}")" "$(ratios "${rss[$role,native]}" "$c")" \
    "$(ratios "${rss[$role,native]}" "${rss[$role,jit]}")"
done
