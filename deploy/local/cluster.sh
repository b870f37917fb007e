#!/usr/bin/env bash
# Runs the distributed topology as local processes: identity, catalog, inventory, payments,
# orders, two realtime replicas, analytics, notifications and two gateways, each its own `mercato serve --roles …` process on its own port, against the
# local PostgreSQL, NATS JetStream and Redis (started by scripts/services.sh if needed).
#
#   deploy/local/cluster.sh up      start everything, wait until every process is ready
#   deploy/local/cluster.sh down    stop every process (SIGTERM, so they drain)
#   deploy/local/cluster.sh status  show each process's readiness
#   deploy/local/cluster.sh smoke   up, check both gateways serve the same data, analytics
#                                   answers (summary, `mercato analytics verify`) and
#                                   notifications (webhooks listed and registered), down
#   deploy/local/cluster.sh rolling-restart   restart every process in turn (SIGTERM, wait, start)
#   deploy/local/cluster.sh start-one NAME    start one process that is not running (e.g. after
#                                             a crash), wait until it is ready
#
# Environment: MERCATO_BIN (default: the newer of target/release/mercato and target/debug/mercato),
# MERCATO_LOCAL_DIR (pids and logs, default /tmp/mercato-local), MERCATO_POSTGRES_URL,
# MERCATO_NATS_URL, MERCATO_REDIS_URL (default: the local servers), MERCATO_LOCAL_PREFIX
# (database and stream namespace, default: local), MERCATO_LOCAL_PORT_OFFSET (added to every
# port, default 0, so that two clusters can run side by side), MERCATO_FAILPOINT_FOR (a process
# name: only that process is started with MERCATO_FAILPOINT; the others never get it),
# MERCATO_LOCAL_TLS=1 (mutual TLS between the processes: `mercato certs init` writes a CA and one
# certificate per service into $MERCATO_LOCAL_DIR/certs, every service port speaks TLS and admits
# only the callers the call graph allows; the gateways' own ports stay plain HTTP).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DIR="${MERCATO_LOCAL_DIR:-/tmp/mercato-local}"
PREFIX="${MERCATO_LOCAL_PREFIX:-local}"
export MERCATO_POSTGRES_URL="${MERCATO_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/}"
export MERCATO_NATS_URL="${MERCATO_NATS_URL:-nats://127.0.0.1:4222}"
export MERCATO_REDIS_URL="${MERCATO_REDIS_URL:-redis://127.0.0.1:6379}"
export MERCATO__POSTGRES__DATABASE_PREFIX="mercato_${PREFIX}_"
# Identity seals its signing keys in PostgreSQL under this key; a development value fixed here,
# so that a later run (from another checkout, whose ./data holds no generated key) can open the
# keys an earlier run sealed in the same databases.
export MERCATO__AUTH__KEY_ENCRYPTION_KEY="${MERCATO__AUTH__KEY_ENCRYPTION_KEY:-bG9jYWwtY2x1c3Rlci1kZXZlbG9wbWVudC1rZXktMzI=}"
export MERCATO__NATS__NAMESPACE="$PREFIX"
export MERCATO__REDIS__KEY_PREFIX="mercato:${PREFIX}:"
# Every process shares one file store (an export written by orders is served by a gateway) and
# the key its download links are signed with.
export MERCATO__FILES__URL="${MERCATO__FILES__URL:-file://$DIR/files}"
export MERCATO__FILES__LINK_KEY="${MERCATO__FILES__LINK_KEY:-local-cluster-development-file-link-key}"
# Notifications keeps what it writes (mail as .eml files without an SMTP server, its generated
# unsubscribe-link key) under the data directory: the cluster's own, not the checkout's ./data.
export MERCATO__DATA_DIR="${MERCATO__DATA_DIR:-$DIR/data}"

