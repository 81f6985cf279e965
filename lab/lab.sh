#!/usr/bin/env bash
# Teredo network-namespace lab.  `teredo lab ARGS` execs this script with the same ARGS.
# Everything it makes is named tlab-* (namespaces) and lives under $TLAB_STATE (default /run/tlab).
# Address plan and node list: lab/README.md.  Miredo/miredo-server are run as black-box peers only.
set -euo pipefail

STATE=${TLAB_STATE:-/run/tlab}
PFX=tlab-

# ---------------------------------------------------------------------------------------------
# Topologies: ordered node lists (a node's dependencies come before it).
# ---------------------------------------------------------------------------------------------
declare -A TOPO=(
  [basic]="core srv relay host6 host4 rtr4 far4 natfc clfc natprc clprc natsym clsym natdbl2 natdbl1 cldbl"
  [teredo]="core srv relay host6 natprc clprc natsym clsym"
  [nat]="core srv host4 natfc clfc natprc clprc natsym clsym natdbl2 natdbl1 cldbl"
  [nat64]="core host6 host4 nat64"
  [p2p]="core srv relay host6 host4 rtr4 far4 nat64 coord v6peer v6c natfc clfc natprc clprc natsym clsym natdbl2 natdbl1 cldbl"
  [demo]="core srv relay host6 natprc clprc natsym clsym host4 coord v6peer v6c"
)
declare -A TOPO_DESC=(
  [basic]="everything: Teredo server, relay, native v4/v6 hosts, four NAT kinds with a client each"
  [teredo]="Teredo server, relay, native IPv6 host, clients behind a port-restricted and a symmetric NAT (demo subset)"
  [nat]="the NATs and their clients, plus srv and host4 as outside peers (NAT-behaviour checks)"
  [nat64]="IPv6-only host6 -> translator host nat64 (Tayga or teredo nat64 on a TUN) -> IPv4-only host4"
  [p2p]="P2P NAT64 network: IPv6-only LAN (v6c) behind v6peer, relay, coordinator, IPv4 peers' NATs, nginx on host4"
  [demo]="the demo's: topology teredo plus the P2P network's host4, coordinator, v6peer and its LAN"
)

# Public / native addresses (also in lab/README.md).
SRV_V4A=198.18.0.10 SRV_V4B=198.18.0.11 SRV_V6=2001:db8:1::10
RELAY_V4=198.18.0.20 RELAY_V6=2001:db8:1::20
HOST6_V6=2001:db8:1::100 HOST4_V4=198.18.0.100
# NAT64 (topology nat64): the translator host, its network-specific prefix (198.18/15 is not global,
# so the well-known prefix would refuse it), Tayga's own IPv4 address, the dynamic pool and one static map.
NAT64_V4=198.18.0.64 NAT64_V6=2001:db8:1::64
NAT64_PREFIX=2001:db8:64::/96 NAT64_TAYGA_V4=10.64.0.1 NAT64_POOL=10.64.0.0/24 NAT64_V4_ROUTE=10.64.0.0/16
NAT64_STATIC_V4=10.64.1.101 HOST6_STATIC_V6=2001:db8:1::101
# P2P NAT64 network (topology p2p, docs/p2p.md): the coordinator's public address S (its /64 is
# 2001:0:S::/64), the IPv6 peer on br6 with its NAT64 prefix N, its NAT66 pool (routed back to it by the
# relay), and the IPv6-only LAN behind it whose DNS64 resolver runs on v6peer.
COORD_V4=198.18.0.40
V6PEER_V6=2001:db8:1::66 P2P_PREFIX=2001:db8:6464::/96 P2P_POOL=2001:db8:65::/112
V6LAN_GW=2001:db8:66::1 V6C_V6=2001:db8:66::2 V6LAN_PLEN=64
P2P_ALLOW=198.18.0.0/15   # the lab's "Internet" is a benchmarking range, not global (RFC 6890)
V4_PLEN=15 V6_PLEN=64
# One router hop on the IPv4 side (traceroute through the IPv4 peer): rtr4 on br4 answers ARP for far4's
# /24 (proxy ARP), so every br4 node reaches far4 through it without a route of its own.
RTR4_V4=198.18.0.50 FAR4_NET=198.19.50 FAR4_V4=198.19.50.2
# NAT node -> "kind wan_addr lan_net_prefix client"; natdbl1's WAN is natdbl2's LAN.
declare -A NAT=(
  [natfc]="fullcone 198.18.1.1 10.1.0 clfc"
  [natprc]="portrestricted 198.18.2.1 10.2.0 clprc"
  [natsym]="symmetric 198.18.3.1 10.3.0 clsym"
  [natdbl2]="portrestricted 198.18.4.1 10.4.0 natdbl1"
  [natdbl1]="portrestricted 10.4.0.2 10.5.0 cldbl"
)
declare -A NAT_DESC=(
  [fullcone]="full cone (static 1:1 DNAT+SNAT)"
  [portrestricted]="port-restricted cone (MASQUERADE)"
  [symmetric]="symmetric (MASQUERADE --random-fully)"
)

die() { echo "lab: $*" >&2; exit 1; }
say() { echo "lab: $*" >&2; }
ns() { echo "$PFX${1#"$PFX"}"; }                # node name -> namespace name
node_of() { echo "${1#"$PFX"}"; }
inns() { local n; n=$(ns "$1"); shift; ip netns exec "$n" "$@"; }
ns_exists() { [ -e "/run/netns/$(ns "$1")" ]; }

