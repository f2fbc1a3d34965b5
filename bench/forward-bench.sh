#!/usr/bin/env bash
# Port forwarding benchmark, loopback only: wrk (2 threads, 50 connections, a 1 KiB file) against a
# local nginx directly and through `q2q expose` + `q2q forward` (interleaved repetitions, medians,
# the ratio and p99), then a 1 GiB download with curl directly and through the tunnel.
# Needs wrk, nginx (nginx-light), curl. Figures: bench/forward-results.md.
# With OpenSSH installed (apt-get install openssh-server openssh-client), the same load through
# `ssh -L` to a private sshd on loopback is measured beside it: the tool the issue names as the level.
# Usage: bench/forward-bench.sh [--reps 5] [--seconds 10] [--gib-reps 3] [--connections 50] [--warmup 240]
#   --warmup: seconds of wrk through the tunnel before the measured runs (the JIT; see below)
#   --connections: wrk's connections (the issue's figure is 50: the tunnel saturated, so its p99 is
#   mostly queueing, mean latency = connections / rate; fewer show the latency the tunnel adds)
set -euo pipefail
cd "$(dirname "$0")/.."
reps=5; seconds=10; gib_reps=3; connections=50; warmup=240
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) reps=$2; shift 2;;
    --seconds) seconds=$2; shift 2;;
    --gib-reps) gib_reps=$2; shift 2;;
    --connections) connections=$2; shift 2;;
    --warmup) warmup=$2; shift 2;;
    *) echo "usage: $0 [--reps N] [--seconds S] [--gib-reps N] [--connections N] [--warmup S]" >&2; exit 2;;
  esac
done
for tool in wrk nginx curl java; do
  command -v "$tool" >/dev/null || { echo "forward-bench: $tool is needed (apt-get install wrk nginx-light curl)" >&2; exit 2; }
done

jar=tools/target/q2q.jar
if [ ! -f "$jar" ] || [ -n "$(find . \( -name target -o -name .git \) -prune -o -path '*/src/main/*' -type f -newer "$jar" -print -quit)" ]; then
  echo "building $jar ..." >&2
  mvn -B -q -DskipTests package >&2
fi

tmp=$(mktemp -d /tmp/q2q-forward-bench.XXXXXX)
chmod 755 "$tmp"  # nginx workers run as another user
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$tmp/nginx.pid" ] && kill "$(cat "$tmp/nginx.pid")" 2>/dev/null || true
  [ -f "$tmp/sshd.pid" ] && kill "$(cat "$tmp/sshd.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# --- nginx on 127.0.0.1 serving a 1 KiB file and a 1 GiB (sparse) file ---
mkdir -p "$tmp/www" "$tmp/nginx"
head -c 1024 /dev/urandom >"$tmp/www/1k.bin"
truncate -s 1G "$tmp/www/1g.bin"
nginx_port=$(free_port)
cat >"$tmp/nginx.conf" <<NGINX
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  keepalive_requests 1000000;
  client_body_temp_path $tmp/nginx;
  proxy_temp_path $tmp/nginx;
  fastcgi_temp_path $tmp/nginx;
  uwsgi_temp_path $tmp/nginx;
  scgi_temp_path $tmp/nginx;
  server {
    listen 127.0.0.1:$nginx_port;
    root $tmp/www;
  }
}
NGINX
nginx -p "$tmp/nginx" -c "$tmp/nginx.conf"

# --- presence server, two identities, expose + forward ---
java_opts=${Q2Q_JAVA_OPTS:-"-Xmx512m -Dio.netty.leakDetection.level=disabled"}
q2q() { java $java_opts -jar "$jar" "$@"; }
start_bg() { # home out err args...: a q2q process in the background, its pid remembered for the cleanup
  local home=$1 out=$2 err=$3; shift 3
  Q2Q_HOME="$home" java $java_opts -jar "$jar" "$@" >"$out" 2>"$err" &
  pids+=($!)
}
await_line() { # file prefix
  for _ in $(seq 600); do grep -m1 "^$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "forward-bench: no '$2' line in $1:" >&2; cat "$1" >&2; exit 1
}
start_bg "$tmp/home-server" "$tmp/server.out" "$tmp/server.err" server --port 0 --bind 127.0.0.1 --data "$tmp/data"
server_port=$(await_line "$tmp/server.out" "q2q presence server" | sed -E 's/.*, port ([0-9]+) .*/\1/') # the gRPC port, not the relay port after it
for who in bob alice; do
  echo secret | Q2Q_HOME="$tmp/home-$who" q2q register "$who@localhost" --server "127.0.0.1:$server_port" --password-stdin --yes >/dev/null
done
start_bg "$tmp/home-bob" "$tmp/expose.out" "$tmp/expose.err" expose web "127.0.0.1:$nginx_port"
await_line "$tmp/expose.out" "ready:" >&2
fwd_port=$(free_port)
start_bg "$tmp/home-alice" "$tmp/forward.out" "$tmp/forward.err" forward "127.0.0.1:$fwd_port" bob@localhost/web
await_line "$tmp/forward.out" "ready:" >&2

