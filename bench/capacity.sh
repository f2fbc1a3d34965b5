#!/usr/bin/env bash
# Server capacity: `q2q server` node(s) in their own JVMs, and bench/capacity/CapacityLoad in another
# holding N Listen sessions over M TLS connections with heartbeats, then Inbound from C callers.
# Usage: bench/capacity.sh [--sessions 500] [--connections 100] [--callers 64] [--caller-ids 16] [--inbound-seconds 10] [--warmup-seconds 5]
#        [--heartbeat-seconds 30 (the client's default)] [--server-heap 1g] [--nodes 1] [--database postgresql://USER:PASS@HOST:PORT/DB]
#        [--services 1] [--idle-seconds 0] [--paced-rate 0] [--paced-seconds 30] [--relay-pairs 0]
#        [--java-home DIR]
# --java-home DIR: the JDK that runs the server(s) (through ./q2q, as a user would) and the load
#   generator (default: JAVA_HOME, else java on PATH); the output names the server's JVM and GC.
# --services K: the streams of one connection (one address) offer K different services and each
#   Inbound names one of them, so it asks sessions/connections/K listeners (1: all of them).
# --paced-rate R: after the closed-loop phase (each caller one call in flight: the most the server
#   brokers), R calls a second on a fixed schedule, each latency counted from when the call was due,
#   so a server pause counts in every call it delays (the closed loop hides it: its callers wait).
#   R1,R2,...: one such phase per rate, in order.
# --idle-seconds S: heartbeats only for S s before the Inbound phases (GC logs, profiles).
# --relay-pairs P: last, P relays set up as clients do, a byte echoed through each, and the server's
#   heap and RSS per pair held (each pair is two sockets in each process: mind the open-file limit).
# Q2Q_SERVER_JAVA_OPTS adds JVM options to the server(s) (a profiler agent, GC logging);
# Q2Q_LOAD_JAVA_OPTS to the load generator.
# (goal of issue 12: --sessions 50000 --connections 10000, Inbound p99 < 50 ms, >= 2000/s; the options
# bench/run uses are in its capacity section. Every caller identity may hold 1,024 unused listener
# ids, each living 60 s, and an Inbound takes one per listener it asks (sessions / connections /
# services): callers x caller-ids must exceed rate x listeners x 60 / 1024, or the refusals are
# what gets measured.)
# --nodes N > 1 (issue 14): N nodes of one domain on one PostgreSQL database (default: a fresh database
# on $Q2Q_TEST_POSTGRES, postgresql://q2q:q2q-test@127.0.0.1:5432/postgres, dropped at the end); the
# listeners and callers are spread over the nodes in turn, so most Inbound calls cross nodes.
set -euo pipefail
cd "$(dirname "$0")/.."
heap=1g
nodes=1
database=
args=()
while (($#)); do
  case "$1" in
    --server-heap) heap=$2; shift 2 ;;
    --nodes) nodes=$2; shift 2 ;;
    --database) database=$2; shift 2 ;;
    --java-home) export JAVA_HOME=$2; shift 2 ;;
    *) args+=("$1" "$2"); shift 2 ;;
  esac
done
# one JDK for everything: the launcher reads JAVA_HOME; javac, java and jcmd come first on PATH
[ -n "${JAVA_HOME:-}" ] && export PATH="$JAVA_HOME/bin:$PATH"
# every connection is a socket on both sides: raise the open-file limit as far as allowed
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
echo "open files limit: $(ulimit -n)"
./q2q --help >/dev/null # builds the jar when missing or stale
jar=tools/target/q2q.jar
work=$(mktemp -d "${TMPDIR:-/tmp}/q2q-capacity.XXXXXX")
pids=()
dropdb=
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "$dropdb" ]; then psql "$dropdb" -qc "DROP DATABASE IF EXISTS $dbname WITH (FORCE)" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 143' INT TERM
mkdir -p "$work/classes"
javac -nowarn -cp "$jar" -d "$work/classes" bench/capacity/CapacityLoad.java
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
fleet=()
if ((nodes > 1)) && [ -z "$database" ]; then
  admin=${Q2Q_TEST_POSTGRES:-postgresql://q2q:q2q-test@127.0.0.1:5432/postgres}
  dbname=q2q_capacity_$$
  psql "$admin" -qc "CREATE DATABASE $dbname" >/dev/null
  dropdb=$admin
  database=${admin%/*}/$dbname
fi
[ -n "$database" ] && fleet=(--database "$database" --advertise 127.0.0.1)
servers=
spids=
for n in $(seq "$nodes"); do
  port=$(free_port)
  if ((n > 1)); then # another node of the domain: the same CA, as an administrator copies it
    mkdir -p "$work/server$n"
    cp -rp "$work/server1/." "$work/server$n"/
    rm -f "$work/server$n"/q2q.db*
  fi
  # through the launcher, so the server gets the JVM options a user's would; it execs java, so $!
  # is the server's pid. Q2Q_SERVER_JAVA_OPTS: extra JVM options, e.g. a profiler agent or a GC
  Q2Q_JAVA_OPTS="-Xmx$heap ${Q2Q_SERVER_JAVA_OPTS:-}" ./q2q server --data "$work/server$n" --port "$port" \
    --bind 127.0.0.1 "${fleet[@]}" >"$work/server$n.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 150); do grep -q "listening" "$work/server$n.log" && break; sleep 0.2; done
  grep -q "listening" "$work/server$n.log" || { cat "$work/server$n.log"; echo "node $n did not start" >&2; exit 1; }
  servers+=${servers:+,}127.0.0.1:$port
  spids+=${spids:+,}${pids[-1]}
done
echo "nodes: $nodes ($servers)${database:+, database ${database%%@*}@...}"
server_java=$({ jcmd "${pids[0]}" VM.version 2>/dev/null || true; } | sed -n 's/^JDK \([0-9.]*\).*/\1/p')
server_gc=$({ jcmd "${pids[0]}" VM.flags 2>/dev/null || true; } | { grep -oE -- '-XX:\+Use[A-Za-z0-9]+GC' || true; } \
  | head -1 | sed -E 's/-XX:\+Use(.*)/\1/')
echo "server JVM: Java ${server_java:-?}, ${server_gc:-?}"
echo "RESULT server_java=${server_java:-?}"
echo "RESULT server_gc=${server_gc:-?}"
# shellcheck disable=SC2086 # Q2Q_LOAD_JAVA_OPTS: extra JVM options for the load generator
java -Xmx2g ${Q2Q_LOAD_JAVA_OPTS:-} -cp "$jar:$work/classes" CapacityLoad --server "$servers" --domain localhost \
  --data "$work/server1" --server-pid "$spids" "${args[@]}"
