# The auditor of deploy/local/chaos-test.sh (sourced): after each fault, is every acknowledged
# order and message there exactly once, and is stock consistent? Reads what the load recorded
# (see chaos-load.sh) and asks the platform through both gateways; the service databases (the
# chaos run's private PostgreSQL) only for what no API shows: which cart an order came from,
# whether an order is still stored, the outboxes.
#
#   audit_orders LABEL [final]     every acknowledged order readable through both gateways,
#                                  final (confirmed or failed) within SAGA_TIMEOUT s, one order
#                                  per Idempotency-Key and per cart; stock never negative; with
#                                  `final` (load stopped) also the whole order list and exact
#                                  stock conservation
#   audit_messages LABEL           every acknowledged message once in its conversation, seqs
#                                  gapless
#   audit_outboxes                 every service's outbox relay publishing again
# Each prints PASS/FAIL lines through check() and counts failures in FAILURES.
# Needs: WORK, SLUG, SKU, INITIAL, OWNER_TOKEN, GATEWAYS, CUSTOMERS, DB_URL_PREFIX (a psql URL
# without the service's name: "${DB_URL_PREFIX}orders" is the orders database).

SAGA_TIMEOUT=60
FAILURES=0
# Acknowledged orders already seen final through both gateways (lines of orders-acked): each
# audit reads the new ones through the gateways, and asks the database about all of them.
AUDITED_ORDERS=0

# check NAME DETAIL COMMAND...: one line, PASS when the command succeeds.
check() {
  local name="$1" detail="$2"
  shift 2
  if "$@"; then echo "  PASS $name ($detail)"; else echo "  FAIL $name ($detail)"; FAILURES=$((FAILURES + 1)); fi
}

# The audit reads as a well-behaved client does: a 429 or 503 (load shed while the processes
# catch up) is asked again after its Retry-After, up to five times (curl --retry).
owner_get() { curl -sS -m 10 --retry 5 -f "$1$2" -H "authorization: Bearer $OWNER_TOKEN"; }

# Prints the order's status as gateway $1 reads it, `missing` on 404, `unreadable` otherwise.
order_status() {
  local out="$WORK/audit-order.json" code body
  code="$(curl -sS -m 10 --retry 5 -o "$out" -w '%{http_code}' "$1/v1/stores/$SLUG/orders/$2" \
    -H "authorization: Bearer $OWNER_TOKEN" 2>/dev/null || true)"
  body="$(<"$out")"
  if [ "$code" = 404 ]; then echo missing
  elif [ "$code" = 200 ] && [[ "$body" =~ \"status\":\"([a-z_]+)\" ]]; then echo "${BASH_REMATCH[1]}"
  else echo "unreadable (HTTP $code)"; fi
}

none_negative() { [ "$1" -ge 0 ] 2>/dev/null && [ "$2" -ge 0 ] && [ "$3" -ge 0 ]; }

is_final() { [ "$1" = confirmed ] || [ "$1" = failed ]; }

# The acknowledged orders on lines $1..$2 of the record: final through the first gateway
# (waiting for its saga), the same through the second. Prints "<final> <missing> <unfinished>
# <disagreeing>".
acked_orders_states() {
  local deadline=$((SECONDS + SAGA_TIMEOUT)) final=0 missing=0 unfinished=0 disagree=0
  local key id first second
  while read -r key id _; do
    first="$(order_status "${GATEWAYS[0]}" "$id")"
    while ! is_final "$first" && [ "$first" != missing ] && [ "$SECONDS" -lt "$deadline" ]; do
      sleep 0.5
      first="$(order_status "${GATEWAYS[0]}" "$id")"
    done
    second="$(order_status "${GATEWAYS[1]}" "$id")"
    if [ "$first" = missing ] || [ "$second" = missing ]; then
      missing=$((missing + 1)); echo "    acknowledged order $id (key $key) is missing: $first / $second" >&2
    elif ! is_final "$first"; then
      unfinished=$((unfinished + 1)); echo "    order $id (key $key) is still $first" >&2
    elif [ "$first" != "$second" ]; then
      disagree=$((disagree + 1)); echo "    order $id: $first through one gateway, $second through the other" >&2
    else final=$((final + 1)); fi
  done < <(sed -n "$1,$2p" "$WORK/orders-acked")
  echo "$final $missing $unfinished $disagree"
}

# Keys answered with more than one order id, over every answer (replays included).
keys_with_two_orders() {
  awk '{ ids[$1] = ids[$1] " " $2 } END { for (k in ids) { split(ids[k], a, " "); n = 0; delete seen
    for (i in a) if (!(a[i] in seen)) { seen[a[i]] = 1; n++ } if (n > 1) print k ids[k] } }' \
    "$WORK/orders-answers"
}

