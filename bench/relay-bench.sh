#!/bin/sh
# Relay throughput vs plain TLS, and server memory under a stalled receiver (see RelayBench).
# Usage: bench/relay-bench.sh [--size-mib 1024] [--concurrent 8] [--concurrent-size-mib 128] [--stall-seconds 10] [--window-mib N]
#        [--warmup-mib 512] [--relay-only]   (relay-only: one relay transfer after the warm-up, for profiling)
set -eu
cd "$(dirname "$0")/.."
mvn -B -q install -pl proto,certstore,presence-server -DskipTests
mvn -B -q test-compile -pl q2q-client
mvn -B -q dependency:build-classpath -pl q2q-client -Dmdep.includeScope=test -Dmdep.outputFile=target/bench-classpath.txt >/dev/null
exec java -Xmx1g -Dio.netty.leakDetection.level=disabled -Dlogback.configurationFile=bench/logback-bench.xml \
  -cp "q2q-client/target/test-classes:q2q-client/target/classes:$(cat q2q-client/target/bench-classpath.txt)" \
  org.q2q.client.RelayBench "$@"
