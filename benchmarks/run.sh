#!/usr/bin/env bash
# Reproduces every figure in benchmarks/README.md on this machine, in one run, so that each
# figure can be read next to the bare-hyper baseline measured minutes apart under the same load.
#
#   bash benchmarks/run.sh            # all phases
#   PHASES="baseline embedded" bash benchmarks/run.sh
#   PHASES=realtime-distributed bash benchmarks/run.sh   # realtime = realtime-embedded + -distributed
#   PHASES=analytics bash benchmarks/run.sh              # ingest events/s and reads with 1M orders
#
# Environment: CONCURRENCY (64), CHECKOUT_CONCURRENCY (16), DURATION (10s), PRODUCTS (500),
# SHOP_PRODUCTS (200: products in the shopper-mix store),
# PROVISION_COUNT (1000),
# PROVISION_LARGE (5000: stores existing for the second provisioning phase),
# RT_CONNECTIONS (19500: what one server process can hold under the 20,000 open-file limit),
# RT_HELD (100000: connections held across the distributed realtime replicas),
# RT_SUBSCRIBERS ("50000 100000": subscribers of one channel, one distributed broadcast each),
# RT_EXTRA_REPLICAS (4: realtime replicas started next to the cluster's two), RT_PAIRS (50),
# RT_RATES (250,500,750,1000,1500,2000: total conversation messages per second, one step each,
# rising until delivery falls behind), ANALYTICS_ORDERS (1000000: orders seeded for the reads),
# ANALYTICS_INGEST_ORDERS (100000: orders fed for the ingest rate), FRESHNESS_PROBES (200: most
# orders followed from confirmation to the analytics summary while each checkout phase runs).
# Results (text and one JSON line per phase) go to benchmarks/out/<timestamp>/.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="$ROOT/target/release/mercato"
C="${CONCURRENCY:-64}" D="${DURATION:-10s}" PRODUCTS="${PRODUCTS:-500}"
COUNT="${PROVISION_COUNT:-1000}" LARGE="${PROVISION_LARGE:-5000}"
PHASES="${PHASES:-baseline embedded distributed checkout shop memory provision realtime analytics}"
CHECKOUT_C="${CHECKOUT_CONCURRENCY:-16}"
ANALYTICS_ORDERS="${ANALYTICS_ORDERS:-1000000}" ANALYTICS_INGEST_ORDERS="${ANALYTICS_INGEST_ORDERS:-100000}"
FRESHNESS_PROBES="${FRESHNESS_PROBES:-200}"
RT_CONNECTIONS="${RT_CONNECTIONS:-19500}" RT_HELD="${RT_HELD:-100000}" RT_SUBSCRIBERS="${RT_SUBSCRIBERS:-50000 100000}"
RT_EXTRA="${RT_EXTRA_REPLICAS:-4}" RT_PAIRS="${RT_PAIRS:-50}" RT_RATES="${RT_RATES:-250,500,750,1000,1500,2000}"
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
  echo "## checkout, embedded (and analytics freshness under it)" | tee -a "$OUT/summary.txt"
  freshness_beside http://127.0.0.1:9982 embedded
  "$BIN" bench checkout --url http://127.0.0.1:9982 -c "$CHECKOUT_C" -d "$D" | tee -a "$OUT/summary.txt"
  freshness_report embedded
  kill -TERM "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true
  export MERCATO_BIN="$BIN" MERCATO_LOCAL_PREFIX="benchco$(date +%s)" MERCATO_LOCAL_DIR="$OUT/cluster-checkout"
  bash "$ROOT/deploy/local/cluster.sh" up >/dev/null
  echo "## checkout, distributed (and analytics freshness under it)" | tee -a "$OUT/summary.txt"
  freshness_beside http://127.0.0.1:8082 distributed
  # shellcheck disable=SC2046
  "$BIN" bench checkout --url http://127.0.0.1:8081 --url http://127.0.0.1:8082 -c "$CHECKOUT_C" -d "$D" \
    $(cluster_metrics) | tee -a "$OUT/summary.txt"
  freshness_report distributed
  bash "$ROOT/deploy/local/cluster.sh" down >/dev/null
}

