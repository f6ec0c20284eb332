#!/usr/bin/env bash
# CreateTicket throughput against its physical limit, measured in one run on
# one PostgreSQL: pgbench inserting one ~250-byte row per transaction (the
# baseline) and kerndesk-load driving CreateTicket, at the same concurrency,
# both with synchronous_commit on (the server default).
#
#   tests/bench/create-ticket-vs-pgbench.sh [CONCURRENCY] [SECONDS]
#
# Needs: a release build (the script builds it), pgbench, PostgreSQL on
# 127.0.0.1:5432 (trust auth, user postgres). Creates and drops its own
# database. Prints a Markdown table row for docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)

CONCURRENCY="${1:-16}"
SECONDS_="${2:-20}"
PG="postgres://postgres@127.0.0.1:5432"
DB="kd_bench_$$"
PORT="${KERNDESK_BENCH_PORT:-50961}"
SECRET="bench-secret-bench-secret-bench-secret"
WORK=$(mktemp -d)

cleanup() {
  [ -n "${SERVER_PID:-}" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

cargo build --release --locked -q -p kerndesk -p kerndesk-tests --bin kerndesk --bin kerndesk-load

psql "$PG/postgres" -qc "CREATE DATABASE $DB"
echo "synchronous_commit: $(psql "$PG/$DB" -Atc 'SHOW synchronous_commit')"

# Baseline: one INSERT of a ~250-byte row per transaction.
psql "$PG/$DB" -qc "CREATE TABLE bench_rows (id bigserial PRIMARY KEY, payload text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
echo "INSERT INTO bench_rows (payload) VALUES (repeat('x', 250));" > "$WORK/insert.sql"
pgbench -n -h 127.0.0.1 -U postgres -c "$CONCURRENCY" -j 2 -T "$SECONDS_" -f "$WORK/insert.sql" "$DB" > "$WORK/pgbench.txt"
BASELINE=$(grep -oP 'tps = \K[0-9.]+' "$WORK/pgbench.txt" | head -1)
BASELINE_LAT=$(grep -oP 'latency average = \K[0-9.]+' "$WORK/pgbench.txt" | head -1)

# kerndesk intake alone (no router competing for the cores) on the same
# server, its own schema in the same database.
KERNDESK__DATABASE__URL="$PG/$DB" KERNDESK__AUTH__JWT_SECRET="$SECRET" \
KERNDESK__SERVER__LISTEN="127.0.0.1:$PORT" KERNDESK__TELEMETRY__LOG_FILTER=warn \
KERNDESK__DATABASE__MAX_CONNECTIONS="$CONCURRENCY" \
  bash -c 'cd "$1" && exec "$2" serve intake' _ "$WORK" "$ROOT/target/release/kerndesk" > "$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
  sleep 0.1
done
RESULT=$(target/release/kerndesk-load --target "http://127.0.0.1:$PORT" --tenant demo --secret "$SECRET" \
  --concurrency "$CONCURRENCY" --seconds "$SECONDS_" --seed --json)
RATE=$(echo "$RESULT" | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["tickets_per_second"]))')
P50=$(echo "$RESULT" | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["p50_ms"], 2))')
P99=$(echo "$RESULT" | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["p99_ms"], 2))')
ROWS=$(psql "$PG/$DB" -Atc "SELECT count(*) FROM tickets")
RATIO=$(python3 -c "print(f'{$RATE / $BASELINE:.2f}')")

echo "pgbench insert baseline: $BASELINE tps (avg latency $BASELINE_LAT ms)"
echo "CreateTicket: $RESULT ($ROWS tickets in the database)"
echo
echo "| $(date -u +%Y-%m-%d) | $CONCURRENCY | $SECONDS_ s | ${BASELINE%.*} | $RATE | $P50 | $P99 | $RATIO |"
