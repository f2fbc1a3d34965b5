#!/usr/bin/env bash
# q2q send over each route vs a raw TCP copy of the same file into a file (socat): now part of
# bench/run (scenarios direct, ptcp, relay). Kept for its old options.
# Usage: bench/direct-bench.sh [--size-mib 1024] [--reps 3] [--routes "direct ptcp relay"]
set -euo pipefail
size_mib=1024 reps=3 routes="direct"
while (($#)); do
  case "$1" in
    --size-mib) size_mib=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --routes) routes=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
# shellcheck disable=SC2086 # routes is a list of names
exec "$(dirname "$0")/run" --size "$size_mib" --reps "$reps" $routes
