#!/usr/bin/env bash
# Routing latency against its baseline, in one run on this machine:
#   for PostgreSQL (routers woken by NOTIFY) and SQLite (routers polling),
#   with one and with two router processes:
#   1. the maximum intake rate (kerndesk-load, intake alone, 10 s),
#   2. tickets filed at half that rate for SECONDS; latency from a ticket's
#      creation to the router's decision (audit trail timestamps),
#   3. on PostgreSQL the baseline: a bare INSERT + NOTIFY until LISTEN hears it.
#
#   tests/bench/routing-latency.sh [SECONDS] [PERCENT_OF_MAX_RATE, default 50]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
SECONDS_="${1:-20}"
PERCENT="${2:-50}"
PG="postgres://postgres@127.0.0.1:5432"
SECRET="bench-secret-bench-secret-bench-secret"
WORK=$(mktemp -d)
PIDS=()

stop_all() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
}
cleanup() {
  stop_all
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS kd_rbench_$$ WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

cargo build --release --locked -q -p kerndesk -p kerndesk-tests \
  --bin kerndesk --bin kerndesk-load --bin kerndesk-routing-bench
BIN="$ROOT/target/release"

wait_port() {
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
  echo "port $1 never opened" >&2; return 1
}

serve() { # service port
  (cd "$WORK" && KERNDESK__DATABASE__URL="$URL" KERNDESK__AUTH__JWT_SECRET="$SECRET" \
    KERNDESK__SERVER__LISTEN="127.0.0.1:$2" KERNDESK__TELEMETRY__LOG_FILTER=warn \
    exec "$BIN/kerndesk" serve "$1" --no-migrate) > "$WORK/$1-$2.log" 2>&1 &
  PIDS+=($!)
  wait_port "$2"
}

fresh_database() { # backend
  if [ "$1" = postgres ]; then
    psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS kd_rbench_$$ WITH (FORCE)" -qc "CREATE DATABASE kd_rbench_$$"
    URL="$PG/kd_rbench_$$"
  else
    rm -f "$WORK"/rbench.db*
    URL="sqlite://$WORK/rbench.db?mode=rwc"
  fi
  (cd "$WORK" && KERNDESK__DATABASE__URL="$URL" "$BIN/kerndesk" migrate >/dev/null 2>&1)
}

echo "| backend | routers | max intake (tickets/s) | offered rate | routing p50 (ms) | routing p99 (ms) | INSERT+NOTIFY→LISTEN p50 / p99 (ms) | p99 / baseline p99 |"
echo "|---|---|---|---|---|---|---|---|"
for backend in postgres sqlite; do
  fresh_database "$backend"
  serve intake 50971
  MAX=$("$BIN/kerndesk-load" --target http://127.0.0.1:50971 --tenant demo --secret "$SECRET" \
    --concurrency 16 --seconds 10 --seed --json | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["tickets_per_second"]))')
  stop_all
  RATE=$(( MAX * PERCENT / 100 ))
  for routers in 1 2; do
    fresh_database "$backend"
    serve intake 50971
    serve routing 50972
    [ "$routers" = 2 ] && serve routing 50973
    OUT=$("$BIN/kerndesk-routing-bench" --target http://127.0.0.1:50971 --routing http://127.0.0.1:50972 \
      --database-url "$URL" --tenant demo --secret "$SECRET" --rate "$RATE" --seconds "$SECONDS_")
    stop_all
    echo "$OUT" | python3 -c "
import json,sys
r=json.load(sys.stdin)
b = f\"{r['baseline_notify_p50_ms']:.2f} / {r['baseline_notify_p99_ms']:.2f}\" if r['baseline_notify_p50_ms'] is not None else 'n/a (no NOTIFY)'
ratio = f\"{r['p99_over_baseline_p99']:.1f}\" if r['p99_over_baseline_p99'] is not None else 'n/a'
print(f\"| $backend | $routers | $MAX | {r['offered_rate']:.0f} | {r['routing_p50_ms']:.2f} | {r['routing_p99_ms']:.2f} | {b} | {ratio} |\")"
  done
done
