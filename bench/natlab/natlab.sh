#!/usr/bin/env bash
# A small internet in network namespaces, for NAT traversal tests (issue 9).
#
#   public net 203.0.113.0/24 (a bridge in namespace <p>-inet)
#     <p>-srv  203.0.113.10 and .11 (the presence server; two addresses = two STUN destinations)
#     <p>-ra   router A: wan 203.0.113.1, lan 10.0.1.1 -- <p>-ca client A 10.0.1.2
#     <p>-rb   router B: wan 203.0.113.2, lan 10.0.2.1 -- <p>-cb client B 10.0.2.2
#     <p>-pc   a public client 203.0.113.20 (no NAT, no firewall)
#
# Each router masquerades its LAN (MASQUERADE: cone-like, the mapping is kept per source port;
# "symmetric" adds --random-fully: a new random port per destination) and drops unsolicited
# inbound traffic both in FORWARD and in its own INPUT (otherwise Linux keeps a conntrack entry for
# an unsolicited packet that reaches the router, which makes punching look easier than on real
# routers). Only namespaces this script creates are touched; the root namespace is not.
#
# Usage:
#   natlab.sh up <cone|symmetric> [prefix]   build; prints the prefix (default q2l<pid>)
#   natlab.sh exec <prefix> <node> cmd...    run cmd in node (inet srv ra rb ca cb pc)
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
#   natlab.sh sendtest [case...]             the real commands: 'q2q server' in srv, 'q2q receive
#                                            --once' and 'q2q send -v' in the clients, each bounded,
#                                            the route asserted, the file compared by SHA-256.
#                                            Cases (default all): cone (alice@ca -> bob@cb over
#                                            PTCP), public-receiver (alice@ca -> carol@pc, direct
#                                            TCP), public-sender (carol@pc -> bob@cb, reverse TCP),
#                                            symmetric (alice@ca -> bob@cb through the relay)
# Environment: Q2Q_JAR (default tools/target/q2q.jar), TEST_CLASSES (default
# q2q-client/target/test-classes, for LabPunch), JAVA (default java), NATLAB_SEND_TIMEOUT (bound
# on one q2q send in seconds, default 90).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
NODES=(inet srv ra rb ca cb pc)

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
  link_public "$p" pc 203.0.113.20/24
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

# ---- sendtest: the real q2q commands, one process each, in the lab ----

LAB_DOMAIN=lab.test
# Bound on one q2q send: the client's hard connect timeout is 30 s, plus a few MiB to move and a
# cold JVM on a loaded 2-core machine.
SEND_TIMEOUT="${NATLAB_SEND_TIMEOUT:-90}"

# q2q in node, bounded by secs, as that node's own user (its own Q2Q_HOME)
q2q_at() {
  local p="$1" node="$2" tmp="$3" secs="$4"; shift 4
  in_ns "$p-$node" timeout "$secs" env Q2Q_HOME="$tmp/home-$node" Q2Q_SERVERS="$LAB_DOMAIN=203.0.113.10:8788" \
    "${JAVA:-java}" ${Q2Q_JAVA_OPTS:-} -jar "${Q2Q_JAR:-$ROOT/tools/target/q2q.jar}" "$@"
}

# waits (bounded) until a line matching re appears in file
wait_for() {
  local re="$1" file="$2" secs="$3" i
  for ((i = 0; i < secs * 5; i++)); do
    grep -q "$re" "$file" 2>/dev/null && return 0
    sleep 0.2
  done
  return 1
}

# registers who@lab.test from node in the background (open registration: the first register creates it)
register_at() {
  local p="$1" node="$2" tmp="$3" who="$4"
  echo "lab-secret-$who" | q2q_at "$p" "$node" "$tmp" 90 register "$who@$LAB_DOMAIN" --password-stdin --yes \
    >"$tmp/register-$who.log" 2>&1
}

