#!/usr/bin/env bash
# Offline check of the compose load balancer (deploy/nginx/): `nginx -t` on the configuration
# with the gateway hosts pointed at 127.0.0.1, then a smoke test through a real NGINX to two
# stand-in gateways (nginx_upstream.py): both get traffic, a client's own Forwarded and
# X-Forwarded-For are replaced by the address NGINX saw, a WebSocket upgrade answers 101, and
# with one gateway down every request still succeeds. Needs nginx (Debian: nginx-light) and
# python3; skips, successfully, where nginx is not installed unless MERCATO_REQUIRE_NGINX=1.
#
#   bash deploy/check/nginx.sh
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
NGINX="$(command -v nginx || true)"
[ -x "$NGINX" ] || NGINX=/usr/sbin/nginx
if [ ! -x "$NGINX" ]; then
  echo "skip deploy/nginx: no nginx here (apt-get install nginx-light)"
  [ "${MERCATO_REQUIRE_NGINX:-0}" = 1 ] && exit 1
  exit 0
fi

WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
LB=$(free_port); G1=$(free_port); G2=$(free_port)

# The same files, with only names, ports and writable paths changed for an unprivileged run.
sed -e "s/gateway-1:8080/127.0.0.1:$G1/" -e "s/gateway-2:8080/127.0.0.1:$G2/" \
    -e "s/listen 8080;/listen 127.0.0.1:$LB;/" "$ROOT/deploy/nginx/mercato.conf" > "$WORK/mercato.conf"
sed -e "s#/tmp/#$WORK/#g" -e "s#/dev/stdout#$WORK/access.log#" -e "s#error_log stderr#error_log $WORK/error.log#" \
    "$ROOT/deploy/nginx/nginx.conf" > "$WORK/nginx.conf"

status=0
check() { if eval "$2"; then echo "ok   deploy/nginx: $1"; else echo "FAIL deploy/nginx: $1"; status=1; fi; }

if "$NGINX" -t -q -p "$WORK" -c "$WORK/nginx.conf" -e "$WORK/error.log" 2>"$WORK/t.log"; then
  echo "ok   deploy/nginx: nginx -t accepts nginx.conf + mercato.conf"
else
  echo "FAIL deploy/nginx: nginx -t"; cat "$WORK/t.log"; exit 1
fi

python3 "$HERE/nginx_upstream.py" gateway-1 "$G1" & PIDS+=($!)
python3 "$HERE/nginx_upstream.py" gateway-2 "$G2" & PIDS+=($!)
"$NGINX" -p "$WORK" -c "$WORK/nginx.conf" -e "$WORK/error.log" -g "daemon on;"
for _ in $(seq 50); do curl -fsS -o /dev/null "http://127.0.0.1:$LB/nginx-health" 2>/dev/null && \
  curl -fsS -o /dev/null "http://127.0.0.1:$G1/" 2>/dev/null && curl -fsS -o /dev/null "http://127.0.0.1:$G2/" 2>/dev/null && break; sleep 0.1; done

URL="http://127.0.0.1:$LB/v1/stores"
for i in $(seq 6); do
  curl -fsS -H "Forwarded: for=6.6.6.6" -H "X-Forwarded-For: 6.6.6.6" "$URL" > "$WORK/r$i.json"
done
seen=$(python3 -c 'import json,sys; print(" ".join(sorted({json.load(open(f))["gateway"] for f in sys.argv[1:]})))' "$WORK"/r*.json)
check "requests reach both gateways ($seen)" '[ "$seen" = "gateway-1 gateway-2" ]'
headers=$(python3 -c 'import json,sys; h=json.load(open(sys.argv[1]))["headers"]; print(h.get("Forwarded"), h.get("X-Forwarded-For"))' "$WORK/r1.json")
check "Forwarded and X-Forwarded-For name the address NGINX saw, not the client's claim ($headers)" \
  '[ "$headers" = "for=127.0.0.1;proto=http 127.0.0.1" ]'

ws=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 2 -H "Connection: Upgrade" -H "Upgrade: websocket" \
  -H "Sec-WebSocket-Version: 13" -H "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==" \
  "http://127.0.0.1:$LB/v1/realtime" 2>/dev/null || true)
check "a WebSocket upgrade passes through (HTTP $ws)" '[ "$ws" = 101 ]'

kill "${PIDS[0]}"; wait "${PIDS[0]}" 2>/dev/null || true
failed=0
for i in $(seq 10); do curl -fsS -o /dev/null "$URL" || failed=$((failed + 1)); done
check "with gateway-1 down, 10 of 10 requests succeed on gateway-2 ($failed failed)" '[ "$failed" = 0 ]'
exit "$status"
