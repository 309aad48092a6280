#!/usr/bin/env bash
# The figures of BENCHMARKS.md: every target of issue 6, 3 runs each (medians), JSON and text
# output in OUT (default /tmp/fishchat-bench/<date>, outside the repository). Usage: bash scripts/bench/baseline.sh [OUT] [RUNS]
# Build first (npx tsc -p .). Takes about 12 minutes on the 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-${TMPDIR:-/tmp}/fishchat-bench/$(date +%Y%m%d-%H%M%S)}
RUNS=${2:-3}
mkdir -p "$OUT"
BENCH="node dist/scripts/bench/main.js"

{
  echo "date: $(date -Is)"
  echo "nproc: $(nproc)"
  free -g
  echo "node: $(node -v)"
  echo "ulimit -n: $(ulimit -n) (hard $(ulimit -Hn))"
  echo "ip_local_port_range: $(cat /proc/sys/net/ipv4/ip_local_port_range)"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' (+ uncommitted changes)')"
  uptime
} | tee "$OUT/machine.txt"

run() {
  local name=$1
  shift
  echo "### $name: $BENCH $* --runs $RUNS" | tee "$OUT/$name.txt"
  # A correctness failure (exit 1) is recorded, not fatal: the other figures still get measured.
  $BENCH "$@" --runs "$RUNS" --json "$OUT/$name.json" 2>&1 | tee -a "$OUT/$name.txt" || echo "exit code $? for $name" | tee -a "$OUT/$name.txt"
}

run p2p-unpaced p2p --clients 200 --pairing cross --duration 10
run p2p-rate-20k p2p --clients 200 --pairing cross --rate 20000 --duration 10
run p2p-rate-1k p2p --clients 200 --pairing cross --rate 1000 --duration 10
run topic-20x100 topic --topics 20 --members 100 --senders 5 --duration 10
run login-10k login --clients 10000 --concurrency 200
run idle-50k idle --clients 50000
echo "results in $OUT"
