#!/usr/bin/env bash
# The shop's pages under the catalog benchmark's load (issue 13: p99 under 10 ms, rendered
# server-side): one embedded process with the demo store; `mercato bench catalog` loads it at
# c=64 while `mercato bench http` asks for the home, a product and a search page at c=2. Prints
# the pages' latency seen by their client and, from the process's own
# http_request_duration_seconds histogram, the share of each page route answered within 5, 10 and
# 25 ms during the load.
#
#   bash benchmarks/pages.sh            # builds the release binary when it is not current
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${MERCATO_BIN:-$ROOT/target/release/mercato}"
[ -n "${MERCATO_BIN:-}" ] || (cd "$ROOT" && cargo build --release -p mercato)
PORT="${PORT:-18197}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/mercato-pages.XXXXXX")"
export MERCATO__HTTP__RATE_LIMIT_PER_SECOND=0 MERCATO__HTTP__MAX_SCHEDULING_DELAY=0s
"$BIN" serve --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" >"$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; rm -rf "$WORK"' EXIT
URL="http://127.0.0.1:$PORT"
for _ in $(seq 1 240); do curl -fsS -o /dev/null "$URL/readyz" 2>/dev/null && break; sleep 0.25; done
SLUG=$(curl -fsS "$URL/v1/stores/demo/products?per_page=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["slug"])')
PAGES=(--path /s/demo/ --path "/s/demo/p/$SLUG" --path "/s/demo/search?q=lether")
echo "## pages alone, c=2"
"$BIN" bench http --url "$URL" "${PAGES[@]}" -c 2 -d 8s | grep '^http '
echo "## pages at c=2 while the catalog benchmark runs at c=64"
"$BIN" bench catalog --url "$URL" -c 64 -d 14s --products 500 >"$WORK/catalog.txt" 2>&1 &
LOAD=$!
sleep 3
curl -fsS "$URL/metrics" >"$WORK/before.txt"
"$BIN" bench http --url "$URL" "${PAGES[@]}" -c 2 -d 8s | grep '^http '
curl -fsS "$URL/metrics" >"$WORK/after.txt"
wait "$LOAD"
grep -E '^(product|listing|search) ' "$WORK/catalog.txt"
echo "## server side, during the load"
python3 - "$WORK/before.txt" "$WORK/after.txt" <<'PY'
import collections, re, sys
def buckets(path):
    b = collections.defaultdict(dict)
    for line in open(path):
        m = re.match(r'mercato_http_request_duration_seconds_bucket\{route="(/s/[^"]*)",method="GET",status="200",le="([^"]+)"\} (\d+)', line)
        if m:
            b[m.group(1)][m.group(2)] = int(m.group(3))
    return b
before, after = buckets(sys.argv[1]), buckets(sys.argv[2])
for route, counts in sorted(after.items()):
    n = counts["+Inf"] - before.get(route, {}).get("+Inf", 0)
    if n:
        shares = [f"<= {float(le) * 1000:g} ms {100 * (counts[le] - before.get(route, {}).get(le, 0)) / n:.2f} %"
                  for le in ("0.005", "0.01", "0.025")]
        print(f"{route}: {n} requests, " + ", ".join(shares))
PY