# The stock of SKU as "<on hand> <reserved> <available>", summed over locations.
stock_levels() {
  owner_get "${GATEWAYS[0]}" "/v1/stores/$SLUG/inventory/$SKU" |
    jq -r '"\([.locations[].on_hand] | add) \([.locations[].reserved] | add) \(.available_total)"'
}

# Every order of the store as "<id> <status> <quantity of SKU>", all pages (only meaningful
# when no order is being created: pages are by position).
all_orders() {
  local page=1 body
  while :; do
    body="$(owner_get "${GATEWAYS[1]}" "/v1/stores/$SLUG/orders?per_page=100&page=$page")" || return 1
    jq -r --arg sku "$SKU" '.items[] | "\(.id) \(.status) \([.lines[] | select(.sku == $sku) | .quantity] | add // 0)"' <<<"$body"
    [ "$(jq '.items | length' <<<"$body")" -lt 100 ] && return 0
    page=$((page + 1))
  done
}

audit_orders() {
  local label="$1" final_audit="${2:-}" acked states missing unfinished disagree doubled carts stored distinct
  # The load keeps appending: audit what was acknowledged up to now.
  acked="$(grep -c . "$WORK/orders-acked" 2>/dev/null || true)"
  acked="${acked:-0}"
  echo "  audit of orders after $label: $acked acknowledged so far, $((acked - AUDITED_ORDERS)) new"
  check "checkouts were acknowledged" "$acked" [ "$acked" -gt 0 ]
  [ "$acked" -gt 0 ] || return 0
  read -r states missing unfinished disagree < <(acked_orders_states $((AUDITED_ORDERS + 1)) "$acked")
  check "every new acknowledged order exists through both gateways" "$missing missing" [ "$missing" = 0 ]
  check "every new acknowledged order is confirmed or failed within ${SAGA_TIMEOUT} s" "$states final, $unfinished not" [ "$unfinished" = 0 ]
  check "both gateways agree on every order's status" "$disagree disagree" [ "$disagree" = 0 ]
  AUDITED_ORDERS="$acked"
  head -n "$acked" "$WORK/orders-acked" | cut -d' ' -f2 | sort -u >"$WORK/orders-acked-ids"
  distinct="$(grep -c . "$WORK/orders-acked-ids" || true)"
  stored="$(awk 'BEGIN { printf "SELECT count(*) FROM orders WHERE id IN (" }
    { printf "%s\x27%s\x27", (NR > 1 ? "," : ""), $1 } END { print ")" }' "$WORK/orders-acked-ids" |
    psql "${DB_URL_PREFIX}orders" -Atq)"
  check "every order acknowledged so far is still stored" "$stored of $distinct" [ "$stored" = "$distinct" ]
  doubled="$(keys_with_two_orders | tee "$WORK/keys-doubled" | grep -c . || true)"
  check "one order per Idempotency-Key over every answer and replay" "$doubled keys with two" [ "$doubled" = 0 ]
  carts="$(psql "${DB_URL_PREFIX}orders" -Atqc "SELECT count(*) FROM (SELECT cart_id FROM orders GROUP BY cart_id HAVING count(*) > 1) t")"
  check "one order per cart in the orders database" "$carts carts with two" [ "$carts" = 0 ]
  local on_hand reserved available
  read -r on_hand reserved available < <(stock_levels)
  check "stock never negative" "on hand $on_hand, reserved $reserved, available $available" \
    none_negative "$on_hand" "$reserved" "$available"
  [ "$final_audit" = final ] && audit_order_list
  return 0
}

# With the load stopped and every saga ended: the list holds each acknowledged order once,
# nothing stays pending, and stock is conserved: on hand = initial - sold, nothing reserved.
audit_order_list() {
  local listed duplicated absent pending sold on_hand reserved available
  all_orders >"$WORK/orders-listed" || { check "the order list is readable" "" false; return 0; }
  listed="$(grep -c . "$WORK/orders-listed" || true)"
  duplicated="$(cut -d' ' -f1 "$WORK/orders-listed" | sort | uniq -d | grep -c . || true)"
  check "no order listed twice" "$listed listed, $duplicated twice" [ "$duplicated" = 0 ]
  absent="$(cut -d' ' -f2 "$WORK/orders-acked" | sort -u | comm -23 - <(cut -d' ' -f1 "$WORK/orders-listed" | sort -u) | grep -c . || true)"
  check "every acknowledged order is in the store's order list" "$absent absent" [ "$absent" = 0 ]
  pending="$(awk '$2 != "confirmed" && $2 != "failed"' "$WORK/orders-listed" | grep -c . || true)"
  check "no order of any checkout (acknowledged or not) left unfinished" "$pending" [ "$pending" = 0 ]
  sold="$(awk '$2 == "confirmed" { s += $3 } END { print s + 0 }' "$WORK/orders-listed")"
  read -r on_hand reserved available < <(stock_levels)
  check "stock conserved: on hand = initial - sold" "$on_hand = $INITIAL - $sold" [ "$on_hand" = $((INITIAL - sold)) ]
  check "nothing reserved once every order ended" "$reserved" [ "$reserved" = 0 ]
}

