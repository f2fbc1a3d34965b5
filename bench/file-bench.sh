#!/usr/bin/env bash
# File transfer benchmarks (issue 11), whole commands on loopback, interleaved repetitions, medians:
#   1. one file of --size-mib MiB: q2q send vs a raw TCP copy (socat) vs magic-wormhole
#   2. a folder of --files small files (--file-kib each): q2q send vs tar | socat | tar vs magic-wormhole
#   3. the whole-command time of a small q2q send (1 KiB to a listening receiver)
#   4. the file layer alone, in one JVM over an in-memory link (FileLayerBench): MB/s and files/s
# magic-wormhole runs with its own local mailbox server and transit relay (Debian's magic-wormhole,
# python3-magic-wormhole-mailbox-server, magic-wormhole-transit-relay); skipped with a note if absent.
#
# Usage: bench/file-bench.sh [--size-mib 1024] [--files 10000] [--file-kib 4] [--reps 3] [--route auto]
#                            [--no-wormhole] [--no-layer]
#        bench/file-bench.sh --layer [MiB [FILES [ROUNDS]]]   the file layer alone (4. only)
#        bench/file-bench.sh --jvm [MiB [ROUNDS [direct|relay]]]   one warm JVM through a real peer session
# Needs: socat, tar, python3, Java 17, Maven (the q2q launcher builds the jar if needed).
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  --layer) shift; exec bench/java-bench.sh org.q2q.client.files.FileLayerBench "$@" ;;
  --jvm) shift; exec bench/java-bench.sh org.q2q.client.FileTransferBench "$@" ;;
esac
size_mib=1024 files=10000 file_kib=4 reps=3 route=auto wormhole=1 layer=1
while (($#)); do
  case "$1" in
    --size-mib) size_mib=$2; shift 2 ;;
    --files) files=$2; shift 2 ;;
    --file-kib) file_kib=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --route) route=$2; shift 2 ;;
    --no-wormhole) wormhole=0; shift ;;
    --no-layer) layer=0; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
command -v socat >/dev/null || { echo "needs socat (apt-get install socat)" >&2; exit 2; }
if ((wormhole)) && ! { command -v wormhole >/dev/null && command -v twist3 >/dev/null; }; then
  echo "note: magic-wormhole skipped (apt-get install magic-wormhole python3-magic-wormhole-mailbox-server magic-wormhole-transit-relay)"
  wormhole=0
fi
./q2q --help >/dev/null # builds the jar when missing or stale

work=$(mktemp -d "${TMPDIR:-/tmp}/q2q-file-bench.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2 - $1:.2f}')"; }
mbps() { python3 -c "print(f'{$1 / 1e6 / ($3 - $2):.1f}')"; }
# sha256 of every file under a folder, by relative path (and the empty folders), to compare copies
digest_tree() { (cd "$1" && find . -path ./.q2q-partial -prune -o \( -type f -print0 -o -type d -empty -print0 \) | sort -z \
  | xargs -0 -r sh -c 'for f; do if [ -d "$f" ]; then echo "dir $f"; else sha256sum "$f"; fi; done' sh | sha256sum | cut -c1-16); }

# the payloads
big="$work/src/big.bin"
mkdir -p "$work/src/folder"
head -c "$((size_mib << 20))" /dev/urandom > "$big"
bytes=$(stat -c %s "$big")
python3 - "$work/src/folder" "$files" "$file_kib" <<'EOF'
import os, sys
root, n, kib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    d = os.path.join(root, f"d{i // 100:03d}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i:05d}.txt"), "wb") as f:
        f.write(os.urandom(kib * 1024))
EOF
folder_bytes=$(du -sb "$work/src/folder" | cut -f1)
folder_digest=$(digest_tree "$work/src/folder")

# q2q: a server, two users, a listening receiver
port=$(free_port)
export Q2Q_HOME="$work/home" Q2Q_SERVERS="localhost=127.0.0.1:$port"
./q2q server --data "$work/server" --port "$port" --bind 127.0.0.1 >"$work/server.log" 2>&1 & pids+=($!)
for _ in $(seq 100); do grep -q "listening" "$work/server.log" && break; sleep 0.1; done
for who in alice bob; do
  echo secret | ./q2q register "$who@localhost" --server "127.0.0.1:$port" --password-stdin --yes >/dev/null
done
mkdir -p "$work/in"
./q2q receive --as bob@localhost --dir "$work/in" >"$work/receive.log" 2>&1 & pids+=($!)
for _ in $(seq 300); do grep -q "^ready:" "$work/receive.log" && break; sleep 0.1; done
grep -q "^ready:" "$work/receive.log" || { cat "$work/receive.log"; echo "the receiver did not start" >&2; exit 1; }

# magic-wormhole: its own mailbox server and transit relay on loopback
if ((wormhole)); then
  mport=$(free_port) tport=$(free_port)
  # exec: the subshell becomes twist3, so the cleanup's kill reaches it (it was left running)
  (cd "$work" && exec twist3 wormhole-mailbox --port "tcp:$mport:interface=127.0.0.1" >"$work/mailbox.log" 2>&1) & pids+=($!)
  (cd "$work" && exec twist3 transitrelay --port "tcp:$tport:interface=127.0.0.1" >"$work/transit.log" 2>&1) & pids+=($!)
  sleep 2
  wh() { wormhole --relay-url "ws://127.0.0.1:$mport/v1" --transit-helper "tcp:127.0.0.1:$tport" "$@"; }
fi

reset_in() { rm -rf "$work/in" "$work/out"; mkdir -p "$work/in" "$work/out"; }