direct="http://127.0.0.1:$nginx_port"
tunnel="http://127.0.0.1:$fwd_port"

# --- ssh -L through a private sshd (its own keys, config and port; nothing of the system's) ---
ssh_url=
if [ -x /usr/sbin/sshd ] && command -v ssh >/dev/null; then
  mkdir -p "$tmp/ssh" && chmod 700 "$tmp/ssh"
  ssh-keygen -q -t ed25519 -N "" -f "$tmp/ssh/host" && ssh-keygen -q -t ed25519 -N "" -f "$tmp/ssh/user"
  cp "$tmp/ssh/user.pub" "$tmp/ssh/authorized_keys"
  [ "$(id -u)" = 0 ] && mkdir -p /run/sshd # privilege separation directory, needed when run as root
  ssh_port=$(free_port); ssh_fwd=$(free_port)
  cat >"$tmp/ssh/sshd_config" <<SSHD
Port $ssh_port
ListenAddress 127.0.0.1
HostKey $tmp/ssh/host
PidFile $tmp/sshd.pid
AuthorizedKeysFile $tmp/ssh/authorized_keys
StrictModes no
PermitRootLogin prohibit-password
PasswordAuthentication no
UsePAM no
AllowTcpForwarding yes
SSHD
  if /usr/sbin/sshd -f "$tmp/ssh/sshd_config" -E "$tmp/ssh/sshd.log"; then
    ssh -i "$tmp/ssh/user" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
      -o ExitOnForwardFailure=yes -p "$ssh_port" -N -L "127.0.0.1:$ssh_fwd:127.0.0.1:$nginx_port" "$(id -un)@127.0.0.1" &
    pids+=($!)
    for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$ssh_fwd/1k.bin" && ssh_url=http://127.0.0.1:$ssh_fwd && break; sleep 0.1; done
  fi
  [ -n "$ssh_url" ] || echo "forward-bench: sshd/ssh -L did not start; measuring without it (see $tmp/ssh/sshd.log)" >&2
fi

# CPU seconds used by the q2q processes (server, exposer, forwarder): steadier than wall-clock
# rates on a shared machine
q2q_cpu() { local t=0 p; for p in "${q2q_pids[@]}"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done
  awk -v t="$t" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", t/hz}'; }

q2q_pids=("${pids[@]:0:3}") # server, exposer, forwarder (not ssh)

# --- wrk, interleaved ---
run_wrk() { # url -> "req_per_s p99_ms"
  wrk -t2 -c"$connections" -d"${seconds}s" --latency "$1/1k.bin" >"$tmp/wrk.txt"
  local rps p99
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$tmp/wrk.txt")
  p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v=v*1000}; print v}' "$tmp/wrk.txt")
  if grep -q 'Socket errors\|Non-2xx' "$tmp/wrk.txt"; then grep 'Socket errors\|Non-2xx' "$tmp/wrk.txt" >&2; fi
  echo "$rps $p99"
}
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# A forwarder runs for hours: measure it warm. Its hot paths are compiled within seconds, but C2
# keeps recompiling the per-connection ones (deoptimized by each new round of wrk connections) for
# minutes; the p99 through the tunnel falls from ~1 s to ~10 ms over the first 30 s and to ~5 ms
# after 80-100 s (-Xlog:jit+compilation, 2-core machine). At 150-200 s of uptime the forwarder's
# compiler threads still took 8% of its CPU (async-profiler; C2 recompiling whole inlined trees such
# as ByteToMessageDecoder.callDecode, ~0.5 s each, after unstable_if deoptimizations in the NIO and
# TLS paths); at 440 s about 0.1 s of compiling per 45 s. With 90 s the tunnel's median p99 was
# 5.0-6.2 ms, with 240 s 4.2 ms (2026-12-04). Rounds of $seconds s, as measured.
# Then one round of the measured pattern (direct, ssh -L, tunnel), not counted: the first tunnel run
# after the first direct and ssh -L runs had the highest p99 of its run in 8 of 8 runs (6.6-58 ms,
# the later ones 4.3-7.8 ms; 2026-12-04). Cause not found: not the tunnel's JIT (a run whose
# allocator change removed its deoptimizations there kept the outlier), not idleness (after 30 s
# without traffic the tunnel's first run had 4.1-5.8 ms).
echo "warm-up: ${warmup}s through the tunnel (new connections every ${seconds}s), then one uncounted round" >&2
for _ in $(seq $(( (warmup + seconds - 1) / seconds ))); do run_wrk "$tunnel" >/dev/null; done
run_wrk "$direct" >/dev/null
# the exposer prints a line per finished connection, naming where the peer's session comes from
route=$({ grep -m1 '^connection' "$tmp/expose.out" || true; } | sed -E 's/^connection [^:]*: [^ ]+ ((via|from) [^,]*),.*/\1/')
echo "tunnel route: ${route:-unknown}" >&2
: >"$tmp/direct.txt"; : >"$tmp/tunnel.txt"; : >"$tmp/rcpu.txt"; : >"$tmp/ssh.txt"
[ -n "$ssh_url" ] && run_wrk "$ssh_url" >/dev/null
run_wrk "$direct" >/dev/null; run_wrk "$tunnel" >/dev/null
for i in $(seq "$reps"); do
  d=$(run_wrk "$direct"); echo "$d" >>"$tmp/direct.txt"
  c0=$(q2q_cpu)
  t=$(run_wrk "$tunnel"); echo "$t" >>"$tmp/tunnel.txt"
  # CPU microseconds of the q2q processes per request through the tunnel
  awk -v a="$c0" -v b="$(q2q_cpu)" -v r="${t%% *}" -v s="$seconds" 'BEGIN {printf "%.0f\n", (b-a)*1e6/(r*s)}' >>"$tmp/rcpu.txt"
  s=; [ -n "$ssh_url" ] && { s=$(run_wrk "$ssh_url"); echo "$s" >>"$tmp/ssh.txt"; }
  echo "rep $i: direct $d | tunnel $t${s:+ | ssh -L $s}   (req/s p99_ms)" >&2
