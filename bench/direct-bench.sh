#!/usr/bin/env bash
# q2q send over each route vs a raw TCP copy of the same file into a file (socat), whole commands,
# interleaved repetitions, medians and per-pair ratios. Loopback only.
#
# Usage: bench/direct-bench.sh [--size-mib 1024] [--reps 3] [--routes "direct ptcp relay"]
# (a route is a q2q send --transport value: auto, direct, ptcp or relay)
# Needs: socat (apt-get install socat), Java 17, Maven (the q2q launcher builds the jar if needed).
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=1024 reps=3 routes="direct"
while (($#)); do
  case "$1" in
    --size-mib) size_mib=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --routes) routes=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
command -v socat >/dev/null || { echo "needs socat (apt-get install socat)" >&2; exit 2; }
./q2q --help >/dev/null # builds the jar when missing or stale

work=$(mktemp -d "${TMPDIR:-/tmp}/q2q-bench.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
mbps() { python3 -c "import sys; print(f'{$1 / 1e6 / ($3 - $2):.1f}')"; }

file="$work/payload.bin"
head -c "$((size_mib << 20))" /dev/urandom > "$file"
bytes=$(stat -c %s "$file")

port=$(free_port)
export Q2Q_HOME="$work/home" Q2Q_SERVERS="localhost=127.0.0.1:$port"
./q2q server --data "$work/server" --port "$port" --bind 127.0.0.1 >"$work/server.log" 2>&1 & pids+=($!)
for i in $(seq 100); do grep -q "listening" "$work/server.log" && break; sleep 0.1; done
for who in alice bob; do
  echo secret | ./q2q register "$who@localhost" --server "127.0.0.1:$port" --password-stdin --yes >/dev/null
done
mkdir -p "$work/in"
./q2q receive --as bob@localhost --dir "$work/in" >"$work/receive.log" 2>&1 & pids+=($!)
for i in $(seq 300); do grep -q "^ready:" "$work/receive.log" && break; sleep 0.1; done
grep -q "^ready:" "$work/receive.log" || { cat "$work/receive.log"; echo "the receiver did not start" >&2; exit 1; }

socat_copy() {
  local p; p=$(free_port)
  socat -u "TCP-LISTEN:$p,bind=127.0.0.1,reuseaddr" "OPEN:$work/socat.out,creat,trunc" & local rx=$!
  sleep 0.3 # the receiver is listening before the clock starts, as q2q's is
  local t0; t0=$(now)
  socat -u "OPEN:$file" "TCP:127.0.0.1:$p"
  wait "$rx"
  local t1; t1=$(now)
  [ "$(stat -c %s "$work/socat.out")" = "$bytes" ] || { echo "socat copy incomplete" >&2; exit 1; }
  rm -f "$work/socat.out"
  mbps "$bytes" "$t0" "$t1"
}

q2q_send() {
  local t0; t0=$(now)
  ./q2q send --as alice@localhost --transport "$1" bob@localhost "$file" >"$work/send.log" 2>&1 \
    || { cat "$work/send.log" >&2; exit 1; }
  local t1; t1=$(now)
  grep -q "stored and verified" "$work/send.log" || { cat "$work/send.log" >&2; exit 1; }
  rm -f "$work/in"/*
  echo "$(mbps "$bytes" "$t0" "$t1") $(grep -o 'via [a-z ]*[^ ]*' "$work/send.log" | head -1)"
}

echo "q2q send vs socat copy into a file: $size_mib MiB, $reps interleaved repetitions, $(nproc) cpus, $(java -version 2>&1 | head -1)"
q2q_send direct >/dev/null # warm the page cache and the disk path once
for route in $routes; do
  ratios=() qs=() ss=()
  for r in $(seq "$reps"); do
    s=$(socat_copy)
    read -r q via <<<"$(q2q_send "$route")"
    ratio=$(python3 -c "print(f'{$q / $s:.2f}')")
    echo "  rep $r: socat $s MB/s, q2q --transport $route $q MB/s ($via), ratio $ratio"
    ratios+=("$ratio") qs+=("$q") ss+=("$s")
  done
  python3 - "$route" "${qs[*]}" "${ss[*]}" "${ratios[*]}" <<'EOF'
import statistics, sys
route, qs, ss, rs = sys.argv[1], *[list(map(float, a.split())) for a in sys.argv[2:]]
print(f"median {route}: q2q {statistics.median(qs):.1f} MB/s, socat {statistics.median(ss):.1f} MB/s, "
      f"ratio {statistics.median(rs):.2f} (pairwise)")
EOF
done
