#!/usr/bin/env bash
# What one embedded checkout journey costs the server, in figures that survive a busy machine:
# CPU milliseconds (utime + stime of the process) and bytes written (/proc/<pid>/io: wchar, and
# write_bytes that reached the disk) per journey, over a `mercato bench checkout -c 64` run on a
# fresh store after a warm-up. Rates and p99 are printed too, but depend on the machine's load.
#
#   bash benchmarks/checkout-cost.sh [BIN]     # BIN: default target/release/mercato
#   DUR=20s PORT=9984 bash benchmarks/checkout-cost.sh
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${1:-$ROOT/target/release/mercato}"
PORT="${PORT:-9984}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/mercato-checkout-cost.XXXXXX")"
export MERCATO__HTTP__RATE_LIMIT_PER_SECOND=0 MERCATO__HTTP__MAX_SCHEDULING_DELAY=0s
"$BIN" serve --no-demo --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" >"$WORK/server.log" 2>&1 &
PID=$!
trap 'kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT
URL="http://127.0.0.1:$PORT"
for _ in $(seq 1 240); do curl -fsS -o /dev/null "$URL/readyz" 2>/dev/null && break; sleep 0.25; done
snapshot() { echo "$(awk '{print $14 + $15}' "/proc/$PID/stat") $(awk '/^(wchar|write_bytes)/ {print $2}' "/proc/$PID/io" | xargs)"; }
"$BIN" bench checkout --url "$URL" -c 64 -d 4s >/dev/null 2>&1
read -r t0 w0 b0 < <(snapshot)
"$BIN" bench checkout --url "$URL" -c 64 -d "${DUR:-10s}" 2>&1 | grep '^{' >"$WORK/bench.json"
read -r t1 w1 b1 < <(snapshot)
python3 - "$WORK/bench.json" "$(getconf CLK_TCK)" "$t0" "$t1" "$w0" "$w1" "$b0" "$b1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); hz = int(sys.argv[2]); t0, t1, w0, w1, b0, b1 = map(int, sys.argv[3:])
j = d["journeys"]
print(f"journeys {j}, {d['checkouts_per_second']:.0f}/s, p99 {d['p99_ms']:.1f} ms; per journey: "
      f"CPU {(t1 - t0) * 1000 / hz / j:.3f} ms, written {(w1 - w0) / 1024 / j:.1f} KB, to disk {(b1 - b0) / 1024 / j:.1f} KB")
PY