done
d_rps=$(cut -d' ' -f1 "$tmp/direct.txt" | median); d_p99=$(cut -d' ' -f2 "$tmp/direct.txt" | median)
t_rps=$(cut -d' ' -f1 "$tmp/tunnel.txt" | median); t_p99=$(cut -d' ' -f2 "$tmp/tunnel.txt" | median)
rcpu=$(median <"$tmp/rcpu.txt")
ratio=$(awk -v a="$t_rps" -v b="$d_rps" 'BEGIN {printf "%.2f", a/b}')
ssh_line="  ssh -L          (no sshd: apt-get install openssh-server openssh-client)"
if [ -n "$ssh_url" ]; then
  s_rps=$(cut -d' ' -f1 "$tmp/ssh.txt" | median); s_p99=$(cut -d' ' -f2 "$tmp/ssh.txt" | median)
  ssh_line="  ssh -L          $(printf '%9.0f' "$s_rps") req/s   p99 ${s_p99} ms   ($(awk -v a="$s_rps" -v b="$d_rps" 'BEGIN {printf "%.2f", a/b}') of direct; the tunnel is $(awk -v a="$t_rps" -v b="$s_rps" 'BEGIN {printf "%.2f", a/b}') of ssh -L)"
fi

# --- 1 GiB download, interleaved ---
run_curl() { curl -s -o /dev/null -w '%{speed_download}\n' "$1/1g.bin"; }
: >"$tmp/gd.txt"; : >"$tmp/gt.txt"; : >"$tmp/gcpu.txt"
for i in $(seq "$gib_reps"); do
  d=$(run_curl "$direct"); echo "$d" >>"$tmp/gd.txt"
  c0=$(q2q_cpu)
  t=$(run_curl "$tunnel"); echo "$t" >>"$tmp/gt.txt"
  awk -v a="$c0" -v b="$(q2q_cpu)" 'BEGIN {printf "%.2f\n", b-a}' >>"$tmp/gcpu.txt"
  echo "1 GiB rep $i: direct $(awk -v b="$d" 'BEGIN {printf "%.0f", b/1048576}') MiB/s | tunnel $(awk -v b="$t" 'BEGIN {printf "%.0f", b/1048576}') MiB/s" >&2
done
gd=$(median <"$tmp/gd.txt"); gt=$(median <"$tmp/gt.txt"); gcpu=$(median <"$tmp/gcpu.txt")

cat <<OUT
tunnel route: ${route:-unknown}; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)
wrk -t2 -c$connections -d${seconds}s, 1 KiB file, median of $reps interleaved runs:
  direct          $(printf '%9.0f' "$d_rps") req/s   p99 ${d_p99} ms
  expose+forward  $(printf '%9.0f' "$t_rps") req/s   p99 ${t_p99} ms
$ssh_line
  ratio           $ratio (goal >= 0.45, p99 < 5 ms)
  q2q processes' CPU per request through the tunnel: ${rcpu} us (server + exposer + forwarder)
1 GiB download with curl, median of $gib_reps interleaved runs:
  direct          $(awk -v b="$gd" 'BEGIN {printf "%.0f", b/1048576}') MiB/s
  expose+forward  $(awk -v b="$gt" 'BEGIN {printf "%.0f", b/1048576}') MiB/s   ($(awk -v a="$gt" -v b="$gd" 'BEGIN {printf "%.2f", a/b}') of direct)
  q2q processes' CPU per GiB through the tunnel: ${gcpu} s (server + exposer + forwarder)
OUT