# One transfer: the receiver runs 'q2q receive --once' in rnode, the sender 'q2q send -v' in snode;
# the route the sender printed must match expect and the file must arrive with the same SHA-256.
# An optional 10th argument is a route accepted for now as a known product issue (printed as such).
send_case() {
  local p="$1" tmp="$2" name="$3" snode="$4" sender="$5" rnode="$6" receiver="$7" transport="$8" expect="$9"
  local known="${10:-}"
  local in="$tmp/in-$name" rlog="$tmp/$name-receive.log" slog="$tmp/$name-send.log"
  q2q_at "$p" "$rnode" "$tmp" $((SEND_TIMEOUT + 120)) receive -v --as "$receiver@$LAB_DOMAIN" --once --dir "$in" \
    >"$rlog" 2>&1 &
  local rpid=$!
  wait_for '^ready:' "$rlog" 90 || { cat "$rlog"; die "$name: the receiver did not get ready in 90 s"; }
  local t0 rc=0 ms
  t0=$(date +%s%N)
  q2q_at "$p" "$snode" "$tmp" "$SEND_TIMEOUT" send -v --transport "$transport" --as "$sender@$LAB_DOMAIN" \
    "$receiver@$LAB_DOMAIN" "$tmp/payload.bin" >"$slog" 2>&1 || rc=$?
  ms=$((($(date +%s%N) - t0) / 1000000))
  # the receiver exits by itself after one verified file; bounded wait, then stop it
  local i
  for ((i = 0; i < 150 && rc == 0; i++)); do kill -0 "$rpid" 2>/dev/null || break; sleep 0.2; done
  kill "$rpid" 2>/dev/null || true
  local rrc=0; wait "$rpid" || rrc=$?
  local route won
  route="$(grep -m1 '^sending .* via ' "$slog" | sed 's/.* via /via /' || true)"
  won="$(grep -m1 'connect +[0-9]* ms: .* won after' "$slog" | sed 's/^ *connect //' || true)"
  echo "sendtest $name: $sender@$snode -> $receiver@$rnode, --transport $transport: ${route:-no route}"
  grep 'connect +' "$slog" | sed "s/^ */  $name | /"
  local note=""
  if ((rc == 0)) && [[ -n "$known" && ! "$route" =~ $expect && "$route" =~ $known ]]; then
    note=" (KNOWN ISSUE: expected a route matching '$expect'; see bench/natlab/README.md)"
  elif ((rc == 0)) && [[ ! "$route" =~ $expect ]] && ((${ROUTE_RETRIES:-1} > 0)) && [[ "$route" =~ ^via\ relay ]]; then
    # A starved 2-core CI machine can let the relay (which starts one soft timeout after PTCP) win
    # a race PTCP would win on an idle one: say so, and try the case once more.
    echo "sendtest $name: the relay won this race (busy machine?); trying once more"
    ROUTE_RETRIES=$((${ROUTE_RETRIES:-1} - 1)) send_case "$@"
    return
  elif ((rc != 0)) || [[ ! "$route" =~ $expect ]]; then
    echo "--- $name: q2q send (exit $rc) ---"; cat "$slog"
    echo "--- $name: q2q receive (exit $rrc) ---"; cat "$rlog"
    ((rc == 124)) && die "$name: q2q send did not finish within $SEND_TIMEOUT s"
    ((rc != 0)) && die "$name: q2q send failed (exit $rc)"
    die "$name: expected a route matching '$expect', got '${route:-none}'"
  fi
  local want got
  want="$(sha256sum <"$tmp/payload.bin" | cut -d' ' -f1)"
  got="$(sha256sum <"$in/payload.bin" 2>/dev/null | cut -d' ' -f1 || true)"
  if [[ "$want" != "$got" ]] || ((rrc != 0)); then
    cat "$rlog"; die "$name: the received file differs or is missing (receive exit $rrc, sha256 ${got:-none})"
  fi
  echo "sendtest $name: OK: ${route}; connected at ${won:-?}; whole send ${ms} ms; sha256 ${want:0:16}... identical$note"
}

# one lab (cone or symmetric), a server, three registered clients, then the cases given
sendtest_lab() {
  local mode="$1"; shift
  local p="q2l$$s${mode:0:1}"
  local tmp; tmp="$(mktemp -d /tmp/natlab.XXXXXX)"
  CLEANUP+=("down $p" "rm -rf '$tmp'")
  up "$mode" "$p" >/dev/null
  start_server "$p" "$tmp"
  head -c $((8 << 20)) /dev/urandom >"$tmp/payload.bin"
  # alice behind router A, bob behind router B, carol on the public bridge
  local pids=() who node
  for who in alice:ca bob:cb carol:pc; do
    register_at "$p" "${who#*:}" "$tmp" "${who%%:*}" & pids+=($!)
  done
  for i in 0 1 2; do
    wait "${pids[$i]}" || { cat "$tmp"/register-*.log; die "$mode: registering the lab's clients failed"; }
  done
  local c
  for c in "$@"; do
    case "$c" in
      # two NATs: neither TCP way can cross; PTCP punches through (the relay would win only if it failed)
      cone) send_case "$p" "$tmp" cone ca alice cb bob auto '^via ptcp ' ;;
      symmetric) send_case "$p" "$tmp" symmetric ca alice cb bob auto '^via relay through ' ;;
      # carol is public: alice dials her directly; toward bob behind NAT, bob dials carol back
      public-receiver) send_case "$p" "$tmp" public-receiver ca alice pc carol auto '^via (direct|reverse) tcp ' ;;
      # bob behind NAT dials carol back (a dial-back arriving before she awaits it is parked)
      public-sender) send_case "$p" "$tmp" public-sender pc carol cb bob auto '^via (direct|reverse) tcp ' ;;
      *) die "unknown case $c" ;;
    esac
  done
  down "$p"
}

# sourced (bench/natlab/*-bench.sh): the functions only
[[ "${BASH_SOURCE[0]}" == "$0" ]] || return 0

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
  sendtest)
    can_namespace || exit 0
    trap cleanup EXIT INT TERM
    [[ -f "${Q2Q_JAR:-$ROOT/tools/target/q2q.jar}" ]] \
      || die "no ${Q2Q_JAR:-$ROOT/tools/target/q2q.jar}: build it first (mvn -B package -DskipTests -pl tools -am)"
    if (($#)); then cases=("$@"); else cases=(cone public-receiver public-sender symmetric); fi
    cone_cases=() sym_cases=()
    for c in "${cases[@]}"; do
      [[ " cone public-receiver public-sender symmetric " == *" $c "* ]] || die "unknown sendtest case '$c'"
      if [[ "$c" == symmetric ]]; then sym_cases+=("$c"); else cone_cases+=("$c"); fi
    done
    ((${#cone_cases[@]})) && sendtest_lab cone "${cone_cases[@]}"
    ((${#sym_cases[@]})) && sendtest_lab symmetric "${sym_cases[@]}"
    echo "sendtest: OK (${cases[*]})"
    ;;
  *) sed -n '2,/^[^#]/p' "$0" | sed '$d'; exit 2 ;;
esac
