#!/usr/bin/env bash
# The release build of the site and the server: what `tools/mosaic run`, `test` and `bench` use.
#
# It drives the steps cargo-leptos's `build --release` takes, with the project's own pinned tools,
# so a fresh machine does not first build cargo-leptos from source (about 15 minutes on 2 cores);
# `cargo leptos watch` (`tools/mosaic dev`) stays the development loop, reading the same
# [[workspace.metadata.leptos]] settings. The steps:
#
#   1. cargo: the wasm (profile wasm-release, into target/front) and the server (release), at once;
#   2. wasm-bindgen (pinned in tools/versions.env): the JS glue and the wasm;
#   3. wasm-opt -Oz (binaryen from npm), terser for the JS, lightningcss for the CSS;
#   4. content hashes in the names (mosaic.<hash>.js/.wasm/.css) and hash.txt beside the server,
#      which Leptos reads to link them; public/static copied into the site;
#   5. `server assets`: image variants and precompressed copies.
#
# It reads the site's settings (output name, site root, style file, …) from the same
# [[workspace.metadata.leptos]] table as cargo-leptos. Output: the site root (target/site) and
# target/release/server with target/release/hash.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PWD/end2end/node_modules/.bin:$PATH"
log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# The settings are the ones `cargo leptos watch` uses: [[workspace.metadata.leptos]] in Cargo.toml.
settings=$(cargo metadata --no-deps --format-version 1 | node -e '
  const m = JSON.parse(require("fs").readFileSync(0, "utf8")).metadata.leptos[0];
  const keys = ["name", "site-root", "site-pkg-dir", "style-file", "assets-dir", "lib-package", "bin-package",
                "lib-profile-release"];
  for (const k of keys) {
    if (!m[k]) { console.error(`[[workspace.metadata.leptos]] has no ${k}`); process.exit(1); }
    console.log(m[k]);
  }')
{ read -r NAME; read -r SITE; read -r PKG_DIR; read -r STYLE; read -r ASSETS; read -r LIB; read -r BIN; read -r PROFILE; } <<< "$settings"
PKG=$SITE/$PKG_DIR
FRONT_TARGET=target/front        # its own target directory, so both cargo builds run at once
WASM=$FRONT_TARGET/wasm32-unknown-unknown/$PROFILE/$LIB.wasm

log "cargo: the wasm and the server, in parallel"
CARGO_TARGET_DIR=$FRONT_TARGET cargo build --package "$LIB" --lib --target wasm32-unknown-unknown \
  --profile "$PROFILE" --no-default-features &
front=$!
LEPTOS_OUTPUT_NAME=$NAME cargo build --package "$BIN" --bin "$BIN" --release --no-default-features
wait "$front" || { echo "the wasm build failed" >&2; exit 1; }

log "wasm-bindgen, wasm-opt, terser, lightningcss"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
wasm-bindgen --target web --no-typescript --out-name "$NAME" --out-dir "$out" "$WASM"
# The same optimisation cargo-leptos runs on --release.
wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int "$out/${NAME}_bg.wasm" -o "$out/$NAME.wasm"
terser "$out/$NAME.js" --module --compress --mangle --output "$out/$NAME.min.js"
lightningcss --minify --browserslist "$STYLE" --output-file "$out/$NAME.css"

log "hashed names into $SITE"
rm -rf "$PKG"
mkdir -p "$PKG"
cp -r "$ASSETS/." "$SITE/"
hashes=target/release/hash.txt
: > "$hashes"
for kind in js wasm css; do
  file="$out/$NAME.$kind"
  [ "$kind" = js ] && file="$out/$NAME.min.js"
  hash=$(sha256sum "$file" | cut -c1-20)
  cp "$file" "$PKG/$NAME.$hash.$kind"
  echo "$kind: $hash" >> "$hashes"
done

log "image variants and precompressed assets (server assets)"
LEPTOS_OUTPUT_NAME=$NAME "./target/release/$BIN" assets --site "$SITE" --images public/images | tail -n 3
