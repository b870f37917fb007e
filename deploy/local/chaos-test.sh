#!/usr/bin/env bash
# Chaos test of the local distributed topology: with shoppers checking out and customers sending
# conversation messages through both gateways (chaos-load.sh), the infrastructure fails in turn:
#
#   1. NATS is paused (SIGSTOP) for 30 s, then resumed (SIGCONT);
#   2. PostgreSQL is restarted (pg_ctl restart -m fast: every connection is cut);
#   3. Redis is shut down and started again 10 s later (empty: it keeps nothing on disk).
#
# After each, once every process is ready again, an auditor (chaos-audit.sh) checks that every
# acknowledged order exists exactly once through both gateways and reaches confirmed or failed,
# stock is never negative, and every acknowledged message is in its conversation exactly once;
# at the end, with the load stopped, the whole order list, exact stock conservation, and that
# analytics' figures equal the orders history (`mercato analytics verify`). A report
# per phase (chaos-report.sh) shows how the platform answered meanwhile (statuses, Retry-After,
# latency, slow answers, and requests not answered within 10 s: hung). Exits non-zero on any loss, duplicate or hang.
#
# The servers it breaks are its own (chaos-servers.sh): a private PostgreSQL, Redis and NATS on
# other ports, so the machine's shared servers, which other tests use, are never touched.
#
# Environment: as cluster.sh, with MERCATO_LOCAL_PORT_OFFSET defaulting to 500 here (gateways on
# 8581 and 8582); CHAOS_DIR (default /tmp/mercato-chaos: logs, records, the servers' data);
# CHAOS_POSTGRES_PORT, CHAOS_REDIS_PORT, CHAOS_NATS_PORT (default 15932, 16879, 14722). MERCATO_BIN
# defaults to the newest of the release and debug builds, else a debug build (what CI's earlier
# steps have built). Needs curl (7.84+), jq, psql, the PostgreSQL server binaries, redis-server
# and nats-server. Takes about 3 minutes.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
HERE="$ROOT/deploy/local"
CLUSTER="$HERE/cluster.sh"
WORK="${CHAOS_DIR:-/tmp/mercato-chaos}"
SERVERS="$WORK/servers"
OFF="${MERCATO_LOCAL_PORT_OFFSET:-500}"
PG_PORT="${CHAOS_POSTGRES_PORT:-$((15432 + OFF))}"
REDIS_PORT="${CHAOS_REDIS_PORT:-$((16379 + OFF))}"
NATS_PORT="${CHAOS_NATS_PORT:-$((14222 + OFF))}"
export MERCATO_LOCAL_DIR="$WORK/cluster" MERCATO_LOCAL_PORT_OFFSET="$OFF" MERCATO_LOCAL_PREFIX=chaos
export MERCATO_POSTGRES_URL="postgres://postgres@127.0.0.1:$PG_PORT/"
export MERCATO_NATS_URL="nats://127.0.0.1:$NATS_PORT"
export MERCATO_REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
DB_URL_PREFIX="${MERCATO_POSTGRES_URL}mercato_chaos_"
GATEWAYS=("http://127.0.0.1:$((8081 + OFF))" "http://127.0.0.1:$((8082 + OFF))")
PORTS=(9101 9102 9103 9104 9105 9106 9107 9108 9109 8081 8082)
SHOPPERS=2
MESSENGERS=2
INITIAL=1000000
SKU=CHAOS-1
NATS_PAUSE=30
REDIS_DOWN=10
# Load kept flowing after each recovery before its audit: long enough for a few checkouts.
RECOVERY=5
# A fault may catch requests already in flight on a connection it silently stalls (SIGSTOP leaves
# NATS's sockets open), and those can wait out a timeout once; what must not happen is the
# platform waiting on the dead dependency request after request. Up to 2 % of a phase's requests
# may go unanswered within the client's 10 s; more is a hang.
HUNG_MAX_PERCENT=2

