#!/bin/sh
# Runs a benchmark main class from a module's test classes on its test classpath, after building
# what it needs in the reactor (nothing is installed into ~/.m2). bench/run and the other scripts
# call it. Usage: bench/java-bench.sh [--module q2q-client] CLASS [ARGS...]
set -eu
cd "$(dirname "$0")/.."
module=q2q-client
if [ "${1:-}" = --module ]; then module=$2; shift 2; fi
class=$1
shift
build() {
  mvn -B -q "$@" -pl "$module" -am test-compile dependency:build-classpath -Dmdep.includeScope=test \
    -Dmdep.outputFile=target/bench-classpath.txt >/dev/null
}
build -o || build # offline first (the usual case once dependencies are there)
exec java -Xmx1g -Dio.netty.leakDetection.level=disabled -Dlogback.configurationFile=bench/logback-bench.xml \
  ${BENCH_JAVA_OPTS:-} -cp "$module/target/test-classes:$module/target/classes:$(cat "$module/target/bench-classpath.txt")" \
  "$class" "$@"
