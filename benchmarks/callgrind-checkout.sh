#!/usr/bin/env bash
# Instructions per checkout journey, which do not depend on what else the machine does: the
# embedded server under valgrind's callgrind with instrumentation off at start, a warm-up, then
# instrumentation on for a `mercato bench checkout -c 8` window. Writes OUT/cg.out (read it with
# `callgrind_annotate --inclusive=yes OUT/cg.out`) and OUT/bench.json (journeys in the window).
# The window includes the bench's fresh store (search index, argon2, token signing): compare two
# windows of different lengths, (instructions2 - instructions1) / (journeys2 - journeys1), or
# leave those functions out, as benchmarks/README.md did.
#
#   bash benchmarks/callgrind-checkout.sh OUT [BIN] [WINDOW]   # WINDOW default 20s
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${1:?output directory}"; BIN="${2:-$ROOT/target/release/mercato}"; WINDOW="${3:-20s}"
PORT="${PORT:-9991}"
mkdir -p "$OUT"
export MERCATO__HTTP__RATE_LIMIT_PER_SECOND=0 MERCATO__HTTP__MAX_SCHEDULING_DELAY=0s MERCATO__HTTP__REQUEST_TIMEOUT=120s
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT/cg.out" \
  "$BIN" serve --no-demo --listen "127.0.0.1:$PORT" --data-dir "$OUT/data" >"$OUT/server.log" 2>&1 &
PID=$!
trap 'kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true' EXIT
URL="http://127.0.0.1:$PORT"
for _ in $(seq 1 600); do curl -fsS -o /dev/null "$URL/readyz" 2>/dev/null && break; sleep 0.5; done
"$BIN" bench checkout --url "$URL" -c 8 -d 5s >/dev/null 2>&1
callgrind_control -i on "$PID" >/dev/null
"$BIN" bench checkout --url "$URL" -c 8 -d "$WINDOW" 2>&1 | grep '^{' >"$OUT/bench.json"
callgrind_control -i off "$PID" >/dev/null
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print('journeys in the window:', d['journeys'])" "$OUT/bench.json"
