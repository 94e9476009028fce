#!/usr/bin/env bash
# The search benchmark: 100 000 conversations x 20 messages (2 M messages), a common word, a rare
# word, a prefix and a phrase searched at 2 connections (p50, p99), and what the search index costs
# a writer: messages appended per second with the index's trigger and without it. Writes
# bench/search.md, which the README shows.
#
#   tools/mosaic bench-search                               SQLite (the budget's engine)
#   BENCH_ENGINES="sqlite postgres" tools/mosaic bench-search   both
#   BENCH_SEARCH_CONVERSATIONS=10000 tools/mosaic bench-search  a quick run
set -euo pipefail
cd "$(dirname "$0")/.."
N=${BENCH_SEARCH_CONVERSATIONS:-100000}
ENGINES=${BENCH_ENGINES:-sqlite}
DURATION=${BENCH_DURATION:-10s}
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
PORT=3903
BASE="http://127.0.0.1:$PORT"
OUT=${BENCH_OUT:-bench/search.md}
RAW=bench/raw
mkdir -p bench/data "$RAW"
log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
command -v wrk >/dev/null || { log "installing wrk (Debian)"; apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

serve() { # serve DATABASE_URL DATA_DIR
  LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_ADDR="127.0.0.1:$PORT" LEPTOS_ENV=PROD LEPTOS_OUTPUT_NAME=mosaic \
    DATABASE_URL="$1" MOSAIC_DATA_DIR="$2" RUST_LOG=warn ./target/release/server > "$RAW/search-server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 600); do curl -fsS "$BASE/healthz" >/dev/null 2>&1 && return 0; sleep 0.05; done
  cat "$RAW/search-server.log" >&2; return 1
}
stop() { kill "${SERVER:-}" 2>/dev/null || true; wait "${SERVER:-}" 2>/dev/null || true; }
trap stop EXIT

login() {
  local jar="$RAW/search-cookies"; rm -f "$jar"
  curl -fsS -c "$jar" -o /dev/null -d "email=bench%40example.com&password=benchmark-password" "$BASE/_fn/sign_in"
  cookie="Cookie: $(awk '$6 == "mosaic_session" { print $6 "=" $7 }' "$jar")"
  conv=$(curl -fsS -H "$cookie" "$BASE/api/conversations?limit=1" | sed -E 's/.*"id":"([^"]+)".*/\1/')
}

# search_row KIND QUERY: "| kind | query | results on page 1 | req/s | p50 | p99 | errors |" at 2 connections.
search_row() {
  local kind=$1 q=$2 enc file found
  enc=$(node -e 'process.stdout.write(encodeURIComponent(process.argv[1]))' "$q")
  found=$(curl -fsS -H "$cookie" "$BASE/api/search?q=$enc" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s);process.stdout.write(r.items.length+(r.next?"+":""))})')
  file="$RAW/search-$(echo "$kind" | tr -c 'a-zA-Z0-9' '_').txt"
  wrk -t2 -c2 -d2s "$BASE/api/search?q=$enc" -H "$cookie" > /dev/null 2>&1 || true
  wrk -t2 -c2 -d"$DURATION" --latency "$BASE/api/search?q=$enc" -H "$cookie" > "$file" 2>&1 || true
  echo "| $kind | \`$q\` | $found | $(awk '/Requests\/sec/ { printf "%.0f", $2 }' "$file") | $(awk '$1 == "50%" { print $2 }' "$file") | $(awk '$1 == "99%" { print $2 }' "$file") | $(awk '/Non-2xx/ { n += $NF } END { print n + 0 }' "$file") |"
}

bash tools/build-release.sh >&2
rows=()
for engine in $ENGINES; do
  if [ "$engine" = sqlite ]; then dir="bench/data/search-sqlite-$N"; url="sqlite:$dir/mosaic.db"
  else dir="bench/data/search-postgres-$N"; url="$PG/mosaic_search_$N"; fi
  if [ ! -f "$dir/seeded" ]; then
    rm -rf "$dir"; mkdir -p "$dir"
    [ "$engine" = postgres ] && psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS mosaic_search_$N WITH (FORCE)" -c "CREATE DATABASE mosaic_search_$N" >/dev/null
    log "seeding $engine: $N conversations x 20 messages (the index is written as the rows go in)"
    start=$(date +%s)
    DATABASE_URL="$url" MOSAIC_DATA_DIR="$dir" ./target/release/server seed --users 10 --conversations "$N" --messages 20 \
      --open-messages 20 --logs 1000 | tee "$dir/seed.txt"
    echo "$(( $(date +%s) - start ))" > "$dir/seed-seconds"
    # A server that has run a while has statistics from autovacuum; a database seeded a moment ago
    # has none, and PostgreSQL then plans a search as if the user had 600 conversations.
    [ "$engine" = postgres ] && psql "$url" -qc "ANALYZE" >/dev/null
    touch "$dir/seeded"
  fi
  log "searching $engine at $N conversations"
  serve "$url" "$dir"; login
  rows+=("| **$engine, $N conversations x 20 messages** (seeded in $(cat "$dir/seed-seconds") s) | | | | | | |")
  rows+=("$(search_row "common word (in most messages), as typed: prefix \`the*\`" "the")"); echo "${rows[-1]}" >&2
  rows+=("$(search_row "rare word (1 message in 10 000), as typed: prefix \`quok*\` checked for \`quokka\`" "quokka")"); echo "${rows[-1]}" >&2
  rows+=("$(search_row "prefix, as typed" "sear")"); echo "${rows[-1]}" >&2
  rows+=("$(search_row "phrase" '"rust database"')"); echo "${rows[-1]}" >&2
  rows+=("$(search_row "two words, the last a 7-letter prefix" "memory latency")"); echo "${rows[-1]}" >&2
  stop
  if [ "$engine" = sqlite ]; then
    # The same appends through the data layer with the index's trigger and without it (the
    # command puts the trigger back, indexes what was appended meanwhile and deletes it all).
    read -r with without < <(DATABASE_URL="$url" MOSAIC_DATA_DIR="$dir" ./target/release/server append-cost --seconds 10 | tail -n 1)
    cost=$(awk -v a="$with" -v b="$without" 'BEGIN { printf "%.0f %% more time per message (%.0f %% fewer messages/s)", (b / a - 1) * 100, (1 - a / b) * 100 }')
    write_row="| appending a message (2 writers, one conversation, through the data layer) | $with messages/s | $without messages/s | $cost |"
    echo "$write_row" >&2
  fi
  stop
done

{
  echo "# Search benchmark"
  echo
  echo "\`tools/mosaic bench-search\` on $(nproc) cores, $(date -u +%Y-%m-%d). Each query: \`GET /api/search?q=…\` (one page of"
  echo "20 ranked conversations with snippets), 2 connections, ${DURATION} after a 2 s warm-up. \"Results\" is the first page's size (+: more pages)."
  echo
  echo "| query | q | results | req/s | p50 | p99 | errors |"
  echo "|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  if [ -n "${write_row:-}" ]; then
    echo
    echo "| write | with | without | cost |"
    echo "|---|---|---|---|"
    echo "$write_row"
  fi
} > "$OUT"
log "wrote $OUT"
