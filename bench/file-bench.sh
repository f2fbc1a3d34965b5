#!/bin/sh
# The file layer end to end in one warm JVM (see FileTransferBench): MB/s and CPU per MiB.
# Usage: bench/file-bench.sh [MiB [ROUNDS [direct|relay]]]
set -eu
cd "$(dirname "$0")/.."
mvn -B -q install -pl proto,certstore,ptcp,presence-server -DskipTests
mvn -B -q test-compile -pl q2q-client
mvn -B -q dependency:build-classpath -pl q2q-client -Dmdep.includeScope=test -Dmdep.outputFile=target/bench-classpath.txt >/dev/null
exec java -Xmx1g -Dio.netty.leakDetection.level=disabled -Dlogback.configurationFile=bench/logback-bench.xml \
  -cp "q2q-client/target/test-classes:q2q-client/target/classes:$(cat q2q-client/target/bench-classpath.txt)" \
  org.q2q.client.FileTransferBench "$@"
