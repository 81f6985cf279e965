#!/usr/bin/env bash
# Re-creates the packets in CapturedPackets.cs: miredo (client) qualifies against miredo-server across
# one veth link, then sends an indirect bubble and a direct connectivity test. Transmit checksum offload
# is turned off so that the captured UDP checksums are the final ones the kernel computed (with offload,
# veth carries only the pseudo-header partial sum). Needs root, miredo, miredo-server, tcpdump, ethtool.
# Prints one line per packet: index, length, hex of the IPv4 packet.
set -euo pipefail
work=$(mktemp -d)
cleanup() {
  for ns in tcap-s tcap-c; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
  done
  sleep 0.5
  ip netns del tcap-s 2>/dev/null || true
  ip netns del tcap-c 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
ip netns add tcap-s
ip netns add tcap-c
ip link add tcap0 netns tcap-s type veth peer name tcap1 netns tcap-c
ip -n tcap-s addr add 198.18.200.1/24 dev tcap0
ip -n tcap-s addr add 198.18.200.2/24 dev tcap0
ip -n tcap-c addr add 198.18.200.10/24 dev tcap1
for pair in tcap-s:tcap0 tcap-c:tcap1; do
  ns=${pair%%:*} dev=${pair##*:}
  ip netns exec "$ns" ethtool -K "$dev" tx off >/dev/null
  ip -n "$ns" link set "$dev" up
  ip -n "$ns" link set lo up
done
printf 'ServerBindAddress 198.18.200.1\n' > "$work/server.conf"
printf 'RelayType client\nServerAddress 198.18.200.1\nInterfaceName tcapteredo\n' > "$work/client.conf"
ip netns exec tcap-c tcpdump -i tcap1 -w "$work/teredo.pcap" -U udp port 3544 2>/dev/null &
sleep 1
ip netns exec tcap-s miredo-server -f -c "$work/server.conf" -p "$work/server.pid" >/dev/null 2>&1 &
ip netns exec tcap-c miredo -f -c "$work/client.conf" -p "$work/client.pid" >/dev/null 2>&1 &
for _ in $(seq 50); do
  ip -n tcap-c -6 addr show dev tcapteredo 2>/dev/null | grep -q 'inet6 2001:0:' && break
  sleep 0.1
done
ip netns exec tcap-c ping -6 -c 1 -W 1 2001:0:c612:c801:0:f7ff:39ed:37f4 >/dev/null 2>&1 || true
ip netns exec tcap-c ping -6 -c 1 -W 1 2001:db8::1 >/dev/null 2>&1 || true
sleep 1
ip netns exec tcap-c pkill tcpdump || true
sleep 0.5
# pcap: 24-byte file header, then 16-byte record headers (little-endian caplen at offset 8);
# frames are Ethernet, so the IPv4 packet starts 14 bytes in.
mapfile -t bytes < <(od -An -v -tu1 "$work/teredo.pcap" | tr -s ' ' '\n' | sed '/^$/d')
pos=24 i=0
while (( pos + 16 <= ${#bytes[@]} )); do
  incl=$(( bytes[pos+8] | bytes[pos+9] << 8 | bytes[pos+10] << 16 | bytes[pos+11] << 24 ))
  hex=""
  for (( k = pos + 16 + 14; k < pos + 16 + incl; k++ )); do hex+=$(printf '%02x' "${bytes[k]}"); done
  echo "$i $(( incl - 14 )) $hex"
  pos=$(( pos + 16 + incl )) i=$(( i + 1 ))
done
