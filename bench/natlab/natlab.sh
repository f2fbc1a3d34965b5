#!/usr/bin/env bash
# A small internet in network namespaces, for NAT traversal tests (issue 9).
#
#   public net 203.0.113.0/24 (a bridge in namespace <p>-inet)
#     <p>-srv  203.0.113.10 and .11 (the presence server; two addresses = two STUN destinations)
#     <p>-ra   router A: wan 203.0.113.1, lan 10.0.1.1 -- <p>-ca client A 10.0.1.2
#     <p>-rb   router B: wan 203.0.113.2, lan 10.0.2.1 -- <p>-cb client B 10.0.2.2
#
# Each router masquerades its LAN (MASQUERADE: cone-like, the mapping is kept per source port;
# "symmetric" adds --random-fully: a new random port per destination) and drops unsolicited
# inbound traffic both in FORWARD and in its own INPUT (otherwise Linux keeps a conntrack entry for
# an unsolicited packet that reaches the router, which makes punching look easier than on real
# routers). Only namespaces this script creates are touched; the root namespace is not.
#
# Usage:
#   natlab.sh up <cone|symmetric> [prefix]   build; prints the prefix (default q2l<pid>)
#   natlab.sh exec <prefix> <node> cmd...    run cmd in node (inet srv ra rb ca cb)
#   natlab.sh down <prefix>                  delete every namespace of prefix
#   natlab.sh run <cone|symmetric> cmd...    up, run cmd with NATLAB=<prefix> exported, down (always)
#   natlab.sh selftest                       both modes: a q2q presence server in srv, STUN from
#                                            behind each NAT (coturn's turnutils_stunclient and
#                                            StunQuery.java), checks the mappings; exit 0 on
#                                            success or when the machine refuses namespaces (SKIP)
#   natlab.sh punchtest                      both modes: ca and cb punch with the client's
#                                            PunchSocket (LabPunch, candidates swapped through
#                                            files): cone must punch and carry a PTCP echo,
#                                            symmetric must fail within the punch bound
# Environment: Q2Q_JAR (default tools/target/q2q.jar), TEST_CLASSES (default
# q2q-client/target/test-classes, for LabPunch), JAVA (default java).
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
NODES=(inet srv ra rb ca cb)

die() { echo "natlab: $*" >&2; exit 1; }
in_ns() { local ns="$1"; shift; ip netns exec "$ns" "$@"; }

up() {
  local mode="$1" p="$2"
  [[ "$mode" == cone || "$mode" == symmetric ]] || die "mode must be cone or symmetric, not '$mode'"
  for n in "${NODES[@]}"; do
    ip netns add "$p-$n"
    in_ns "$p-$n" ip link set lo up
  done
  # the public bridge lives in its own namespace
  in_ns "$p-inet" ip link add br0 type bridge
  in_ns "$p-inet" ip link set br0 up
  link_public "$p" srv 203.0.113.10/24
  in_ns "$p-srv" ip addr add 203.0.113.11/24 dev wan
  link_public "$p" ra 203.0.113.1/24
  link_public "$p" rb 203.0.113.2/24
  router "$p" ra ca 10.0.1 "$mode"
  router "$p" rb cb 10.0.2 "$mode"
  echo "$p"
}

# node's "wan" interface on the bridge, with an address
link_public() {
  local p="$1" node="$2" addr="$3"
  ip -n "$p-inet" link add "to-$node" type veth peer name wan netns "$p-$node"
  in_ns "$p-inet" ip link set "to-$node" master br0 up
  in_ns "$p-$node" ip addr add "$addr" dev wan
  in_ns "$p-$node" ip link set wan up
}

