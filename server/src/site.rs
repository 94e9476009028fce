//! The built site's static files: the build step that makes them cacheable forever (`server assets`:
//! image variants under content-hashed names, brotli and gzip copies of every text asset) and the
//! routes that serve them (`/pkg` and `/img`, immutable when the name carries a hash).
//!
//! cargo-leptos already puts a content hash in the CSS, JS and wasm names (`hash-files`); the image
//! names come from `app/build.rs`. The server never compresses these on the fly: it sends the
//! precompressed copy the browser accepts, or the plain file.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use app::images::{spec, ImageSet};
use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use sha2::{Digest, Sha256};
use tower_http::services::ServeDir;

use crate::media::encode;

/// Why `server assets` stopped.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: not a readable image: {reason}")]
    Decode { path: PathBuf, reason: String },
    #[error("{path} changed since the server was built (its hash is {found}, the build named it {built}); rebuild the server")]
    Stale { path: PathBuf, found: String, built: String },
    #[error(transparent)]
    Encode(#[from] encode::EncodeError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SiteError + '_ {
    move |source| SiteError::Io { path: path.to_path_buf(), source }
}

/// What `prepare` produced.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Image variants written (existing ones are kept: their names say they are current).
    pub images_written: usize,
    pub images_kept: usize,
    /// Files given `.br` and `.gz` copies.
    pub compressed: usize,
    /// Bytes of those files before and after brotli.
    pub plain_bytes: u64,
    pub brotli_bytes: u64,
}

/// Writes the image variants of `public/images` (`sources`) into `site_root/img`, then brotli and gzip
/// copies of every compressible file under `site_root`. Reports progress through `progress`.
pub fn prepare(site_root: &Path, sources: &Path, progress: impl FnMut(&str)) -> Result<Summary, SiteError> {
    prepare_with(site_root, sources, true, progress)
}

/// [`prepare`], optionally without the compressed copies (a development build changes too often
/// for brotli's highest quality to pay off).
pub fn prepare_with(
    site_root: &Path,
    sources: &Path,
    compress: bool,
    mut progress: impl FnMut(&str),
) -> Result<Summary, SiteError> {
    let mut summary = Summary::default();
    let img = site_root.join("img");
    std::fs::create_dir_all(&img).map_err(io(&img))?;
    for set in app::images::ALL {
        images(set, sources, site_root, &mut summary, &mut progress)?;
    }
    progress(&format!("images: {} written, {} already current", summary.images_written, summary.images_kept));
    if compress {
        precompress_dir(site_root, &mut summary, &mut progress)?;
    }
    Ok(summary)
}

/// Whether every image variant the pages can ask for is in `site_root` (a few `stat` calls).
pub fn images_present(site_root: &Path) -> bool {
    let exists = |url: String| site_root.join(url.trim_start_matches('/')).exists();
    app::images::ALL.iter().all(|set| {
        if set.widths.is_empty() {
            return exists(set.svg_url());
        }
        spec::pixel_widths(set.widths).into_iter().all(|w| spec::FORMATS.iter().all(|(ext, _)| exists(set.url(w, ext))))
    })
}

/// The variants of one source, checked against the hash the build gave it.
fn images(
    set: &ImageSet,
    sources: &Path,
    site_root: &Path,
    summary: &mut Summary,
    progress: &mut impl FnMut(&str),
) -> Result<(), SiteError> {
    let path = sources.join(set.file);
    let bytes = std::fs::read(&path).map_err(io(&path))?;
    let digest = Sha256::new().chain_update(spec::ENCODING.as_bytes()).chain_update(&bytes).finalize();
    let found: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    if found != set.hash {
        return Err(SiteError::Stale { path, found, built: set.hash.into() });
    }
    let target = |url: String| site_root.join(url.trim_start_matches('/'));
    if set.widths.is_empty() {
        let out = target(set.svg_url());
        if out.exists() {
            summary.images_kept += 1;
        } else {
            std::fs::write(&out, &bytes).map_err(io(&out))?;
            summary.images_written += 1;
        }
        return Ok(());
    }
    let mut decoded = None;
    for width in spec::pixel_widths(set.widths) {
        let outputs: Vec<(PathBuf, &str)> =
            spec::FORMATS.iter().map(|(ext, _)| (target(set.url(width, ext)), *ext)).collect();
        if outputs.iter().all(|(p, _)| p.exists()) {
            summary.images_kept += outputs.len();
            continue;
        }
        let source = match &decoded {
            Some(image) => image,
            None => decoded.insert(
                image::load_from_memory(&bytes)
                    .map_err(|e| SiteError::Decode { path: path.clone(), reason: e.to_string() })?,
            ),
        };
        let pixels = encode::resize(source, width, set.height_at(width));
        for (out, ext) in outputs {
            let data = if ext == "avif" { encode::avif(&pixels)? } else { encode::webp(&pixels)? };
            std::fs::write(&out, &data).map_err(io(&out))?;
            progress(&format!("  {} ({} bytes)", out.display(), data.len()));
            summary.images_written += 1;
        }
    }
    Ok(())
}

/// File types worth compressing (images and wasm-unrelated binaries already are).
fn compressible(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("css" | "js" | "mjs" | "wasm" | "svg" | "json" | "txt" | "html" | "xml" | "map" | "ico")
    )
}

