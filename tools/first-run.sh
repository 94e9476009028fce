#!/usr/bin/env bash
# Measures a newcomer's first run: a fresh clone of HEAD, an empty cargo home (no installed tools,
# no downloaded crates), an empty npm cache and no target directory; then `tools/mosaic run` until
# the first page answers. Only rustup's toolchain (with the wasm32 target) is kept, as on a machine
# that has Rust. Prints the minutes and where they went; removes everything it made.
#
#   bash tools/first-run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d /tmp/mosaic-first-run.XXXXXX)
port=${FIRST_RUN_PORT:-3099}
git clone -q . "$work/mosaic"
# rustup's proxies only (cargo, rustc…), not the tools earlier runs installed beside them.
mkdir -p "$work/rustbin"
for tool in cargo rustc rustup rustdoc rustfmt cargo-fmt cargo-clippy clippy-driver; do
  [ -e "$HOME/.cargo/bin/$tool" ] && ln -s "$HOME/.cargo/bin/$tool" "$work/rustbin/$tool"
done
cleanup() { [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
start=$(date +%s)
(
  cd "$work/mosaic"
  export PATH="$work/rustbin:/usr/local/bin:/usr/bin:/bin" CARGO_HOME="$work/cargo" npm_config_cache="$work/npm"
  export LEPTOS_SITE_ADDR="127.0.0.1:$port" MOSAIC_DATA_DIR="$work/data"
  exec tools/mosaic run
) > "$work/run.log" 2>&1 &
pid=$!
until curl -fsS -o /dev/null "http://127.0.0.1:$port/login" 2>/dev/null; do
  kill -0 "$pid" 2>/dev/null || { tail -n 30 "$work/run.log"; echo "tools/mosaic run exited" >&2; exit 1; }
  sleep 2
done
took=$(( $(date +%s) - start ))
printf 'first page after %d min %02d s (%d s)\n' $((took / 60)) $((took % 60)) "$took"
grep -E '==>|Finished|Installed' "$work/run.log" | sed 's/\x1b\[[0-9;]*m//g'