# The metrics endpoints of every service process of the local cluster, so that database
# statements are counted where they run.
cluster_metrics() {
  local port
  for port in 9101 9102 9103 9104 9105 9106 9107 9108; do printf -- '--metrics-url http://127.0.0.1:%s/metrics ' "$port"; done
}

# The shopper mix (bench shop), embedded then distributed, each next to a bare-hyper run.
shop_phase() {
  "$BIN" serve --no-demo --listen 127.0.0.1:9984 --data-dir "$OUT/shop-data" >"$OUT/shop.log" 2>&1 & PIDS+=($!)
  local server="${PIDS[-1]}"
  wait_ready http://127.0.0.1:9984
  echo "## shopper mix, embedded" | tee -a "$OUT/summary.txt"
  "$BIN" bench shop --url http://127.0.0.1:9984 -c "$C" -d "$D" --products "${SHOP_PRODUCTS:-200}" \
    --out "$OUT/shop-embedded" | tee -a "$OUT/summary.txt"
  echo "server peak RSS $(awk '/VmHWM/ {print $2, $3}' "/proc/$server/status")" | tee -a "$OUT/summary.txt"
  kill -TERM "$server"; wait "$server" 2>/dev/null || true
  baseline after-shop-embedded
  export MERCATO_BIN="$BIN" MERCATO_LOCAL_PREFIX="benchshop$(date +%s)" MERCATO_LOCAL_DIR="$OUT/cluster-shop"
  bash "$ROOT/deploy/local/cluster.sh" up >/dev/null
  echo "## shopper mix, distributed" | tee -a "$OUT/summary.txt"
  # shellcheck disable=SC2046
  "$BIN" bench shop --url http://127.0.0.1:8081 --url http://127.0.0.1:8082 -c "$C" -d "$D" \
    --products "${SHOP_PRODUCTS:-200}" --out "$OUT/shop-distributed" $(cluster_metrics) | tee -a "$OUT/summary.txt"
  bash "$ROOT/deploy/local/cluster.sh" down >/dev/null
}