fn precompress_dir(dir: &Path, summary: &mut Summary, progress: &mut impl FnMut(&str)) -> Result<(), SiteError> {
    let mut entries: Vec<PathBuf> =
        std::fs::read_dir(dir).map_err(io(dir))?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            precompress_dir(&path, summary, progress)?;
        } else if compressible(&path) {
            let plain = std::fs::read(&path).map_err(io(&path))?;
            let (br, gz) = (compressed_path(&path, "br"), compressed_path(&path, "gz"));
            let brotli = brotli_bytes(&plain);
            let gzip = gzip_bytes(&plain).map_err(io(&path))?;
            // A copy that is not smaller would only cost the browser a decode.
            for (out, data) in [(&br, &brotli), (&gz, &gzip)] {
                if data.len() < plain.len() {
                    std::fs::write(out, data).map_err(io(out))?;
                } else if out.exists() {
                    std::fs::remove_file(out).map_err(io(out))?;
                }
            }
            summary.compressed += 1;
            summary.plain_bytes += plain.len() as u64;
            summary.brotli_bytes += brotli.len().min(plain.len()) as u64;
            progress(&format!("  {} {} → {} bytes (br)", path.display(), plain.len(), brotli.len()));
        }
    }
    Ok(())
}

fn compressed_path(path: &Path, ext: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(ext);
    PathBuf::from(name)
}

/// Brotli at its highest quality: paid once at build time, saved on every first visit.
fn brotli_bytes(plain: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(plain.len() / 3);
    {
        let mut writer = brotli::CompressorWriter::new(&mut out, 64 * 1024, 11, 22);
        // Writing to a Vec cannot fail.
        let _ = writer.write_all(plain);
    }
    out
}

fn gzip_bytes(plain: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(plain)?;
    encoder.finish()
}

/// `/pkg` (CSS, JS, wasm) and `/img` (image variants) from the site root, each file sent as its
/// brotli or gzip copy when the browser accepts one.
pub fn routes<S: Clone + Send + Sync + 'static>(site_root: &Path) -> Router<S> {
    let dir = |sub: &str| ServeDir::new(site_root.join(sub)).precompressed_br().precompressed_gzip();
    Router::new()
        .nest_service("/pkg", dir("pkg"))
        .nest_service("/img", dir("img"))
        .layer(axum::middleware::from_fn(cache_static))
}

/// Hashed names are cached for a year and never revalidated; anything else (a development build
/// without hashes) is revalidated on every use.
async fn cache_static(req: Request, next: Next) -> Response {
    let hashed = has_content_hash(req.uri().path());
    let mut res = next.run(req).await;
    if res.status().is_success() || res.status() == axum::http::StatusCode::NOT_MODIFIED {
        let value = if hashed { "public, max-age=31536000, immutable" } else { "no-cache" };
        res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
        res.headers_mut().insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    res
}

/// Whether the file name has a content hash before its extension: `name.<hash>.ext`, the hash at
/// least 10 characters of `[A-Za-z0-9_-]` (cargo-leptos writes base64url MD5, the image build hex).
pub fn has_content_hash(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default();
    let mut parts = name.rsplit('.');
    let (Some(_ext), Some(hash), Some(_stem)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    hash.len() >= 10 && hash.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Pages are private and change with every request: browsers must ask again each time.
pub async fn cache_pages(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let is_html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_html && !res.headers().contains_key(header::CACHE_CONTROL) {
        res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_hashed_names() {
        assert!(has_content_hash("/pkg/mosaic.Xk3_9fQ2-abcDEFghiJKL.wasm"));
        assert!(has_content_hash("/img/logo-56.0123456789ab.avif"));
        assert!(!has_content_hash("/pkg/mosaic.wasm"));
        assert!(!has_content_hash("/pkg/mosaic_bg.js"));
        assert!(!has_content_hash("/img/logo.short.avif"));
    }

    #[test]
    fn compresses_text_and_skips_what_would_not_shrink() {
        let dir = std::env::temp_dir().join(format!("mosaic-site-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("pkg")).expect("test file");
        std::fs::write(dir.join("pkg/app.css"), "body { color: red; }\n".repeat(200)).expect("test file");
        std::fs::write(dir.join("pkg/tiny.js"), "1").expect("test file");
        std::fs::write(dir.join("pkg/photo.avif"), [0u8; 100]).expect("test file");
        let mut summary = Summary::default();
        precompress_dir(&dir, &mut summary, &mut |_| {}).expect("test file");
        let css = std::fs::read(dir.join("pkg/app.css")).expect("test file");
        let mut decoded = Vec::new();
        brotli::BrotliDecompress(&mut &std::fs::read(dir.join("pkg/app.css.br")).expect("test file")[..], &mut decoded)
            .expect("test file");
        assert_eq!(decoded, css, "the brotli copy decodes to the file");
        let mut gunzipped = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(&std::fs::read(dir.join("pkg/app.css.gz")).expect("test file")[..]),
            &mut gunzipped,
        )
        .expect("test file");
        assert_eq!(gunzipped, css, "the gzip copy decodes to the file");
        assert!(!dir.join("pkg/tiny.js.br").exists(), "no copy bigger than the file");
        assert!(!dir.join("pkg/photo.avif.br").exists(), "images are not recompressed");
        std::fs::remove_dir_all(&dir).expect("test file");
    }
}
