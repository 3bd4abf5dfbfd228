#!/bin/bash
# Instructions one run of a kit query costs the server, counted by callgrind: a figure that
# does not move with the machine's load, for judging a change on a noisy 2-core box where
# wall and CPU seconds vary by +-20 % from run to run (repeat runs agree within 0.1 %).
#
#   benches/e2e/instructions.sh BIN DATA_DIR QUERY [OUT]
#
# BIN       a fenrir release binary (built with debug info, as the release profile is)
# DATA_DIR  a server data dir already loaded with the kit and flushed (run.sh KEEP_DATA=1, or
#           load.py then POST /flush against a server on that dir)
# QUERY     a kit query name (Q1..Q8), run with the kit's run_queries.py
# OUT       callgrind output prefix (default /tmp/callgrind-<QUERY>); the counts land in
#           OUT.1, for callgrind_annotate
#
# The server starts under valgrind with instrumentation off (startup and segment index
# loading are not counted), the query runs once to warm the caches as a restart's repeated
# runs do, then instrumentation is switched on for exactly one more run. The query timeout
# is raised to 10 minutes, since callgrind runs the server about 50 times slower, and the
# kit's reruns on foreign CPU are off (a rerun would be counted too).
# Needs valgrind (apt-get install -y valgrind). Prints the kit's result line and the total.
set -euo pipefail
BIN=$1; DIR=$2; Q=$3; OUT=${4:-/tmp/callgrind-$Q}
HERE=$(cd "$(dirname "$0")" && pwd)
KIT=${KIT:-/work/shared/bench}
PORT=${PORT:-3310}
DATA=${DATA:-/tmp/perf-data-1024}
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install -y valgrind)" >&2; exit 1; }
if ss -ltn | grep -q ":$PORT "; then echo "port $PORT busy" >&2; exit 1; fi
CONFIG=$(mktemp --suffix=.yaml)
sed 's/^  max_entries_limit_per_query: 100000$/&\n  query_timeout: 10m/' "$HERE/fenrir-bench.yaml" > "$CONFIG"
grep -q "query_timeout: 10m" "$CONFIG" || { echo "could not raise query_timeout" >&2; exit 1; }
rm -f "$OUT" "$OUT".[0-9]*
FENRIR_BENCH_DATA=$DIR FENRIR_BENCH_PORT=$PORT valgrind --tool=callgrind --instr-atstart=no \
  --callgrind-out-file="$OUT" "$BIN" -config.file="$CONFIG" -config.expand-env=true \
  > "$OUT.log" 2>&1 &
VG=$!
trap 'kill $VG 2>/dev/null && wait $VG 2>/dev/null; rm -f "$CONFIG"' EXIT
for _ in $(seq 1 600); do
  curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null 2>&1 && break
  sleep 0.5
done
run() {
  python3 "$KIT/run_queries.py" --url "http://127.0.0.1:$PORT" --data "$DATA" --only "$Q" \
    --runs 1 --warmup 0 --max-load 99 --max-foreign-cores 1000
}
run >/dev/null 2>&1
callgrind_control -i on $VG >/dev/null 2>&1
run 2>&1 | grep -E "^ *$Q "
callgrind_control -d $VG >/dev/null 2>&1
callgrind_control -i off $VG >/dev/null 2>&1
callgrind_annotate "$OUT.1" 2>/dev/null | grep "PROGRAM TOTALS"