# shellcheck source=deploy/local/chaos-servers.sh
source "$HERE/chaos-servers.sh"
# shellcheck source=deploy/local/chaos-load.sh
source "$HERE/chaos-load.sh"
# shellcheck source=deploy/local/chaos-audit.sh
source "$HERE/chaos-audit.sh"

if [ -z "${MERCATO_BIN:-}" ]; then
  MERCATO_BIN="$(ls -t "$ROOT/target/release/mercato" "$ROOT/target/debug/mercato" 2>/dev/null | head -1 || true)"
  if [ -z "$MERCATO_BIN" ]; then (cd "$ROOT" && cargo build -p mercato) && MERCATO_BIN="$ROOT/target/debug/mercato"; fi
fi
export MERCATO_BIN

WRITERS=()
cleanup() {
  touch "$WORK/stop"
  local pid
  for pid in "${WRITERS[@]}"; do wait "$pid" 2>/dev/null || true; done
  bash "$CLUSTER" down >/dev/null 2>&1 || true
  servers_stop
}

started=$SECONDS
set_phase() {
  echo "$1" >"$WORK/phase.next" && mv "$WORK/phase.next" "$WORK/phase"
  echo "== $1 (at $((SECONDS - started)) s)"
}

# Waits until every process of the cluster answers /readyz; prints how long that took.
wait_all_ready() {
  local from=$SECONDS port waiting
  while [ $((SECONDS - from)) -lt 60 ]; do
    waiting=0
    for port in "${PORTS[@]}"; do
      curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$((port + OFF))/readyz" 2>/dev/null || waiting=1
    done
    if [ "$waiting" = 0 ]; then echo "  every process ready $((SECONDS - from)) s after the fault ended"; return 0; fi
    sleep 0.5
  done
  check "every process ready again within 60 s" "$(bash "$CLUSTER" status | grep -c 'not ready') not ready" false
}

# curl with retries while the gateway answers 429 (provisioning and sign-ups are rate-limited
# per address): prints the body, fails on any other error.
setup_call() {
  local out="$WORK/setup.json" code _
  for _ in $(seq 1 20); do
    code="$(curl -sS -m 10 -o "$out" -w '%{http_code}' "$@")"
    case "$code" in
      2??) cat "$out"; return 0 ;;
      429) sleep 1 ;;
      *) echo "setup: HTTP $code: $(head -c 300 "$out")" >&2; return 1 ;;
    esac
  done
  return 1
}

