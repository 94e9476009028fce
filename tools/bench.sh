#!/usr/bin/env bash
# The benchmark: builds the release server, seeds (or reuses) databases at several sizes, starts the
# server on each, and measures it with wrk. Writes bench/results.md, which the README shows.
#
#   tools/mosaic bench                     SQLite and PostgreSQL, 1 000 / 10 000 / 100 000 conversations
#   BENCH_SIZES=1000 BENCH_ENGINES=sqlite tools/mosaic bench     a quick run
#
# Settings: BENCH_OUT (bench/results.md), BENCH_DURATION (10s per endpoint), BENCH_CONNECTIONS (16), BENCH_PG (postgres URL base),
# BENCH_JOBS (1: after the largest size, measure the dashboard while tier management moves and
# purges that size's agent logs; the logs are gone afterwards, so that size is seeded again next time),
# BENCH_ONLY_JOBS (1: only those job rows).
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${BENCH_SIZES:-"1000 10000 100000"}
ENGINES=${BENCH_ENGINES:-"sqlite postgres"}
DURATION=${BENCH_DURATION:-10s}
CONNS=${BENCH_CONNECTIONS:-16}
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
PORT=3901
BASE="http://127.0.0.1:$PORT"
OUT=${BENCH_OUT:-bench/results.md}
RAW=bench/raw
mkdir -p bench/data "$RAW"
log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

