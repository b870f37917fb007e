#!/usr/bin/env bash
# The end-to-end journeys in a real browser (issue 13): installs Debian's chromium where
# /usr/bin/chromium is missing, installs e2e/browser's pinned npm packages (playwright-core),
# starts the platform in each topology and runs the journeys (node's test runner) against it:
#
#   embedded     one `mercato serve` on 127.0.0.1:18080, a fresh data directory, the demo store
#   distributed  deploy/local/cluster.sh's processes with ports offset by 10000 (gateways on
#                18081 and 18082: shoppers use the first, staff the second; services 19101-19107),
#                fresh databases under a per-run prefix, dropped afterwards, and the demo store
#                seeded with `mercato seed-demo`
#
# Screenshots of each journey's last step (and of a failure) go to
# target/browser-screenshots/<topology>/, server logs to target/browser-screenshots/<topology>/logs.
#
#   bash scripts/browser-tests.sh [embedded] [distributed]   (default: both)
#
# Environment: MERCATO_BIN (default: the newer of target/debug/mercato and target/release/mercato,
# else a fresh debug build); JOURNEYS (a node --test name pattern, to run only some journeys).
# Exits non-zero when a journey fails or a server panicked.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
E2E="$ROOT/e2e/browser"
SHOTS="$ROOT/target/browser-screenshots"
started=$(date +%s)
TOPOLOGIES=("$@")
[ "${#TOPOLOGIES[@]}" -gt 0 ] || TOPOLOGIES=(embedded distributed)

# Debian's chromium; `apt-get update` only when the plain install fails (a stale package list).
if [ ! -x /usr/bin/chromium ]; then
  echo "== installing Debian's chromium"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q chromium >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }
fi
echo "== $(/usr/bin/chromium --version 2>/dev/null | head -1), node $(node --version)"

# playwright-core only (lighthouse, a devDependency, is for scripts/lighthouse.sh); once more if
# the registry failed the first time.
npm_ci() { (cd "$E2E" && npm ci --omit=dev --no-audit --no-fund --loglevel=error >/dev/null); }
npm_ci || { echo "npm ci failed; trying once more" >&2; sleep 5; npm_ci; }

if [ -n "${MERCATO_BIN:-}" ]; then
  BIN="$MERCATO_BIN"
else
  BIN="$(ls -t "$ROOT/target/debug/mercato" "$ROOT/target/release/mercato" 2>/dev/null | head -1 || true)"
  if [ -z "$BIN" ]; then
    (cd "$ROOT" && cargo build -p mercato)
    BIN="$ROOT/target/debug/mercato"
  fi
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/mercato-browser.XXXXXX")"
SERVER=""
CLUSTER_PREFIX=""
# Every request of a journey comes from this one address, and a busy CI machine must not shed
# them: no rate limits and no shedding on CPU pressure (as the API contract check and e2e run).
export MERCATO__HTTP__RATE_LIMIT_PER_SECOND=0 MERCATO__HTTP__SIGN_UPS_PER_SECOND=0 MERCATO__HTTP__MAX_SCHEDULING_DELAY=0s

stop_embedded() {
  if [ -n "$SERVER" ]; then kill -TERM "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; SERVER=""; fi
}
stop_cluster() {
  [ -n "$CLUSTER_PREFIX" ] || return 0
  MERCATO_LOCAL_DIR="$WORK/cluster" MERCATO_LOCAL_PORT_OFFSET=10000 MERCATO_LOCAL_PREFIX="$CLUSTER_PREFIX" \
    bash "$ROOT/deploy/local/cluster.sh" down >/dev/null 2>&1 || true
  for s in identity catalog inventory payments orders realtime; do
    psql "${MERCATO_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/}postgres" -qc \
      "DROP DATABASE IF EXISTS \"mercato_${CLUSTER_PREFIX}_$s\" WITH (FORCE)" >/dev/null 2>&1 || true
  done
  CLUSTER_PREFIX=""
}
cleanup() {
  stop_embedded
  stop_cluster
  rm -rf "$WORK"
}
trap cleanup EXIT

# Waits for $1/readyz while process $2 lives.
wait_ready() {
  for _ in $(seq 1 240); do
    if curl -fsS -o /dev/null "$1/readyz" 2>/dev/null; then return 0; fi
    if ! kill -0 "$2" 2>/dev/null; then echo "the platform exited; its log:" >&2; tail -20 "$3" >&2; return 1; fi
    sleep 0.5
  done
  echo "the platform was not ready after 120 s; its log:" >&2; tail -20 "$3" >&2
  return 1
}