require_root() {
  if [ "$(id -u)" -ne 0 ]; then echo "the lab needs root" >&2; exit 3; fi
}
require_netns() {
  local probe="${PFX}probe-$$" err
  if ! err=$(ip netns add "$probe" 2>&1); then
    echo "network namespaces unavailable: ${err:-ip netns add failed}" >&2; exit 3
  fi
  ip netns del "$probe" 2>/dev/null || true
}

usage() {
  cat <<'EOF'
usage: lab.sh COMMAND ...
  up NAME                         build topology NAME (basic | teredo | nat | nat64 | p2p | demo); sweeps stale lab state first
  down [NAME]                     tear NAME down (no NAME: everything the lab made)
  list                            running topologies, nodes, addresses and lab processes
  exec NODE -- CMD...             run CMD inside NODE's namespace
  demo                            the demo: Teredo (server, relay, clients behind NATs), then the P2P NAT64 network
  nat-flush NODE                  conntrack -F in a NAT node (simulates a mapping change)
  nat-check CLIENT                probe the NAT in front of CLIENT (mapping + filtering) and classify it
  impair NODE IFACE [loss PCT] [delay MS] | impair NODE IFACE clear
  iperf FROM TO_ADDR [tcp|udp] [SECONDS]   iperf3 over the path and over a plain path, with the ratio
  stop NODE [NAME]                stop lab processes in NODE (all, or the one with pidfile NAME)
  start NODE NAME -- CMD...       run CMD in NODE as a tracked lab process (log and pidfile NAME)
  miredo-stop NODE [server|relay|client]   stop the Miredo peer(s) started in NODE
  plan                            the address plan, NAME=VALUE (what the C# half reads)
Daemons (the launcher table, src/Teredo.Cli/Lab/Launchers.cs; each stops the one it replaces and waits until ready):
  teredo-server NODE [--primary IPV4] [OPTIONS]   this project's server in place of miredo-server
  teredo-relay NODE [--bind IPV4] [--ifname IF] [OPTIONS]   this project's relay in place of Miredo's
  teredo-client NODE [--server IPV4] [--ifname IF] [OPTIONS]   this project's client
  miredo-server NODE [--primary IPV4] [--secondary IPV4] [--chroot]
  miredo-relay  NODE [--bind IPV4] [--port N] [--ifname IF] [--chroot]
  miredo-client NODE [--server IPV4] [--port N] [--ifname IF] [--chroot]
  tayga NODE [tayga|teredo] [--conf FILE] [-- OPTS]  NAT64 on NODE: Debian's tayga or ours (a wrapper named tayga)
  tayga-stop NODE                 stop it and remove its persistent TUN (--rmtun)
  coordinator NODE [OPTIONS]      P2P coordinator on NODE's IPv4 address (pin in /run/tlab/NODE/coordinator.pin)
  v4peer NODE [--coordinator NODE] [OPTIONS]   IPv4 peer; ready when the coordinator lists it
  v6peer NODE [OPTIONS]           IPv6 peer: NAT64 prefix for the LAN behind NODE, pool routed back by the relay
  wait-qualified NODE [TIMEOUT]   wait until NODE's Teredo interface has a 2001:0: address; print it
Nodes are given without the tlab- prefix (it is accepted too).  State: /run/tlab (TLAB_STATE).
EOF
}

# ---------------------------------------------------------------------------------------------
# Process tracking: $STATE/<node>/<name>.pid holds "PID STARTTIME" (starttime guards PID reuse).
# ---------------------------------------------------------------------------------------------
proc_start() { awk '{print $22}' "/proc/$1/stat" 2>/dev/null || true; }
# running = exists and is not a zombie (our daemons are reparented to PID 1, which may reap late)
running() { local s; s=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) && [ -n "$s" ] && [ "$s" != Z ]; }

# start_bg NODE NAME CMD... : start CMD in NODE's namespace, detached, logs to $STATE/NODE/NAME.log
start_bg() {
  local node=$1 name=$2; shift 2
  local d="$STATE/$node"; mkdir -p "$d"
  setsid ip netns exec "$(ns "$node")" "$@" </dev/null >"$d/$name.log" 2>&1 &
  local pid=$!
  echo "$pid $(proc_start "$pid")" >"$d/$name.pid"
}

pid_alive() {   # pidfile -> prints pid if the recorded process is still the same and alive
  local f=$1 pid st
  [ -f "$f" ] || return 1
  read -r pid st <"$f" || return 1
  [ -n "${pid:-}" ] && running "$pid" || return 1
  [ -z "${st:-}" ] || [ "$(proc_start "$pid")" = "$st" ] || return 1
  echo "$pid"
}

stop_pidfile() { stop_pidfiles "$1"; }