command -v wrk >/dev/null || { log "installing wrk (Debian)"; apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

serve() { # serve DATABASE_URL DATA_DIR
  LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_ADDR="127.0.0.1:$PORT" LEPTOS_ENV=PROD LEPTOS_OUTPUT_NAME=mosaic \
    DATABASE_URL="$1" MOSAIC_DATA_DIR="$2" RUST_LOG=warn ./target/release/server > "$RAW/server.log" 2>&1 &
  SERVER=$!
}
stop() { kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; }
trap stop EXIT
rss_mb() { awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$SERVER/status"; }
wait_up() { for _ in $(seq 600); do curl -fsS "$BASE/healthz" >/dev/null 2>&1 && return 0; sleep 0.05; done; echo "server did not start" >&2; cat "$RAW/server.log" >&2; return 1; }

# wrk_row NAME URL [extra wrk args…]: one table row "| name | req/s | p50 | p99 | errors |".
wrk_row() {
  local name=$1 url=$2; shift 2
  local file="$RAW/$(echo "$name" | tr -c 'a-zA-Z0-9' '_').txt"
  wrk -t2 -c"$CONNS" -d"$DURATION" --latency "$@" "$url" > "$file" 2>&1 || true
  local rps p50 p99 errors
  rps=$(awk '/Requests\/sec/ { printf "%.0f", $2 }' "$file")
  p50=$(awk '$1 == "50%" { print $2 }' "$file")
  p99=$(awk '$1 == "99%" { print $2 }' "$file")
  errors=$(awk '/Non-2xx/ { n += $NF } /Socket errors/ { gsub(",", ""); n += $4 + $6 + $8 + $10 } END { print n + 0 }' "$file")
  echo "| $name | ${rps:-?} | ${p50:-?} | ${p99:-?} | $errors |"
}

bash tools/build-release.sh >&2
command -v chromium >/dev/null || { log "installing chromium (Debian)"; apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

# transfer_rows LABEL PATH: bytes on the wire from Chromium (end2end/bench/transfer.mjs).
transfer_rows() {
  local json="$RAW/transfer.json"
  (cd end2end && BASE_URL="$BASE" node bench/transfer.mjs "$2") > "$json"
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const kb = (n) => (n / 1024).toFixed(1);
    for (const [name, t] of [["first visit", r.first], ["repeat visit", r.repeat]])
      console.log(`| ${process.argv[2]}, ${name} | ${kb(t.total)} | ${kb(t.html)} | ${kb(t.css)} | ${kb(t.js)} | ${kb(t.wasm)} | ${kb(t.image)} | ${kb(t.other)} |`);
  ' "$json" "$1"
}
transfers=()

# sql ENGINE URL QUERY: one value from the benchmark's database.
sql() { if [ "$1" = sqlite ]; then sqlite3 "${2#sqlite:}" "$3"; else psql "$2" -tAqc "$3"; fi; }

# login: signs the benchmark user in; sets $cookie and $conv (their newest conversation).
login() {
  local jar="$RAW/cookies"; rm -f "$jar"
  curl -fsS -c "$jar" -o /dev/null -d "email=bench%40example.com&password=benchmark-password" "$BASE/_fn/sign_in"
  cookie="Cookie: $(awk '$6 == "mosaic_session" { print $6 "=" $7 }' "$jar")"
  conv=$(curl -fsS -H "$cookie" "$BASE/api/conversations?limit=1" | sed -E 's/.*"id":"([^"]+)".*/\1/')
}

# ms P99: a wrk latency ("850.00us", "3.50ms", "1.20s") in milliseconds.
ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /[0-9]s$/ && v !~ /ms$/) n *= 1000; printf "%.2f", n }'; }

# job_rows ENGINE N URL DIR: the dashboard row with the jobs idle, then again while tier management
# (ages shortened to 1 and 2 days, so the seeded warm logs go cold and the cold ones are purged)
# works through the logs inside the same server process; then the job's own numbers.
job_rows=()
job_rows() {
  local engine=$1 n=$2 url=$3 dir=$4 before lead fire without with status detail
  before=$(sql "$engine" "$url" "SELECT COUNT(*) FROM agent_logs")
  lead=$(( ${DURATION%s} + 12 ))
  fire=$(date -u -d "+$lead seconds" '+%-S %-M %-H')
  TIER_MANAGEMENT_CRON="$fire * * *" SESSION_GC_CRON=off SUMMARIZATION_CRON=off MOSAIC_COLD_START_COLLECT=false \
    MOSAIC_LOG_WARM_DAYS=1 MOSAIC_LOG_COLD_DAYS=2 serve "$url" "$dir"
  wait_up; login
  wrk -t2 -c"$CONNS" -d2s "$BASE/c/$conv" -H "$cookie" > /dev/null 2>&1 || true
  without=$(wrk_row "dashboard page (SSR), jobs idle" "$BASE/c/$conv" -H "$cookie")
  log "waiting for tier management to start ($fire UTC)"
  for _ in $(seq 600); do
    [ "$(sql "$engine" "$url" "SELECT COUNT(*) FROM job_runs WHERE job = 'tier-management'")" -gt 0 ] && break
    sleep 0.1
  done
  sleep 1
  with=$(wrk_row "dashboard page (SSR), tier management running" "$BASE/c/$conv" -H "$cookie")
  status=$(sql "$engine" "$url" "SELECT status FROM job_runs WHERE job = 'tier-management' ORDER BY started_at DESC LIMIT 1")
  local at_end=$status
  [ "$status" = running ] || log "the job ended before the measurement did: run with more logs or a shorter BENCH_DURATION"
  for _ in $(seq 36000); do
    status=$(sql "$engine" "$url" "SELECT status FROM job_runs WHERE job = 'tier-management' ORDER BY started_at DESC LIMIT 1")
    [ "$status" != running ] && break
    sleep 0.1
  done
  detail=$(sql "$engine" "$url" "SELECT detail FROM job_runs WHERE job = 'tier-management' ORDER BY started_at DESC LIMIT 1")
  stop
  rm -f "$dir/seeded" # its logs are gone: the next run seeds this size again
  local p99_idle p99_busy cooled purged rate secs
  p99_idle=$(ms "$(echo "$without" | awk -F'|' '{ gsub(/ /, "", $5); print $5 }')")
  p99_busy=$(ms "$(echo "$with" | awk -F'|' '{ gsub(/ /, "", $5); print $5 }')")
  cooled=$(echo "$detail" | sed -nE 's/.*"logsCooled": ?([0-9]+).*/\1/p')
  purged=$(echo "$detail" | sed -nE 's/.*"logsPurged": ?([0-9]+).*/\1/p')
  rate=$(echo "$detail" | sed -nE 's/.*"rowsPerSecond": ?([0-9.]+).*/\1/p')
  secs=$(echo "$detail" | sed -nE 's/.*"durationMs": ?([0-9]+).*/\1/p')
  job_rows+=("| $engine, $n conversations, $before agent logs | $at_end | $cooled | $purged | $(awk -v s="$secs" 'BEGIN { printf "%.1f", s / 1000 }') s | ${rate%.*} | $p99_idle ms | $p99_busy ms | $(awk -v a="$p99_idle" -v b="$p99_busy" 'BEGIN { printf "%+.0f %%", (b - a) / a * 100 }') |")
  echo "${job_rows[-1]}" >&2
}
largest=$(printf '%s\n' $SIZES | sort -n | tail -1)

rows=()
add_row() { rows+=("$1"); echo "$1" >&2; }
for engine in $ENGINES; do
  for n in $SIZES; do
    logs=$(( n >= 100000 ? 1000000 : n * 10 ))
    if [ "$engine" = sqlite ]; then
      dir="bench/data/sqlite-$n"; url="sqlite:$dir/mosaic.db"
    else
      dir="bench/data/postgres-$n"; url="$PG/mosaic_bench_$n"
    fi
    if [ ! -f "$dir/seeded" ]; then
      rm -rf "$dir"; mkdir -p "$dir"
      if [ "$engine" = postgres ]; then
        psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS mosaic_bench_$n WITH (FORCE)" -c "CREATE DATABASE mosaic_bench_$n" >/dev/null
      fi
      log "seeding $engine with $n conversations x 20 messages, $logs agent logs"
      DATABASE_URL="$url" MOSAIC_DATA_DIR="$dir" ./target/release/server seed --users 100 --conversations "$n" --messages 20 \
        --open-messages 50 --logs "$logs" \
        | tee "$dir/seed.txt"
      touch "$dir/seeded"
    fi

    if [ "${BENCH_ONLY_JOBS:-0}" != 1 ]; then
    log "measuring $engine at $n conversations"
    start_ns=$(date +%s%N); serve "$url" "$dir"; wait_up; ready_ns=$(date +%s%N)
    cold_ms=$(( (ready_ns - start_ns) / 1000000 ))
    sleep 1; idle=$(rss_mb)
    login
    # Memory after a burst of sign-ins, and once the hashing threads have rested (they free their
    # 19 MiB work areas after 2 s without work and end 1.5 s later, which hands the memory back to
    # the system): the idle budget holds after people sign in.
    for _ in $(seq 20); do
      curl -fsS -o /dev/null -d "email=bench%40example.com&password=benchmark-password" "$BASE/_fn/sign_in"
    done
    burst=$(rss_mb); sleep 5; rested=$(rss_mb)
    # The cursor of page 1 000 (50 per page), or of the last page when there are fewer.
    cursor=""; page=1
    while [ $page -lt 1000 ]; do
      next=$(curl -fsS -H "$cookie" "$BASE/api/conversations?limit=50${cursor:+&cursor=$cursor}" | sed -nE 's/.*"next":"([^"]+)".*/\1/p')
      [ -n "$next" ] || break
      cursor=$next; page=$((page + 1))
    done
    add_row "| **$engine, $n conversations** (cold start ${cold_ms} ms, RSS idle ${idle} MB; after 20 sign-ins ${burst} MB, idle 5 s later ${rested} MB) | | | | |"
    # Warm-up, not reported: the pool opens its connections and the caches fill (cold start has its own number).
    wrk -t2 -c"$CONNS" -d2s "$BASE/api/conversations" -H "$cookie" > /dev/null 2>&1 || true
    add_row "$(wrk_row "list, first page" "$BASE/api/conversations" -H "$cookie")"
    add_row "$(wrk_row "list, page $page" "$BASE/api/conversations?cursor=$cursor" -H "$cookie")"
    add_row "$(wrk_row "messages of one conversation" "$BASE/api/conversations/$conv/messages" -H "$cookie")"
    add_row "$(wrk_row "dashboard page (SSR)" "$BASE/c/$conv" -H "$cookie")"
    # The same page at one connection per core: its latency when the server is not saturated (at 16
    # connections the p50 is mostly queueing: 16 / throughput).
    CONNS_SAVED=$CONNS; CONNS=2
    add_row "$(wrk_row "dashboard page (SSR), 2 connections" "$BASE/c/$conv" -H "$cookie")"
    CONNS=$CONNS_SAVED
    add_row "$(wrk_row "effective preferences" "$BASE/api/preferences" -H "$cookie")"
    add_row "| RSS after the rows above: $(rss_mb) MB | | | | |"
    printf 'wrk.method = "POST"\nwrk.body = "email=bench%%40example.com&password=benchmark-password"\nwrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n' > "$RAW/signin.lua"
    CONNS_SAVED=$CONNS; CONNS=2
    add_row "$(wrk_row "sign-in (argon2id, 2 connections)" "$BASE/_fn/sign_in" -s "$RAW/signin.lua")"
    CONNS=$CONNS_SAVED
    add_row "| RSS after sign-in too: $(rss_mb) MB | | | | |"
    while IFS= read -r line; do transfers+=("$line"); echo "$line" >&2; done < <(transfer_rows "$engine, $n" "/c/$conv")
    stop
    fi
    if [ "${BENCH_JOBS:-1}" = 1 ] && [ "$n" = "$largest" ]; then job_rows "$engine" "$n" "$url" "$dir"; fi
  done
done

{
  echo "# Benchmark results"
  echo
  echo "Command: \`BENCH_OUT=$OUT ${BENCH_ONLY_JOBS:+BENCH_ONLY_JOBS=$BENCH_ONLY_JOBS }BENCH_SIZES=\"$SIZES\" BENCH_ENGINES=\"$ENGINES\" BENCH_DURATION=$DURATION tools/mosaic bench\` (wrk, $CONNS connections, $DURATION per row, same machine)."
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), $(date -u +%Y-%m-%d)."
  echo "Responses uncompressed (wrk sends no Accept-Encoding). Cold start: process start to the first 200 of /healthz."
  echo
  if [ ${#rows[@]} -gt 0 ]; then
  echo "| What | req/s | p50 | p99 | errors |"
  echo "|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "Bytes on the wire for the dashboard with a conversation of 50 messages open, from Debian's Chromium"
  echo "(end2end/bench/transfer.mjs: compressed bodies plus headers, KB; the repeat visit is a new tab of the"
  echo "same browser, so hashed assets come from its cache)."
  echo
  echo "| Visit | total | HTML | CSS | JS | wasm | images | other |"
  echo "|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${transfers[@]}"
  fi
  if [ ${#job_rows[@]} -gt 0 ]; then
    echo
    echo "Background jobs: tier management (warm → cold, cold purged; ages set to 1 and 2 days so the seeded"
    echo "logs qualify) running inside the server while wrk measures the dashboard ($CONNS connections,"
    echo "$DURATION). Batches of 500 rows, one transaction each, working at most 25 % of the time (the defaults)."
    echo
    echo "| Database | job at the end of the row | cooled | purged | job took | rows/s | dashboard p99, jobs idle | p99, job running | p99 change |"
    echo "|---|---|---|---|---|---|---|---|---|"
    printf '%s\n' "${job_rows[@]}"
  fi
} > "$OUT"
log "wrote $OUT"
cat "$OUT"