# name port roles extra-args
OFF="${MERCATO_LOCAL_PORT_OFFSET:-0}"
TLS="${MERCATO_LOCAL_TLS:-0}"
CERTS="$DIR/certs"
# A gateway's URL (clients speak plain HTTP to it) and a service's (https under TLS).
url() { echo "http://127.0.0.1:$(($1 + OFF))"; }
surl() { if [ "$TLS" = 1 ]; then echo "https://127.0.0.1:$(($1 + OFF))"; else url "$1"; fi; }
UPSTREAMS="--identity-url $(surl 9101) --catalog-url $(surl 9102) --inventory-url $(surl 9103) --orders-url $(surl 9105) --realtime-url $(surl 9106),$(surl 9107) --analytics-url $(surl 9108) --notifications-url $(surl 9109)"
PROCESSES=(
  "identity $((9101 + OFF)) identity"
  # Its products export reads stock from inventory.
  "catalog $((9102 + OFF)) catalog --inventory-url $(surl 9103)"
  "inventory $((9103 + OFF)) inventory"
  "payments $((9104 + OFF)) payments"
  "orders $((9105 + OFF)) orders --inventory-url $(surl 9103) --payments-url $(surl 9104)"
  "realtime-1 $((9106 + OFF)) realtime --identity-url $(surl 9101)"
  "realtime-2 $((9107 + OFF)) realtime --identity-url $(surl 9101)"
  # Learns from events (its own database, mercato_<prefix>_analytics); calls orders (history for
  # the backfill and `verify`) and identity (stores' time zones).
  "analytics $((9108 + OFF)) analytics --orders-url $(surl 9105) --identity-url $(surl 9101)"
  # E-mail and webhooks, learnt from events (its own database, mercato_<prefix>_notifications);
  # calls nobody. Without MERCATO__NOTIFICATIONS__SMTP_URL mail lands in $DIR/data/mail/*.eml.
  "notifications $((9109 + OFF)) notifications"
  "gateway-1 $((8081 + OFF)) gateway $UPSTREAMS"
  "gateway-2 $((8082 + OFF)) gateway $UPSTREAMS"
)

# The explicitly given binary, else the newest of the release and debug builds (a stale release
# build must not shadow the debug build the tests just made), else a fresh release build.
binary() {
  local newest
  newest="$(ls -t "$ROOT/target/release/mercato" "$ROOT/target/debug/mercato" 2>/dev/null | head -1 || true)"
  if [ -n "${MERCATO_BIN:-}" ]; then echo "$MERCATO_BIN"
  elif [ -n "$newest" ]; then echo "$newest"
  else (cd "$ROOT" && cargo build --release -p mercato >&2) && echo "$ROOT/target/release/mercato"
  fi
}

# Whether the process on port $1 (running roles $2) is ready. Under TLS a service port is asked
# over mutual TLS with the process's own certificate, under the name its certificate carries.
ready() {
  local port="$1" roles="${2:-gateway}"
  if [ "$TLS" = 1 ] && [ "$roles" != gateway ]; then
    local host="$roles.mercato.internal"
    curl -fsS -o /dev/null --cacert "$CERTS/ca.pem" --cert "$CERTS/$roles.pem" --key "$CERTS/$roles.key" \
      --connect-to "$host:$port:127.0.0.1:$port" "https://$host:$port/readyz" 2>/dev/null
  else
    curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null
  fi
}

# The environment giving a process running $1 its certificate, under TLS.
tls_env() {
  [ "$TLS" = 1 ] || return 0
  echo "MERCATO__SERVICES__TLS__CA=$CERTS/ca.pem MERCATO__SERVICES__TLS__CERT=$CERTS/$1.pem MERCATO__SERVICES__TLS__KEY=$CERTS/$1.key"
}

# Starts one process in the background, appending to its log and recording its pid. Only the
# process named by MERCATO_FAILPOINT_FOR gets MERCATO_FAILPOINT (crash tests).
launch() {
  local name="$1" port="$2" roles="$3" extra="$4" bin="$5"
  local fp=()
  if [ -n "${MERCATO_FAILPOINT_FOR:-}" ] && [ "$name" = "$MERCATO_FAILPOINT_FOR" ]; then
    fp=(MERCATO_FAILPOINT="${MERCATO_FAILPOINT:-}")
  fi
  # shellcheck disable=SC2086,SC2046
  env -u MERCATO_FAILPOINT "${fp[@]}" $(tls_env "$roles") "$bin" serve --roles "$roles" --listen "127.0.0.1:$port" --json-logs $extra >>"$DIR/$name.log" 2>&1 &
  echo $! >"$DIR/$name.pid"
}

