# Helpers the lab comparison scripts share (sourced, not run). They read what the lab tracks: pidfiles
# "PID STARTTIME" in /run/tlab/NODE/NAME.pid and interface counters inside the tlab-* namespaces.

cpu_ticks() { # NODE NAME -> utime+stime (clock ticks) of a tracked lab process and its children
  local f=/run/tlab/$1/$2.pid pid
  [ -f "$f" ] || { echo 0; return; }
  pid=$(cut -d' ' -f1 "$f")
  { cat "/proc/$pid/stat"; for c in $(pgrep -P "$pid" || true); do cat "/proc/$c/stat"; done; } 2>/dev/null |
    awk '{ sub(/^.*\) /, ""); t += $12 + $13 } END { print t + 0 }'
}

link_packets() { # NODE IFNAME -> packets received + sent on that interface
  ip -n "tlab-$1" -s -j link show "$2" | jq -r '.[0].stats64 | .rx.packets + .tx.packets'
}

bench_prepare() { # NAME -> needs root, builds the CLI, exports TEREDO_BIN for lab.sh, sets L to lab.sh ($root: the repo)
  [ "$(id -u)" -eq 0 ] || { echo "$1: needs root (network namespaces)" >&2; exit 3; }
  dotnet build -c Release "$root/src/Teredo.Cli" -nologo -v quiet >/dev/null
  export TEREDO_BIN="$root/src/Teredo.Cli/bin/Release/net10.0/teredo"
  L="$root/lab/lab.sh"
}
