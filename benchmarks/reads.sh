#!/usr/bin/env bash
# Read path against bare hyper, measured with wrk (an outside client, lighter than `mercato
# bench http`): each read kind is run right after a bare-hyper run, and the ratio is of the two.
#
#   bash benchmarks/reads.sh                 # embedded, demo store
#   TOPOLOGY=distributed bash benchmarks/reads.sh   # through the local cluster's gateway
#
# Environment: WRK_THREADS (2), WRK_CONNECTIONS (64), WRK_DURATION (10s), OUT (a directory).
# Needs `wrk` (Debian package `wrk`). Prints one line per kind and writes reads.json to $OUT.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${MERCATO_BIN:-$ROOT/target/release/mercato}"
T="${WRK_THREADS:-2}" C="${WRK_CONNECTIONS:-64}" D="${WRK_DURATION:-10s}"
TOPOLOGY="${TOPOLOGY:-embedded}"
OUT="${OUT:-$ROOT/benchmarks/out/reads-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$OUT"
command -v wrk >/dev/null || { echo "reads.sh needs wrk (apt-get install wrk)" >&2; exit 1; }
export MERCATO__HTTP__RATE_LIMIT_PER_SECOND=0

PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  [ "$TOPOLOGY" = distributed ] && bash "$ROOT/deploy/local/cluster.sh" down >/dev/null 2>&1 || true
}
trap cleanup EXIT

wait_ready() {
  for _ in $(seq 1 480); do curl -fsS -o /dev/null "$1/readyz" 2>/dev/null && return 0; sleep 0.25; done
  echo "not ready: $1" >&2; return 1
}

# Runs wrk on one URL; prints "req/s p50_ms p99_ms" (wrk's latency distribution, in ms).
measure() {
  local report
  report="$(wrk -t"$T" -c"$C" -d"$D" --latency "$1")"
  echo "$report" >>"$OUT/wrk.txt"
  if echo "$report" | grep -q "Non-2xx"; then echo "non-2xx answers from $1" >&2; return 1; fi
  echo "$report" | awk '
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    /Requests\/sec/ { rps = $2 }
    $1 == "50%" { p50 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    END { printf "%.0f %.2f %.2f\n", rps, p50, p99 }'
}

"$BIN" bench baseline --listen 127.0.0.1:9990 >/dev/null & PIDS+=($!)
case "$TOPOLOGY" in
  embedded)
    "$BIN" serve --listen 127.0.0.1:9986 --data-dir "$OUT/data" >"$OUT/server.log" 2>&1 & PIDS+=($!)
    URL=http://127.0.0.1:9986 ;;
  distributed)
    export MERCATO_BIN="$BIN" MERCATO_LOCAL_PREFIX="reads$(date +%s)" MERCATO_LOCAL_DIR="$OUT/cluster"
    bash "$ROOT/deploy/local/cluster.sh" up >/dev/null
    MERCATO__SERVICES__INTERNAL_TOKEN="$(cat "$MERCATO_LOCAL_DIR/internal-token")" "$BIN" seed-demo \
      --identity-url http://127.0.0.1:9101 --catalog-url http://127.0.0.1:9102 \
      --inventory-url http://127.0.0.1:9103 >"$OUT/seed.log" 2>&1
    URL=http://127.0.0.1:8081 ;;
  *) echo "TOPOLOGY is embedded or distributed" >&2; exit 2 ;;
esac
wait_ready "$URL"
for _ in $(seq 1 120); do
  curl -fsS "$URL/v1/stores/demo/products?per_page=1" 2>/dev/null | grep -q '"id"' && break; sleep 0.5
done
PRODUCT="$(curl -fsS "$URL/v1/stores/demo/products?per_page=1" | sed -E 's/.*"items":\[\{"id":"([^"]+)".*/\1/')"
CATEGORY="$(curl -fsS "$URL/v1/stores/demo/categories" | sed -E 's/.*"slug":"([^"]+)".*/\1/')"
declare -A KINDS=(
  [product]="$URL/v1/stores/demo/products/$PRODUCT"
  [listing]="$URL/v1/stores/demo/products?category=$CATEGORY&per_page=20"
  [search]="$URL/v1/stores/demo/search?q=wool&limit=20"
)
echo "# $(date -u +%FT%TZ) $TOPOLOGY, wrk -t$T -c$C -d$D, $(git -C "$ROOT" rev-parse --short HEAD)" | tee "$OUT/reads.txt"
printf '%-8s %10s %10s %7s %9s %9s\n' kind "req/s" "hyper/s" ratio "p50 ms" "p99 ms" | tee -a "$OUT/reads.txt"
json="["
for kind in product listing search; do
  curl -fsS -o /dev/null "${KINDS[$kind]}"  # warm the caches
  read -r base _ _ < <(measure http://127.0.0.1:9990/)
  read -r rps p50 p99 < <(measure "${KINDS[$kind]}")
  ratio="$(awk -v a="$rps" -v b="$base" 'BEGIN { printf "%.1f", 100 * a / b }')"
  printf '%-8s %10s %10s %6s%% %9s %9s\n' "$kind" "$rps" "$base" "$ratio" "$p50" "$p99" | tee -a "$OUT/reads.txt"
  json+="{\"kind\":\"$kind\",\"topology\":\"$TOPOLOGY\",\"rps\":$rps,\"baseline_rps\":$base,\"ratio_pct\":$ratio,\"p50_ms\":$p50,\"p99_ms\":$p99},"
done
echo "${json%,}]" >"$OUT/reads.json"