stop_node_procs() {   # every tracked process of a node, then whatever is left in its namespace
  local node=$1
  stop_pidfiles "$STATE/$node"/*.pid
  ns_exists "$node" || return 0
  stop_ns_procs "$(ns "$node")"
}

stop_pidfiles() {   # PIDFILE...: SIGTERM to every recorded process at once, one grace period for all, then SIGKILL
  local f pid pids=() i alive
  for f in "$@"; do
    [ -e "$f" ] || continue
    if pid=$(pid_alive "$f"); then pids+=("$pid"); fi
    rm -f "$f"
  done
  [ ${#pids[@]} -gt 0 ] || return 0
  kill -TERM "${pids[@]}" 2>/dev/null || true
  for i in $(seq 50); do
    alive=()
    for pid in "${pids[@]}"; do running "$pid" && alive+=("$pid"); done
    [ ${#alive[@]} -gt 0 ] || return 0
    pids=("${alive[@]}")
    sleep 0.05
  done
  kill -KILL "${pids[@]}" 2>/dev/null || true
}

stop_ns_procs() {   # NAMESPACE...: whatever still runs in them (untracked children), TERM then KILL, all at once
  local round sig n p
  for round in 1 2 3 4 5 6; do
    p=""
    for n in "$@"; do p+=" $(ip netns pids "$n" 2>/dev/null | tr '\n' ' ' || true)"; done
    [ -n "${p// /}" ] || return 0
    sig=TERM; [ "$round" -ge 4 ] && sig=KILL
    # shellcheck disable=SC2086
    kill -"$sig" $p 2>/dev/null || true
    sleep 0.1
  done
}

# ---------------------------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------------------------
# A node's link, address and route changes are queued per namespace (ipb) and applied by ipb_flush as one
# `ip -n NS -batch` each: on a busy machine every `ip` process costs far more than the change it makes.
declare -A IPB_ADD=() IPB_SET=()
IPB_ORDER=()
ipb() {   # NODE IP-ARGS...: queue `ip IP-ARGS` in NODE's namespace
  local node=$1; shift
  [ -n "${IPB_SET[$node]+x}" ] || { IPB_ORDER+=("$node"); IPB_ADD[$node]=""; IPB_SET[$node]=""; }
  if [ "$1 $2" = "link add" ]; then IPB_ADD[$node]+="$*"$'\n'; else IPB_SET[$node]+="$*"$'\n'; fi
}
ipb_flush() {   # every queued link is made first (a veth's peer lands in another namespace), then the rest
  local node
  for node in "${IPB_ORDER[@]}"; do ipb_run "$node" "${IPB_ADD[$node]}"; done
  for node in "${IPB_ORDER[@]}"; do ipb_run "$node" "${IPB_SET[$node]}"; done
  IPB_ADD=() IPB_SET=() IPB_ORDER=()
}
ipb_run() {   # NODE COMMANDS
  [ -n "$2" ] || return 0
  ip -n "$(ns "$1")" -batch - <<<"$2" || die "ip -batch in $1 failed: $(tr '\n' ';' <<<"$2")"
}

mk_ns() {   # NODE [SYSCTL=VALUE...]: the namespace, lo up (queued), the lab's IPv6 settings plus these
  local node=$1 n; n=$(ns "$node"); shift
  ip netns add "$n"
  mkdir -p "$STATE/$node"
  ipb "$node" link set lo up
  inns "$node" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
    net.ipv6.conf.all.autoconf=0 net.ipv6.conf.default.autoconf=0 \
    net.ipv6.conf.default.accept_ra=0 net.ipv6.conf.all.accept_ra=0 "$@"
}

# veth A:IFA <-> B:IFB, created directly inside the namespaces (nothing ever sits in the root namespace)
mk_veth() {
  ipb "$1" link add "$2" type veth peer name "$4" netns "$(ns "$3")"
  ipb "$1" link set "$2" up
  ipb "$3" link set "$4" up
}

# attach NODE to the core v4 (or v6) bridge as interface IF
attach() {
  local node=$1 fam=$2 ifn=$3
  mk_veth "$node" "$ifn" core "$node-$fam"
  ipb core link set "$node-$fam" master "br$fam"
}

addr() { ipb "$1" addr add "$2" dev "$3"; }

build_core() {
  mk_ns core
  local br
  for br in br4 br6; do
    ipb core link add "$br" type bridge stp_state 0 mcast_snooping 0
    ipb core link set "$br" up
  done
}

build_host() {   # srv relay host6 host4 rtr4 far4 nat64 coord v6peer v6c
  local node=$1 fwd=()
  case $node in
    relay|v6peer) fwd=(net.ipv6.conf.all.forwarding=1) ;;
    nat64) fwd=(net.ipv6.conf.all.forwarding=1 net.ipv4.ip_forward=1) ;;
    # proxy ARP on every link (all ORs with each interface): br4's hosts reach far4's network without a route
    rtr4) fwd=(net.ipv4.ip_forward=1 net.ipv4.conf.all.proxy_arp=1) ;;
  esac
  mk_ns "$node" "${fwd[@]}"
  case $node in
    rtr4)
      attach rtr4 4 eth4; addr rtr4 "$RTR4_V4/$V4_PLEN" eth4 ;;
    far4)
      # IPv4 only, behind rtr4: UDP probes get port unreachable, TCP/7 is the echo service
      mk_veth rtr4 lan0 far4 eth0
      addr rtr4 "$FAR4_NET.1/24" lan0; addr far4 "$FAR4_V4/24" eth0
      ipb far4 route add default via "$FAR4_NET.1"
      start_bg far4 echo-tcp socat TCP4-LISTEN:7,reuseaddr,fork PIPE ;;
    srv)
      attach srv 4 eth4; addr srv "$SRV_V4A/$V4_PLEN" eth4; addr srv "$SRV_V4B/$V4_PLEN" eth4
      attach srv 6 eth6; addr srv "$SRV_V6/$V6_PLEN" eth6 ;;
    relay)
      attach relay 4 eth4; addr relay "$RELAY_V4/$V4_PLEN" eth4
      attach relay 6 eth6; addr relay "$RELAY_V6/$V6_PLEN" eth6 ;;
    host6)
      attach host6 6 eth6; addr host6 "$HOST6_V6/$V6_PLEN" eth6
      # the NAT64 static map's address: deprecated, so it answers but is never chosen as a source
      ipb host6 addr add "$HOST6_STATIC_V6/$V6_PLEN" dev eth6 preferred_lft 0
      ipb host6 route add 2001::/32 via "$RELAY_V6" ;;
    nat64)
      # The translator host: a router between br6 and br4 whose TUN (made by the tayga launcher) owns
      # the prefix and the IPv4 side; the end hosts route those through it.
      attach nat64 4 eth4; addr nat64 "$NAT64_V4/$V4_PLEN" eth4
      attach nat64 6 eth6; addr nat64 "$NAT64_V6/$V6_PLEN" eth6
      ! ns_exists host6 || ipb host6 route add "$NAT64_PREFIX" via "$NAT64_V6"
      ! ns_exists host4 || ipb host4 route add "$NAT64_V4_ROUTE" via "$NAT64_V4" ;;
    coord)
      attach coord 4 eth4; addr coord "$COORD_V4/$V4_PLEN" eth4 ;;
    v6peer)
      # native IPv6 only: 2001::/32 (every coordinator's /64) via the relay, which routes the pool back
      attach v6peer 6 eth6; addr v6peer "$V6PEER_V6/$V6_PLEN" eth6
      ipb v6peer route add 2001::/32 via "$RELAY_V6"
      ! ns_exists relay || ipb relay route add "$P2P_POOL" via "$V6PEER_V6" ;;
    v6c)
      # the IPv6-only LAN: v6c's only router and resolver is v6peer
      mk_veth v6peer lan0 v6c eth0
      addr v6peer "$V6LAN_GW/$V6LAN_PLEN" lan0; addr v6c "$V6C_V6/$V6LAN_PLEN" eth0
      ipb v6c route add ::/0 via "$V6LAN_GW"
      # the LAN is an ordinary routed network too (v6c reaches a peer's static address natively, host6
      # is the no-tunnel baseline, and the nat64 node is the Tayga baseline: bench/p2p-throughput.sh)
      local n
      for n in relay host6 nat64; do
        ! ns_exists $n || ipb $n route add "${V6C_V6%::*}::/$V6LAN_PLEN" via "$V6PEER_V6"
      done
      ! ns_exists nat64 || ipb v6peer route add "$NAT64_PREFIX" via "$NAT64_V6" ;;
    host4)
      attach host4 4 eth4; addr host4 "$HOST4_V4/$V4_PLEN" eth4
      # a tiny web server and echo target for later NAT64 work
      # socat's own quoting ate the printf quotes (only "HTTP/1.0" was served): a file and EXEC:cat need none.
      mkdir -p "$STATE/host4"
      printf 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello from host4\r\n' >"$STATE/host4/http-response"
      start_bg host4 http socat TCP4-LISTEN:80,reuseaddr,fork "EXEC:cat $STATE/host4/http-response"
      start_bg host4 echo-tcp socat TCP4-LISTEN:7,reuseaddr,fork PIPE
      start_bg host4 echo-udp socat UDP4-RECVFROM:7,reuseaddr,fork PIPE ;;
  esac
}

build_nat() {
  local node=$1 kind wan lan client
  read -r kind wan lan client <<<"${NAT[$node]}"
  if ns_exists "$node"; then inns "$node" sysctl -qw net.ipv4.ip_forward=1   # natdbl1: natdbl2's LAN host
  else mk_ns "$node" net.ipv4.ip_forward=1; fi
  if [ "$node" = natdbl1 ]; then
    : # WAN link (wan0) was made by natdbl2 as its LAN
  else
    attach "$node" 4 wan0; addr "$node" "$wan/$V4_PLEN" wan0
  fi
  echo "$kind" >"$STATE/$node/nat-kind"
  # LAN side and the node behind it
  mk_ns "$client"
  if [ "$client" = natdbl1 ]; then
    mk_veth "$node" lan0 natdbl1 wan0
  else
    mk_veth "$node" lan0 "$client" eth0
  fi
  addr "$node" "$lan.1/24" lan0
  local cif=eth0; [ "$client" = natdbl1 ] && cif=wan0
  addr "$client" "$lan.2/24" "$cif"
  ipb "$client" route add default via "$lan.1"
  echo "$node" >"$STATE/$client/nat"
  local ipt=(ip netns exec "$(ns "$node")" iptables)
  case $kind in
    fullcone)
      "${ipt[@]}" -t nat -A PREROUTING -i wan0 -d "$wan" -j DNAT --to-destination "$lan.2"
      "${ipt[@]}" -t nat -A POSTROUTING -o wan0 -s "$lan.2" -j SNAT --to-source "$wan" ;;
    portrestricted)
      "${ipt[@]}" -t nat -A POSTROUTING -o wan0 -j MASQUERADE ;;
    symmetric)
      "${ipt[@]}" -t nat -A POSTROUTING -o wan0 -j MASQUERADE --random-fully ;;
  esac
}

# Nodes are built in waves, each wave's nodes at the same time: a node waits only for the nodes whose
# namespaces it changes (a route into them) or that make it (a NAT makes its LAN host).
build_wave() {   # NODE -> its wave: 0 core, 1 most, 2 the nodes that route into wave 1, 3 v6c; "-" made by its NAT
  local v
  for v in "${NAT[@]}"; do [ "${v##* }" != "$1" ] || [ -n "${NAT[$1]:-}" ] || { echo -; return 0; }; done
  case $1 in
    core) echo 0 ;;
    nat64|v6peer|natdbl1|far4) echo 2 ;;   # routes in host6/host4, in relay; natdbl2 makes natdbl1; far4 hangs off rtr4
    v6c) echo 3 ;;                    # routes in v6peer, relay, host6 and nat64
    *) echo 1 ;;
  esac
}

wait_pids() {   # PID...: wait for every one of these background jobs; fails when any of them failed
  local p failed=0
  for p in "$@"; do wait "$p" || failed=1; done
  return $failed
}

build_topology() {   # NODE...: wave by wave; a wave fails as a whole when one of its nodes fails
  local wave node pids
  declare -A waves=()
  for node in "$@"; do waves[$node]=$(build_wave "$node"); done
  for wave in 0 1 2 3; do
    pids=()
    for node in "$@"; do
      [ "${waves[$node]}" = "$wave" ] || continue
      build_node "$node" & pids+=($!)
    done
    wait_pids "${pids[@]}" || return 1
  done
}

build_node() {
  local node=$1
  if [ -n "${NAT[$node]:-}" ]; then
    [ -f "$STATE/$node/nat-kind" ] || { build_nat "$node"; ipb_flush; }; return 0
  fi
  if ns_exists "$node"; then return 0; fi   # clients are made with their NAT
  build_node_now "$node"
  ipb_flush
}

build_node_now() {
  local node=$1
  case $node in
    core) build_core ;;
    srv|relay|host6|host4|rtr4|far4|nat64|coord|v6peer|v6c) build_host "$node" ;;
    natfc|natprc|natsym|natdbl2|natdbl1) build_nat "$node" ;;
    clfc|clprc|clsym|cldbl) die "$node must follow its NAT in the topology" ;;
    *) die "unknown node $node" ;;
  esac
}

# ---------------------------------------------------------------------------------------------
# Topology p2p's services: nginx + an IPv4 resolver on host4, a DNS64 resolver for the IPv6-only LAN
# ---------------------------------------------------------------------------------------------
P2P_NAME=site.example
P2P_BIG=10mb.bin

start_nginx() {   # host4 serves HTTP with nginx-light, its own config, pid, logs and temp dirs (never the system's)
  local d="$STATE/host4" i
  mkdir -p "$d/www" "$d/nginx-tmp"
  stop_pidfile "$d/http.pid"   # the basic topology's socat answer
  printf 'hello from host4 (nginx, IPv4 only)\n' >"$d/www/index.html"
  head -c $((10 * 1024 * 1024)) /dev/urandom >"$d/www/$P2P_BIG"
  sha256sum "$d/www/$P2P_BIG" | awk '{print $1}' >"$d/www/$P2P_BIG.sha256"
  cat >"$d/nginx.conf" <<EOF
# generated by lab.sh: host4's web server (nginx-light)
daemon off;
worker_processes 1;
pid $d/nginx.daemon-pid;
error_log $d/nginx-error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path $d/nginx-tmp/body; proxy_temp_path $d/nginx-tmp/proxy;
  fastcgi_temp_path $d/nginx-tmp/fastcgi; uwsgi_temp_path $d/nginx-tmp/uwsgi; scgi_temp_path $d/nginx-tmp/scgi;
  types { text/html html; application/octet-stream bin; }
  default_type text/plain;
  server { listen $HOST4_V4:80; root $d/www; }
}
EOF
  start_bg host4 nginx nginx -e "$d/nginx-error.log" -c "$d/nginx.conf"
  for i in $(seq 50); do inns host4 ss -Hltn "sport = :80" 2>/dev/null | grep -q . && return 0; sleep 0.1; done
  die "nginx did not start on host4: $(tail -3 "$d/nginx.log" "$d/nginx-error.log" 2>/dev/null)"
}

unbound_conf() {   # NODE LISTEN MODULES EXTRA -> writes $STATE/NODE/unbound.conf (no chroot, no user switch, no syslog)
  local d="$STATE/$1"
  cat >"$d/unbound.conf" <<EOF
# generated by lab.sh for node $1
server:
  interface: $2
  access-control: ::/0 allow
  access-control: 0.0.0.0/0 allow
  chroot: ""
  username: ""
  directory: "$d"
  pidfile: "$d/unbound.daemon-pid"
  use-syslog: no
  logfile: ""
  verbosity: 1
  do-daemonize: no
  num-threads: 1
  module-config: "$3"
$4
remote-control:
  control-enable: no
EOF
}

start_unbound() {   # NODE ADDR: start unbound from its generated config, wait for UDP 53
  local i
  start_bg "$1" unbound unbound -d -c "$STATE/$1/unbound.conf"
  for i in $(seq 50); do inns "$1" ss -Hlun "sport = :53" 2>/dev/null | grep -q . && return 0; sleep 0.1; done
  die "unbound did not start on $1: $(tail -3 "$STATE/$1/unbound.log")"
}

p2p_services() {   # the three servers start at the same time; each waits for its own port
  local pids=()
  start_nginx & pids+=($!)
  host4_resolver & pids+=($!)
  dns64_resolver & pids+=($!)
  wait_pids "${pids[@]}"
}

host4_resolver() {
  # host4's own IPv4 resolver (what an IPv6-only client reaches through the network at N::host4)
  unbound_conf host4 "$HOST4_V4" "iterator" "  local-zone: \"$P2P_NAME.\" static
  local-data: \"$P2P_NAME. 60 IN A $HOST4_V4\""
  start_unbound host4
}

dns64_resolver() {
  # DNS64 for the IPv6-only LAN (RFC 6147): site.example has only an A record, synthesized into N::A.
  # The data is an auth-zone for upstream, so it passes through the dns64 module (local-data would not).
  local d="$STATE/v6peer"
  cat >"$d/$P2P_NAME.zone" <<EOF
\$ORIGIN $P2P_NAME.
@ 60 IN SOA ns.$P2P_NAME. hostmaster.$P2P_NAME. 1 3600 600 86400 60
@ 60 IN NS ns.$P2P_NAME.
@ 60 IN A $HOST4_V4
ns 60 IN A $HOST4_V4
EOF
  # RFC 7050: the well-known name whose A records let a client discover the NAT64 prefix
  cat >"$d/ipv4only.arpa.zone" <<EOF
\$ORIGIN ipv4only.arpa.
@ 60 IN SOA ns.ipv4only.arpa. hostmaster.ipv4only.arpa. 1 3600 600 86400 60
@ 60 IN NS ns.ipv4only.arpa.
@ 60 IN A 192.0.0.170
@ 60 IN A 192.0.0.171
ns 60 IN A 192.0.0.170
EOF
  unbound_conf v6peer "$V6LAN_GW" "dns64 iterator" "  dns64-prefix: $P2P_PREFIX
  dns64-synthall: no
  do-not-query-localhost: no
auth-zone:
  name: \"$P2P_NAME.\"
  zonefile: \"$d/$P2P_NAME.zone\"
  for-downstream: no
  for-upstream: yes
  fallback-enabled: no
auth-zone:
  name: \"ipv4only.arpa.\"
  zonefile: \"$d/ipv4only.arpa.zone\"
  for-downstream: no
  for-upstream: yes
  fallback-enabled: no"
  start_unbound v6peer
  # v6c's resolver: `ip netns exec` bind-mounts /etc/netns/NS/resolv.conf over /etc/resolv.conf
  mkdir -p "/etc/netns/$(ns v6c)"
  echo "nameserver $V6LAN_GW" >"/etc/netns/$(ns v6c)/resolv.conf"
}

# ---------------------------------------------------------------------------------------------
# up / down / list
# ---------------------------------------------------------------------------------------------
sweep_all() {   # remove everything the lab ever made (also the leftovers of a killed run)
  local n spaces
  # tracked processes first (their namespace may already be gone), all of them at once: each daemon
  # undoes its host changes on SIGTERM, and one shared grace period beats one per daemon
  [ ! -d "$STATE" ] || stop_pidfiles "$STATE"/*/*.pid
  spaces=$(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PFX" || true)
  # shellcheck disable=SC2086
  [ -z "$spaces" ] || stop_ns_procs $spaces
  for n in $spaces; do ip netns del "$n" 2>/dev/null || true; done
  # links in the root namespace (the lab never leaves any there, but a killed run might have)
  for n in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -E "^(tl-|$PFX)" || true); do
    ip link del "$n" 2>/dev/null || true
  done
  rm -rf "$STATE" /etc/netns/"$PFX"*
}