up() {
  bash "$ROOT/scripts/services.sh" up >/dev/null
  mkdir -p "$DIR"
  # Service ports accept only peers presenting this token; one per cluster, kept in its dir.
  [ -s "$DIR/internal-token" ] || head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$DIR/internal-token"
  MERCATO__SERVICES__INTERNAL_TOKEN="$(cat "$DIR/internal-token")"
  export MERCATO__SERVICES__INTERNAL_TOKEN
  local bin
  bin="$(binary)"
  if [ "$TLS" = 1 ]; then "$bin" certs init --dir "$CERTS" >/dev/null; fi
  for p in "${PROCESSES[@]}"; do
    read -r name port roles extra <<<"$p"
    if [ -f "$DIR/$name.pid" ] && kill -0 "$(cat "$DIR/$name.pid")" 2>/dev/null; then
      echo "$name already running"; continue
    fi
    # A port held by something else (another cluster's process, say) would answer our
    # readiness checks and hide that ours never started.
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "port $port ($name) is already in use by another process; stop it or set MERCATO_LOCAL_PORT_OFFSET" >&2
      return 1
    fi
    : >"$DIR/$name.log"
    launch "$name" "$port" "$roles" "$extra" "$bin"
    # Services first: the gateways read the signing keys from identity when they start.
    if [ "$roles" != gateway ]; then wait_ready "$name" "$port" "$roles"; fi
  done
  for p in "${PROCESSES[@]}"; do
    read -r name port roles _ <<<"$p"
    wait_ready "$name" "$port" "$roles"
  done
  echo "distributed topology is up: gateways on $(url 8081) and $(url 8082)"
}

wait_ready() {
  local name="$1" port="$2" roles="${3:-gateway}"
  for _ in $(seq 1 120); do
    if ready "$port" "$roles"; then echo "$name ready on :$port"; return 0; fi
    if ! kill -0 "$(cat "$DIR/$name.pid")" 2>/dev/null; then
      echo "$name exited; its log:" >&2; tail -20 "$DIR/$name.log" >&2; return 1
    fi
    sleep 0.5
  done
  echo "$name not ready after 60 s; its log:" >&2; tail -20 "$DIR/$name.log" >&2
  return 1
}

down() {
  for p in "${PROCESSES[@]}"; do
    read -r name _ <<<"$p"
    [ -f "$DIR/$name.pid" ] || continue
    local pid
    pid="$(cat "$DIR/$name.pid")"
    if kill -TERM "$pid" 2>/dev/null; then
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -KILL "$pid" 2>/dev/null || true
      echo "$name stopped"
    fi
    rm -f "$DIR/$name.pid"
  done
}

# Restarts one process: SIGTERM (it drains HTTP, gRPC and its outbox), wait for it to exit, start
# it again with the same arguments, wait until it is ready.
restart_one() {
  local name="$1" port="$2" roles="$3" extra="$4" bin pid
  bin="$(binary)"
  pid="$(cat "$DIR/$name.pid")"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  if kill -0 "$pid" 2>/dev/null; then echo "$name did not stop within 30 s" >&2; return 1; fi
  launch "$name" "$port" "$roles" "$extra" "$bin"
  wait_ready "$name" "$port" "$roles"
}

# Starts one named process that is not running (after a crash), with the cluster's token.
start_one() {
  [ -s "$DIR/internal-token" ] && MERCATO__SERVICES__INTERNAL_TOKEN="$(cat "$DIR/internal-token")"
  export MERCATO__SERVICES__INTERNAL_TOKEN
  for p in "${PROCESSES[@]}"; do
    read -r name port roles extra <<<"$p"
    [ "$name" = "$1" ] || continue
    if [ -f "$DIR/$name.pid" ] && kill -0 "$(cat "$DIR/$name.pid")" 2>/dev/null; then
      echo "$name is already running" >&2; return 1
    fi
    launch "$name" "$port" "$roles" "$extra" "$(binary)"
    wait_ready "$name" "$port" "$roles"
    return
  done
  echo "no process named $1" >&2; return 2
}