# each prints seconds; each checks its copy
t_socat_file() {
  local p; p=$(free_port)
  socat -u "TCP-LISTEN:$p,bind=127.0.0.1,reuseaddr" "OPEN:$work/out/big.bin,creat,trunc" & local rx=$!
  sleep 0.3 # the receiver listens before the clock starts, as q2q's does
  local t0; t0=$(now)
  socat -u "OPEN:$big" "TCP:127.0.0.1:$p"
  wait "$rx"
  local t1; t1=$(now)
  cmp -s "$big" "$work/out/big.bin" || { echo "socat copy differs" >&2; exit 1; }
  secs "$t0" "$t1"
}
t_tar_folder() {
  local p; p=$(free_port)
  (socat -u "TCP-LISTEN:$p,bind=127.0.0.1,reuseaddr" - | tar -x -C "$work/out") & local rx=$!
  sleep 0.3
  local t0; t0=$(now)
  tar -c -C "$work/src" folder | socat -u - "TCP:127.0.0.1:$p"
  wait "$rx"
  local t1; t1=$(now)
  [ "$(digest_tree "$work/out/folder")" = "$folder_digest" ] || { echo "tar copy differs" >&2; exit 1; }
  secs "$t0" "$t1"
}
t_q2q() { # PATH CHECK-NAME
  local t0; t0=$(now)
  ./q2q send --as alice@localhost --transport "$route" --quiet bob@localhost "$1" >"$work/send.log" 2>&1 \
    || { cat "$work/send.log" >&2; exit 1; }
  local t1; t1=$(now)
  grep -q "all stored and verified" "$work/send.log" || { cat "$work/send.log" >&2; exit 1; }
  if [ -d "$1" ]; then
    [ "$(digest_tree "$work/in/$2")" = "$folder_digest" ] || { echo "q2q folder copy differs" >&2; exit 1; }
  else
    cmp -s "$1" "$work/in/$2" || { echo "q2q copy differs" >&2; exit 1; }
  fi
  secs "$t0" "$t1"
}
t_wormhole() { # PATH
  local code="7-bench-$RANDOM"
  (cd "$work/out" && wh receive --accept-file --hide-progress "$code" >"$work/wh-recv.log" 2>&1) & local rx=$!
  local t0; t0=$(now)
  wh send --code "$code" --hide-progress "$1" >"$work/wh-send.log" 2>&1 || { cat "$work/wh-send.log" >&2; exit 1; }
  wait "$rx" || { cat "$work/wh-recv.log" >&2; exit 1; }
  local t1; t1=$(now)
  local name; name=$(basename "$1")
  if [ -d "$1" ]; then
    [ "$(digest_tree "$work/out/$name")" = "$folder_digest" ] || { echo "wormhole folder copy differs" >&2; exit 1; }
  else
    cmp -s "$1" "$work/out/$name" || { echo "wormhole copy differs" >&2; exit 1; }
  fi
  secs "$t0" "$t1"
}

median() { python3 -c "import statistics, sys; print(f'{statistics.median(map(float, sys.argv[1:])):.2f}')" "$@"; }
echo "file transfer on loopback: $(nproc) cpus, $(java -version 2>&1 | head -1), $reps interleaved repetitions, q2q --transport $route"

reset_in; t_q2q "$big" big.bin >/dev/null # warm the page cache and the disk path once
declare -a sf qf wf st qt wt
for r in $(seq "$reps"); do
  reset_in; sf+=("$(t_socat_file)")
  reset_in; qf+=("$(t_q2q "$big" big.bin)")
  if ((wormhole)); then reset_in; wf+=("$(t_wormhole "$big")"); fi
  reset_in; st+=("$(t_tar_folder)")
  reset_in; qt+=("$(t_q2q "$work/src/folder" folder)")
  if ((wormhole)); then reset_in; wt+=("$(t_wormhole "$work/src/folder")"); fi
  echo "  rep $r: file: socat ${sf[-1]} s, q2q ${qf[-1]} s${wf:+, wormhole ${wf[-1]} s};" \
    "folder: tar|socat ${st[-1]} s, q2q ${qt[-1]} s${wt:+, wormhole ${wt[-1]} s}"
done
m=$(median "${sf[@]}"); q=$(median "${qf[@]}")
echo "median, $size_mib MiB file: socat $m s ($(mbps "$bytes" 0 "$m") MB/s), q2q send $q s ($(mbps "$bytes" 0 "$q") MB/s)" \
  "${wf:+, magic-wormhole $(median "${wf[@]}") s}"
m=$(median "${st[@]}"); q=$(median "${qt[@]}")
echo "median, $files files of $file_kib KiB ($folder_bytes bytes): tar|socat $m s, q2q send $q s" \
  "($(python3 -c "print(f'{$files / $q:.0f}')") files/s)${wt:+, magic-wormhole $(median "${wt[@]}") s}"

# the whole command for a small file: JVM start, connect, offer, one chunk, confirmation
head -c 1024 /dev/urandom > "$work/src/small.txt"
declare -a ss
for r in $(seq $((reps * 3))); do reset_in; ss+=("$(t_q2q "$work/src/small.txt" small.txt)"); done
echo "median whole 'q2q send' of 1 KiB to a listening receiver: $(median "${ss[@]}") s (${ss[*]})"

if ((layer)); then
  echo "the file layer alone (one JVM, in-memory link, real disk):"
  bench/java-bench.sh org.q2q.client.files.FileLayerBench "$size_mib" "$files" "$reps"
fi
