#!/bin/sh
# Time from connect() to the first echoed byte on a warm client, direct vs relay (see ConnectLatencyBench).
# Usage: bench/connect-bench.sh [ROUNDS [WARMUP]]
exec "$(dirname "$0")/java-bench.sh" org.q2q.client.ConnectLatencyBench "$@"