router() {
  local p="$1" r="$2" client="$3" net="$4" mode="$5"
  ip -n "$p-$r" link add lan type veth peer name eth0 netns "$p-$client"
  in_ns "$p-$r" ip addr add "$net.1/24" dev lan
  in_ns "$p-$r" ip link set lan up
  in_ns "$p-$client" ip addr add "$net.2/24" dev eth0
  in_ns "$p-$client" ip link set eth0 up
  in_ns "$p-$client" ip route add default via "$net.1"
  in_ns "$p-$r" sysctl -q -w net.ipv4.ip_forward=1
  local random=()
  [[ "$mode" == symmetric ]] && random=(--random-fully)
  in_ns "$p-$r" iptables -t nat -A POSTROUTING -o wan -j MASQUERADE "${random[@]}"
  in_ns "$p-$r" iptables -P FORWARD DROP
  in_ns "$p-$r" iptables -A FORWARD -i lan -o wan -j ACCEPT
  in_ns "$p-$r" iptables -A FORWARD -i wan -o lan -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
  in_ns "$p-$r" iptables -P INPUT DROP
  in_ns "$p-$r" iptables -A INPUT -i lo -j ACCEPT
  in_ns "$p-$r" iptables -A INPUT -i lan -j ACCEPT
  in_ns "$p-$r" iptables -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
}

down() {
  local p="$1"
  for n in "${NODES[@]}"; do
    # kill what still runs inside (ours only: the namespace is ours), then delete it
    local pids
    pids="$(ip netns pids "$p-$n" 2>/dev/null || true)"
    [[ -n "$pids" ]] && kill $pids 2>/dev/null || true
    ip netns del "$p-$n" 2>/dev/null || true
  done
}

can_namespace() {
  local t="q2lprobe$$"
  if ! command -v ip >/dev/null || ! command -v iptables >/dev/null; then
    echo "SKIP: natlab needs ip (iproute2) and iptables"; return 1
  fi
  if ! ip netns add "$t" 2>/dev/null; then
    echo "SKIP: this machine refuses network namespaces (not root, or no CAP_SYS_ADMIN)"; return 1
  fi
  if ! in_ns "$t" iptables -t nat -L >/dev/null 2>&1; then
    ip netns del "$t"; echo "SKIP: no netfilter NAT in this kernel"; return 1
  fi
  ip netns del "$t"
}

# selftest for one mode; prints what it saw, fails loudly on a wrong mapping
selftest_mode() {
  local mode="$1"
  local p="q2l$$${mode:0:1}" jar="${Q2Q_JAR:-$ROOT/tools/target/q2q.jar}" java="${JAVA:-java}"
  local tmp; tmp="$(mktemp -d /tmp/natlab.XXXXXX)"
  CLEANUP+=("down $p" "rm -rf '$tmp'")
  up "$mode" "$p" >/dev/null
  start_server "$p" "$tmp"
  for side in a b; do
    local lan; lan=$([[ $side == a ]] && echo 10.0.1.2 || echo 10.0.2.2)
    local wan; wan=$([[ $side == a ]] && echo 203.0.113.1 || echo 203.0.113.2)
    if command -v turnutils_stunclient >/dev/null; then
      local t; t="$(in_ns "$p-c$side" timeout 10 turnutils_stunclient -p 8788 203.0.113.10 2>&1 | grep -o 'reflexive addr: [0-9.:]*' | head -1 || true)"
      echo "$mode c$side ($lan): turnutils_stunclient says $t"
      [[ "$t" == "reflexive addr: $wan:"* ]] || die "$mode: expected the reflexive address on $wan, got '$t'"
    else
      echo "$mode: turnutils_stunclient missing (Debian package coturn); StunQuery only"
    fi
    local out; out="$(in_ns "$p-c$side" "$java" "$HERE/StunQuery.java" 203.0.113.10:8788 203.0.113.11:8788)"
    echo "$out" | sed "s/^/$mode c$side: /"
    local m1 m2
    m1="$(echo "$out" | sed -n 1p | awk '{print $4}')"
    m2="$(echo "$out" | sed -n 2p | awk '{print $4}')"
    [[ "$m1" == "$wan:"* && "$m2" == "$wan:"* ]] || die "$mode: mapped addresses $m1 $m2 are not on $wan"
    if [[ "$mode" == cone ]]; then
      [[ "$m1" == "$m2" ]] || die "cone: the mapping changed per destination ($m1, $m2)"
    else
      [[ "$m1" != "$m2" ]] || die "symmetric: the mapping did not change per destination ($m1)"
    fi
  done
  # unsolicited inbound is dropped: client A cannot reach client B's router from the outside
  if in_ns "$p-ca" ping -c 1 -W 1 10.0.2.2 >/dev/null 2>&1; then
    die "$mode: client A reached client B's private address"
  fi
  echo "$mode: OK"
  down "$p"
}