# Runs the journeys against $2 (shoppers) and $3 (staff), screenshots under $1's directory.
run_journeys() {
  local topology="$1" base="$2" staff="$3" pattern=()
  rm -rf "${SHOTS:?}/$topology" && mkdir -p "$SHOTS/$topology/logs"
  [ -n "${JOURNEYS:-}" ] && pattern=(--test-name-pattern "$JOURNEYS")
  echo "== journeys, $topology topology ($base, staff on $staff)"
  (cd "$E2E" && MERCATO_TOPOLOGY="$topology" MERCATO_BASE_URL="$base" MERCATO_STAFF_BASE_URL="$staff" \
    MERCATO_SCREENSHOTS="$SHOTS/$topology" \
    node --test --test-concurrency=1 --test-reporter=spec "${pattern[@]}" journeys/)
}

# Whether a log in $1 (a file or directory) shows a panic.
panicked() { grep -rqs "panicked" "$1"; }

status=0
for topology in "${TOPOLOGIES[@]}"; do
  t0=$(date +%s)
  case "$topology" in
    embedded)
      echo "== starting $BIN embedded on 127.0.0.1:18080 with the demo store"
      env -u MERCATO_POSTGRES_URL -u MERCATO_NATS_URL -u MERCATO_REDIS_URL \
        "$BIN" serve --data-dir "$WORK/data" --listen 127.0.0.1:18080 >"$WORK/embedded.log" 2>&1 &
      SERVER=$!
      wait_ready http://127.0.0.1:18080 "$SERVER" "$WORK/embedded.log"
      run_journeys embedded http://127.0.0.1:18080 http://127.0.0.1:18080 || status=1
      stop_embedded
      cp "$WORK/embedded.log" "$SHOTS/embedded/logs/"
      if panicked "$WORK/embedded.log"; then echo "FAIL the embedded platform panicked" >&2; status=1; fi
      ;;
    distributed)
      CLUSTER_PREFIX="browser$(date +%s)$RANDOM"
      echo "== starting the distributed topology (prefix $CLUSTER_PREFIX, gateways on 18081 and 18082)"
      export MERCATO_LOCAL_DIR="$WORK/cluster" MERCATO_LOCAL_PORT_OFFSET=10000 MERCATO_LOCAL_PREFIX="$CLUSTER_PREFIX"
      if ! MERCATO_BIN="$BIN" bash "$ROOT/deploy/local/cluster.sh" up; then
        mkdir -p "$SHOTS/distributed/logs" && cp "$WORK"/cluster/*.log "$SHOTS/distributed/logs/" 2>/dev/null || true
        echo "FAIL the distributed topology did not start (logs: $SHOTS/distributed/logs)" >&2
        exit 1
      fi
      # The demo store, small, through the services as cluster.sh configured them.
      MERCATO__SERVICES__INTERNAL_TOKEN="$(cat "$WORK/cluster/internal-token")" \
        MERCATO__POSTGRES__DATABASE_PREFIX="mercato_${CLUSTER_PREFIX}_" \
        "$BIN" seed-demo --identity-url http://127.0.0.1:19101 --catalog-url http://127.0.0.1:19102 \
        --inventory-url http://127.0.0.1:19103 --products 40 >"$WORK/cluster/seed.log" 2>&1 ||
        { echo "seeding the demo store failed:" >&2; tail -20 "$WORK/cluster/seed.log" >&2; status=1; }
      run_journeys distributed http://127.0.0.1:18081 http://127.0.0.1:18082 || status=1
      stop_cluster
      cp "$WORK"/cluster/*.log "$SHOTS/distributed/logs/" 2>/dev/null || true
      if panicked "$SHOTS/distributed/logs"; then echo "FAIL a process of the distributed topology panicked" >&2; status=1; fi
      unset MERCATO_LOCAL_DIR MERCATO_LOCAL_PORT_OFFSET MERCATO_LOCAL_PREFIX
      ;;
    *) echo "unknown topology $topology (embedded, distributed)" >&2; exit 2 ;;
  esac
  echo "== $topology topology took $(( $(date +%s) - t0 )) s"
done
echo "browser journeys finished in $(( $(date +%s) - started )) s (screenshots: $SHOTS)"
exit "$status"
