#!/usr/bin/env bash
# PTCP benchmarks (not tests). Each figure is a ratio measured in the same run on this machine.
#   1. loopback throughput, PTCP vs kernel TCP (median of RUNS)
#   2. goodput over an impaired link with 10 ms RTT and 0/1/5/10 % random loss, PTCP vs kernel TCP and
#      vs Netty QUIC (quiche; CUBIC, its default, and BBR), median of RUNS, protocols interleaved.
#      The kernel here has no netem/iptables modules, so the link is a user-space TUN forwarder
#      (bench/impair.py) between two network namespaces; TCP and PTCP cross the same link.
# Usage (as root, from anywhere): [WARM=3] ptcp/bench/run.sh [LOOPBACK_MIB=256] [RUNS=3] [SECONDS=10] [LOSSES="0 1 5 10"]
set -euo pipefail
cd "$(dirname "$0")/../.."
LOOP_MIB=${1:-256}
RUNS=${2:-3}
SECS=${3:-10}
LOSSES=${4:-"0 1 5 10"}
WARM=${WARM:-3}   # seconds of uncounted warm-up transfer in each fresh client JVM (JIT), same for every protocol
command -v ip >/dev/null || apt-get install -y iproute2
mvn -B -q -pl ptcp test-compile
mvn -B -q -pl ptcp dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/bench.cp >/dev/null
CP="ptcp/target/test-classes:ptcp/target/classes:$(cat ptcp/target/bench.cp)"
JAVA=(java -Xmx1g -XX:+UseParallelGC ${JAVA_OPTS:-} -cp "$CP" org.q2q.ptcp.bench.PtcpBench)   # JAVA_OPTS e.g. -Dptcp.bench.verbose=true

echo "== 1. loopback: ${LOOP_MIB} MiB, median of ${RUNS}"
timeout 1200 "${JAVA[@]}" loopback $((LOOP_MIB << 20)) "$RUNS" | grep -E "^(warm-up|run|RESULT)"

FWD= ; SRV=
cleanup() {
  [ -n "$SRV" ] && kill "$SRV" 2>/dev/null || true
  [ -n "$FWD" ] && kill "$FWD" 2>/dev/null || true
  wait 2>/dev/null || true
  ip netns del ptcpA 2>/dev/null || true
  ip netns del ptcpB 2>/dev/null || true
  SRV= ; FWD=
}
trap cleanup EXIT

echo "== 2. impaired link: 10 ms RTT (5 ms each way), random loss both ways, ${SECS} s per transfer, median of ${RUNS}"
for loss in $LOSSES; do
  cleanup
  ip netns add ptcpA
  ip netns add ptcpB
  python3 ptcp/bench/impair.py tpa tpb 5 "$loss" 42 $((RUNS * (SECS * 4 + 200) + 400)) > /tmp/ptcp-impair.log 2>&1 &
  FWD=$!
  for _ in $(seq 50); do grep -q READY /tmp/ptcp-impair.log && break; sleep 0.1; done
  ip link set tpa netns ptcpA
  ip link set tpb netns ptcpB
  ip -n ptcpA addr add 10.77.0.1/24 dev tpa
  ip -n ptcpB addr add 10.77.0.2/24 dev tpb
  for ns in ptcpA ptcpB; do ip -n $ns link set lo up; done
  ip -n ptcpA link set tpa txqueuelen 10000
  ip -n ptcpB link set tpb txqueuelen 10000
  ip -n ptcpA link set tpa up
  ip -n ptcpB link set tpb up
  ip netns exec ptcpB "${JAVA[@]}" server 10.77.0.2 7000 > /tmp/ptcp-server.log 2>&1 &
  SRV=$!
  for _ in $(seq 100); do grep -q READY /tmp/ptcp-server.log && break; sleep 0.1; done
  declare -A res=()
  for run in $(seq "$RUNS"); do
    for proto in tcp ptcp quic quic-bbr; do
      r=$(ip netns exec ptcpA timeout $((SECS + 200)) "${JAVA[@]}" client $proto 10.77.0.2 7000 $((8 << 30)) "$SECS" "$WARM" \
        | grep RESULT | awk '{print $3}')
      res[$proto]="${res[$proto]:-} ${r:-0}"
    done
    echo "run $run loss ${loss}%: tcp${res[tcp]##* } ptcp${res[ptcp]##* } quic${res[quic]##* } quic-bbr${res[quic-bbr]##* }"
  done
  python3 - "$loss" "${res[tcp]}" "${res[ptcp]}" "${res[quic]}" "${res[quic-bbr]}" <<'PY'
import statistics, sys
loss = sys.argv[1]
t, p, q, qb = (statistics.median(float(x) for x in a.split()) for a in sys.argv[2:6])
r = lambda a, b: a / b if b > 0 else float("nan")
print(f"RESULT loss {loss}%: tcp {t:.1f} MB/s, ptcp {p:.1f} MB/s, quic {q:.1f} MB/s, quic-bbr {qb:.1f} MB/s;"
      f" ptcp/tcp {r(p, t):.2f}, ptcp/quic {r(p, q):.2f}, ptcp/quic-bbr {r(p, qb):.2f}")
PY
done
cleanup
