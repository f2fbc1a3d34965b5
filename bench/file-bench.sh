#!/bin/sh
# The file layer end to end in one warm JVM (see FileTransferBench): MB/s and CPU per MiB.
# Usage: bench/file-bench.sh [MiB [ROUNDS [direct|relay]]]
exec "$(dirname "$0")/java-bench.sh" org.q2q.client.FileTransferBench "$@"
