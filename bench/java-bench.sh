#!/bin/sh
# Runs a benchmark main class from the q2q-client test classes on the test classpath, after
# building what it needs. Usage: bench/java-bench.sh CLASS [ARGS...]  (the other scripts call it)
set -eu
cd "$(dirname "$0")/.."
class=$1
shift
mvn -B -q install -pl proto,certstore,ptcp,presence-server -DskipTests
mvn -B -q test-compile -pl q2q-client
mvn -B -q dependency:build-classpath -pl q2q-client -Dmdep.includeScope=test -Dmdep.outputFile=target/bench-classpath.txt >/dev/null
exec java -Xmx1g -Dio.netty.leakDetection.level=disabled -Dlogback.configurationFile=bench/logback-bench.xml \
  -cp "q2q-client/target/test-classes:q2q-client/target/classes:$(cat q2q-client/target/bench-classpath.txt)" \
  "$class" "$@"
