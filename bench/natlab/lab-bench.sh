#!/usr/bin/env bash
# Benchmarks through the NAT lab's cone routers (natlab.sh), the real commands as processes:
#
#  1. throughput: 'q2q send --transport ptcp' of one file from alice (behind router A) to bob
#     (behind router B, 'q2q receive' already listening), the whole command, against a raw TCP copy
#     of the same file into a file between the same two namespaces (socat -u both ends). TCP cannot
#     cross two NATs on its own, so router B gets a port forward (DNAT wan:9000 -> bob:9000, and a
#     FORWARD accept for it) for the socat copy only: both copies take the same path, client A ->
#     router A (MASQUERADE) -> bridge -> router B -> client B. Interleaved repetitions, pairwise
#     ratios, medians.
#  2. connect time: 'q2q send -v --transport ptcp' of a small file, several times; from the -v lines,
#     "the server ... answered" (the Inbound answer) to "ptcp ... won" (PTCP session established and
#     TLS-verified), with the steps in between. Interleaved with 'q2q send -v' (auto) runs, to show
#     which route the race picks on cone NATs.
#
# Usage: bench/natlab/lab-bench.sh [--size-mib 1024] [--reps 3] [--latency-reps 7]
# Needs root (network namespaces), socat, python3, tools/target/q2q.jar (mvn -B package -DskipTests
# -pl tools -am). Skips with the reason where namespaces are refused.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/natlab.sh"

size_mib=1024 reps=3 lreps=7
while (($#)); do
  case "$1" in
    --size-mib) size_mib=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --latency-reps) lreps=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
command -v socat >/dev/null || die "needs socat (apt-get install socat)"
can_namespace || exit 0
[[ -f "${Q2Q_JAR:-$ROOT/tools/target/q2q.jar}" ]] || die "no q2q.jar: mvn -B package -DskipTests -pl tools -am"

CLEANUP=()
trap cleanup EXIT INT TERM
p="q2l$$b"
tmp="$(mktemp -d /tmp/natlab-bench.XXXXXX)"
CLEANUP+=("down $p" "rm -rf '$tmp'")
up cone "$p" >/dev/null
start_server "$p" "$tmp"
for who in alice:ca bob:cb; do
  register_at "$p" "${who#*:}" "$tmp" "${who%%:*}" || { cat "$tmp"/register-*.log; die "register failed"; }
done

now() { date +%s.%N; }
mbps() { python3 -c "print(f'{$1 / 1e6 / ($3 - $2):.1f}')"; }

echo "lab bench (cone NATs, no added delay): $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg), $(java -version 2>&1 | head -1)"

# ---- 1. throughput ----
file="$tmp/payload.bin"
head -c "$((size_mib << 20))" /dev/urandom >"$file"
bytes=$(stat -c %s "$file")
mkdir -p "$tmp/in"
q2q_at "$p" cb "$tmp" 3600 receive --as bob@lab.test --dir "$tmp/in" >"$tmp/receive.log" 2>&1 &
wait_for '^ready:' "$tmp/receive.log" 90 || { cat "$tmp/receive.log"; die "the receiver did not start"; }

# the port forward for the socat copy only (see the header)
in_ns "$p-rb" iptables -t nat -A PREROUTING -i wan -p tcp --dport 9000 -j DNAT --to-destination 10.0.2.2:9000
in_ns "$p-rb" iptables -A FORWARD -i wan -o lan -p tcp -d 10.0.2.2 --dport 9000 -j ACCEPT

socat_copy() {
  in_ns "$p-cb" timeout 600 socat -u TCP-LISTEN:9000,bind=10.0.2.2,reuseaddr "OPEN:$tmp/socat.out,creat,trunc" &
  local rx=$!
  sleep 0.3 # the receiver listens before the clock starts, as q2q's does
  local t0 t1; t0=$(now)
  in_ns "$p-ca" timeout 600 socat -u "OPEN:$file" TCP:203.0.113.2:9000
  wait "$rx"
  t1=$(now)
  [[ "$(stat -c %s "$tmp/socat.out")" == "$bytes" ]] || die "socat copy incomplete"
  rm -f "$tmp/socat.out"
  mbps "$bytes" "$t0" "$t1"
}

