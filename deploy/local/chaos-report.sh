#!/usr/bin/env bash
# How the platform answered during each phase of deploy/local/chaos-test.sh, from the request
# records of its load (chaos-load.sh): per phase the answers by status, requests that got no
# answer within the client's 10 s (hung), answers slower than SLOW_SECONDS (slow), how many
# 429/503 carried Retry-After, and latency (p50, p95, max). Fails when a phase has more than
# HUNG_MAX_PERCENT hung requests, when a 429 or 503 came without Retry-After, or when a phase
# after a fault acknowledged no checkout or no message (the platform did not recover).
#
# Usage: deploy/local/chaos-report.sh WORK_DIR HUNG_MAX_PERCENT
set -euo pipefail
WORK="$1"
HUNG_MAX_PERCENT="$2"
PHASES=(baseline nats-paused after-nats postgres-restart after-postgres redis-stopped after-redis drained)
failures=0
# Five seconds is the deadline of a call between services (services.call_timeout): an answer
# slower than that waited on something instead of failing fast. Reported, not failed: requests
# caught by a PostgreSQL restart wait for the pool's reconnection until that deadline (504).
SLOW_SECONDS=5

records() { cat "$WORK"/requests-*.log 2>/dev/null; }

# Latency percentile $2 (0-100) of the seconds on stdin, in milliseconds.
percentile() { sort -n | awk -v q="$1" '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit }
  i = int((NR * q + 99) / 100); if (i < 1) i = 1; printf "%d", v[i] * 1000 }'; }

# phase: the summary line; sets HUNG, TOTAL, BARE (429/503 without Retry-After), ACKED_ORDERS,
# ACKED_MESSAGES.
summarize() {
  local phase="$1" rows statuses p50 p95 max
  rows="$(records | awk -v p="$phase" '$2 == p')"
  TOTAL="$(grep -c . <<<"$rows" || true)"
  [ "$TOTAL" -gt 0 ] || { printf '  %-17s no requests\n' "$phase"; HUNG=0; BARE=0; ACKED_ORDERS=0; ACKED_MESSAGES=0; return; }
  statuses="$(awk '{ n[$4]++ } END { for (s in n) printf "%s×%d ", s, n[s] }' <<<"$rows")"
  HUNG="$(awk '$4 == "timeout"' <<<"$rows" | grep -c . || true)"
  SLOW="$(awk -v s="$SLOW_SECONDS" '$4 != "timeout" && $5 > s' <<<"$rows" | grep -c . || true)"
  BARE="$(awk '($4 == 429 || $4 == 503) && $6 == "-"' <<<"$rows" | grep -c . || true)"
  local with_retry
  with_retry="$(awk '($4 == 429 || $4 == 503) && $6 != "-"' <<<"$rows" | grep -c . || true)"
  ACKED_ORDERS="$(awk '$3 == "checkout" && ($4 == 201 || $4 == 202)' <<<"$rows" | grep -c . || true)"
  ACKED_MESSAGES="$(awk '$3 == "message" && ($4 == 201 || $4 == 200)' <<<"$rows" | grep -c . || true)"
  p50="$(awk '{ print $5 }' <<<"$rows" | percentile 50)"
  p95="$(awk '{ print $5 }' <<<"$rows" | percentile 95)"
  max="$(awk '{ print $5 }' <<<"$rows" | percentile 100)"
  printf '  %-17s %5d requests  p50 %5s ms  p95 %5s ms  max %5s ms  hung %d  slow %d  429/503 with Retry-After %d, without %d  acknowledged: %d checkouts, %d messages  statuses: %s\n' \
    "$phase" "$TOTAL" "$p50" "$p95" "$max" "$HUNG" "$SLOW" "$with_retry" "$BARE" "$ACKED_ORDERS" "$ACKED_MESSAGES" "$statuses"
}

fail() { echo "  FAIL $1"; failures=$((failures + 1)); }

echo "== report: how the platform answered in each phase"
for phase in "${PHASES[@]}"; do
  summarize "$phase"
  [ "$TOTAL" -gt 0 ] || continue
  if [ $((HUNG * 100)) -gt $((TOTAL * HUNG_MAX_PERCENT)) ]; then
    fail "$phase: $HUNG of $TOTAL requests hung (no answer within the client's 10 s; at most $HUNG_MAX_PERCENT % allowed)"
  fi
  [ "$BARE" = 0 ] || fail "$phase: $BARE answers 429/503 without Retry-After"
  case "$phase" in
    baseline | after-*)
      [ "$ACKED_ORDERS" -gt 0 ] || fail "$phase: no checkout acknowledged (not recovered)"
      [ "$ACKED_MESSAGES" -gt 0 ] || fail "$phase: no message acknowledged (not recovered)" ;;
  esac
done
[ "$failures" = 0 ] && echo "  PASS every phase answered: hung within $HUNG_MAX_PERCENT %, every 429/503 with Retry-After, recovered after each fault"
[ "$failures" = 0 ]
