#!/usr/bin/env bash
# Crash test of the checkout saga in the distributed topology. For each failpoint (see
# crates/runtime/src/failpoint.rs) a fresh local cluster is started with that failpoint set in one
# process (orders or payments); one checkout makes that process abort at the named moment; the
# process is restarted without the failpoint, the saga driver finishes the order, and an audit
# checks what the platform made of it:
#
#   - every order is terminal (confirmed or failed), with exactly one terminal event, and the
#     outcome the card asked for;
#   - at most one capture per order and per intent, and the provider's ledger equals the
#     payments table (captured amounts, authorizations);
#   - stock is conserved (available + sold = initial, on hand = initial - sold, reserved = 0);
#   - every service's outbox is drained.
#
# Prints one line per check; exits non-zero on any failure. Usage:
#   deploy/local/crash-test.sh [FAILPOINT...]     (default: all four)
# Environment: as cluster.sh; MERCATO_LOCAL_PORT_OFFSET defaults to 300 here (gateways on 8381
# and 8382) so a developer's cluster on the default ports is left alone. Needs curl, jq, psql.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
CLUSTER="$ROOT/deploy/local/cluster.sh"
export MERCATO_LOCAL_DIR="${MERCATO_LOCAL_DIR:-/tmp/mercato-crash}"
export MERCATO_LOCAL_PORT_OFFSET="${MERCATO_LOCAL_PORT_OFFSET:-300}"
export MERCATO_POSTGRES_URL="${MERCATO_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/}"
export MERCATO_BIN="${MERCATO_BIN:-$ROOT/target/debug/mercato}"
PG="${MERCATO_POSTGRES_URL%/}"
GW1="http://127.0.0.1:$((8081 + MERCATO_LOCAL_PORT_OFFSET))"
GW2="http://127.0.0.1:$((8082 + MERCATO_LOCAL_PORT_OFFSET))"
SERVICES=(identity catalog inventory payments orders)
APPROVE=4242424242424242
DECLINE=4000000000000002
INITIAL=10
QUANTITY=2
PRICE=1500

# failpoint, the process it is set in, the card (declined cards make the saga compensate).
CASES=(
  "orders.after_reserve orders $APPROVE"
  "orders.during_compensation orders $DECLINE"
  "payments.after_provider_authorize payments $APPROVE"
  "payments.after_capture payments $APPROVE"
)
[ "$#" -gt 0 ] && { wanted=" $* "; keep=(); for c in "${CASES[@]}"; do
  [[ "$wanted" == *" ${c%% *} "* ]] && keep+=("$c"); done; CASES=("${keep[@]}"); }
[ "${#CASES[@]}" -gt 0 ] || { echo "no such failpoint: $*" >&2; exit 2; }

if [ ! -x "$MERCATO_BIN" ]; then (cd "$ROOT" && cargo build -p mercato); fi

PREFIX=""
cleanup() {
  bash "$CLUSTER" down >/dev/null 2>&1 || true
  if [ -n "$PREFIX" ]; then
    for s in "${SERVICES[@]}"; do
      psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS \"mercato_${PREFIX}_$s\" WITH (FORCE)" >/dev/null 2>&1 || true
    done
  fi
}
trap cleanup EXIT

failures=0
# check NAME DETAIL COMMAND...: one line, PASS when the command succeeds.
check() {
  local name="$1" detail="$2"; shift 2
  if "$@"; then echo "  PASS $name ($detail)"; else echo "  FAIL $name ($detail)"; failures=$((failures + 1)); fi
}
sql() { psql "$PG/mercato_${PREFIX}_$1" -Atqc "$2"; }
pid_of() { cat "$MERCATO_LOCAL_DIR/$1.pid"; }