q2q_send() {
  local t0 t1; t0=$(now)
  q2q_at "$p" ca "$tmp" 900 send --as alice@lab.test --transport ptcp bob@lab.test "$file" >"$tmp/send.log" 2>&1 \
    || { cat "$tmp/send.log" >&2; die "q2q send failed"; }
  t1=$(now)
  grep -q "stored and verified" "$tmp/send.log" || { cat "$tmp/send.log" >&2; die "not verified"; }
  rm -f "$tmp/in"/*
  echo "$(mbps "$bytes" "$t0" "$t1") $(grep -o 'via [a-z ]*[^ ]*' "$tmp/send.log" | head -1)"
}

echo "1. q2q send --transport ptcp vs socat, alice@ca -> bob@cb through both routers: $size_mib MiB, $reps interleaved repetitions"
qs=() ss=() rs=()
for r in $(seq "$reps"); do
  s=$(socat_copy)
  read -r q via <<<"$(q2q_send)"
  ratio=$(python3 -c "print(f'{$q / $s:.2f}')")
  echo "  rep $r: socat $s MB/s, q2q $q MB/s ($via), ratio $ratio"
  qs+=("$q") ss+=("$s") rs+=("$ratio")
done
python3 - "${qs[*]}" "${ss[*]}" "${rs[*]}" <<'EOF'
import statistics, sys
qs, ss, rs = [list(map(float, a.split())) for a in sys.argv[1:]]
print(f"  median: q2q {statistics.median(qs):.1f} MB/s, socat {statistics.median(ss):.1f} MB/s, "
      f"ratio {statistics.median(rs):.2f} (pairwise)")
EOF
rm -f "$file"

# ---- 2. connect time ----
head -c 65536 /dev/urandom >"$tmp/small.bin"
echo "2. Inbound answer -> TLS-verified PTCP session (q2q send -v --transport ptcp, 64 KiB), $lreps runs, interleaved with auto"
: >"$tmp/latency.txt"
for r in $(seq "$lreps"); do
  for t in ptcp auto; do
    q2q_at "$p" ca "$tmp" 120 send -v --as alice@lab.test --transport "$t" bob@lab.test "$tmp/small.bin" \
      >"$tmp/lat.log" 2>&1 || { cat "$tmp/lat.log"; die "q2q send -v --transport $t failed"; }
    rm -f "$tmp/in"/*
    # the -v lines' offsets: answered, ptcp started, first probe round, punched, won (-1 if absent)
    python3 - "$t" "$tmp/lat.log" >>"$tmp/latency.txt" <<'EOF'
import re, sys
t, text = sys.argv[1], open(sys.argv[2]).read()
def at(pat):
    m = re.search(r"connect \+(\d+) ms: " + pat, text)
    return int(m.group(1)) if m else -1
route = re.search(r"^sending .* via (\S+)", text, re.M)
print(t, route.group(1) if route else "?", at(r"the server .* answered"), at(r"ptcp .* started"),
      at(r"ptcp .*: punch round 1"), at(r"ptcp .*: punched"), at(r"\S+ .* won after"))
EOF
    tail -1 "$tmp/latency.txt" | awk '{printf "  %s: via %s; answered +%s, ptcp started +%s, round 1 +%s, punched +%s, won +%s ms\n", $1, $2, $3, $4, $5, $6, $7}'
  done
done
python3 - "$tmp/latency.txt" <<'EOF'
import statistics, sys, collections
rows = [l.split() for l in open(sys.argv[1])]
p = [list(map(int, r[2:])) for r in rows if r[0] == "ptcp" and r[1] == "ptcp"]
med = lambda xs: statistics.median(xs) if xs else float("nan")
print(f"  --transport ptcp ({len(p)} runs): median answered -> won {med([r[4]-r[0] for r in p]):.0f} ms "
      f"(answered -> ptcp started {med([r[1]-r[0] for r in p]):.0f}, started -> probe round 1 (BindUdp) "
      f"{med([r[2]-r[1] for r in p]):.0f}, round 1 -> punched {med([r[3]-r[2] for r in p]):.0f}, "
      f"punched -> won (PTCP + TLS + peer session) {med([r[4]-r[3] for r in p]):.0f}); "
      f"max answered -> won {max([r[4]-r[0] for r in p], default=0)} ms")
a = collections.Counter(r[1] for r in rows if r[0] == "auto")
print("  auto picked: " + ", ".join(f"{k} {v}x" for k, v in a.items()))
EOF
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
