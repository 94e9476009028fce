#!/usr/bin/env bash
# The scale-out benchmark: two instances of the release server on one PostgreSQL database.
# Writes bench/cluster.md, which the README shows.
#
#   tools/mosaic bench-cluster
#
# Rows: the dashboard page and the list endpoint against one instance, then against two (one wrk per
# instance, half the connections each, the same total); then 100 replies written on A, each followed
# from B: the time from a piece shown on A to the same piece shown on B (a Node client reading both
# sockets on one clock), the bus's own lag (publish on A to delivery on B, B's /metrics), and the
# NOTIFY signals each reply cost. Settings: BENCH_DURATION (10s), BENCH_CONNECTIONS (16),
# BENCH_PG (postgres URL base), BENCH_REPLIES (100), BENCH_OUT (bench/cluster.md).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${BENCH_DURATION:-10s}
CONNS=${BENCH_CONNECTIONS:-16}
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
REPLIES=${BENCH_REPLIES:-100}
OUT=${BENCH_OUT:-bench/cluster.md}
RAW=bench/raw
DB="$PG/mosaic_bench_cluster"
TOKEN=cluster-bench-metrics-token
A=http://127.0.0.1:3911 B=http://127.0.0.1:3912
mkdir -p "$RAW" bench/data/cluster-a bench/data/cluster-b
log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
command -v wrk >/dev/null || { log "installing wrk (Debian)"; apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
bash tools/build-release.sh >&2

PIDS=()
stop() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; PIDS=(); }
trap stop EXIT
serve() { # serve PORT DIR
  LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_ADDR="127.0.0.1:$1" LEPTOS_ENV=PROD LEPTOS_OUTPUT_NAME=mosaic \
    DATABASE_URL="$DB" MOSAIC_DATA_DIR="$2" RUST_LOG=warn MOSAIC_DEMO_PROVIDER=1 MOSAIC_DEMO_MAX_CONCURRENT=1000 \
    MOSAIC_REPLIES_PER_USER=1000 MOSAIC_SOCKETS_PER_USER=1000 MOSAIC_METRICS_TOKEN=$TOKEN \
    ./target/release/server > "$RAW/cluster-$1.log" 2>&1 &
  PIDS+=($!)
}
wait_up() { for _ in $(seq 600); do curl -fsS "$1/healthz" >/dev/null 2>&1 && return 0; sleep 0.05; done; echo "$1 did not start" >&2; return 1; }
rps() { awk '/Requests\/sec/ { printf "%.0f", $2 }' "$1"; }
lat() { awk -v q="$2" '$1 == q { print $2 }' "$1"; }
metric() { curl -fsS -H "Authorization: Bearer $TOKEN" "$1/metrics" | awk -v m="$2" '$1 == m { print $2 }'; }

log "a fresh database with 1 000 conversations"
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS mosaic_bench_cluster WITH (FORCE)" -c "CREATE DATABASE mosaic_bench_cluster" >/dev/null
DATABASE_URL="$DB" MOSAIC_DATA_DIR=bench/data/cluster-a ./target/release/server seed --users 10 --conversations 1000 \
  --messages 20 --open-messages 50 --logs 1000 > "$RAW/cluster-seed.txt"
serve 3911 bench/data/cluster-a; wait_up $A
serve 3912 bench/data/cluster-b; wait_up $B
jar="$RAW/cluster-cookies"; rm -f "$jar"
curl -fsS -c "$jar" -o /dev/null -d "email=bench%40example.com&password=benchmark-password" "$A/_fn/sign_in"
session="$(awk '$6 == "mosaic_session" { print $6 "=" $7 }' "$jar")"
cookie="Cookie: $session"
conv=$(curl -fsS -H "$cookie" "$A/api/conversations?limit=1" | sed -E 's/.*"id":"([^"]+)".*/\1/')

rows=()
row() { rows+=("$1"); echo "$1" >&2; }
for target in "dashboard page (SSR)|/c/$conv" "list, first page|/api/conversations"; do
  name=${target%%|*} path=${target#*|}
  wrk -t2 -c"$CONNS" -d2s -H "$cookie" "$A$path" > /dev/null 2>&1 || true
  wrk -t2 -c"$CONNS" -d"$DURATION" --latency -H "$cookie" "$A$path" > "$RAW/c1.txt" 2>&1 || true
  row "| $name, one instance, $CONNS connections | $(rps "$RAW/c1.txt") | $(lat "$RAW/c1.txt" 50%) | $(lat "$RAW/c1.txt" 99%) |"
  half=$((CONNS / 2))
  wrk -t1 -c"$half" -d"$DURATION" --latency -H "$cookie" "$A$path" > "$RAW/c2a.txt" 2>&1 &
  other=$!
  wrk -t1 -c"$half" -d"$DURATION" --latency -H "$cookie" "$B$path" > "$RAW/c2b.txt" 2>&1 || true
  wait "$other" || true
  total=$(( $(rps "$RAW/c2a.txt") + $(rps "$RAW/c2b.txt") ))
  row "| $name, two instances, $half connections each | $total | $(lat "$RAW/c2a.txt" 50%) / $(lat "$RAW/c2b.txt" 50%) | $(lat "$RAW/c2a.txt" 99%) / $(lat "$RAW/c2b.txt" 99%) |"
done

log "$REPLIES replies on A, each followed from B"
sent0=$(metric $A mosaic_bus_signals_sent_total)
(cd end2end && node --experimental-websocket bench/cluster.mjs "$A" "$B" "$session" "$REPLIES") > "$RAW/cluster-follow.json"
cat "$RAW/cluster-follow.json" >&2
sent1=$(metric $A mosaic_bus_signals_sent_total)
curl -fsS -H "Authorization: Bearer $TOKEN" "$B/metrics" > "$RAW/cluster-b-metrics.txt"
follow=$(node end2end/bench/cluster-report.mjs "$RAW/cluster-follow.json" "$RAW/cluster-b-metrics.txt" "$sent0" "$sent1")
stop
{
  echo "# Two instances on one PostgreSQL database"
  echo
  echo "Command: \`tools/mosaic bench-cluster\` (BENCH_DURATION=$DURATION, $CONNS connections, $REPLIES replies; same machine, $(nproc) cores, $(date -u +%Y-%m-%d))."
  echo "The two instances and PostgreSQL share the machine's cores, so two instances measure the cost of"
  echo "coordination here, not the gain of a second machine."
  echo
  echo "| Row | req/s | p50 | p99 |"
  echo "|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "| Live replies across instances | | |"
  echo "|---|---|---|"
  echo "$follow"
} > "$OUT"
log "wrote $OUT"
cat "$OUT"
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS mosaic_bench_cluster WITH (FORCE)" >/dev/null || true