cmd_up() {
  local name=${1:-}
  [ -n "$name" ] || die "usage: lab.sh up NAME   (topologies: ${!TOPO[*]})"
  [ -n "${TOPO[$name]:-}" ] || die "unknown topology '$name' (topologies: ${!TOPO[*]})"
  require_netns
  sweep_all
  mkdir -p "$STATE/.topo"
  echo "${TOPO[$name]}" >"$STATE/.topo/$name"
  local node
  trap 'echo "lab: up $name failed; removing what was built" >&2; sweep_all' ERR
  # shellcheck disable=SC2086
  build_topology ${TOPO[$name]}
  [[ " ${TOPO[$name]} " != *" v6peer "* ]] || p2p_services
  trap - ERR
  # wait until the v6 hosts can talk (no DAD, but the bridge ports need a moment)
  say "topology '$name' is up (${TOPO_DESC[$name]}): ${TOPO[$name]}"
}

cmd_down() {
  local name=${1:-}
  if [ -z "$name" ]; then sweep_all; say "down: everything removed"; return 0; fi
  if [ ! -f "$STATE/.topo/$name" ]; then say "down: topology '$name' is not running"; return 0; fi
  local node
  for node in $(cat "$STATE/.topo/$name"); do
    stop_node_procs "$node"
    ip netns del "$(ns "$node")" 2>/dev/null || true
    rm -rf "${STATE:?}/$node" "/etc/netns/$(ns "$node")"
  done
  rm -f "$STATE/.topo/$name"
  rmdir "$STATE/.topo" "$STATE" 2>/dev/null || true
  say "down: topology '$name' removed"
}

