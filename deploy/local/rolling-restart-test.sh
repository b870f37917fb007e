#!/usr/bin/env bash
# No acknowledged request is lost across a rolling restart: while writers create products through
# both gateways, every process of the local distributed topology is restarted in turn (SIGTERM,
# drain, start). Afterwards every product whose creation was answered 201 must exist, and must
# have reached search (its event went out through the outbox). Exits non-zero otherwise.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
CLUSTER="$ROOT/deploy/local/cluster.sh"
export MERCATO_LOCAL_DIR="${MERCATO_LOCAL_DIR:-/tmp/mercato-rolling}"
export MERCATO_LOCAL_PREFIX="${MERCATO_LOCAL_PREFIX:-rolling$(date +%s)}"
WORK="$MERCATO_LOCAL_DIR/writes"
trap 'bash "$CLUSTER" down >/dev/null 2>&1 || true' EXIT

bash "$CLUSTER" up
mkdir -p "$WORK" && rm -f "$WORK"/*
slug="rolling-$RANDOM$RANDOM"
curl -fsS -X POST http://127.0.0.1:8081/v1/stores -H 'content-type: application/json' \
  -d "{\"slug\":\"$slug\",\"name\":\"Rolling\",\"currency\":\"EUR\",\"owner\":{\"email\":\"o@example.com\",\"password\":\"rolling restart password\"}}" >/dev/null
token="$(curl -fsS -X POST http://127.0.0.1:8082/v1/oauth/token \
  -d "grant_type=password&store=$slug&username=o@example.com&password=rolling+restart+password" |
  sed -E 's/.*"access_token":"([^"]+)".*/\1/')"

# One writer per gateway; each records the id of every product acknowledged with 201.
writer() {
  local port="$1" n=0 code body
  while [ ! -f "$WORK/stop" ]; do
    n=$((n + 1))
    body="$(curl -sS -m 10 -o "$WORK/resp-$port" -w '%{http_code}' -X POST \
      "http://127.0.0.1:$port/v1/stores/$slug/products" -H "authorization: Bearer $token" \
      -H 'content-type: application/json' \
      -d "{\"slug\":\"p$port-$n\",\"title\":\"Rolling $port $n\",\"variants\":[{\"sku\":\"R$port-$n\",\"price\":{\"amount_minor\":100,\"currency\":\"EUR\"}}]}" \
      2>/dev/null || echo 000)"
    code="${body: -3}"
    if [ "$code" = 201 ]; then
      # The body has no trailing newline; one id per line, so each line counts.
      echo "$(sed -E 's/^\{"id":"([^"]+)".*/\1/' "$WORK/resp-$port")" >>"$WORK/acked"
    else
      echo "$code $(head -c 200 "$WORK/resp-$port" 2>/dev/null)" >>"$WORK/failed"
    fi
  done
}
writer 8081 & w1=$!
writer 8082 & w2=$!
sleep 2
bash "$CLUSTER" rolling-restart
sleep 2
touch "$WORK/stop"
wait "$w1" "$w2"

acked=$(wc -l <"$WORK/acked")
failed=$( [ -f "$WORK/failed" ] && wc -l <"$WORK/failed" || echo 0)
echo "writes acknowledged: $acked, refused or failed while processes restarted: $failed"
[ "$acked" -gt 0 ] || { echo "no write was acknowledged" >&2; exit 1; }

missing=0
while read -r id; do
  if ! curl -fsS -o /dev/null "http://127.0.0.1:8082/v1/stores/$slug/products/$id"; then
    echo "acknowledged product $id is missing" >&2; missing=$((missing + 1))
  fi
done <"$WORK/acked"
# Every acknowledged write's event must have gone out: search sees exactly the acknowledged set.
for _ in $(seq 1 50); do
  total="$(curl -fsS "http://127.0.0.1:8081/v1/stores/$slug/search?limit=1" | sed -E 's/.*"total":([0-9]+).*/\1/')"
  [ "$total" = "$acked" ] && break
  sleep 0.2
done
echo "products readable: $((acked - missing)) of $acked; searchable: $total"
[ "$missing" -eq 0 ] && [ "$total" = "$acked" ]
