#!/usr/bin/env bash
# The global allocator compared: jemalloc (the default), mimalloc and glibc's, each built from
# the same commit and measured in turn on the embedded demo store — cached reads against bare
# hyper (wrk), the checkout journey and the memory of the process idle and under load.
#
#   bash benchmarks/allocators.sh
#
# Environment: ALLOCATORS ("jemalloc mimalloc system"), DURATION (10s), OUT (a directory).
# Needs `wrk`. Prints one line per allocator and writes allocators.txt to $OUT.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
D="${DURATION:-10s}"
OUT="${OUT:-$ROOT/benchmarks/out/allocators-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$OUT"
export MERCATO__HTTP__RATE_LIMIT_PER_SECOND=0

# Builds the variant unless $OUT already holds it (from an earlier, interrupted run).
build() {
  [ -x "$OUT/mercato-$1" ] && return 0
  local features=()
  [ "$1" = jemalloc ] || features=(--features "alloc-$1")
  BUILT=1
  (cd "$ROOT" && cargo build --release -p mercato "${features[@]}" >&2)
  cp "$ROOT/target/release/mercato" "$OUT/mercato-$1"
}

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
hwm() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
wait_ready() {
  for _ in $(seq 1 480); do curl -fsS -o /dev/null "$1/readyz" 2>/dev/null && return 0; sleep 0.25; done
  echo "not ready: $1" >&2; return 1
}

# One allocator: memory idle after seeding the demo store, checkout journeys and their peak
# memory, then the cached-read ratios of benchmarks/reads.sh.
measure() {
  local bin="$OUT/mercato-$1" data="$OUT/data-$1" url=http://127.0.0.1:9987 server seeded checkout
  "$bin" serve --listen 127.0.0.1:9987 --data-dir "$data" >"$OUT/server-$1.log" 2>&1 & PIDS+=($!)
  server="${PIDS[-1]}"; wait_ready "$url"
  for _ in $(seq 1 120); do
    curl -fsS "$url/v1/stores/demo/products?per_page=1" 2>/dev/null | grep -q '"id"' && break; sleep 0.5
  done
  sleep 10
  seeded="$(rss "$server")"
  checkout="$("$bin" bench checkout --url "$url" -c 64 -d "$D" | tail -1)"
  echo "$checkout" >"$OUT/checkout-$1.txt"
  local peak; peak="$(hwm "$server")"
  sleep 10
  local after; after="$(rss "$server")"
  kill -TERM "$server"; wait "$server" 2>/dev/null || true
  MERCATO_BIN="$bin" OUT="$OUT/reads-$1" WRK_DURATION="${WRK_DURATION:-5s}" bash "$ROOT/benchmarks/reads.sh" >/dev/null
  local reads; reads="$(awk '$1 ~ /^(product|listing|search)$/ { printf "%s %s p99 %sms  ", $1, $4, $6 }' "$OUT/reads-$1/reads.txt")"
  local journeys; journeys="$(echo "$checkout" | python3 -c 'import json,sys; r=json.load(sys.stdin); print("%.0f/s p99 %.1fms" % (r["checkouts_per_second"], r["p99_ms"]))')"
  printf '%-9s idle %6d KiB  checkout %s peak %6d KiB, idle after %6d KiB  %s\n' \
    "$1" "$seeded" "$journeys" "$peak" "$after" "$reads" | tee -a "$OUT/allocators.txt"
}

echo "# $(date -u +%FT%TZ) $(git -C "$ROOT" rev-parse --short HEAD), checkout -c 64 -d $D" | tee "$OUT/allocators.txt"
for allocator in ${ALLOCATORS:-jemalloc mimalloc system}; do build "$allocator"; done
for allocator in ${ALLOCATORS:-jemalloc mimalloc system}; do measure "$allocator"; done
# Leave the default build in place.
[ -z "${BUILT:-}" ] || (cd "$ROOT" && cargo build --release -p mercato >&2)