# Every message of conversation $2 as "<seq> <client_msg_id> <id>", read through gateway $1
# with customer token $3, page by page.
conversation_messages() {
  local gw="$1" conv="$2" token="$3" after=0 body
  while :; do
    body="$(curl -sS -m 10 -f "$gw/v1/stores/$SLUG/conversations/$conv/messages?after_seq=$after&limit=100" \
      -H "authorization: Bearer $token")" || return 1
    jq -r '.items[] | "\(.seq) \(.client_msg_id) \(.id)"' <<<"$body"
    [ "$(jq -r .has_more <<<"$body")" = true ] || return 0
    after="$(jq -r '.items[-1].seq' <<<"$body")"
  done
}

audit_messages() {
  local label="$1" w token conv listed gaps lost doubled acked total_lost=0 total_doubled=0 total_gaps=0
  # What was acknowledged before the conversations are read: later messages are not listed yet.
  cp "$WORK/messages-acked" "$WORK/messages-acked-snapshot" 2>/dev/null || : >"$WORK/messages-acked-snapshot"
  acked="$(grep -c . "$WORK/messages-acked-snapshot" || true)"
  echo "  audit of messages after $label: ${acked:-0} acknowledged so far"
  check "messages were acknowledged" "${acked:-0}" [ "${acked:-0}" -gt 0 ]
  for w in "${!CUSTOMERS[@]}"; do
    read -r token conv <<<"${CUSTOMERS[$w]}"
    listed="$WORK/messages-listed-$w"
    conversation_messages "${GATEWAYS[$((w % 2))]}" "$conv" "$token" >"$listed" ||
      { check "conversation $conv is readable" "" false; continue; }
    gaps="$(awk '$1 != NR' "$listed" | grep -c . || true)"
    doubled="$(cut -d' ' -f2 "$listed" | sort | uniq -d | grep -c . || true)"
    # An acknowledged message is lost when no listed message has its client_msg_id and id.
    lost="$(awk -v c="$conv" '$1 == c { print $2 " " $3 }' "$WORK/messages-acked-snapshot" | sort -u |
      comm -23 - <(awk '{ print $2 " " $3 }' "$listed" | sort -u) | grep -c . || true)"
    total_lost=$((total_lost + lost)); total_doubled=$((total_doubled + doubled)); total_gaps=$((total_gaps + gaps))
  done
  check "every acknowledged message is in its conversation, with the id it was acknowledged with" "$total_lost lost" [ "$total_lost" = 0 ]
  check "no client_msg_id twice in a conversation" "$total_doubled doubled" [ "$total_doubled" = 0 ]
  check "seqs gapless from 1" "$total_gaps out of place" [ "$total_gaps" = 0 ]
}

# Analytics' figures equal what the orders history says after NATS paused, PostgreSQL
# restarted and redeliveries (exactly-once effect through the inbox): `mercato analytics verify`
# through a gateway reports no difference. Asked again for up to 30 s, since analytics may still
# be applying the last events when the load stops.
audit_analytics() {
  local report="$WORK/analytics-verify.txt" _
  for _ in $(seq 1 30); do
    "$MERCATO_BIN" analytics verify --store "$SLUG" --api "${GATEWAYS[0]}" --token "$OWNER_TOKEN" >"$report" 2>&1 && break
    sleep 1
  done
  check "analytics figures equal the orders history (mercato analytics verify)" \
    "$(head -2 "$report" | tr '\n' ' ')" \
    grep -q '^no differences$' "$report"
}

# Every service's outbox relay publishes again after the fault: within 30 s no event is left
# unpublished for more than 5 s (the load keeps adding events, so "empty" is not the test).
audit_outboxes() {
  local service stale _
  for service in identity catalog inventory payments orders realtime; do
    for _ in $(seq 1 60); do
      stale="$(psql "${DB_URL_PREFIX}$service" -Atqc "SELECT count(*) FROM outbox WHERE published_at IS NULL
        AND created_at < (extract(epoch FROM now()) * 1000)::bigint - 5000" 2>/dev/null || echo unreadable)"
      [ "$stale" = 0 ] && break
      sleep 0.5
    done
    check "$service outbox relay publishing" "$stale events unpublished for over 5 s" [ "$stale" = 0 ]
  done
}
