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
  demo                            Teredo demo (server, relay, client behind a port-restricted NAT)
  nat-flush NODE                  conntrack -F in a NAT node (simulates a mapping change)
  nat-check CLIENT                probe the NAT in front of CLIENT (mapping + filtering) and classify it
  impair NODE IFACE [loss PCT] [delay MS] | impair NODE IFACE clear
  iperf FROM TO_ADDR [tcp|udp] [SECONDS]   iperf3 over the path and over a plain path, with the ratio
  miredo-server NODE [--primary IPV4] [--secondary IPV4] [--chroot]
  miredo-relay  NODE [--bind IPV4] [--port N] [--ifname IF] [--chroot]
  miredo-client NODE [--server IPV4] [--port N] [--ifname IF] [--chroot]
  miredo-stop NODE [server|relay|client]   stop the Miredo peer(s) started in NODE
  stop NODE [NAME]                stop lab processes in NODE (all, or the one with pidfile NAME)
  wait-qualified NODE [TIMEOUT]   wait until NODE's Teredo interface has a 2001:0: address; print it
  start NODE NAME -- CMD...       run CMD in NODE as a tracked lab process (log and pidfile NAME)
  teredo-server NODE [--primary IPV4] [OPTIONS]   this project's server in place of miredo-server
  teredo-relay NODE [--bind IPV4] [--ifname IF] [OPTIONS]   this project's relay in place of Miredo's
  tayga NODE [tayga|teredo] [--conf FILE] [-- OPTS]  NAT64 on NODE: Debian's tayga or ours (a wrapper named tayga)
  tayga-stop NODE                 stop it and remove its persistent TUN (--rmtun)
  coordinator NODE [OPTIONS]      P2P coordinator on NODE's IPv4 address (pin in /run/tlab/NODE/coordinator.pin)
  v4peer NODE [--coordinator NODE] [OPTIONS]   IPv4 peer; ready when the coordinator lists it
  v6peer NODE [OPTIONS]           IPv6 peer: NAT64 prefix for the LAN behind NODE, pool routed back by the relay
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

# UDP probe helpers (socat).  A receiver records "peeraddr:peerport payload" per datagram.
udp_recorder() {  # NODE NAME PORT FILE
  start_bg "$1" "$2" socat -u "UDP4-RECVFROM:$3,reuseaddr,fork" \
    SYSTEM:"read -r l; echo \"\$SOCAT_PEERADDR:\$SOCAT_PEERPORT \$l\" >>$4"
}
udp_send() {     # NODE SRCPORT DST DPORT PAYLOAD
  echo "$5" | inns "$1" timeout 3 socat -u - "UDP4-SENDTO:$3:$4,sourceport=$2,reuseaddr" 2>/dev/null || true
}
wait_udp_listen() {   # NODE PORT
  local i
  for i in $(seq 50); do
    inns "$1" ss -Hlun "sport = :$2" 2>/dev/null | grep -q . && return 0; sleep 0.05
  done
  return 1
}