cmd_list() {
  local t node any=0 f name pid
  for t in "$STATE"/.topo/*; do
    [ -e "$t" ] || continue
    any=1
    echo "topology $(basename "$t"): ${TOPO_DESC[$(basename "$t")]:-}"
    for node in $(cat "$t"); do
      if ! ns_exists "$node"; then printf '  %-8s (namespace missing)\n' "$node"; continue; fi
      local extra=""
      [ -f "$STATE/$node/nat-kind" ] && extra=" [nat: $(cat "$STATE/$node/nat-kind")]"
      [ -f "$STATE/$node/nat" ] && extra="$extra [behind $(cat "$STATE/$node/nat")]"
      printf '  %-8s %s%s\n' "$node" "$(ns "$node")" "$extra"
      ip -n "$(ns "$node")" -o addr show 2>/dev/null | awk '$2!="lo" && $4 !~ /^fe80/ {printf "      %-8s %s\n", $2, $4}'
      for f in "$STATE/$node"/*.pid; do
        [ -e "$f" ] || continue
        name=$(basename "$f" .pid)
        if pid=$(pid_alive "$f"); then printf '      process %-12s pid %s\n' "$name" "$pid"; fi
      done
    done
  done
  local stray
  stray=$(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PFX" || true)
  if [ $any -eq 0 ]; then
    if [ -n "$stray" ]; then echo "no topology recorded, but namespaces exist: $(echo $stray)"; else echo "no topology running"; fi
  fi
}

cmd_exec() {
  local node=${1:-}; shift || true
  [ -n "$node" ] || die "usage: lab.sh exec NODE -- CMD..."
  [ "${1:-}" = "--" ] && shift
  [ $# -gt 0 ] || die "usage: lab.sh exec NODE -- CMD..."
  ns_exists "$node" || die "no such node: $(node_of "$node")"
  exec ip netns exec "$(ns "$node")" "$@"
}

# ---------------------------------------------------------------------------------------------
# NAT helpers
# ---------------------------------------------------------------------------------------------
cmd_nat_flush() {
  local node=$(node_of "${1:?usage: lab.sh nat-flush NODE}")
  ns_exists "$node" || die "no such node: $node"
  [ -f "$STATE/$node/nat-kind" ] || say "warning: $node is not a NAT node"
  inns "$node" conntrack -F 2>&1 | sed 's/^/lab: /' >&2 || true
  say "conntrack table of $node flushed"
}

# ---------------------------------------------------------------------------------------------
# impair (tc netem; without sch_netem, loss falls back to iptables statistic)
# ---------------------------------------------------------------------------------------------
cmd_impair() {
  local node=$(node_of "${1:?usage: lab.sh impair NODE IFACE [loss PCT] [delay MS] | clear}") ifn=${2:?IFACE missing}
  shift 2
  ns_exists "$node" || die "no such node: $node"
  ip -n "$(ns "$node")" link show "$ifn" >/dev/null 2>&1 || die "no interface $ifn in $node"
  local loss="" delay="" chain="TLAB_IMP_$ifn"
  if [ "${1:-}" = clear ]; then
    ip -n "$(ns "$node")" link show "$ifn" >/dev/null
    inns "$node" tc qdisc del dev "$ifn" root 2>/dev/null || true
    local t
    for t in iptables ip6tables; do
      inns "$node" $t -t mangle -D POSTROUTING -o "$ifn" -j "$chain" 2>/dev/null || true
      inns "$node" $t -t mangle -F "$chain" 2>/dev/null || true
      inns "$node" $t -t mangle -X "$chain" 2>/dev/null || true
    done
    say "impairment on $node/$ifn cleared"; return 0
  fi
  while [ $# -gt 0 ]; do
    case $1 in
      loss) loss=${2:?loss PCT}; shift 2 ;;
      delay) delay=${2:?delay MS}; shift 2 ;;
      *) die "impair: unexpected '$1' (want: loss PCT, delay MS, or clear)" ;;
    esac
  done
  [ -n "$loss$delay" ] || die "impair: give loss PCT and/or delay MS"
  [[ -z "$loss" || "$loss" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "impair: loss must be a percentage"
  [[ -z "$delay" || "$delay" =~ ^[0-9]+$ ]] || die "impair: delay must be whole milliseconds"
  local args=()
  [ -n "$delay" ] && args+=(delay "${delay}ms")
  [ -n "$loss" ] && args+=(loss "${loss}%")
  local err
  if err=$(inns "$node" tc qdisc replace dev "$ifn" root netem "${args[@]}" 2>&1); then
    say "netem on $node/$ifn: ${args[*]}"; return 0
  fi
  if [ -n "$delay" ]; then
    echo "lab: impair: tc netem failed ($err); delay needs the sch_netem kernel module, which this kernel lacks" >&2
    exit 4
  fi
  # loss only: drop a random share of the packets leaving IFACE
  local prob t
  prob=$(awk -v l="$loss" 'BEGIN{printf "%.4f", l/100}')
  for t in iptables ip6tables; do
    inns "$node" $t -t mangle -N "$chain" 2>/dev/null || inns "$node" $t -t mangle -F "$chain"
    inns "$node" $t -t mangle -A "$chain" -m statistic --mode random --probability "$prob" -j DROP
    inns "$node" $t -t mangle -C POSTROUTING -o "$ifn" -j "$chain" 2>/dev/null \
      || inns "$node" $t -t mangle -A POSTROUTING -o "$ifn" -j "$chain"
  done
  say "no sch_netem in this kernel: loss ${loss}% on $node/$ifn egress emulated with iptables statistic"
}

# ---------------------------------------------------------------------------------------------
# Process tracking verbs.  The daemons themselves (ours, Miredo's, Tayga) are started by the launcher
# table in C# (src/Teredo.Cli/Lab/Launchers.cs), reached through lab_cs below.
# ---------------------------------------------------------------------------------------------
cmd_miredo_stop() {
  local node=$(node_of "${1:?usage: lab.sh miredo-stop NODE [server|relay|client]}") which=${2:-}
  local w
  for w in server relay client; do
    [ -z "$which" ] || [ "$which" = "$w" ] || continue
    stop_pidfile "$STATE/$node/miredo-$w.pid"
  done
  say "miredo ${which:-peers} stopped in $node"
}

cmd_stop() {
  local node=$(node_of "${1:?usage: lab.sh stop NODE [NAME]}") name=${2:-} f
  if [ -n "$name" ]; then stop_pidfile "$STATE/$node/$name.pid"
  else stop_pidfiles "$STATE/$node"/*.pid; fi
}

cmd_start() {   # NODE NAME -- CMD...: any long-running process, tracked like the Miredo peers
  local node=$(node_of "${1:?usage: lab.sh start NODE NAME -- CMD...}") name=${2:?usage: lab.sh start NODE NAME -- CMD...}
  shift 2
  [ "${1:-}" = "--" ] && shift
  [ $# -gt 0 ] || die "start: no command given"
  ns_exists "$node" || die "no such node: $node"
  stop_pidfile "$STATE/$node/$name.pid"
  start_bg "$node" "$name" "$@"
  say "$name running in $node (log $STATE/$node/$name.log)"
}


# ---------------------------------------------------------------------------------------------
# The C# half (src/Teredo.Cli/Lab, `teredo lab tool`): it reads the address plan from `lab.sh plan` and
# keeps the process tracking above (pidfiles), so this script's teardown covers what it starts.
# ---------------------------------------------------------------------------------------------
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

lab_cli() {   # the CLI holding the C# half: TLAB_TOOL, else TEREDO_BIN, else the build beside this script
  local c
  for c in "${TLAB_TOOL:-}" "${TEREDO_BIN:-}" "$HERE/../teredo" "$HERE/../src/Teredo.Cli/bin/Release/net10.0/teredo"; do
    [ -n "$c" ] || continue
    case $c in *" "*) echo "$c"; return 0 ;; esac   # a command line ("dotnet teredo.dll")
    [ -x "$c" ] && { echo "$c"; return 0; }
  done
  die "no teredo CLI found for the lab's launchers (set TLAB_TOOL or TEREDO_BIN, or build src/Teredo.Cli)"
}

lab_cs() {   # VERB ARGS...: run VERB in the C# half with this script's state
  local cli; cli=$(lab_cli)
  # shellcheck disable=SC2086
  TLAB_SCRIPT="$HERE/$(basename "${BASH_SOURCE[0]}")" TLAB_STATE="$STATE" exec $cli lab tool -- "$@"
}

cmd_plan() {   # the address plan the C# half reads, NAME=VALUE
  local v k
  for v in SRV_V4A SRV_V4B SRV_V6 RELAY_V4 RELAY_V6 HOST6_V6 HOST4_V4 COORD_V4 V6PEER_V6 P2P_PREFIX P2P_POOL P2P_ALLOW \
      NAT64_V4 NAT64_V6 NAT64_PREFIX NAT64_TAYGA_V4 NAT64_POOL NAT64_V4_ROUTE NAT64_STATIC_V4 HOST6_STATIC_V6 P2P_NAME; do
    echo "$v=${!v}"
  done
  echo "V6LAN_NET=${V6C_V6%::*}::/$V6LAN_PLEN"
  for k in "${!NAT_DESC[@]}"; do echo "NAT_DESC_$k=${NAT_DESC[$k]}"; done
}

main() {
  local cmd=${1:-}
  case $cmd in
    "") usage >&2; exit 2 ;;
    -h|--help|help) usage; return 0 ;;
    plan) cmd_plan; return 0 ;;
  esac
  shift
  require_root
  case $cmd in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    list) cmd_list ;;
    exec) cmd_exec "$@" ;;
    nat-flush) cmd_nat_flush "$@" ;;
    impair) cmd_impair "$@" ;;
    miredo-stop) cmd_miredo_stop "$@" ;;
    stop) cmd_stop "$@" ;;
    start) cmd_start "$@" ;;
    # the C# half: the launcher table, readiness, nat-check, iperf and the demo
    teredo-server|teredo-relay|teredo-client|coordinator|v4peer|v6peer|nat64|tayga|tayga-stop|miredo-server|miredo-relay|miredo-client|wait-qualified|nat-check|iperf|demo)
      lab_cs "$cmd" "$@" ;;
    *) echo "lab: unknown command '$cmd'" >&2; usage >&2; exit 2 ;;
  esac
}
main "$@"
