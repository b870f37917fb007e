#!/usr/bin/env bash
# Lighthouse (npm lighthouse 12.2.3, pinned in e2e/browser's devDependencies: 13 needs Node 22)
# against Debian's chromium, on the storefront home, a product page and the admin orders page
# signed in as the demo store's owner (and a search page, the admin's product form and inbox):
# the accessibility and best-practices categories. Also the
# bytes a cold load of the home and product pages transfers. Prints Markdown rows for
# docs/web-quality.md; the JSON reports go to target/lighthouse/.
#
#   bash scripts/lighthouse.sh
#
# Starts its own embedded platform on 127.0.0.1:18090 (a fresh data directory, the demo store;
# the owner's password read from its first-start output). Environment: MERCATO_BIN as in
# scripts/browser-tests.sh. Not run by CI (it takes a few minutes); issue 13 asks for >= 90.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
E2E="$ROOT/e2e/browser"
OUT="$ROOT/target/lighthouse"
PORT=18090
BASE="http://127.0.0.1:$PORT"

if [ ! -x /usr/bin/chromium ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q chromium >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }
fi
(cd "$E2E" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

BIN="${MERCATO_BIN:-$(ls -t "$ROOT/target/debug/mercato" "$ROOT/target/release/mercato" 2>/dev/null | head -1 || true)}"
if [ -z "$BIN" ]; then (cd "$ROOT" && cargo build -p mercato) && BIN="$ROOT/target/debug/mercato"; fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/mercato-lighthouse.XXXXXX")"
SERVER=""
cleanup() {
  if [ -n "$SERVER" ]; then kill -TERM "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
# No shedding on CPU pressure (as in scripts/browser-tests.sh): on a busy machine the product page's
# availability call would now and then be answered 503, which Lighthouse counts as a console error.
env -u MERCATO_POSTGRES_URL -u MERCATO_NATS_URL -u MERCATO_REDIS_URL MERCATO__HTTP__RATE_LIMIT_PER_SECOND=0 \
  MERCATO__HTTP__MAX_SCHEDULING_DELAY=0s "$BIN" serve --data-dir "$WORK/data" --listen "127.0.0.1:$PORT" >"$WORK/mercato.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 240); do
  curl -fsS -o /dev/null "$BASE/readyz" 2>/dev/null && break
  kill -0 "$SERVER" 2>/dev/null || { tail -20 "$WORK/mercato.log" >&2; exit 1; }
  sleep 0.5
done
PASSWORD="$(sed -n 's/.*Owner sign-in (shown once): store=demo username=[^ ]* password=\([^ ]*\).*/\1/p' "$WORK/mercato.log" | head -1)"
OWNER="$(sed -n 's/.*Owner sign-in (shown once): store=demo username=\([^ ]*\) .*/\1/p' "$WORK/mercato.log" | head -1)"
[ -n "$PASSWORD" ] || { echo "no owner password in the platform's output" >&2; exit 1; }
PRODUCT="$(curl -fsS "$BASE/v1/stores/demo/products?per_page=1" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).items[0].slug))')"
COOKIE="$(cd "$E2E" && node tools/admin-cookie.js "$BASE" demo "$OWNER" "$PASSWORD")"
node -e 'process.stdout.write(JSON.stringify({Cookie: process.argv[1]}))' "$COOKIE" >"$WORK/admin-headers.json"

mkdir -p "$OUT"
lighthouse() {
  local name="$1" url="$2"; shift 2
  CHROME_PATH=/usr/bin/chromium "$E2E/node_modules/.bin/lighthouse" "$url" --quiet \
    --only-categories=accessibility,best-practices --output=json --output-path="$OUT/$name.json" \
    --chrome-flags="--headless --no-sandbox" "$@"
}
lighthouse home "$BASE/s/demo/"
lighthouse product "$BASE/s/demo/p/$PRODUCT"
lighthouse admin-orders "$BASE/admin/demo/orders" --extra-headers="$WORK/admin-headers.json"
# Beyond the three pages issue 13 names: a search with facets, the product form and the inbox.
lighthouse search "$BASE/s/demo/search?q=wol+rugg"
lighthouse admin-product-form "$BASE/admin/demo/products/new" --extra-headers="$WORK/admin-headers.json"
lighthouse admin-inbox "$BASE/admin/demo/conversations" --extra-headers="$WORK/admin-headers.json"

echo "| page | accessibility | best practices | audits not passed |"
echo "|---|---|---|---|"
(cd "$E2E" && node tools/lighthouse-scores.js "storefront home (/s/demo/)=$OUT/home.json" \
  "product page (/s/demo/p/$PRODUCT)=$OUT/product.json" "admin orders (/admin/demo/orders)=$OUT/admin-orders.json" \
  "search (/s/demo/search?q=wol+rugg)=$OUT/search.json" "admin new product (/admin/demo/products/new)=$OUT/admin-product-form.json" \
  "admin inbox (/admin/demo/conversations)=$OUT/admin-inbox.json")
echo
echo "| cold load | responses | transferred |"
echo "|---|---|---|"
(cd "$E2E" && node tools/transfer-size.js "storefront home=$BASE/s/demo/" "product page=$BASE/s/demo/p/$PRODUCT")