rolling_restart() {
  [ -s "$DIR/internal-token" ] && MERCATO__SERVICES__INTERNAL_TOKEN="$(cat "$DIR/internal-token")"
  export MERCATO__SERVICES__INTERNAL_TOKEN
  for p in "${PROCESSES[@]}"; do
    read -r name port roles extra <<<"$p"
    restart_one "$name" "$port" "$roles" "$extra"
  done
}

status() {
  for p in "${PROCESSES[@]}"; do
    read -r name port roles _ <<<"$p"
    if ready "$port" "$roles"; then echo "$name (:$port) ready"; else echo "$name (:$port) not ready"; fi
  done
}

# The gRPC status payments answers a GetIntent (an empty message) with, to a caller presenting
# the certificate of $1 (none: no certificate) and the internal token; empty when the handshake
# fails.
payments_status_for() {
  local host="payments.mercato.internal" port=$((9104 + OFF)) cert=()
  [ -n "$1" ] && cert=(--cert "$CERTS/$1.pem" --key "$CERTS/$1.key")
  printf '\0\0\0\0\0' | curl -sS -o /dev/null -D - --http2 --cacert "$CERTS/ca.pem" "${cert[@]}" \
    --connect-to "$host:$port:127.0.0.1:$port" -H 'content-type: application/grpc' -H 'te: trailers' \
    -H "authorization: Bearer $(cat "$DIR/internal-token")" \
    --data-binary @- "https://$host:$port/mercato.payments.v1.Payments/GetIntent" 2>/dev/null |
    tr -d '\r' | sed -n 's/^grpc-status: //p' | head -1 || true
}

# The status a gateway answers a WebSocket upgrade of /v1/realtime with: 101 once it has
# reached a realtime replica (over mutual TLS under TLS).
websocket_status() {
  curl -sS -o /dev/null -w '%{http_code}' --max-time 2 -H 'connection: Upgrade' -H 'upgrade: websocket' \
    -H 'sec-websocket-version: 13' -H 'sec-websocket-key: c21va2UgdGVzdCBrZXkgMTI=' \
    "$(url "$1")/v1/realtime" 2>/dev/null || true
}

# Under TLS: orders is answered by payments, the gateway's certificate is refused
# (PERMISSION_DENIED, 7), a caller without a certificate does not get through the handshake, and
# WebSockets are relayed to the realtime replicas.
tls_smoke() {
  local orders gateway anonymous ws
  orders="$(payments_status_for orders)" gateway="$(payments_status_for gateway)" anonymous="$(payments_status_for '')"
  # A refused call's status sometimes does not reach curl's header dump on the first try; ask
  # again (the check below still demands PERMISSION_DENIED).
  for _ in 1 2 3; do [ -n "$gateway" ] && break; sleep 0.5; gateway="$(payments_status_for gateway)"; done
  ws="$(websocket_status 8081)"
  if [ -n "$orders" ] && [ "$orders" != 7 ] && [ "$orders" != 16 ] && [ "$gateway" = 7 ] && [ -z "$anonymous" ] &&
    [ "$ws" = 101 ]; then
    echo "smoke: mutual TLS: payments answers orders (grpc-status $orders), refuses the gateway (7) and callers without a certificate; WebSockets reach realtime"
  else
    echo "smoke: mutual TLS: payments answered orders '$orders', gateway '$gateway' (want 7), no certificate '$anonymous' (want no answer); WebSocket upgrade '$ws' (want 101)" >&2
    return 1
  fi
}