# Memory of the embedded process with the demo store: idle right after the first start (which
# seeds it), idle after a restart on the same data, and the peak under the checkout benchmark.
memory_phase() {
  local data="$OUT/memory-data" server
  rss() { awk '/VmRSS/ {print $2, $3}' "/proc/$1/status"; }
  "$BIN" serve --listen 127.0.0.1:9985 --data-dir "$data" >"$OUT/memory.log" 2>&1 & PIDS+=($!)
  server="${PIDS[-1]}"; wait_ready http://127.0.0.1:9985; sleep 10
  echo "## memory, embedded with the demo store" | tee -a "$OUT/summary.txt"
  echo "idle after the first start (seeded): $(rss "$server")" | tee -a "$OUT/summary.txt"
  kill -TERM "$server"; wait "$server" 2>/dev/null || true
  "$BIN" serve --listen 127.0.0.1:9985 --data-dir "$data" >>"$OUT/memory.log" 2>&1 & PIDS+=($!)
  server="${PIDS[-1]}"; wait_ready http://127.0.0.1:9985; sleep 10
  echo "idle after a restart on the same data: $(rss "$server")" | tee -a "$OUT/summary.txt"
  "$BIN" bench checkout --url http://127.0.0.1:9985 -c 64 -d "$D" >/dev/null
  echo "peak during the checkout benchmark (c=64): $(awk '/VmHWM/ {print $2, $3}' "/proc/$server/status")" \
    | tee -a "$OUT/summary.txt"
  sleep 10
  echo "idle after the benchmark: $(rss "$server")" | tee -a "$OUT/summary.txt"
  kill -TERM "$server"; wait "$server" 2>/dev/null || true
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

# Real-time, embedded: connections one process holds (and its memory per connection), the
# broadcast of one stock change to all of them, and conversation latency at fixed rates.
realtime_embedded() {
  "$BIN" serve --no-demo --listen 127.0.0.1:9983 --data-dir "$OUT/realtime-data" >"$OUT/realtime.log" 2>&1 & PIDS+=($!)
  local server="${PIDS[-1]}"
  wait_ready http://127.0.0.1:9983
  echo "## realtime, embedded: connections held by one process" | tee -a "$OUT/summary.txt"
  "$BIN" bench realtime connections --url http://127.0.0.1:9983 -n "$RT_CONNECTIONS" --server-pid "$server" \
    | tee -a "$OUT/summary.txt"
  echo "## realtime, embedded: conversation send -> deliver" | tee -a "$OUT/summary.txt"
  "$BIN" bench realtime latency --url http://127.0.0.1:9983 --pairs "$RT_PAIRS" --rate "$RT_RATES" --closed-loop \
    -d "$D" --label embedded | tee -a "$OUT/summary.txt"
  wait_quiet "$server"
  echo "## realtime, embedded: broadcast to one process's worth of subscribers" | tee -a "$OUT/summary.txt"
  "$BIN" bench realtime broadcast --url http://127.0.0.1:9983 --gateway http://127.0.0.1:9983 -n "$RT_CONNECTIONS" \
    --server-pid "$server" --label embedded | tee -a "$OUT/summary.txt"
  kill -TERM "$server"; wait "$server" 2>/dev/null || true
}

# Starts one more realtime replica next to the local cluster, with the cluster's settings (the
# same variables deploy/local/cluster.sh sets), and records its pid in $MERCATO_LOCAL_DIR.
extra_replica() {
  local port="$1"
  MERCATO_POSTGRES_URL="${MERCATO_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/}" \
  MERCATO_NATS_URL="${MERCATO_NATS_URL:-nats://127.0.0.1:4222}" \
  MERCATO_REDIS_URL="${MERCATO_REDIS_URL:-redis://127.0.0.1:6379}" \
  MERCATO__POSTGRES__DATABASE_PREFIX="mercato_${MERCATO_LOCAL_PREFIX}_" \
  MERCATO__NATS__NAMESPACE="$MERCATO_LOCAL_PREFIX" MERCATO__REDIS__KEY_PREFIX="mercato:${MERCATO_LOCAL_PREFIX}:" \
  MERCATO__SERVICES__INTERNAL_TOKEN="$(cat "$MERCATO_LOCAL_DIR/internal-token")" \
    "$BIN" serve --roles realtime --listen "127.0.0.1:$port" --identity-url http://127.0.0.1:9101 --json-logs \
    >"$MERCATO_LOCAL_DIR/realtime-$port.log" 2>&1 & PIDS+=($!)
  wait_ready "http://127.0.0.1:$port"
}

# Waits (up to two minutes) until the given processes use less than 5 % of a core: after a
# load step the realtime replicas may still be consuming events from NATS.
wait_quiet() {
  local ticks before after
  for _ in $(seq 1 120); do
    before=0 after=0
    for p in "$@"; do ticks=$(awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null || echo 0); before=$((before + ticks)); done
    sleep 1
    for p in "$@"; do ticks=$(awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null || echo 0); after=$((after + ticks)); done
    [ $((after - before)) -lt 5 ] && return 0
  done
}

# Real-time, distributed: conversation latency through the two gateways (pairs straddle the
# cluster's two replicas, so messages cross NATS); then RT_EXTRA more replicas, since one
# process holds < 20,000 sockets, for the connections held and the broadcasts.
realtime_distributed() {
  export MERCATO_BIN="$BIN" MERCATO_LOCAL_PREFIX="benchrt$(date +%s)" MERCATO_LOCAL_DIR="$OUT/cluster-realtime"
  bash "$ROOT/deploy/local/cluster.sh" up >/dev/null
  local urls=(--url http://127.0.0.1:9106 --url http://127.0.0.1:9107) replicas=() extra=() port n
  replicas=("$(cat "$MERCATO_LOCAL_DIR/realtime-1.pid")" "$(cat "$MERCATO_LOCAL_DIR/realtime-2.pid")")
  echo "## realtime, distributed: conversation send -> deliver through two gateways" | tee -a "$OUT/summary.txt"
  "$BIN" bench realtime latency --url http://127.0.0.1:8081 --url http://127.0.0.1:8082 --pairs "$RT_PAIRS" \
    --rate "$RT_RATES" --closed-loop -d "$D" --label distributed | tee -a "$OUT/summary.txt"
  for port in $(seq 9108 $((9107 + RT_EXTRA))); do
    extra_replica "$port"; extra+=("${PIDS[-1]}"); replicas+=("${PIDS[-1]}")
    urls+=(--url "http://127.0.0.1:$port")
  done
  local token=(--internal-token-file "$MERCATO_LOCAL_DIR/internal-token") pids=()
  for p in "${replicas[@]}"; do pids+=(--server-pid "$p"); done
  wait_quiet "${replicas[@]}"
  echo "## realtime, distributed: connections held by ${#replicas[@]} realtime replicas" | tee -a "$OUT/summary.txt"
  "$BIN" bench realtime connections "${urls[@]}" "${token[@]}" "${pids[@]}" -n "$RT_HELD" \
    | tee -a "$OUT/summary.txt"
  for n in $RT_SUBSCRIBERS; do
    wait_quiet "${replicas[@]}"
    echo "## realtime, distributed: broadcast to $n subscribers over ${#replicas[@]} realtime replicas" | tee -a "$OUT/summary.txt"
    "$BIN" bench realtime broadcast "${urls[@]}" "${token[@]}" "${pids[@]}" -n "$n" \
      --gateway http://127.0.0.1:8081 --label distributed | tee -a "$OUT/summary.txt"
  done
  for p in "${extra[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  bash "$ROOT/deploy/local/cluster.sh" down >/dev/null
}

# Follows FRESHNESS_PROBES orders of a store of its own from confirmation to the analytics
# summary, in the background while the checkout benchmark loads the platform.
freshness_beside() {
  "$BIN" bench analytics-freshness --url "$1" --probes "$FRESHNESS_PROBES" --duration "$D" >"$OUT/freshness-$2.txt" 2>&1 &
  FRESHNESS_PID=$!
}

freshness_report() {
  wait "$FRESHNESS_PID" || echo "analytics freshness ($1) failed; see $OUT/freshness-$1.txt" | tee -a "$OUT/summary.txt"
  { echo "analytics freshness, $1:"; cat "$OUT/freshness-$1.txt"; } | tee -a "$OUT/summary.txt"
}

# Analytics embedded, fed through the in-process bus: the ingest rate, then every read's
# p50/p99 with ANALYTICS_ORDERS orders in one store.
analytics_phase() {
  echo "## analytics ingest, embedded" | tee -a "$OUT/summary.txt"
  "$BIN" bench analytics-ingest --orders "$ANALYTICS_INGEST_ORDERS" --dir "$OUT" | tee -a "$OUT/summary.txt"
  echo "## analytics reads, embedded, $ANALYTICS_ORDERS orders in one store" | tee -a "$OUT/summary.txt"
  "$BIN" bench analytics-reads --orders "$ANALYTICS_ORDERS" --dir "$OUT" | tee -a "$OUT/summary.txt"
}

realtime_env() {
  # Every WebSocket is an open file: servers and clients get the hard limit (20,000 here).
  ulimit -n "$(ulimit -Hn)"
  # Publishers send far beyond a browser's pace; the per-connection and per-store message
  # limits would measure the limiter, not delivery.
  export MERCATO__REALTIME__FRAMES_PER_SECOND=100000 MERCATO__REALTIME__STORE_MESSAGES_PER_SECOND=1000000
}

for phase in $PHASES; do
  case "$phase" in
    baseline) baseline before ;;
    embedded) embedded; baseline after-embedded ;;
    distributed) distributed; baseline after-distributed ;;
    provision) provision ;;
    checkout) checkout_phase ;;
    analytics) analytics_phase ;;
    shop) shop_phase ;;
    memory) memory_phase ;;
    realtime) realtime_env; realtime_embedded; realtime_distributed ;;
    realtime-embedded) realtime_env; realtime_embedded ;;
    realtime-distributed) realtime_env; realtime_distributed ;;
    *) echo "unknown phase $phase" >&2; exit 2 ;;
  esac
done
echo "results in $OUT"