CLEANUP=()
cleanup() {
  local c
  for c in "${CLEANUP[@]}"; do eval "$c" || true; done
}

# starts the presence server in srv and waits until its UDP port answers
start_server() {
  local p="$1" tmp="$2" jar="${Q2Q_JAR:-$ROOT/tools/target/q2q.jar}" java="${JAVA:-java}"
  in_ns "$p-srv" "$java" -jar "$jar" server --domain lab.test --data "$tmp/srv" --port 8788 >"$tmp/server.log" 2>&1 &
  for _ in $(seq 1 100); do
    if in_ns "$p-srv" "$java" "$HERE/StunQuery.java" 203.0.113.10:8788 >/dev/null 2>&1; then return 0; fi
    sleep 0.3
  done
  cat "$tmp/server.log"; die "the presence server did not answer STUN in the lab"
}

punchtest_mode() {
  local mode="$1"
  local p="q2l$$${mode:0:1}" java="${JAVA:-java}"
  local cp="${Q2Q_JAR:-$ROOT/tools/target/q2q.jar}:${TEST_CLASSES:-$ROOT/q2q-client/target/test-classes}"
  local tmp; tmp="$(mktemp -d /tmp/natlab.XXXXXX)"
  CLEANUP+=("down $p" "rm -rf '$tmp'")
  up "$mode" "$p" >/dev/null
  start_server "$p" "$tmp"
  mkdir -p "$tmp/x"
  local id="lab-$mode-$$"
  in_ns "$p-cb" "$java" -cp "$cp" org.q2q.client.internal.punch.LabPunch listener "$id" 203.0.113.10:8788 "$tmp/x" cb ca \
    >"$tmp/cb.log" 2>&1 &
  local lpid=$!
  local crc=0 lrc=0
  in_ns "$p-ca" "$java" -cp "$cp" org.q2q.client.internal.punch.LabPunch connector "$id" 203.0.113.10:8788 "$tmp/x" ca cb \
    >"$tmp/ca.log" 2>&1 || crc=$?
  wait "$lpid" || lrc=$?
  grep -v DEBUG "$tmp/ca.log" | grep -v '^\s*$' | sed "s/^/$mode /"
  grep -v DEBUG "$tmp/cb.log" | grep -v '^\s*$' | sed "s/^/$mode /"
  if [[ "$mode" == cone ]]; then
    ((crc == 0 && lrc == 0)) || die "cone: the punch or the PTCP echo failed (exit $crc/$lrc)"
  else
    ((crc == 3 && lrc == 3)) || die "symmetric: expected both sides to fail the punch (exit $crc/$lrc)"
  fi
  echo "$mode: punchtest OK"
  down "$p"
}

cmd="${1:-}"; shift || true
case "$cmd" in
  up) up "${1:?mode}" "${2:-q2l$$}" ;;
  exec) p="${1:?prefix}"; node="${2:?node}"; shift 2; in_ns "$p-$node" "$@" ;;
  down) down "${1:?prefix}" ;;
  run)
    mode="${1:?mode}"; shift
    p="q2l$$"
    trap "down $p" EXIT INT TERM
    up "$mode" "$p" >/dev/null
    NATLAB="$p" NATLAB_SH="$0" "$@"
    ;;
  selftest)
    can_namespace || exit 0
    trap cleanup EXIT INT TERM
    [[ -f "${Q2Q_JAR:-$ROOT/tools/target/q2q.jar}" ]] \
      || die "no ${Q2Q_JAR:-$ROOT/tools/target/q2q.jar}: build it first (mvn -B package -DskipTests -pl tools -am)"
    selftest_mode cone
    selftest_mode symmetric
    ;;
  punchtest)
    can_namespace || exit 0
    trap cleanup EXIT INT TERM
    punchtest_mode cone
    punchtest_mode symmetric
    ;;
  *) sed -n '2,31p' "$0"; exit 2 ;;
esac