# Provisions a store through one gateway, creates a product, and reads it (and finds it by
# search) through the other.
smoke() {
  trap down EXIT
  up
  local slug="smoke-$(date +%s)-$RANDOM" token id
  curl -fsS -X POST "$(url 8081)/v1/stores" -H 'content-type: application/json' \
    -d "{\"slug\":\"$slug\",\"name\":\"Smoke\",\"currency\":\"EUR\",\"owner\":{\"email\":\"o@example.com\",\"password\":\"smoke test password\"}}" >/dev/null
  token="$(curl -fsS -X POST "$(url 8082)/v1/oauth/token" \
    -d "grant_type=password&store=$slug&username=o@example.com&password=smoke+test+password" |
    sed -E 's/.*"access_token":"([^"]+)".*/\1/')"
  id="$(curl -fsS -X POST "$(url 8081)/v1/stores/$slug/products" -H "authorization: Bearer $token" \
    -H 'content-type: application/json' \
    -d '{"slug":"smoke-lamp","title":"Smoke Lamp","variants":[{"sku":"SL-1","price":{"amount_minor":1299,"currency":"EUR"}}]}' |
    sed -E 's/^\{"id":"([^"]+)".*/\1/')"
  curl -fsS "$(url 8082)/v1/stores/$slug/products/$id" | grep -q '"title":"Smoke Lamp"'
  for _ in $(seq 1 20); do
    if curl -fsS "$(url 8082)/v1/stores/$slug/search?q=lamp" | grep -q '"total":1'; then
      echo "smoke: both gateways serve the same store, product and search"
      analytics_smoke "$slug" "$token"
      notifications_smoke "$slug" "$token"
      if [ "$TLS" = 1 ]; then tls_smoke; fi
      return 0
    fi
    sleep 0.1
  done
  echo "smoke: the product did not become searchable through the second gateway" >&2
  return 1
}

# The owner reads the store's analytics summary through one gateway (analytics learnt the store
# from its StoreProvisioned event), and `mercato analytics verify` through the other makes
# analytics recompute the figures from the orders history (gateway → analytics → orders).
analytics_smoke() {
  local slug="$1" token="$2" report summary=""
  for _ in $(seq 1 50); do
    summary="$(curl -fsS "$(url 8081)/v1/stores/$slug/analytics/summary" -H "authorization: Bearer $token" 2>&1)" &&
      [[ "$summary" == *'"figures"'* ]] && break
    summary=""
    sleep 0.2
  done
  if [ -z "$summary" ]; then
    echo "smoke: the analytics summary did not answer within 10 s" >&2
    return 1
  fi
  if ! report="$("$(binary)" analytics verify --store "$slug" --api "$(url 8082)" \
    --email o@example.com --password 'smoke test password' 2>&1)"; then
    echo "smoke: analytics verify failed: $report" >&2
    return 1
  fi
  echo "smoke: analytics answers the owner's summary; verify: ${report//$'\n'/; }"
}

# The owner lists the store's webhook endpoints through a gateway (gateway → notifications) and
# registers one, whose secret is shown once (no delivery is made: nothing happens in the store).
notifications_smoke() {
  local slug="$1" token="$2" listed created
  listed="$(curl -fsS "$(url 8082)/v1/stores/$slug/webhooks" -H "authorization: Bearer $token" 2>&1)" || {
    echo "smoke: listing webhooks failed: $listed" >&2
    return 1
  }
  created="$(curl -fsS -X POST "$(url 8081)/v1/stores/$slug/webhooks" -H "authorization: Bearer $token" \
    -H 'content-type: application/json' \
    -d '{"url":"https://hooks.example.com/mercato","event_types":["order.confirmed"]}' 2>&1)" || {
    echo "smoke: registering a webhook failed: $created" >&2
    return 1
  }
  if [[ "$listed" != *'"webhooks":[]'* ]] || [[ "$created" != *'"secret":"whsec_'* ]]; then
    echo "smoke: notifications answered $listed and $created" >&2
    return 1
  fi
  echo "smoke: notifications lists and registers the owner's webhooks (secret shown once)"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  smoke) smoke ;;
  rolling-restart) rolling_restart ;;
  start-one) start_one "${2:?usage: $0 start-one NAME}" ;;
  *) echo "usage: $0 up|down|status|smoke|rolling-restart|start-one NAME" >&2; exit 2 ;;
esac
