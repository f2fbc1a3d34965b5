#!/usr/bin/env bash
# Whole-command time of `q2q send` of a small file to a receiver already listening on loopback,
# through the launcher with its start-up archive (the default) and without it (Q2Q_CDS=0),
# interleaved repetitions, medians. Issue 11's goal: under 1 s on a warm machine.
#
# Usage: bench/small-send.sh [--reps 7]
set -euo pipefail
cd "$(dirname "$0")/.."
reps=7
while (($#)); do
  case "$1" in
    --reps) reps=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
./q2q --version >/dev/null # builds the jar and the start-up archive when missing or stale

work=$(mktemp -d "${TMPDIR:-/tmp}/q2q-small.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }

port=$(free_port)
export Q2Q_HOME="$work/home" Q2Q_SERVERS="localhost=127.0.0.1:$port"
./q2q server --data "$work/server" --port "$port" --bind 127.0.0.1 >"$work/server.log" 2>&1 & pids+=($!)
for i in $(seq 100); do grep -q "listening" "$work/server.log" && break; sleep 0.1; done
fp=$(./q2q identify localhost 2>/dev/null | grep -o 'SHA256:[0-9a-f:]*' | head -1)
for who in alice bob; do
  echo secret | ./q2q register "$who@localhost" --server "127.0.0.1:$port" --password-stdin \
    --ca-fingerprint "$fp" >/dev/null
done
mkdir -p "$work/in"
./q2q receive --as bob@localhost --dir "$work/in" >"$work/receive.log" 2>&1 & pids+=($!)
for i in $(seq 300); do grep -q "^ready:" "$work/receive.log" && break; sleep 0.1; done
grep -q "^ready:" "$work/receive.log" || { cat "$work/receive.log"; echo "the receiver did not start" >&2; exit 1; }
echo hello >"$work/hello.txt"

send() { # prints seconds
  local t0 t1; t0=$(now)
  Q2Q_CDS=$1 ./q2q send --as alice@localhost bob@localhost "$work/hello.txt" >"$work/send.log" 2>&1 \
    || { cat "$work/send.log" >&2; exit 1; }
  t1=$(now)
  rm -rf "${work:?}/in"/*
  python3 -c "print(f'{$t1 - $t0:.3f}')"
}

echo "q2q send of a 6-byte file, whole command, $reps interleaved repetitions, $(nproc) cpus, $(java -version 2>&1 | head -1)"
send 1 >/dev/null; send 0 >/dev/null # warm the page cache
with=() without=()
for r in $(seq "$reps"); do
  a=$(send 1); b=$(send 0)
  echo "  rep $r: with the start-up archive $a s, without $b s"
  with+=("$a") without+=("$b")
done
python3 - "${with[*]}" "${without[*]}" <<'PY'
import statistics, sys
w, wo = (list(map(float, a.split())) for a in sys.argv[1:])
print(f"median: {statistics.median(w):.2f} s with the start-up archive, {statistics.median(wo):.2f} s without "
      f"(ratio {statistics.median(w) / statistics.median(wo):.2f}); goal < 1 s")
PY
