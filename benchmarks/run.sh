#!/usr/bin/env bash
# Reproduces every figure in benchmarks/README.md on this machine, in one run, so that each
# figure can be read next to the bare-hyper baseline measured minutes apart under the same load.
#
#   bash benchmarks/run.sh            # all phases
#   PHASES="baseline embedded" bash benchmarks/run.sh
#
# Environment: CONCURRENCY (64), CHECKOUT_CONCURRENCY (16), DURATION (10s), PRODUCTS (500),
# PROVISION_COUNT (1000),
# PROVISION_LARGE (5000: stores existing for the second provisioning phase).
# Results (text and one JSON line per phase) go to benchmarks/out/<timestamp>/.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="$ROOT/target/release/mercato"
C="${CONCURRENCY:-64}" D="${DURATION:-10s}" PRODUCTS="${PRODUCTS:-500}"
COUNT="${PROVISION_COUNT:-1000}" LARGE="${PROVISION_LARGE:-5000}"
PHASES="${PHASES:-baseline embedded distributed checkout provision}"
CHECKOUT_C="${CHECKOUT_CONCURRENCY:-16}"
OUT="$ROOT/benchmarks/out/$(date +%Y%m%d-%H%M%S)"
# The load generator is one client sending tens of thousands of requests a second; per-client
# rate limits would measure the limiter, not the platform.
export MERCATO__HTTP__RATE_LIMIT_PER_SECOND=0
mkdir -p "$OUT"
(cd "$ROOT" && cargo build --release -p mercato)  # a no-op when the build is current

wait_ready() {
  for _ in $(seq 1 240); do curl -fsS -o /dev/null "$1/readyz" 2>/dev/null && return 0; sleep 0.25; done
  echo "not ready: $1" >&2; return 1
}

PIDS=()
# Stop what this run started, including a local cluster left up by a failed phase.
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "${MERCATO_LOCAL_DIR:-}" ] && bash "$ROOT/deploy/local/cluster.sh" down >/dev/null 2>&1 || true
}
trap cleanup EXIT

{
  echo "# $(date -u +%FT%TZ) on $(nproc) cores, $(git -C "$ROOT" rev-parse --short HEAD)"
  echo "# concurrency $C, duration $D per phase, $PRODUCTS products"
} | tee "$OUT/summary.txt"

baseline() {
  "$BIN" bench baseline --listen 127.0.0.1:9990 >/dev/null & PIDS+=($!)
  sleep 0.5
  echo "## bare hyper, fixed JSON ($1)" | tee -a "$OUT/summary.txt"
  "$BIN" bench http --url http://127.0.0.1:9990 -c "$C" -d "$D" | tee -a "$OUT/summary.txt"
  kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true
}

embedded() {
  "$BIN" serve --no-demo --listen 127.0.0.1:9980 --data-dir "$OUT/embedded-data" >"$OUT/embedded.log" 2>&1 & PIDS+=($!)
  wait_ready http://127.0.0.1:9980
  echo "## embedded (one process, SQLite)" | tee -a "$OUT/summary.txt"
  "$BIN" bench catalog --url http://127.0.0.1:9980 -c "$C" -d "$D" --products "$PRODUCTS" | tee -a "$OUT/summary.txt"
  kill -TERM "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true
}

distributed() {
  export MERCATO_BIN="$BIN" MERCATO_LOCAL_PREFIX="bench$(date +%s)" MERCATO_LOCAL_DIR="$OUT/cluster"
  bash "$ROOT/deploy/local/cluster.sh" up >/dev/null
  echo "## distributed (identity, catalog, 2 gateways; PostgreSQL, NATS, Redis)" | tee -a "$OUT/summary.txt"
  "$BIN" bench catalog --url http://127.0.0.1:8081 --url http://127.0.0.1:8082 -c "$C" -d "$D" \
    --products "$PRODUCTS" | tee -a "$OUT/summary.txt"
  bash "$ROOT/deploy/local/cluster.sh" down >/dev/null
}

checkout_phase() {
  "$BIN" serve --no-demo --listen 127.0.0.1:9982 --data-dir "$OUT/checkout-data" >"$OUT/checkout.log" 2>&1 & PIDS+=($!)
  wait_ready http://127.0.0.1:9982
  echo "## checkout, embedded" | tee -a "$OUT/summary.txt"
  "$BIN" bench checkout --url http://127.0.0.1:9982 -c "$CHECKOUT_C" -d "$D" | tee -a "$OUT/summary.txt"
  kill -TERM "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true
  export MERCATO_BIN="$BIN" MERCATO_LOCAL_PREFIX="benchco$(date +%s)" MERCATO_LOCAL_DIR="$OUT/cluster-checkout"
  bash "$ROOT/deploy/local/cluster.sh" up >/dev/null
  echo "## checkout, distributed" | tee -a "$OUT/summary.txt"
  "$BIN" bench checkout --url http://127.0.0.1:8081 --url http://127.0.0.1:8082 -c "$CHECKOUT_C" -d "$D" \
    | tee -a "$OUT/summary.txt"
  bash "$ROOT/deploy/local/cluster.sh" down >/dev/null
}

provision() {
  "$BIN" serve --no-demo --listen 127.0.0.1:9981 --data-dir "$OUT/provision-data" >"$OUT/provision.log" 2>&1 & PIDS+=($!)
  wait_ready http://127.0.0.1:9981
  echo "## provisioning (embedded), sequential" | tee -a "$OUT/summary.txt"
  "$BIN" bench provision --url http://127.0.0.1:9981 --preload 10 --count "$COUNT" | tee -a "$OUT/summary.txt"
  "$BIN" bench provision --url http://127.0.0.1:9981 --preload "$(( LARGE - 10 - COUNT ))" --count "$COUNT" \
    | tee -a "$OUT/summary.txt"
  kill -TERM "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true
}

for phase in $PHASES; do
  case "$phase" in
    baseline) baseline before ;;
    embedded) embedded; baseline after-embedded ;;
    distributed) distributed; baseline after-distributed ;;
    provision) provision ;;
    checkout) checkout_phase ;;
    *) echo "unknown phase $phase" >&2; exit 2 ;;
  esac
done
echo "results in $OUT"
