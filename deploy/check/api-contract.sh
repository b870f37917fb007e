#!/usr/bin/env bash
# The API contract, checked by tools: starts the embedded platform from an already built binary
# (on a free port, with a temporary data directory and no demo store), validates /openapi.json
# with openapi-spec-validator, and runs schemathesis with all of its checks against it, once
# anonymously and once with a staff token, at most API_CONTRACT_EXAMPLES (default 25) examples
# per operation. Needs python3 and, once, PyPI. Exits non-zero on any failure.
#
#   bash deploy/check/api-contract.sh
#
# Environment: MERCATO_BIN (default: the newer of target/debug/mercato and
# target/release/mercato, else a fresh debug build). The venv lives in
# ${XDG_CACHE_HOME:-$HOME/.cache}/mercato-api-contract-venv and is rebuilt only when
# deploy/check/api-contract-requirements.txt changes.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="${XDG_CACHE_HOME:-$HOME/.cache}/mercato-api-contract-venv"
REQUIREMENTS="$HERE/api-contract-requirements.txt"
started=$(date +%s)

# shellcheck source=deploy/check/venv.sh
source "$HERE/venv.sh"
pinned_venv "$VENV" "$REQUIREMENTS"

# The explicitly given binary, else the newest of the debug and release builds (the debug build
# `cargo test` just made must not be shadowed by a stale release build), else a debug build.
if [ -n "${MERCATO_BIN:-}" ]; then
  BIN="$MERCATO_BIN"
else
  BIN="$(ls -t "$ROOT/target/debug/mercato" "$ROOT/target/release/mercato" 2>/dev/null | head -1 || true)"
  if [ -z "$BIN" ]; then
    (cd "$ROOT" && cargo build -p mercato)
    BIN="$ROOT/target/debug/mercato"
  fi
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/mercato-api-contract.XXXXXX")"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
SERVER=""
cleanup() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  rm -rf "$WORK/data"
}
trap cleanup EXIT

# Embedded, whatever the calling shell points at: no PostgreSQL, NATS or Redis. Rate limiting
# (the general allowance and the sign-up one) is off because every generated request comes from
# this one address; 429 is still documented and tested by the gateway's own tests and e2e.
# Shedding on CPU pressure is off too, as in the e2e harness: on a busy CI machine it answers a
# request 503 now and then, which is right under overload (tests/e2e/overload.rs) but not what
# this run checks.
echo "== starting $BIN on 127.0.0.1:$PORT (log: $WORK/mercato.log)"
env -u MERCATO_POSTGRES_URL -u MERCATO_NATS_URL -u MERCATO_REDIS_URL \
  MERCATO__HTTP__RATE_LIMIT_PER_SECOND=0 MERCATO__HTTP__SIGN_UPS_PER_SECOND=0 \
  MERCATO__HTTP__MAX_SCHEDULING_DELAY=0s \
  "$BIN" serve --no-demo --data-dir "$WORK/data" --listen "127.0.0.1:$PORT" >"$WORK/mercato.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 120); do
  if curl -fsS -o /dev/null "http://127.0.0.1:$PORT/readyz" 2>/dev/null; then break; fi
  if ! kill -0 "$SERVER" 2>/dev/null; then tail -20 "$WORK/mercato.log"; echo "FAIL the platform exited"; exit 1; fi
  sleep 0.5
done

status=0
"$VENV/bin/python" "$HERE/api_contract.py" "http://127.0.0.1:$PORT" "$WORK" "${API_CONTRACT_EXAMPLES:-25}" || status=1
if grep -q "panicked" "$WORK/mercato.log"; then
  grep -m5 "panicked" "$WORK/mercato.log"
  echo "FAIL the platform panicked during the run"
  status=1
fi
echo "api contract check finished in $(( $(date +%s) - started )) s"
exit "$status"