run_case() {
  local failpoint="$1" process="$2" card="$3" expect slug token sku=CRASH-1 cart ctoken code
  [ "$card" = "$APPROVE" ] && expect=confirmed || expect=failed
  PREFIX="crash$(date +%s)$RANDOM"
  export MERCATO_LOCAL_PREFIX="$PREFIX"
  echo "== $failpoint (in $process, expecting $expect; prefix $PREFIX)"
  rm -rf "$MERCATO_LOCAL_DIR" && mkdir -p "$MERCATO_LOCAL_DIR"
  MERCATO_FAILPOINT_FOR="$process" MERCATO_FAILPOINT="$failpoint" bash "$CLUSTER" up >/dev/null || return 1

  slug="crash-$RANDOM$RANDOM"
  curl -fsS -X POST "$GW1/v1/stores" -H 'content-type: application/json' \
    -d "{\"slug\":\"$slug\",\"name\":\"Crash\",\"currency\":\"EUR\",\"owner\":{\"email\":\"o@example.com\",\"password\":\"crash test password\"}}" >/dev/null || return 1
  token="$(curl -fsS -X POST "$GW2/v1/oauth/token" \
    -d "grant_type=password&store=$slug&username=o@example.com&password=crash+test+password" | jq -r .access_token)" || return 1
  curl -fsS -X POST "$GW1/v1/stores/$slug/products" -H "authorization: Bearer $token" \
    -H 'content-type: application/json' \
    -d "{\"slug\":\"crash-tee\",\"title\":\"Crash Tee\",\"variants\":[{\"sku\":\"$sku\",\"price\":{\"amount_minor\":$PRICE,\"currency\":\"EUR\"}}]}" >/dev/null || return 1
  curl -fsS -X PUT "$GW1/v1/stores/$slug/inventory/$sku" -H "authorization: Bearer $token" \
    -H 'content-type: application/json' -d "{\"on_hand\":$INITIAL}" >/dev/null || return 1
  read -r cart ctoken < <(curl -fsS -X POST "$GW1/v1/stores/$slug/carts" -H 'content-type: application/json' \
    -d '{}' | jq -r '"\(.id) \(.cart_token)"')
  [ -n "${ctoken:-}" ] || { echo "  FAIL no cart was created"; return 1; }
  # Orders learns the SKU from catalog's events; the cart refuses it until then.
  for i in $(seq 1 100); do
    code="$(curl -sS -o /dev/null -w '%{http_code}' -X POST "$GW1/v1/stores/$slug/carts/$cart/items" \
      -H "x-cart-token: $ctoken" -H 'content-type: application/json' \
      -d "{\"sku\":\"$sku\",\"quantity\":$QUANTITY}")"
    [ "$code" = 200 ] && break
    [ "$i" = 100 ] && { echo "  FAIL the cart never accepted $sku ($code)"; return 1; }
    sleep 0.1
  done

  # The card is tokenized first, as a storefront does; the checkout names the payment method
  # and, goods being shipped, the address.
  local ship_to='{"name":"Crash Test","line1":"Heidestrasse 17","city":"Koeln","postal_code":"51147","country":"DE"}'
  local method
  method="$(curl -fsS -X POST "$GW1/v1/stores/$slug/payment-methods" -H 'content-type: application/json' \
    -d "{\"card_number\":\"$card\"}" | jq -r .id)"
  [[ "$method" == pm_* ]] || { echo "  FAIL the card was not tokenized"; return 1; }
  code="$(curl -sS -m 30 -o "$MERCATO_LOCAL_DIR/checkout.json" -w '%{http_code}' -X POST \
    "$GW1/v1/stores/$slug/checkout" -H "x-cart-token: $ctoken" -H 'content-type: application/json' \
    -H "idempotency-key: crash-1" \
    -d "{\"cart_id\":\"$cart\",\"payment\":{\"payment_method\":\"$method\"},\"shipping_address\":$ship_to}" \
    2>/dev/null || true)"
  echo "  checkout answered ${code:-nothing}: $(head -c 160 "$MERCATO_LOCAL_DIR/checkout.json" 2>/dev/null)"
  local pid died=1
  pid="$(pid_of "$process")"
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || { died=0; break; }; sleep 0.1; done
  check "$process aborted at the failpoint" "$(grep -c "failpoint $failpoint" "$MERCATO_LOCAL_DIR/$process.log" || true) failpoint line(s) in its log" [ "$died" -eq 0 ]
  [ "$died" -eq 0 ] || return 1
  check "the order was not acknowledged as confirmed" "HTTP ${code:-none}" [ "$code" != 201 ]

  local started=$SECONDS
  bash "$CLUSTER" start-one "$process" >/dev/null || return 1
  echo "  $process restarted without the failpoint"
  local orders pending=1
  for _ in $(seq 1 60); do
    orders="$(curl -fsS "$GW2/v1/stores/$slug/orders?per_page=100" -H "authorization: Bearer $token" || echo '{}')"
    if [ "$(jq '.items | length' <<<"$orders")" -ge 1 ] 2>/dev/null &&
      [ "$(jq '[.items[] | select(.status == "pending")] | length' <<<"$orders")" = 0 ]; then
      pending=0; break
    fi
    sleep 0.5
  done
  check "the saga driver ended every order" "$((SECONDS - started)) s after the restart" [ "$pending" -eq 0 ]

  # Every order is terminal, once, with the outcome its card asked for.
  local ids n distinct id terminal statuses
  ids="$(jq -r '.items[].id' <<<"$orders")"
  n="$(jq '.items | length' <<<"$orders")"
  distinct="$(sort -u <<<"$ids" | grep -c . || true)"
  check "exactly one order for one checkout" "$n listed, $distinct distinct" [ "$n:$distinct" = 1:1 ]
  statuses="$(jq -r '[.items[].status] | join(",")' <<<"$orders")"
  check "the order ended $expect" "$statuses" [ "$statuses" = "$expect" ]
  for id in $ids; do
    terminal="$(curl -fsS "$GW2/v1/stores/$slug/orders/$id/events" -H "authorization: Bearer $token" |
      jq '[.events[] | select(.kind == "confirmed" or .kind == "failed")] | length')"
    check "order $id has exactly one terminal event" "$terminal" [ "$terminal" = 1 ]
  done

  # Money: at most one capture per order and per intent; the ledger equals the intents.
  local per_order per_intent captured booked auth_intents auth_ledger expected_capture
  per_order="$(sql payments "SELECT COALESCE(MAX(c), 0) FROM (SELECT count(*) AS c FROM payment_intents WHERE captured_minor > 0 GROUP BY order_id) t")"
  check "at most one captured intent per order" "max $per_order" [ "$per_order" -le 1 ]
  per_intent="$(sql payments "SELECT COALESCE(MAX(c), 0) FROM (SELECT count(*) AS c FROM provider_ledger WHERE kind = 'capture' AND outcome = 'approved' GROUP BY reference) t")"
  check "no authorization captured twice in the provider ledger" "max $per_intent" [ "$per_intent" -le 1 ]
  captured="$(sql payments "SELECT COALESCE(SUM(captured_minor), 0) FROM payment_intents")"
  booked="$(sql payments "SELECT COALESCE(SUM(amount_minor), 0) FROM provider_ledger WHERE kind = 'capture' AND outcome = 'approved'")"
  check "captured in payment_intents = captures in provider_ledger" "$captured = $booked" [ "$captured" = "$booked" ]
  [ "$expect" = confirmed ] && expected_capture=$((QUANTITY * PRICE)) || expected_capture=0
  check "captured amount matches the order's outcome" "$captured, expected $expected_capture" [ "$captured" = "$expected_capture" ]
  auth_intents="$(sql payments "SELECT count(*) FROM payment_intents WHERE provider_reference <> ''")"
  auth_ledger="$(sql payments "SELECT count(*) FROM provider_ledger WHERE kind = 'authorize' AND outcome = 'approved'")"
  check "approved authorizations: intents = ledger" "$auth_intents = $auth_ledger" [ "$auth_intents" = "$auth_ledger" ]
  local unsettled
  unsettled="$(sql payments "SELECT count(*) FROM payment_intents WHERE status IN ('pending', 'authorized', 'failed')")"
  check "no payment intent left unsettled" "$unsettled" [ "$unsettled" = 0 ]

  # Stock: available + sold = initial, on hand = initial - sold, nothing reserved.
  local sold level available on_hand reserved ok=1
  sold="$(curl -fsS "$GW2/v1/stores/$slug/orders?per_page=100" -H "authorization: Bearer $token" |
    jq "[.items[] | select(.status == \"confirmed\") | .lines[] | select(.sku == \"$sku\") | .quantity] | add // 0")"
  for _ in $(seq 1 20); do
    level="$(curl -fsS "$GW1/v1/stores/$slug/inventory/$sku" -H "authorization: Bearer $token")"
    available="$(jq .available_total <<<"$level")"
    on_hand="$(jq '[.locations[].on_hand] | add' <<<"$level")"
    reserved="$(jq '[.locations[].reserved] | add' <<<"$level")"
    if [ "$reserved" = 0 ] && [ $((available + sold)) = "$INITIAL" ]; then ok=0; break; fi
    sleep 0.5
  done
  check "stock conserved: available + sold = initial" "$available + $sold = $INITIAL" [ "$ok" -eq 0 ]
  check "on hand = initial - sold" "$on_hand" [ "$on_hand" = $((INITIAL - sold)) ]
  check "nothing left reserved" "$reserved" [ "$reserved" = 0 ]

  # Every outbox drained.
  local s left
  for s in "${SERVICES[@]}"; do
    for _ in $(seq 1 20); do
      left="$(sql "$s" "SELECT count(*) FROM outbox WHERE published_at IS NULL")"
      [ "$left" = 0 ] && break
      sleep 0.5
    done
    check "$s outbox drained" "$left unpublished" [ "$left" = 0 ]
  done

  cleanup
  PREFIX=""
}

started=$SECONDS
for c in "${CASES[@]}"; do
  # shellcheck disable=SC2086
  run_case $c || { echo "  FAIL $c: the scenario could not run"; failures=$((failures + 1)); cleanup; PREFIX=""; }
done
echo "crash test: $failures failure(s) in $((SECONDS - started)) s"
[ "$failures" -eq 0 ]