# A store, its owner's token, one product with plenty of stock; returns once orders knows the SKU.
setup_store() {
  SLUG="chaos-$RANDOM$RANDOM"
  setup_call -X POST "${GATEWAYS[0]}/v1/stores" -H 'content-type: application/json' \
    -d "{\"slug\":\"$SLUG\",\"name\":\"Chaos\",\"currency\":\"EUR\",\"owner\":{\"email\":\"o@example.com\",\"password\":\"chaos test password\"}}" >/dev/null
  OWNER_TOKEN="$(setup_call -X POST "${GATEWAYS[1]}/v1/oauth/token" \
    -d "grant_type=password&store=$SLUG&username=o@example.com&password=chaos+test+password" | jq -r .access_token)"
  setup_call -X POST "${GATEWAYS[0]}/v1/stores/$SLUG/products" -H "authorization: Bearer $OWNER_TOKEN" \
    -H 'content-type: application/json' \
    -d "{\"slug\":\"chaos-tee\",\"title\":\"Chaos Tee\",\"variants\":[{\"sku\":\"$SKU\",\"price\":{\"amount_minor\":1500,\"currency\":\"EUR\"}}]}" >/dev/null
  setup_call -X PUT "${GATEWAYS[0]}/v1/stores/$SLUG/inventory/$SKU" -H "authorization: Bearer $OWNER_TOKEN" \
    -H 'content-type: application/json' -d "{\"on_hand\":$INITIAL}" >/dev/null
  local cart ctoken _
  read -r cart ctoken < <(setup_call -X POST "${GATEWAYS[1]}/v1/stores/$SLUG/carts" \
    -H 'content-type: application/json' -d '{}' | jq -r '"\(.id) \(.cart_token)"')
  # Orders learns the SKU from catalog's events; the cart refuses it until then.
  for _ in $(seq 1 100); do
    [ "$(curl -sS -o /dev/null -w '%{http_code}' -X POST "${GATEWAYS[1]}/v1/stores/$SLUG/carts/$cart/items" \
      -H "x-cart-token: $ctoken" -H 'content-type: application/json' -d "{\"sku\":\"$SKU\",\"quantity\":1}")" = 200 ] && return 0
    sleep 0.1
  done
  echo "setup: orders never learned $SKU" >&2; return 1
}

# One customer per messenger, each with an open conversation: CUSTOMERS[i]="<token> <id>".
setup_customers() {
  local w email token conv
  CUSTOMERS=()
  for w in $(seq 0 $((MESSENGERS - 1))); do
    email="c$w@example.com"
    setup_call -X POST "${GATEWAYS[0]}/v1/stores/$SLUG/customers" -H 'content-type: application/json' \
      -d "{\"email\":\"$email\",\"password\":\"chaos customer password\"}" >/dev/null
    token="$(setup_call -X POST "${GATEWAYS[1]}/v1/oauth/token" \
      -d "grant_type=password&store=$SLUG&username=$email&password=chaos+customer+password" | jq -r .access_token)"
    conv="$(setup_call -X POST "${GATEWAYS[0]}/v1/stores/$SLUG/conversations" -H "authorization: Bearer $token" \
      -H 'content-type: application/json' -d "{\"subject\":\"Chaos $w\"}" | jq -r .id)"
    CUSTOMERS+=("$token $conv")
  done
}

audit_all() {
  audit_orders "$1" "${2:-}"
  audit_messages "$1"
  audit_outboxes
  if [ "${2:-}" = final ]; then audit_analytics; fi
}

fault_nats() {
  set_phase nats-paused
  nats_pause
  sleep "$NATS_PAUSE"
  nats_resume
  set_phase after-nats
  wait_all_ready
}

fault_postgres() {
  set_phase postgres-restart
  pg_restart
  wait_all_ready
  set_phase after-postgres
}

fault_redis() {
  set_phase redis-stopped
  redis_stop
  sleep "$REDIS_DOWN"
  redis_start
  set_phase after-redis
  wait_all_ready
}

main() {
  rm -rf "$WORK" && mkdir -p "$WORK"
  trap cleanup EXIT
  echo "chaos test: private PostgreSQL :$PG_PORT, Redis :$REDIS_PORT, NATS :$NATS_PORT; gateways ${GATEWAYS[*]}; $MERCATO_BIN"
  servers_start
  bash "$CLUSTER" up >"$WORK/cluster-up.log" || { cat "$WORK/cluster-up.log"; return 1; }
  setup_store
  setup_customers
  set_phase baseline
  local w
  for w in $(seq 0 $((SHOPPERS - 1))); do shopper "$w" & WRITERS+=($!); done
  for w in $(seq 0 $((MESSENGERS - 1))); do messenger "$w" & WRITERS+=($!); done
  sleep "$RECOVERY"
  local fault
  for fault in nats postgres redis; do
    "fault_$fault"
    sleep "$RECOVERY"
    audit_all "$fault"
  done
  set_phase drained
  touch "$WORK/stop"
  for w in "${WRITERS[@]}"; do wait "$w" || true; done
  WRITERS=()
  audit_all "the load stopped" final
  bash "$HERE/chaos-report.sh" "$WORK" "$HUNG_MAX_PERCENT" || FAILURES=$((FAILURES + 1))
  echo "chaos test: $FAILURES failure(s) in $((SECONDS - started)) s; records in $WORK"
  [ "$FAILURES" -eq 0 ]
}

main "$@"
