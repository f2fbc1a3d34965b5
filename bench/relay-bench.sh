#!/bin/sh
# Relay throughput vs plain TLS, and server memory under a stalled receiver (see RelayBench).
# Usage: bench/relay-bench.sh [--size-mib 1024] [--concurrent 8] [--concurrent-size-mib 128] [--stall-seconds 10] [--window-mib N]
#        [--warmup-mib 512] [--relay-only]   (relay-only: one relay transfer after the warm-up, for profiling)
exec "$(dirname "$0")/java-bench.sh" org.q2q.client.RelayBench "$@"
