#!/bin/sh
# Time from connect() to the first echoed byte on a warm client, direct vs relay (see ConnectLatencyBench).
# Usage: bench/connect-bench.sh [ROUNDS [WARMUP]]
set -eu
cd "$(dirname "$0")/.."
mvn -B -q install -pl proto,certstore,ptcp,presence-server -DskipTests
mvn -B -q test-compile -pl q2q-client
mvn -B -q dependency:build-classpath -pl q2q-client -Dmdep.includeScope=test -Dmdep.outputFile=target/bench-classpath.txt >/dev/null
exec java -Xmx512m -Dio.netty.leakDetection.level=disabled -Dlogback.configurationFile=bench/logback-bench.xml \
  -cp "q2q-client/target/test-classes:q2q-client/target/classes:$(cat q2q-client/target/bench-classpath.txt)" \
  org.q2q.client.ConnectLatencyBench "$@"
