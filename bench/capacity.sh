#!/usr/bin/env bash
# Server capacity: a `q2q server` in its own JVM, and bench/capacity/CapacityLoad in another
# holding N Listen sessions over M TLS connections with heartbeats, then Inbound from C callers.
# Usage: bench/capacity.sh [--sessions 500] [--connections 100] [--callers 64] [--caller-ids 16] [--inbound-seconds 10]
#        [--heartbeat-seconds 15] [--server-heap 1g]
# (goal of issue 12: --sessions 50000 --connections 10000, Inbound p99 < 50 ms, >= 2000/s)
set -euo pipefail
cd "$(dirname "$0")/.."
heap=1g
args=()
while (($#)); do
  case "$1" in
    --server-heap) heap=$2; shift 2 ;;
    *) args+=("$1" "$2"); shift 2 ;;
  esac
done
# every connection is a socket on both sides: raise the open-file limit as far as allowed
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
echo "open files limit: $(ulimit -n)"
./q2q --help >/dev/null # builds the jar when missing or stale
jar=tools/target/q2q.jar
work=$(mktemp -d "${TMPDIR:-/tmp}/q2q-capacity.XXXXXX")
spid=
cleanup() { [ -n "$spid" ] && kill "$spid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 143' INT TERM
mkdir -p "$work/classes"
javac -nowarn -cp "$jar" -d "$work/classes" bench/capacity/CapacityLoad.java
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
java -Xmx"$heap" -jar "$jar" server --data "$work/server" --port "$port" --bind 127.0.0.1 >"$work/server.log" 2>&1 &
spid=$!
for _ in $(seq 150); do grep -q "listening" "$work/server.log" && break; sleep 0.2; done
grep -q "listening" "$work/server.log" || { cat "$work/server.log"; echo "the server did not start" >&2; exit 1; }
java -Xmx2g -cp "$jar:$work/classes" CapacityLoad --server "127.0.0.1:$port" --domain localhost \
  --data "$work/server" --server-pid "$spid" "${args[@]}"
