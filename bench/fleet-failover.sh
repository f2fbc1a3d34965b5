#!/usr/bin/env bash
# Issue 14: how long a dead node's listeners take to be reachable again. Three `q2q server` nodes of
# the domain "localhost" on one PostgreSQL database (a fresh one on $Q2Q_TEST_POSTGRES, default
# postgresql://q2q:q2q-test@127.0.0.1:5432/postgres, dropped at the end); bob receives on node 3,
# given node 3 alone (he learns the others from it); alice sends from node 1. Then node 3 is killed
# (SIGKILL: no goodbye in the directory, its row stays fresh for 5 s) and alice sends again and
# again until a send succeeds. Prints the time from the kill to that success, and a normal send's
# time for comparison, per repetition (the receiver restarts on node 3 each time).
#
# Usage: bench/fleet-failover.sh [--reps 3]
set -euo pipefail
cd "$(dirname "$0")/.."
reps=3
while (($#)); do
  case "$1" in
    --reps) reps=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
./q2q --version >/dev/null # builds the jar when missing or stale
work=$(mktemp -d "${TMPDIR:-/tmp}/q2q-failover.XXXXXX")
admin=${Q2Q_TEST_POSTGRES:-postgresql://q2q:q2q-test@127.0.0.1:5432/postgres}
dbname=q2q_failover_$$
declare -A node_pid
rpid=
cleanup() {
  for p in "${node_pid[@]}" $rpid; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql "$admin" -qc "DROP DATABASE IF EXISTS $dbname WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 143' INT TERM
psql "$admin" -qc "CREATE DATABASE $dbname" >/dev/null
database=${admin%/*}/$dbname
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
declare -A node_port

start_node() { # n
  local n=$1
  [ -n "${node_port[$n]:-}" ] || node_port[$n]=$(free_port)
  if ((n > 1)); then
    mkdir -p "$work/node$n" && cp -p "$work/node1/ca.crt" "$work/node1/ca.key" "$work/node$n/"
  fi
  ./q2q server --data "$work/node$n" --port "${node_port[$n]}" --bind 127.0.0.1 --advertise 127.0.0.1 \
    --database "$database" >"$work/node$n.log" 2>&1 &
  node_pid[$n]=$!
  for _ in $(seq 150); do grep -q "listening" "$work/node$n.log" && return; sleep 0.2; done
  cat "$work/node$n.log"; echo "node $n did not start" >&2; exit 1
}
for n in 1 2 3; do start_node "$n"; done
export Q2Q_HOME="$work/home"
fp=$(./q2q identify localhost --server "127.0.0.1:${node_port[1]}" 2>/dev/null | grep -o 'SHA256:[0-9a-f:]*' | head -1)
echo secret | ./q2q register alice@localhost --server "127.0.0.1:${node_port[1]}" --password-stdin --ca-fingerprint "$fp" >/dev/null
echo secret | ./q2q register bob@localhost --server "127.0.0.1:${node_port[3]}" --password-stdin --ca-fingerprint "$fp" >/dev/null
echo hello >"$work/hello.txt"
mkdir -p "$work/in"

send() { # exit status of one send
  ./q2q send --as alice@localhost bob@localhost "$work/hello.txt" >"$work/send.log" 2>&1
}

echo "3 nodes on PostgreSQL, bob on node 3, $(nproc) cpus, $(java -version 2>&1 | head -1)"
took=() normal=()
for r in $(seq "$reps"); do
  ./q2q receive --as bob@localhost --dir "$work/in" --server "127.0.0.1:${node_port[3]}" >"$work/receive.log" 2>&1 &
  rpid=$!
  for _ in $(seq 300); do grep -q "^ready:" "$work/receive.log" && break; sleep 0.1; done
  grep -q "^ready:" "$work/receive.log" || { cat "$work/receive.log"; echo "the receiver did not start" >&2; exit 1; }
  until send; do sleep 0.1; done # the receiver's registration reached the directory
  rm -rf "${work:?}/in"/*
  t0=$(now); send || { cat "$work/send.log"; exit 1; }; t1=$(now) # a send's own time, for comparison
  normal+=("$(python3 -c "print(f'{$t1 - $t0:.3f}')")")
  rm -rf "${work:?}/in"/*
  kill -9 "${node_pid[3]}"; wait "${node_pid[3]}" 2>/dev/null || true
  k=$(now)
  tries=0
  until send; do tries=$((tries + 1)); ((tries < 120)) || { cat "$work/send.log"; exit 1; }; sleep 0.05; done
  d=$(now)
  took+=("$(python3 -c "print(f'{$d - $k:.3f}')")")
  echo "  rep $r: a send took ${normal[-1]} s; after node 3 was killed, the first send to succeed ended $(python3 -c "print(f'{$d - $k:.2f}')") s later ($tries failed before it)"
  rm -rf "${work:?}/in"/*
  kill "$rpid" 2>/dev/null || true; wait "$rpid" 2>/dev/null || true; rpid=
  start_node 3 # back for the next repetition (bob will be told node 3 again)
done
python3 - "${took[*]}" "${normal[*]}" <<'PY'
import statistics, sys
t, n = (list(map(float, a.split())) for a in sys.argv[1:])
print(f"median: a send started at the kill ended {statistics.median(t):.2f} s later; a send alone takes "
      f"{statistics.median(n):.2f} s, so the move cost about {max(0.0, statistics.median(t) - statistics.median(n)):.2f} s "
      f"(0: bob was on another node before the send's Inbound, ~0.6 s after its start)")
PY