cmd_nat_check() {
  local client=$(node_of "${1:?usage: lab.sh nat-check CLIENT}")
  ns_exists "$client" || die "no such node: $client"
  [ -f "$STATE/$client/nat" ] || die "$client is not behind a lab NAT"
  ns_exists host4 && ns_exists srv || die "nat-check needs host4 and srv (topology basic or nat)"
  local nat kind d="$STATE/$client/natcheck"
  nat=$(cat "$STATE/$client/nat"); kind=$(cat "$STATE/$nat/nat-kind")
  rm -rf "$d"; mkdir -p "$d"
  local p q i
  for i in $(seq 20); do   # two consecutive ports nothing in the client's namespace uses
    p=$((40000 + RANDOM % 10000)); q=$((p + 1))
    inns "$client" ss -Huan "( sport = :$p or sport = :$q )" 2>/dev/null | grep -q . || break
  done
  # receivers on the two outside hosts
  udp_recorder host4 nc-h4 7101 "$d/host4.txt"
  udp_recorder srv nc-srv 7101 "$d/srv.txt"
  udp_recorder host4 nc-h4b 7102 "$d/host4b.txt"
  wait_udp_listen host4 7101; wait_udp_listen srv 7101; wait_udp_listen host4 7102
  # phase A (mapping): same client port P to two different destinations
  udp_send "$client" "$p" "$HOST4_V4" 7101 mapA
  udp_send "$client" "$p" "$SRV_V4A" 7101 mapB
  # phase B (filtering): client port Q talks to host4:7102 only, then listens
  udp_send "$client" "$q" "$HOST4_V4" 7102 filt
  for i in $(seq 40); do [ -s "$d/host4.txt" ] && [ -s "$d/srv.txt" ] && [ -s "$d/host4b.txt" ] && break; sleep 0.05; done
  stop_pidfile "$STATE/host4/nc-h4.pid"; stop_pidfile "$STATE/srv/nc-srv.pid"; stop_pidfile "$STATE/host4/nc-h4b.pid"
  local e1 e2 eq
  e1=$(awk 'NR==1{print $1}' "$d/host4.txt" 2>/dev/null || true)
  e2=$(awk 'NR==1{print $1}' "$d/srv.txt" 2>/dev/null || true)
  eq=$(awk 'NR==1{print $1}' "$d/host4b.txt" 2>/dev/null || true)
  [ -n "$e1" ] && [ -n "$e2" ] && [ -n "$eq" ] || die "nat-check: probes did not arrive (host4: '${e1}', srv: '${e2}', host4/7102: '${eq}')"
  start_bg "$client" nc-cl socat -u "UDP4-RECV:$q,reuseaddr" "OPEN:$d/client.txt,creat,append"
  wait_udp_listen "$client" "$q"
  local eqa=${eq%:*} eqp=${eq##*:}
  udp_send srv 7101 "$eqa" "$eqp" third-host          # never contacted from Q
  udp_send host4 7103 "$eqa" "$eqp" same-host-other-port
  udp_send host4 7102 "$eqa" "$eqp" same-endpoint     # the flow's own peer (sanity check)
  for i in $(seq 20); do grep -q same-endpoint "$d/client.txt" 2>/dev/null && break; sleep 0.05; done
  sleep 0.2
  stop_pidfile "$STATE/$client/nc-cl.pid"
  local third=no other=no same=no
  grep -q third-host "$d/client.txt" 2>/dev/null && third=yes
  grep -q same-host-other-port "$d/client.txt" 2>/dev/null && other=yes
  grep -q same-endpoint "$d/client.txt" 2>/dev/null && same=yes
  local mapping=independent verdict
  [ "$e1" = "$e2" ] || mapping=dependent
  if [ "$same" != yes ]; then verdict=inconclusive
  elif [ "$mapping" = dependent ]; then verdict=symmetric
  elif [ "$third" = yes ]; then verdict=full-cone
  elif [ "$other" = yes ]; then verdict=restricted-cone
  else verdict=port-restricted-cone
  fi
  echo "client=$client nat=$nat configured=$kind"
  echo "local_port=$p mapped_to_host4=$e1 mapped_to_srv=$e2 mapping=$mapping"
  echo "filter_port=$q mapped=$eq third_host_reached=$third same_host_other_port_reached=$other same_endpoint_reached=$same"
  local hop=$nat
  while [ -n "$hop" ]; do   # every NAT on the way out (natdbl1, then natdbl2)
    echo "conntrack($hop):"
    inns "$hop" conntrack -L -p udp 2>/dev/null | grep -E "port=($p|$q) " | sed 's/^/  /' || true
    hop=$(cat "$STATE/$hop/nat" 2>/dev/null || true)
  done
  echo "verdict=$verdict"
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
# Miredo reference peers (black boxes).  Each instance: own config, pidfile, log, chroot (opt).
# ---------------------------------------------------------------------------------------------
MIREDO_USER=${TLAB_MIREDO_USER:-miredo}

make_chroot() {   # an empty jail, plus libgcc_s (pthread_cancel dlopen()s it at shutdown)
  local jail=$1 lib
  mkdir -p "$jail"
  lib=$(ldconfig -p 2>/dev/null | awk '/libgcc_s\.so\.1 .*x86-64/{print $NF; exit}')
  [ -n "$lib" ] || lib=$(ls /lib/*/libgcc_s.so.1 2>/dev/null | head -1)
  if [ -n "$lib" ]; then mkdir -p "$jail$(dirname "$lib")"; cp -f "$lib" "$jail$lib"; fi
}

miredo_common_opts() {   # parses --chroot into the global array MOPTS
  MOPTS=(-u "$MIREDO_USER")
  if [ "$use_chroot" = 1 ]; then make_chroot "$d/chroot"; MOPTS+=(-t "$d/chroot"); fi
}

wait_log() {  # FILE REGEX TIMEOUT_TENTHS
  local i
  for i in $(seq "$3"); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}

cmd_miredo_server() {
  local node=$(node_of "${1:?usage: lab.sh miredo-server NODE [--primary IPV4] [--secondary IPV4] [--chroot]}"); shift
  ns_exists "$node" || die "no such node: $node"
  local primary="" secondary="" use_chroot=0 d="$STATE/$node"
  while [ $# -gt 0 ]; do
    case $1 in
      --primary) primary=$2; shift 2 ;; --secondary) secondary=$2; shift 2 ;;
      --chroot) use_chroot=1; shift ;; *) die "miredo-server: unknown option $1" ;;
    esac
  done
  if [ -z "$primary" ]; then
    if [ "$node" = srv ]; then primary=$SRV_V4A
    else primary=$(ip -n "$(ns "$node")" -4 -o addr show scope global | awk '{print $4}' | cut -d/ -f1 | head -1); fi
  fi
  stop_pidfile "$d/miredo-server.pid"; stop_pidfile "$d/teredo-server.pid"; rm -f "$d/teredo-server.sock"
  mkdir -p "$d"
  {
    echo "# generated by lab.sh for node $node"
    echo "ServerBindAddress $primary"
    [ -n "$secondary" ] && echo "ServerBindAddress2 $secondary"
    echo "SyslogFacility user"
  } >"$d/miredo-server.conf"
  miredo_common_opts
  start_bg "$node" miredo-server miredo-server -f -c "$d/miredo-server.conf" -p "$d/miredo-server.daemon-pid" "${MOPTS[@]}"
  sleep 0.3
  pid_alive "$d/miredo-server.pid" >/dev/null || die "miredo-server failed to start: $(tail -3 "$d/miredo-server.log")"
  say "miredo-server running in $node on $primary/${secondary:-next address}:3544 (log $d/miredo-server.log)"
}

cmd_miredo_relay() {
  local node=$(node_of "${1:?usage: lab.sh miredo-relay NODE [--bind IPV4] [--port N] [--ifname IF] [--chroot]}"); shift
  ns_exists "$node" || die "no such node: $node"
  local bind="" port="" ifname=teredo use_chroot=0 d="$STATE/$node"
  while [ $# -gt 0 ]; do
    case $1 in
      --bind) bind=$2; shift 2 ;; --port) port=$2; shift 2 ;; --ifname) ifname=$2; shift 2 ;;
      --chroot) use_chroot=1; shift ;; *) die "miredo-relay: unknown option $1" ;;
    esac
  done
  [ -n "$bind" ] || { [ "$node" = relay ] && bind=$RELAY_V4; }
  stop_pidfile "$d/miredo-relay.pid"; stop_pidfile "$d/teredo-relay.pid"
  wait_if_free "$node" "$ifname"
  mkdir -p "$d"
  {
    echo "# generated by lab.sh for node $node: Teredo relay with a public IPv4 address"
    echo "RelayType cone"
    echo "InterfaceName $ifname"
    [ -n "$bind" ] && echo "BindAddress $bind"
    [ -n "$port" ] && echo "BindPort $port"
    echo "SyslogFacility user"
  } >"$d/miredo-relay.conf"
  inns "$node" sysctl -qw net.ipv6.conf.all.forwarding=1
  miredo_common_opts
  start_bg "$node" miredo-relay miredo -f -c "$d/miredo-relay.conf" -p "$d/miredo-relay.daemon-pid" "${MOPTS[@]}"
  local i
  for i in $(seq 50); do
    ip -n "$(ns "$node")" -6 route show 2001::/32 2>/dev/null | grep -q "dev $ifname" && break; sleep 0.1
  done
  pid_alive "$d/miredo-relay.pid" >/dev/null || die "miredo relay failed to start: $(tail -3 "$d/miredo-relay.log")"
  ip -n "$(ns "$node")" -6 route show 2001::/32 | grep -q "dev $ifname" \
    || die "miredo relay: no 2001::/32 route on $ifname: $(tail -3 "$d/miredo-relay.log")"
  say "miredo relay running in $node (2001::/32 dev $ifname, bound ${bind:-any}:${port:-auto}; log $d/miredo-relay.log)"
}

cmd_miredo_client() {
  local node=$(node_of "${1:?usage: lab.sh miredo-client NODE [--server IPV4] [--port N] [--ifname IF] [--chroot]}"); shift
  ns_exists "$node" || die "no such node: $node"
  local server=$SRV_V4A port="" ifname=teredo use_chroot=0 d="$STATE/$node"
  while [ $# -gt 0 ]; do
    case $1 in
      --server) server=$2; shift 2 ;; --port) port=$2; shift 2 ;; --ifname) ifname=$2; shift 2 ;;
      --chroot) use_chroot=1; shift ;; *) die "miredo-client: unknown option $1" ;;
    esac
  done
  stop_pidfile "$d/miredo-client.pid"
  wait_if_free "$node" "$ifname"
  mkdir -p "$d"
  {
    echo "# generated by lab.sh for node $node: Teredo client"
    echo "RelayType client"
    echo "InterfaceName $ifname"
    echo "ServerAddress $server"
    [ -n "$port" ] && echo "BindPort $port"
    echo "SyslogFacility user"
  } >"$d/miredo-client.conf"
  echo "$ifname" >"$d/teredo-ifname"
  miredo_common_opts
  start_bg "$node" miredo-client miredo -f -c "$d/miredo-client.conf" -p "$d/miredo-client.daemon-pid" "${MOPTS[@]}"
  sleep 0.2
  pid_alive "$d/miredo-client.pid" >/dev/null || die "miredo client failed to start: $(tail -3 "$d/miredo-client.log")"
  say "miredo client running in $node, server $server (log $d/miredo-client.log)"
}

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

# teredo_bin: the project's CLI; `teredo lab` exports TEREDO_BIN as the command that runs itself.
teredo_bin() { [ -n "${TEREDO_BIN:-}" ] || die "TEREDO_BIN is not set (run this through 'teredo lab')"; echo "$TEREDO_BIN"; }

cmd_teredo_server() {   # NODE [--primary IPV4] [teredo server options...]: our server in place of miredo-server
  local node=$(node_of "${1:?usage: lab.sh teredo-server NODE [--primary IPV4] [OPTIONS]}"); shift
  ns_exists "$node" || die "no such node: $node"
  local primary="" d="$STATE/$node" extra=() i
  while [ $# -gt 0 ]; do
    case $1 in --primary) primary=$2; shift 2 ;; *) extra+=("$1"); shift ;; esac
  done
  [ -n "$primary" ] || { [ "$node" = srv ] && primary=$SRV_V4A; }
  [ -n "$primary" ] || primary=$(ip -n "$(ns "$node")" -4 -o addr show scope global | awk '{print $4}' | cut -d/ -f1 | head -1)
  mkdir -p "$d"
  # One server per node: it replaces miredo-server (same port).
  stop_pidfile "$d/teredo-server.pid"; stop_pidfile "$d/miredo-server.pid"
  rm -f "$d/teredo-server.sock"
  # shellcheck disable=SC2046
  start_bg "$node" teredo-server $(teredo_bin) server --primary "$primary" --control "$d/teredo-server.sock" "${extra[@]}"
  for i in $(seq 100); do [ -S "$d/teredo-server.sock" ] && break; pid_alive "$d/teredo-server.pid" >/dev/null || break; sleep 0.05; done
  [ -S "$d/teredo-server.sock" ] || die "teredo server failed to start: $(tail -3 "$d/teredo-server.log")"
  say "teredo server running in $node on $primary and the next address (log $d/teredo-server.log, status: teredo status --control $d/teredo-server.sock)"
}

wait_if_free() {   # NODE IFNAME: a stopped daemon's tunnel can outlive it briefly (Miredo's child, kernel teardown)
  local i
  for i in $(seq 100); do ip -n "$(ns "$1")" link show "$2" >/dev/null 2>&1 || return 0; sleep 0.05; done
  die "interface $2 in $1 is still in use (another tunnel daemon running there?)"
}

cmd_teredo_relay() {   # NODE [--bind IPV4] [--ifname IF] [teredo relay options...]: our relay in place of Miredo's
  local node=$(node_of "${1:?usage: lab.sh teredo-relay NODE [--bind IPV4] [--ifname IF] [OPTIONS]}"); shift
  ns_exists "$node" || die "no such node: $node"
  local bind="" ifname=teredo d="$STATE/$node" extra=() i
  while [ $# -gt 0 ]; do
    case $1 in --bind) bind=$2; shift 2 ;; --ifname) ifname=$2; shift 2 ;; *) extra+=("$1"); shift ;; esac
  done
  [ -n "$bind" ] || { [ "$node" = relay ] && bind=$RELAY_V4; }
  mkdir -p "$d"
  # One relay per node: it replaces Miredo's (same interface and route).
  stop_pidfile "$d/teredo-relay.pid"; stop_pidfile "$d/miredo-relay.pid"
  rm -f "$d/teredo-relay.sock"
  wait_if_free "$node" "$ifname"
  inns "$node" sysctl -qw net.ipv6.conf.all.forwarding=1
  # shellcheck disable=SC2046
  start_bg "$node" teredo-relay $(teredo_bin) relay ${bind:+--bind "$bind"} --interface "$ifname" \
    --control "$d/teredo-relay.sock" "${extra[@]}"
  for i in $(seq 100); do [ -S "$d/teredo-relay.sock" ] && break; pid_alive "$d/teredo-relay.pid" >/dev/null || break; sleep 0.05; done
  [ -S "$d/teredo-relay.sock" ] || die "teredo relay failed to start: $(tail -3 "$d/teredo-relay.log")"
  ip -n "$(ns "$node")" -6 route show 2001::/32 | grep -q "dev $ifname" \
    || die "teredo relay: no 2001::/32 route on $ifname: $(tail -3 "$d/teredo-relay.log")"
  say "teredo relay running in $node (2001::/32 dev $ifname, bound ${bind:-any}; log $d/teredo-relay.log, status: teredo status --control $d/teredo-relay.sock)"
}

# ---------------------------------------------------------------------------------------------
# NAT64: Debian's tayga, or teredo nat64 through a wrapper named tayga, from the same tayga.conf
# ---------------------------------------------------------------------------------------------
NAT64_TUN=nat64

tayga_conf() {   # NODE -> writes $STATE/NODE/tayga.conf: only directives Debian's 0.9.2 knows, so both read it
  local d="$STATE/$1"
  mkdir -p "$d/tayga-data"
  {
    echo "# generated by lab.sh for node $1: stateless NAT64 (tayga.conf(5))"
    echo "tun-device $NAT64_TUN"
    echo "ipv4-addr $NAT64_TAYGA_V4"
    echo "prefix $NAT64_PREFIX"
    echo "dynamic-pool $NAT64_POOL"
    echo "data-dir $d/tayga-data"
    echo "map $NAT64_STATIC_V4 $HOST6_STATIC_V6"
  } >"$d/tayga.conf"
}

tayga_program() {   # NODE IMPL -> the program to run as "tayga": Debian's, or a two-line wrapper that execs ours
  local d="$STATE/$1"
  case $2 in
    tayga) command -v tayga || echo /usr/sbin/tayga ;;
    teredo)
      mkdir -p "$d/teredo-bin"
      printf '#!/bin/sh\nexec %q nat64 --control %q "$@"\n' "$(teredo_bin)" "$d/teredo-nat64.sock" >"$d/teredo-bin/tayga"
      chmod +x "$d/teredo-bin/tayga"
      echo "$d/teredo-bin/tayga" ;;
    *) die "tayga: implementation must be tayga or teredo, not '$2'" ;;
  esac
}

cmd_tayga() {   # NODE [tayga|teredo] [--conf FILE] [-- EXTRA TAYGA OPTIONS]: as Debian's init script runs it
  local node=$(node_of "${1:?usage: lab.sh tayga NODE [tayga|teredo] [--conf FILE]}"); shift
  ns_exists "$node" || die "no such node: $node"
  local impl=tayga d="$STATE/$node" conf="" extra=() prog i
  case ${1:-} in tayga|teredo) impl=$1; shift ;; esac
  while [ $# -gt 0 ]; do
    case $1 in --conf) conf=$2; shift 2 ;; --) shift; extra=("$@"); break ;; *) die "tayga: unknown option $1" ;; esac
  done
  mkdir -p "$d"
  cmd_tayga_stop "$node" >/dev/null 2>&1 || true
  if [ -z "$conf" ]; then tayga_conf "$node"; conf="$d/tayga.conf"; fi
  prog=$(tayga_program "$node" "$impl")
  echo "$impl $prog $conf" >"$d/tayga-impl"
  # /etc/init.d/tayga with CONFIGURE_IFACE=yes: a persistent TUN, up, routes for the prefix and the
  # IPv4 side, then the daemon in the foreground (--nodetach) under the lab's process tracking.
  inns "$node" "$prog" -c "$conf" --mktun >"$d/tayga-mktun.log" 2>&1 || die "tayga --mktun failed: $(tail -3 "$d/tayga-mktun.log")"
  ip -n "$(ns "$node")" link set "$NAT64_TUN" up
  ip -n "$(ns "$node")" -6 route replace "$NAT64_PREFIX" dev "$NAT64_TUN"
  ip -n "$(ns "$node")" route replace "$NAT64_V4_ROUTE" dev "$NAT64_TUN"
  rm -f "$d/teredo-nat64.sock"
  start_bg "$node" tayga "$prog" -c "$conf" --nodetach -p "$d/tayga.daemon-pid" "${extra[@]}"
  for i in $(seq 100); do
    pid_alive "$d/tayga.pid" >/dev/null || die "$impl failed to start: $(tail -3 "$d/tayga.log")"
    if [ "$impl" = teredo ]; then [ -S "$d/teredo-nat64.sock" ] && break; else [ -s "$d/tayga.daemon-pid" ] && break; fi
    sleep 0.05
  done
  local status=""
  [ "$impl" = tayga ] || status=", status: teredo status --control $d/teredo-nat64.sock"
  say "$impl running as tayga in $node ($NAT64_TUN: $NAT64_PREFIX and $NAT64_V4_ROUTE; conf $conf; log $d/tayga.log$status)"
}

cmd_tayga_stop() {   # NODE: stop the translator and remove its persistent TUN (--rmtun), as the init script does
  local node=$(node_of "${1:?usage: lab.sh tayga-stop NODE}") d prog conf impl
  d="$STATE/$node"
  stop_pidfile "$d/tayga.pid"
  if [ -f "$d/tayga-impl" ]; then
    read -r impl prog conf <"$d/tayga-impl"
    ip -n "$(ns "$node")" link set "$NAT64_TUN" down 2>/dev/null || true
    inns "$node" "$prog" -c "$conf" --rmtun >/dev/null 2>&1 || true
    rm -f "$d/tayga-impl"
  fi
  wait_if_free "$node" "$NAT64_TUN"
}

# ---------------------------------------------------------------------------------------------
# P2P NAT64 roles (docs/p2p.md): coordinator, IPv4 peer, IPv6 peer.  One launcher: start the role with
# its control socket, then poll `teredo status --json` until the role's readiness query holds.
# ---------------------------------------------------------------------------------------------
# SOCK -> status JSON, read straight from the control socket (what `teredo status --json` prints):
# polling readiness this way starts no .NET process per poll
role_status() { socat -t 5 -u "UNIX-CONNECT:$1" - 2>/dev/null; }

start_role() {   # NODE NAME READY_SOCK READY_JQ TIMEOUT_TENTHS -- CMD...: tracked, ready when the jq query prints true
  local node=$1 name=$2 sock=$3 ready=$4 tenths=$5 d="$STATE/$1" i
  shift 5; [ "${1:-}" = "--" ] && shift
  stop_pidfile "$d/$name.pid"
  [ "$sock" != "$d/$name.sock" ] || rm -f "$sock"
  start_bg "$node" "$name" "$@"
  for i in $(seq "$tenths"); do
    [ -S "$sock" ] && [ "$(role_status "$sock" | jq -r "$ready" 2>/dev/null)" = true ] && return 0
    pid_alive "$d/$name.pid" >/dev/null || break
    sleep 0.1
  done
  die "$name in $node not ready: $(tail -3 "$d/$name.log")"
}

cmd_coordinator() {   # NODE [teredo coordinator options...]: the coordinator on NODE's public IPv4 address
  local node=$(node_of "${1:?usage: lab.sh coordinator NODE [OPTIONS]}"); shift
  ns_exists "$node" || die "no such node: $node"
  local d="$STATE/$node" a
  a=$(ip -n "$(ns "$node")" -4 -o addr show dev eth4 | awk '{print $4}' | cut -d/ -f1 | head -1)
  mkdir -p "$d/coordinator-state"   # kept across restarts: the static addresses survive them
  # shellcheck disable=SC2046
  start_role "$node" coordinator "$d/coordinator.sock" '.state == "running"' 100 -- $(teredo_bin) coordinator \
    --address "$a" --state "$d/coordinator-state" --control "$d/coordinator.sock" --allow-destination "$P2P_ALLOW" "$@"
  role_status "$d/coordinator.sock" | jq -r .pin >"$d/coordinator.pin"
  say "coordinator running in $node on $a ($(role_status "$d/coordinator.sock" | jq -r .prefix)), pin $(cat "$d/coordinator.pin") (status: teredo status --control $d/coordinator.sock)"
}

cmd_v4peer() {   # NODE [--coordinator NODE] [teredo v4peer options...]: an IPv4 peer, ready once the coordinator lists it
  local node=$(node_of "${1:?usage: lab.sh v4peer NODE [--coordinator NODE] [OPTIONS]}"); shift
  ns_exists "$node" || die "no such node: $node"
  local cnode=coord d="$STATE/$node" extra=() local4 caddr
  while [ $# -gt 0 ]; do case $1 in --coordinator) cnode=$2; shift 2 ;; *) extra+=("$1"); shift ;; esac; done
  [ -s "$STATE/$cnode/coordinator.pin" ] || die "v4peer: no coordinator running in $cnode (lab.sh coordinator $cnode)"
  caddr=$(ip -n "$(ns "$cnode")" -4 -o addr show dev eth4 | awk '{print $4}' | cut -d/ -f1 | head -1)
  local4=$(ip -n "$(ns "$node")" -4 -o addr show scope global | awk '{print $4}' | cut -d/ -f1 | head -1)
  mkdir -p "$d/v4peer-state"
  # shellcheck disable=SC2046
  start_role "$node" v4peer "$STATE/$cnode/coordinator.sock" "any(.peers[]; .localAddress == \"$local4\")" 150 -- \
    $(teredo_bin) v4peer --coordinator "$caddr" --pin "$(cat "$STATE/$cnode/coordinator.pin")" --state "$d/v4peer-state" \
    --control "$d/v4peer.sock" --allow-destination "$P2P_ALLOW" "${extra[@]}"
  say "v4peer running in $node ($local4, behind ${NAT_DESC[$(cat "$STATE/$(cat "$STATE/$node/nat" 2>/dev/null)/nat-kind" 2>/dev/null || echo none)]:-no NAT}) connected to $caddr (status: teredo status --control $d/v4peer.sock)"
}

cmd_v6peer() {   # NODE [teredo v6peer options...]: the IPv6 peer offering N to the LAN behind it
  local node=$(node_of "${1:?usage: lab.sh v6peer NODE [OPTIONS]}"); shift
  ns_exists "$node" || die "no such node: $node"
  local d="$STATE/$node"
  # shellcheck disable=SC2046
  start_role "$node" v6peer "$d/v6peer.sock" 'has("role")' 100 -- $(teredo_bin) v6peer --prefix "$P2P_PREFIX" \
    --pool "$P2P_POOL" --coordinator "$COORD_V4" --client-network "${V6C_V6%::*}::/$V6LAN_PLEN" \
    --allow-destination "$P2P_ALLOW" --control "$d/v6peer.sock" "$@"
  say "v6peer running in $node: $P2P_PREFIX for ${V6C_V6%::*}::/$V6LAN_PLEN, pool $P2P_POOL, coordinator $COORD_V4 (status: teredo status --control $d/v6peer.sock)"
}

teredo_addr() {   # NODE -> the 2001:0: address of its Teredo interface (empty if none)
  local node=$1 ifn=teredo
  [ -f "$STATE/$node/teredo-ifname" ] && ifn=$(cat "$STATE/$node/teredo-ifname")
  ip -n "$(ns "$node")" -6 -o addr show dev "$ifn" scope global 2>/dev/null \
    | awk '{print $4}' | cut -d/ -f1 | grep -m1 '^2001:0:' || true
}

cmd_wait_qualified() {
  local node=$(node_of "${1:?usage: lab.sh wait-qualified NODE [TIMEOUT]}") timeout=${2:-30}
  ns_exists "$node" || die "no such node: $node"
  local end=$(( $(date +%s%N) + timeout * 1000000000 )) a
  while :; do
    a=$(teredo_addr "$node")
    if [ -n "$a" ]; then echo "$a"; return 0; fi
    [ "$(date +%s%N)" -lt "$end" ] || break
    sleep 0.1
  done
  echo "lab: $node not qualified after ${timeout}s" >&2
  [ -f "$STATE/$node/miredo-client.log" ] && tail -5 "$STATE/$node/miredo-client.log" | sed 's/^/lab:   /' >&2
  return 1
}

# ---------------------------------------------------------------------------------------------
# iperf harness
# ---------------------------------------------------------------------------------------------
node_with_addr() {   # ADDR -> node holding it
  local n a=$1
  for n in $(ip netns list | awk '{print $1}' | grep "^$PFX"); do
    if ip -n "$n" -o addr show 2>/dev/null | awk '{print $4}' | cut -d/ -f1 | grep -qxF "$a"; then
      node_of "$n"; return 0
    fi
  done
  return 1
}

route_dev() { ip -n "$(ns "$1")" route get "$2" 2>/dev/null | sed -n 's/.* dev \([^ ]*\).*/\1/p' | head -1; }

plain_target() {   # FROM TO_NODE TO_ADDR -> an address reachable from FROM without a Teredo tunnel
  local from=$1 to=$2 toaddr=$3 c dev
  local cands=()
  cands+=($(ip -n "$(ns "$to")" -o addr show scope global 2>/dev/null | awk '{print $4}' | cut -d/ -f1 | grep -v '^2001:0:' || true))
  cands+=("$RELAY_V6" "$RELAY_V4" "$HOST4_V4" "$SRV_V4A")
  for c in "${cands[@]}"; do
    [ "$c" != "$toaddr" ] || continue
    node_with_addr "$c" >/dev/null || continue
    [ "$(node_with_addr "$c")" != "$from" ] || continue
    dev=$(route_dev "$from" "$c"); [ -n "$dev" ] || continue
    [[ "$dev" == teredo* ]] && continue
    [ -f "$STATE/$from/teredo-ifname" ] && [ "$dev" = "$(cat "$STATE/$from/teredo-ifname")" ] && continue
    if [[ $c == *:* ]]; then inns "$from" ping -6 -c1 -W1 "$c" >/dev/null 2>&1 || continue
    else inns "$from" ping -4 -c1 -W1 "$c" >/dev/null 2>&1 || continue; fi
    echo "$c"; return 0
  done
  return 1
}

IPERF_PORT=5201
iperf_run() {   # FROM TO_ADDR PROTO SECS -> prints "mbps pps" (pps only for udp)
  local from=$1 addr=$2 proto=$3 secs=$4 to out
  to=$(node_with_addr "$addr") || die "iperf: no lab node holds $addr"
  stop_pidfile "$STATE/$to/iperf3-server.pid"
  start_bg "$to" iperf3-server iperf3 -s -1 -p "$IPERF_PORT"
  for _ in $(seq 50); do inns "$to" ss -Hltn "sport = :$IPERF_PORT" 2>/dev/null | grep -q . && break; sleep 0.1; done
  local args=(-c "$addr" -p "$IPERF_PORT" -t "$secs" -J --connect-timeout 3000)
  [ "$proto" = udp ] && args+=(-u -b "${TLAB_UDP_RATE:-0}" -l "${TLAB_UDP_LEN:-1200}")
  if ! out=$(inns "$from" timeout -k 2 $((secs + 20)) iperf3 "${args[@]}" 2>&1); then
    stop_pidfile "$STATE/$to/iperf3-server.pid"
    echo "iperf3 failed: $(echo "$out" | jq -r '.error? // empty' 2>/dev/null || echo "$out" | tail -1)" >&2
    return 1
  fi
  stop_pidfile "$STATE/$to/iperf3-server.pid"
  if [ "$proto" = udp ]; then
    # receiver side: datagrams that arrived = packets - lost_packets
    echo "$out" | jq -r '(.end.sum_received // .end.sum) as $r
      | [ ($r.bits_per_second/1e6), (($r.packets - $r.lost_packets) / $r.seconds), $r.lost_percent ]
      | map(tostring) | join(" ")'
  else
    echo "$out" | jq -r '[(.end.sum_received.bits_per_second/1e6)] | map(tostring) | join(" ")'
  fi
}

cmd_iperf() {
  local from=$(node_of "${1:?usage: lab.sh iperf FROM TO_ADDR [tcp|udp] [SECONDS]}") addr=${2:?TO_ADDR missing}
  local proto=${3:-tcp} secs=${4:-5}
  [[ $proto == tcp || $proto == udp ]] || die "iperf: protocol must be tcp or udp"
  [[ $secs =~ ^[0-9]+$ ]] && [ "$secs" -ge 1 ] && [ "$secs" -le 60 ] || die "iperf: seconds must be 1..60"
  ns_exists "$from" || die "no such node: $from"
  local to plain; to=$(node_with_addr "$addr") || die "iperf: no lab node holds $addr"
  if [ -n "${TLAB_NO_PLAIN:-}" ]; then plain=""
  else plain=${TLAB_PLAIN_ADDR:-$(plain_target "$from" "$to" "$addr" || true)}; fi
  local dev; dev=$(route_dev "$from" "$addr")
  echo "iperf3 $proto ${secs}s: $from -> $addr ($to, via $dev)"
  local r1 r2
  r1=$(iperf_run "$from" "$addr" "$proto" "$secs") || die "iperf over the requested path failed"
  if [ -n "$plain" ]; then
    echo "plain path: $from -> $plain ($(node_with_addr "$plain"), via $(route_dev "$from" "$plain"))"
    r2=$(iperf_run "$from" "$plain" "$proto" "$secs") || die "iperf over the plain path failed"
  else
    r2=""; echo "plain path: none found from $from (set TLAB_PLAIN_ADDR)"
  fi
  awk -v proto="$proto" -v a="$r1" -v b="$r2" 'BEGIN{
    split(a, x, " "); split(b, y, " ");
    if (proto == "udp") {
      printf "%-10s %12s %12s %8s\n", "path", "Mbit/s", "pkt/s", "loss%";
      printf "%-10s %12.1f %12.0f %8.2f\n", "requested", x[1], x[2], x[3];
      if (b != "") printf "%-10s %12.1f %12.0f %8.2f\n", "plain", y[1], y[2], y[3];
    } else {
      printf "%-10s %12s\n", "path", "Mbit/s";
      printf "%-10s %12.1f\n", "requested", x[1];
      if (b != "") printf "%-10s %12.1f\n", "plain", y[1];
    }
    if (b != "" && y[1] > 0) printf "ratio requested/plain: %.3f (Mbit/s)%s\n", x[1]/y[1],
      (proto == "udp" && y[2] > 0) ? sprintf(", %.3f (pkt/s)", x[2]/y[2]) : "";
  }'
}

# ---------------------------------------------------------------------------------------------
# demo
# ---------------------------------------------------------------------------------------------
ping_stats() {   # ping output on stdin -> "loss% avg_ms" ("100 -" when nothing came back)
  awk '/packet loss/ { for (i = 1; i <= NF; i++) if ($i ~ /%$/) { l = $i; sub(/%/, "", l) } }
       /^rtt|^round-trip/ { split($4, r, "/"); avg = r[2] }
       END { printf "%s %s\n", (l == "" ? 100 : l), (avg == "" ? "-" : avg) }'
}

relay_counters() { ip -n "$(ns relay)" -s -j link show teredo 2>/dev/null | jq -r '.[0].stats64 | "\(.rx.packets) \(.tx.packets)"' 2>/dev/null || echo "0 0"; }
counter_delta() { local a b; read -r a b <<<"$1"; local c d; read -r c d <<<"$2"; echo "$((c - a)) packets decapsulated (rx), $((d - b)) encapsulated (tx)"; }

# The demo runs what does not depend on each other at the same time (DEMO_BG), keeps each background
# group's output in a file and prints it in a fixed order, and times its steps (DEMO_STEPS) so that a
# slow run says where its time went.
now_us() { echo "${EPOCHREALTIME/./}"; }
fmt_ms() { printf '%d.%03d s' $(($1 / 1000)) $(($1 % 1000)); }
demo_clock() { local ms=$(( ($(now_us) - DEMO_T0) / 1000 )); printf '%d.%01d s' $((ms / 1000)) $((ms % 1000 / 100)); }
DEMO_STEPS=() DEMO_STEP="" DEMO_STEP_T=0
demo_step() {   # NAME: ends the step under way (its time goes to the table) and starts NAME ("" ends only)
  local t; t=$(now_us)
  [ -z "$DEMO_STEP" ] || DEMO_STEPS+=("$(printf '%-44s %s' "$DEMO_STEP" "$(fmt_ms $(( (t - DEMO_STEP_T) / 1000 )))")")
  DEMO_STEP=$1 DEMO_STEP_T=$t
}
declare -A DEMO_BG=()
demo_bg() {   # NAME CMD...: run CMD in the background, its output kept for demo_join
  local name=$1; shift
  mkdir -p "$STATE/.demo"
  "$@" >"$STATE/.demo/$name.out" 2>&1 &
  DEMO_BG[$name]=$!
}
demo_join() {   # NAME...: wait for these groups in this order and print their output; a failed group ends the demo
  local name ok
  for name in "$@"; do
    ok=0; wait "${DEMO_BG[$name]}" || ok=$?
    sed 's/^lab: /   /' "$STATE/.demo/$name.out"
    [ "$ok" -eq 0 ] || { echo "demo: $name failed (exit $ok)" >&2; exit 1; }
  done
}
demo_note() { echo "$2" >"$STATE/.demo/$1"; }     # KEY VALUE: a figure a background group hands back
demo_read() { cat "$STATE/.demo/$1" 2>/dev/null || true; }

demo_qualify() {   # NODE LABEL: wait for NODE's Teredo address; note "ms address" under qual-NODE
  local a t0; t0=$(demo_read "t0-$1")
  a=$(cmd_wait_qualified "$1" 30) || return 1
  demo_note "qual-$1" "$(( ($(now_us) - t0) / 1000 )) $a"
  echo "   $2 qualified: $a"
}

demo_teredo_side() {   # our server, then the Miredo client (natprc) and our client (natsym) at once, until both qualify
  cmd_teredo_server srv
  demo_note t0-clprc "$(now_us)"
  cmd_miredo_client clprc
  demo_note t0-clsym "$(now_us)"
  # shellcheck disable=SC2046
  cmd_start clsym teredo-client -- $(teredo_bin) client --server "$SRV_V4A" --control "$STATE/clsym/teredo-client.sock"
  demo_qualify clprc "Miredo client behind natprc"
  demo_decode clprc
  demo_qualify clsym "teredo client behind natsym"
  local i status
  for i in $(seq 50); do   # the symmetric NAT is known only once both server addresses have answered
    status=$(role_status "$STATE/clsym/teredo-client.sock" || true)
    [ "$(echo "$status" | jq -r '.natTypeFinal' 2>/dev/null)" = true ] && break; sleep 0.1
  done
  demo_note nat-clsym "$(echo "$status" | jq -r '"\(.natType) (\(.natDetection))"' 2>/dev/null || echo unknown)"
}

demo_decode() {   # NODE: TEREDO_DECODE's reading of NODE's Teredo address, kept for the demo's output
  local a; a=$(demo_read "qual-$1"); a=${a#* }
  if [ -n "${TEREDO_DECODE:-}" ]; then
    { echo "== decoding with: $TEREDO_DECODE $a"
      sh -c "$TEREDO_DECODE \"\$1\"" teredo-decode "$a" 2>&1 | sed 's/^/   /' || echo "   (decoder failed)"
    } >"$STATE/.demo/decode-$1.out"
  else
    echo "== TEREDO_DECODE not set: skipping decode" >"$STATE/.demo/decode-$1.out"
  fi
}

demo_miredo_side() {   # without TEREDO_BIN: Miredo in every role
  cmd_miredo_server srv
  demo_note t0-clprc "$(now_us)"
  cmd_miredo_client clprc
  demo_qualify clprc "Miredo client behind natprc"
  demo_decode clprc
}

demo_p2p_side() {   # the coordinator and the IPv6 peer at once, then the IPv4 peer behind natsym (it needs the pin)
  local pid nd
  cmd_v6peer v6peer >"$STATE/.demo/v6peer-start.out" 2>&1 & pid=$!
  cmd_coordinator coord
  cmd_v4peer clsym
  wait "$pid" || { cat "$STATE/.demo/v6peer-start.out"; return 1; }
  cat "$STATE/.demo/v6peer-start.out"
  nd=$(inns v6c dig +short +time=2 +tries=1 AAAA "$P2P_NAME" | head -1)
  demo_note nd "$nd"
  echo "   $P2P_NAME: A $HOST4_V4 only; DNS64 on v6peer gives v6c N::D = $nd; v6peer sends it to T(D)"
}

demo_ping() {   # FROM TO LABEL: 5 pings; prints them, keeps "loss avg" in PING_STATS
  local p
  p=$(inns "$1" timeout 20 ping -6 -n -c 5 -i 0.1 -W 2 "$2" 2>&1 || true)
  echo "$p" | grep -E 'packet loss|rtt' | sed "s/^/   $3: /"
  PING_STATS=$(echo "$p" | ping_stats)
}

# The P2P part (DESIGN.md §B.2): v6c, IPv6-only, fetches http://site.example/ (IPv4 only, on host4)
# through v6peer -> relay -> coordinator -> an IPv4 peer behind the symmetric NAT -> host4.
target_of() {   # COORD_V4 D -> T(D): 2001:0 | S | 0x00 | D | suffix 0 (DESIGN.md §B.1)
  local s d; IFS=. read -r -a s <<<"$1"; IFS=. read -r -a d <<<"$2"
  printf '2001:0:%x:%x:%x:%x:%x:0\n' $((s[0] << 8 | s[1])) $((s[2] << 8 | s[3])) "${d[0]}" $((d[1] << 8 | d[2])) $((d[3] << 8))
}

P2P_ROWS=()
P2P_FROM=v6c P2P_URL="http://$P2P_NAME/" P2P_PING=$P2P_NAME
demo_p2p_fetch() {   # RELAY_LABEL: one cold page and 3 pings from v6c; appends a summary row
  local label=$1 c code dns conn total first page owner p body="$STATE/.demo/page"
  # The relay has never seen T(D): the TCP SYN is the flow's first packet, so connect - DNS is the
  # first-packet latency (relay bubble -> coordinator -> owner's bubble -> queued SYN -> SYN-ACK).
  c=$(inns "$P2P_FROM" timeout 20 curl -sS -o "$body" -w '%{http_code} %{time_namelookup} %{time_connect} %{time_total}' "$P2P_URL" 2>&1 || true)
  read -r code dns conn total <<<"$c"
  first=$(awk -v a="$dns" -v b="$conn" 'BEGIN { if (b == "") print "-"; else printf "%.1f", (b - a) * 1000 }')
  page=$(awk -v t="$total" 'BEGIN { if (t == "") print "-"; else printf "%.3f s", t }')
  echo "   $P2P_FROM: curl $P2P_URL -> HTTP ${code:-?} in $page, first packet (TCP SYN -> SYN-ACK) $first ms, DNS ${dns:--} s (cold flow: the relay's bubble exchange included)"
  echo "   page: $(cat "$body" 2>/dev/null || echo "$c")"
  p=$(inns "$P2P_FROM" timeout 20 ping -6 -n -c 3 -i 0.1 -W 2 "$P2P_PING" 2>&1 || true)
  echo "$p" | grep -E 'bytes from|packet loss' | sed 's/^/   /'
  owner=$(role_status "$STATE/coord/coordinator.sock" | jq -r --arg d "$HOST4_V4" \
    '(.leases[] | select(.destination == $d) | .owner) as $o | .peers[] | select(.identity == $o) | "\(.localAddress) seen from \(.remote)"' 2>/dev/null | head -1)
  echo "   owning IPv4 peer (coordinator's status): ${owner:-none}"
  P2P_ROWS+=("$(printf '%-13s page %s (HTTP %s), first packet %s ms, pings %s%% lost, avg %s ms, owner %s' "$label" "$page" "${code:-?}" "$first" \
    $(echo "$p" | ping_stats) "${owner:-none}")")
}

demo_p2p() {   # TD: the roles already run (demo_p2p_side) and the relay is ours and has never seen T(D)
  local td=$1
  echo "== P2P NAT64 network: coordinator on coord, IPv4 peer on clsym (behind natsym, symmetric) [at $(demo_clock)]"
  echo "   T(D) = $td; teredo decode says:"
  sed -n '/coordinator plan/,$p' "$STATE/.demo/decode-td.out" | sed 's/^/     /'
  demo_step "P2P through our relay (cold flow)"
  echo "== through our relay (teredo relay) [at $(demo_clock)]"
  demo_p2p_fetch "our relay"
  demo_step "P2P through Miredo's relay (start + cold flow)"
  echo "== through Miredo's relay (unmodified) [at $(demo_clock)]"
  cmd_miredo_relay relay 2>&1 | sed 's/^lab: /   /'
  demo_p2p_fetch "Miredo relay"
  P2P_ROWS=("$(printf '%-13s %s -> N::D %s -> T(D) %s' "addresses" "$P2P_FROM" "$(demo_read nd)" "$td")" "${P2P_ROWS[@]}")
}

demo_teardown() {
  trap - EXIT INT TERM
  local t; t=$(now_us)
  echo; echo "== tearing down"
  sweep_all
  echo "lab: namespaces left: $(ip netns list | grep -c "^$PFX" || true); torn down in $(fmt_ms $(( ($(now_us) - t) / 1000 )))"
  printf '   %-26s %s\n' "demo wall time" "$(fmt_ms $(( ($(now_us) - DEMO_T0) / 1000 )))"
}

cmd_demo() {
  require_netns
  DEMO_T0=$(now_us)
  trap demo_teardown EXIT
  trap 'exit 130' INT TERM
  local ours=0 server_kind=miredo-server relay_kind="Miredo relay" td
  [ -z "${TEREDO_BIN:-}" ] || { ours=1; server_kind="teredo server (ours)"; relay_kind="teredo relay (ours)"; }
  td=$(target_of "$COORD_V4" "$HOST4_V4")
  demo_step "build topology (waves in parallel)"
  echo "== building topology 'demo' (${TOPO[demo]})"
  cmd_up demo 2>&1 | sed 's/^lab: /   /'
  demo_step "start the daemons (in parallel) until ready"
  if [ $ours = 1 ]; then
    echo "== starting at once: teredo server then the Miredo client (natprc) and our client (natsym); teredo relay; coordinator and v6peer, then the IPv4 peer (natsym) [at $(demo_clock)]"
    demo_bg teredo demo_teredo_side
    demo_bg relay cmd_teredo_relay relay
    demo_bg p2p demo_p2p_side
    # shellcheck disable=SC2046
    demo_bg decode-td $(teredo_bin) decode "$td"
    demo_join teredo relay p2p
  else
    echo "== starting Miredo peers (TEREDO_BIN not set: Miredo in every role) [at $(demo_clock)]"
    demo_bg teredo demo_miredo_side
    demo_bg relay cmd_miredo_relay relay
    demo_join teredo relay
  fi
  demo_step "Teredo part: pings both ways, both clients"
  local qual_ms addr q2=0 addr2=""
  read -r qual_ms addr <<<"$(demo_read qual-clprc)"
  echo "== the client behind natprc (Miredo, unmodified), its process start included [at $(demo_clock)]"
  echo "   qualified in $(fmt_ms "$qual_ms"): $addr"
  cat "$STATE/.demo/decode-clprc.out"
  local flags cone
  flags=$(echo "$addr" | awk -F: '{print $5}')
  cone=$(( (16#${flags:-0} & 0x8000) ? 1 : 0 ))
  echo "== NAT: natprc is ${NAT_DESC[portrestricted]}, WAN 198.18.2.1; address cone flag = $cone ($( [ $cone = 1 ] && echo cone || echo not cone ))"
  echo "== ping host6 ($HOST6_V6) from clprc through the $relay_kind [at $(demo_clock)]"
  local s1 s2 s3="" s4="" c0 c1 c2 nat2="" PING_STATS
  c0=$(relay_counters)
  demo_ping clprc "$HOST6_V6" "clprc -> host6"; s1=$PING_STATS
  c1=$(relay_counters)
  echo "   relay teredo interface: $(counter_delta "$c0" "$c1")"
  echo "== ping clprc ($addr) from host6"
  demo_ping host6 "$addr" "host6 -> clprc"; s2=$PING_STATS
  c2=$(relay_counters)
  echo "   relay teredo interface: $(counter_delta "$c1" "$c2")"
  if [ $ours = 1 ]; then
    read -r q2 addr2 <<<"$(demo_read qual-clsym)"
    echo "== our client (teredo client) behind natsym, a symmetric NAT, its process start included [at $(demo_clock)]"
    echo "   qualified in $(fmt_ms "$q2"): $addr2"
    nat2=$(demo_read nat-clsym)
    echo "   teredo status says: NAT type $nat2"
    demo_ping clsym "$HOST6_V6" "clsym -> host6"; s3=$PING_STATS
    demo_ping host6 "$addr2" "host6 -> clsym"; s4=$PING_STATS
    demo_p2p "$td"
  fi
  demo_step ""
  echo
  echo "== summary"
  printf '   %-26s %s\n' "server" "$server_kind on srv (198.18.0.10/.11)"
  printf '   %-26s %s\n' "relay / client" "$relay_kind on relay, Miredo client on clprc"
  printf '   %-26s %s\n' "qualification time" "$(fmt_ms "$qual_ms")"
  printf '   %-26s %s\n' "client Teredo address" "$addr"
  printf '   %-26s %s\n' "NAT" "natprc: ${NAT_DESC[portrestricted]}"
  printf '   %-26s loss %s%%, avg RTT %s ms\n' "clprc -> host6 (5 pings)" ${s1}
  printf '   %-26s loss %s%%, avg RTT %s ms\n' "host6 -> clprc (5 pings)" ${s2}
  if [ -n "$addr2" ]; then
    printf '   %-26s %s\n' "our client (clsym)" "$addr2, qualified in $(fmt_ms "$q2")"
    printf '   %-26s %s\n' "its NAT type" "$nat2"
    printf '   %-26s loss %s%%, avg RTT %s ms\n' "clsym -> host6 (5 pings)" ${s3}
    printf '   %-26s loss %s%%, avg RTT %s ms\n' "host6 -> clsym (5 pings)" ${s4}
  fi
  local row
  for row in "${P2P_ROWS[@]}"; do printf '   %-26s %s\n' "P2P: host4 from $P2P_FROM" "$row"; done
  echo "== where the time went"
  for row in "${DEMO_STEPS[@]}"; do echo "   $row"; done
  printf '   %-26s %s\n' "demo time before teardown" "$(fmt_ms $(( ($(now_us) - DEMO_T0) / 1000 )))"
}

# ---------------------------------------------------------------------------------------------
main() {
  local cmd=${1:-}
  case $cmd in
    "") usage >&2; exit 2 ;;
    -h|--help|help) usage; return 0 ;;
  esac
  shift
  require_root
  case $cmd in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    list) cmd_list ;;
    exec) cmd_exec "$@" ;;
    demo) cmd_demo ;;
    nat-flush) cmd_nat_flush "$@" ;;
    nat-check) cmd_nat_check "$@" ;;
    impair) cmd_impair "$@" ;;
    iperf) cmd_iperf "$@" ;;
    miredo-server) cmd_miredo_server "$@" ;;
    miredo-relay) cmd_miredo_relay "$@" ;;
    miredo-client) cmd_miredo_client "$@" ;;
    miredo-stop) cmd_miredo_stop "$@" ;;
    stop) cmd_stop "$@" ;;
    start) cmd_start "$@" ;;
    teredo-server) cmd_teredo_server "$@" ;;
    teredo-relay) cmd_teredo_relay "$@" ;;
    coordinator) cmd_coordinator "$@" ;;
    v4peer) cmd_v4peer "$@" ;;
    v6peer) cmd_v6peer "$@" ;;
    tayga) cmd_tayga "$@" ;;
    tayga-stop) cmd_tayga_stop "$@" ;;
    wait-qualified) cmd_wait_qualified "$@" ;;
    *) echo "lab: unknown command '$cmd'" >&2; usage >&2; exit 2 ;;
  esac
}
main "$@"
