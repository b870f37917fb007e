# Load for deploy/local/chaos-test.sh (sourced): shoppers checking out and customers sending
# conversation messages through both gateways while faults happen. Each behaves like a careful
# client: it retries a request that got no final answer with the same Idempotency-Key or
# client_msg_id, waiting what Retry-After says (at most MAX_WAIT s).
#
# Every request is one line of $WORK/requests-<writer>.log:
#   <unix time> <phase> <kind> <status> <seconds> <retry-after or ->
# where status is the HTTP status, `timeout` (no answer within CLIENT_TIMEOUT s: hung) or `error`
# (no connection). The phase is what $WORK/phase says when the request is sent.
# Acknowledgements go to:
#   $WORK/orders-acked      <key> <order id> <cart id> <status> <http status>   (201 or 202)
#   $WORK/orders-answers    <key> <order id>      (every answer naming an order, replays too)
#   $WORK/messages-acked    <conversation id> <client_msg_id> <message id> <seq>  (201 or 200)
# and what never got a final answer to $WORK/orders-unanswered and $WORK/messages-unanswered.
# Needs: WORK, SLUG, SKU, GATEWAYS (array), CUSTOMERS (array of "token conversation-id").

CLIENT_TIMEOUT=10
MAX_WAIT=2
ATTEMPTS=8
# Between a writer's checkouts or messages: keeps the load a steady few requests per second per
# writer, so that the audits (every acknowledged order read through both gateways) stay short.
THINK_TIME=0.2

# call LOG KIND OUT CURL-ARGS...: one request; sets CODE (status, `timeout` or `error`) and
# RETRY_AFTER (the header's value, empty without one), and logs the request.
call() {
  local log="$1" kind="$2" out="$3" phase written rc secs
  shift 3
  read -r phase <"$WORK/phase"
  written="$(curl -sS -m "$CLIENT_TIMEOUT" -o "$out" \
    -w '%{http_code} %{time_total} %header{retry-after}' "$@" 2>/dev/null)" && rc=0 || rc=$?
  read -r CODE secs RETRY_AFTER <<<"$written"
  if [ "$rc" = 28 ]; then CODE=timeout; elif [ "$rc" != 0 ] || [ "$CODE" = 000 ]; then CODE=error; fi
  echo "$EPOCHREALTIME $phase $kind $CODE ${secs:-0} ${RETRY_AFTER:--}" >>"$log"
}

# Waits as the last answer asked (Retry-After), never more than MAX_WAIT s, at least 0.2 s.
back_off() {
  local wait="${RETRY_AFTER:-0}"
  [[ "$wait" =~ ^[0-9]+$ ]] || wait=0
  [ "$wait" -gt "$MAX_WAIT" ] && wait="$MAX_WAIT"
  sleep "$wait.2"
}

stopping() { [ -f "$WORK/stop" ]; }

# A Luhn-valid test card that the test provider approves, distinct per shopper and checkout, so
# that the fraud rules' card velocity (10 attempts per card and hour) never blocks the load.
card_for() {
  local payload sum=0 i d
  payload="$(printf '45%01d%012d' "$1" "$2")"
  for ((i = 0; i < ${#payload}; i++)); do
    d="${payload:${#payload}-1-i:1}"
    if ((i % 2 == 0)); then d=$((d * 2)); ((d > 9)) && d=$((d - 9)); fi
    sum=$((sum + d))
  done
  echo "$payload$(((10 - sum % 10) % 10))"
}

# The checkout's `payment` object for a card: the payment method the card is tokenized into
# (POST …/payment-methods); checkout never sees the number. Fails when tokenizing got no 201.
payment_for() {
  local log="$1" out="$2" gw="$3" card="$4"
  call "$log" payment_method "$out" -X POST "$gw/v1/stores/$SLUG/payment-methods" \
    -H 'content-type: application/json' -d "{\"card_number\":\"$card\"}"
  [ "$CODE" = 201 ] || return 1
  jq -c '{payment_method: .id}' "$out"
}

# Checks a cart out with one Idempotency-Key until an answer is final: 201/202 (acknowledged),
# or a refusal the same request cannot change (402, 404, 409 other than checkout_in_progress,
# 422). Everything else (409 checkout_in_progress, 429, 5xx, no answer) is retried.
checkout() {
  local log="$1" out="$2" gw="$3" key="$4" cart="$5" ctoken="$6" payment="$7" attempt order code
  # Goods ship: every checkout names an address (422 shipping_address_required otherwise).
  local body="{\"cart_id\":\"$cart\",\"payment\":$payment,\"shipping_address\":{\"name\":\"Chaos Shopper\",\"line1\":\"Heidestrasse 17\",\"city\":\"Koeln\",\"postal_code\":\"51147\",\"country\":\"DE\"}}"
  for attempt in $(seq 1 "$ATTEMPTS"); do
    call "$log" checkout "$out" -X POST "$gw/v1/stores/$SLUG/checkout" -H "x-cart-token: $ctoken" \
      -H 'content-type: application/json' -H "idempotency-key: $key" -d "$body"
    order="$(jq -r '.id // empty' "$out" 2>/dev/null || true)"
    case "$CODE" in
      201 | 202)
        echo "$key $order" >>"$WORK/orders-answers"
        echo "$key $order $cart $(jq -r .status "$out") $CODE" >>"$WORK/orders-acked"
        return 0 ;;
      402 | 404 | 422) return 0 ;;
      409) code="$(jq -r '.code // empty' "$out" 2>/dev/null || true)"
        [ "$code" = checkout_in_progress ] || return 0 ;;
    esac
    stopping && [ "$attempt" -ge 3 ] && break
    back_off
  done
  echo "$key $cart $CODE" >>"$WORK/orders-unanswered"
}

# One shopper: an anonymous cart, one line, a checkout; again until told to stop. Alternates
# gateways between checkouts.
shopper() {
  local w="$1" n=0 gw cart ctoken payment log="$WORK/requests-shopper-$1.log" out="$WORK/out-shopper-$1"
  while ! stopping; do
    n=$((n + 1))
    gw="${GATEWAYS[$(((w + n) % ${#GATEWAYS[@]}))]}"
    call "$log" cart "$out" -X POST "$gw/v1/stores/$SLUG/carts" -H 'content-type: application/json' -d '{}'
    if [ "$CODE" != 201 ]; then back_off; continue; fi
    read -r cart ctoken < <(jq -r '"\(.id) \(.cart_token)"' "$out") || continue
    call "$log" cart_item "$out" -X POST "$gw/v1/stores/$SLUG/carts/$cart/items" \
      -H "x-cart-token: $ctoken" -H 'content-type: application/json' \
      -d "{\"sku\":\"$SKU\",\"quantity\":$((RANDOM % 3 + 1))}"
    if [ "$CODE" != 200 ]; then back_off; continue; fi
    payment="$(payment_for "$log" "$out" "$gw" "$(card_for "$w" "$n")")" || { back_off; continue; }
    checkout "$log" "$out" "$gw" "chaos-$w-$n" "$cart" "$ctoken" "$payment"
    sleep "$THINK_TIME"
  done
}

# One customer sending messages into their conversation, each with its own client_msg_id,
# resent until acknowledged (201, or 200 for a resend the service had already stored).
messenger() {
  local w="$1" n=0 gw token conv id attempt log="$WORK/requests-messenger-$1.log" out="$WORK/out-messenger-$1"
  read -r token conv <<<"${CUSTOMERS[$w]}"
  while ! stopping; do
    n=$((n + 1))
    id="chaos-$w-$n"
    for attempt in $(seq 1 "$ATTEMPTS"); do
      gw="${GATEWAYS[$(((w + n + attempt) % ${#GATEWAYS[@]}))]}"
      call "$log" message "$out" -X POST "$gw/v1/stores/$SLUG/conversations/$conv/messages" \
        -H "authorization: Bearer $token" -H 'content-type: application/json' \
        -d "{\"client_msg_id\":\"$id\",\"body\":\"chaos message $n from customer $w\"}"
      if [ "$CODE" = 201 ] || [ "$CODE" = 200 ]; then
        echo "$conv $id $(jq -r '"\(.id) \(.seq)"' "$out")" >>"$WORK/messages-acked"
        break
      fi
      [ "$CODE" = 422 ] && break
      stopping && [ "$attempt" -ge 3 ] && break
      [ "$attempt" = "$ATTEMPTS" ] && echo "$conv $id $CODE" >>"$WORK/messages-unanswered"
      back_off
    done
    sleep "$THINK_TIME"
  done
}
