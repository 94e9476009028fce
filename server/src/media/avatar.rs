//! Users' avatars. An upload is limited in bytes and in pixels (checked from the header before any
//! decoding, so a decompression bomb is refused without allocating it), decoded with allocation
//! limits, cropped square and re-encoded to AVIF and WebP at [`AVATAR_SIZES`]. The files are named by
//! the hash of the re-encoded pixels and served with immutable caching; the bytes the user sent are
//! never stored, so they can never be served back.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use app::error::AppError;
use app::images::{avatar_url, AVATAR_SIZES};
use app::state::CurrentUser;
use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Path as UrlPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::StreamExt;
use image::{ImageFormat, ImageReader, Limits};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use super::encode;
use crate::ServerState;

/// The largest upload accepted, in bytes.
pub const MAX_UPLOAD_BYTES: usize = 5 * 1024 * 1024;
/// The most pixels an upload may declare (a 12-megapixel phone photo fits; a bomb does not).
pub const MAX_PIXELS: u64 = 16_777_216;
/// The longest side an upload may declare.
pub const MAX_SIDE: u32 = 8_192;
/// A refused upload up to this size is read to its end, so the browser gets to show our answer.
const MAX_DRAIN_BYTES: usize = 64 * 1024 * 1024;
/// Decoding never allocates more than this, whatever the file claims.
const MAX_DECODE_ALLOC: u64 = 128 * 1024 * 1024;

/// Where avatars live and how many are decoded at once (each decode can take ~64 MB).
#[derive(Clone)]
pub struct Avatars {
    dir: PathBuf,
    decoding: Arc<Semaphore>,
}

impl Avatars {
    /// Avatars stored under `media_dir/avatars`.
    pub fn new(media_dir: &Path) -> Avatars {
        Avatars { dir: media_dir.join("avatars"), decoding: Arc::new(Semaphore::new(1)) }
    }

    fn file(&self, key: &str, size: u32, ext: &str) -> PathBuf {
        self.dir.join(format!("{key}-{size}.{ext}"))
    }

    /// Removes the files of avatars no user refers to, and half-written uploads, among files last
    /// changed before `older_than` (younger ones may belong to an upload in progress, written
    /// before its user row points to it). Returns how many files were removed.
    pub async fn remove_unused(&self, store: &mosaic_db::Store, older_than: SystemTime) -> mosaic_db::DbResult<u64> {
        let mut entries = match tokio::fs::read_dir(&self.dir).await {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(mosaic_db::DbError::Unavailable(format!("cannot list {}: {e}", self.dir.display()))),
        };
        let mut by_key: std::collections::BTreeMap<String, Vec<PathBuf>> = Default::default();
        let mut removed = 0;
        while let Ok(Some(entry)) = entries.next_entry().await {
            let old = entry.metadata().await.and_then(|m| m.modified()).is_ok_and(|t| t < older_than);
            let name = entry.file_name().to_string_lossy().into_owned();
            if !old {
                continue;
            }
            if let Some((key, _, _)) = parse_name(&name) {
                by_key.entry(key.to_string()).or_default().push(entry.path());
            } else if name.contains(".partial-") && tokio::fs::remove_file(entry.path()).await.is_ok() {
                removed += 1;
            }
        }
        for (key, files) in by_key {
            if store.image_in_use(&key).await? {
                continue;
            }
            for file in files {
                if tokio::fs::remove_file(&file).await.is_ok() {
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }
}

/// Why an upload was refused; each says what to do instead.
#[derive(Debug, thiserror::Error)]
pub enum AvatarError {
    #[error("Choose an image file to upload.")]
    NoFile,
    #[error("That file is {0}; an avatar can be at most 5 MB.")]
    TooLarge(String),
    #[error("That file is not a PNG, JPEG, WebP or GIF image.")]
    NotAnImage,
    #[error("That image is {0} × {1} pixels; an avatar can have at most 16 megapixels and 8192 pixels a side.")]
    TooManyPixels(u32, u32),
    #[error("That image could not be read ({0}). Try saving it again as PNG or JPEG.")]
    Unreadable(String),
    /// The files could not be written or the work could not run: the server's fault (logged
    /// where it happened).
    #[error("The avatar could not be saved.")]
    Storage,
    #[error("{0}")]
    App(#[from] AppError),
}

/// Avatar refusals in the one error policy: the caller's are 4xx with their message, the server's
/// own failure a 500.
impl From<AvatarError> for AppError {
    fn from(err: AvatarError) -> AppError {
        match err {
            AvatarError::App(e) => e,
            AvatarError::TooLarge(_) => AppError::TooLarge(err.to_string()),
            AvatarError::NotAnImage => AppError::UnsupportedMedia(err.to_string()),
            AvatarError::Storage => AppError::internal("avatar storage failed"),
            AvatarError::NoFile | AvatarError::TooManyPixels(..) | AvatarError::Unreadable(_) => {
                AppError::BadRequest(err.to_string())
            }
        }
    }
}

fn megabytes(bytes: usize) -> String {
    format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
}

/// An upload turned into the files we serve.
#[derive(Debug)]
pub struct Processed {
    /// Hex SHA-256 of the largest size's pixels: the files' shared name.
    pub key: String,
    /// (size, extension, bytes) for every size and format.
    pub files: Vec<(u32, &'static str, Vec<u8>)>,
}

/// Checks, decodes and re-encodes an upload. CPU-bound: run it off the async threads.
pub fn process(bytes: &[u8]) -> Result<Processed, AvatarError> {
    let format = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| AvatarError::Unreadable(e.to_string()))?
        .format()
        .filter(|f| matches!(f, ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::WebP | ImageFormat::Gif))
        .ok_or(AvatarError::NotAnImage)?;
    // The header's size first: nothing is decoded for an image that claims too many pixels.
    let (width, height) = ImageReader::with_format(Cursor::new(bytes), format)
        .into_dimensions()
        .map_err(|e| AvatarError::Unreadable(e.to_string()))?;
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(AvatarError::TooManyPixels(width, height));
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    reader.limits(limits);
    let image = reader.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => AvatarError::TooManyPixels(width, height),
        other => AvatarError::Unreadable(other.to_string()),
    })?;
    // AVATAR_SIZES is ascending: the last square is the largest, whose pixels name the files.
    let squares: Vec<(u32, image::RgbaImage)> = AVATAR_SIZES.iter().map(|&s| (s, encode::square(&image, s))).collect();
    let key_pixels = &squares.last().ok_or(AvatarError::Storage)?.1;
    let digest = Sha256::digest(key_pixels.as_raw());
    let key: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let mut files = Vec::new();
    for (size, pixels) in &squares {
        let avif = encode::avif(pixels).map_err(|e| AvatarError::Unreadable(e.to_string()))?;
        let webp = encode::webp(pixels).map_err(|e| AvatarError::Unreadable(e.to_string()))?;
        files.push((*size, "avif", avif));
        files.push((*size, "webp", webp));
    }
    Ok(Processed { key, files })
}

/// `POST /api/me/avatar` (multipart field `avatar`), `DELETE /api/me/avatar`, the form twin
/// `POST /api/me/avatar/remove`, and `GET /media/avatars/<key>-<size>.<avif|webp>`.
pub fn routes() -> Router<ServerState> {
    Router::new()
        .route(
            "/api/me/avatar",
            post(upload)
                .delete(remove)
                // Room for the multipart framing around the largest accepted file.
                .layer(axum::extract::DefaultBodyLimit::max(MAX_UPLOAD_BYTES + 64 * 1024)),
        )
        .route("/api/me/avatar/remove", post(remove))
        .route("/media/avatars/{file}", get(serve))
}

/// A browser's plain form post wants a page back; API clients want JSON.
pub(crate) fn wants_html(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/html"))
}

/// The outcome as the caller wants it: back to settings (with the message in the flash cookie on failure) or JSON.
fn respond(html: bool, result: Result<Option<String>, AvatarError>) -> Response {
    match (html, result.map_err(AppError::from)) {
        (true, Ok(_)) => Redirect::to("/settings").into_response(),
        (true, Err(e)) => app::auth::redirect_with_flash("/settings", e.message()),
        (false, Ok(key)) => {
            let urls = key.as_ref().map(|k| {
                AVATAR_SIZES.iter().flat_map(|&s| ["avif", "webp"].map(|ext| avatar_url(k, s, ext))).collect::<Vec<_>>()
            });
            Json(serde_json::json!({ "avatar": key, "urls": urls })).into_response()
        }
        (false, Err(e)) => e.into_response(),
    }
}

async fn upload(State(s): State<ServerState>, me: Option<axum::Extension<CurrentUser>>, req: Request) -> Response {
    let html = wants_html(req.headers());
    // Signed out: answered before a byte of the body is read, so nobody can make the server read
    // megabytes without an account.
    let Some(me) = me.map(|m| m.0) else { return respond(html, Err(AppError::SIGNED_OUT.into())) };
    let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if let Some(len) = declared.filter(|&n| n > MAX_UPLOAD_BYTES + 64 * 1024) {
        // Read what the browser is sending before answering: a reply that closes the connection
        // mid-upload reaches the user as "connection reset" instead of this message.
        drain(req.into_body()).await;
        return respond(html, Err(AvatarError::TooLarge(megabytes(len))));
    }
    let result = async {
        let multipart = Multipart::from_request(req, &s).await.map_err(|_| AvatarError::NoFile)?;
        let bytes = read_file_field(multipart).await?;
        let permit = s.avatars.decoding.clone().acquire_owned().await.map_err(|_| AvatarError::Storage)?;
        let processed = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            process(&bytes)
        })
        .await
        .map_err(|_| AvatarError::Storage)??;
        store(&s.avatars, &processed).await?;
        let previous = s.app.store.set_user_image(me.user.id, Some(&processed.key)).await.map_err(AppError::from)?;
        forget(&s, previous, Some(&processed.key)).await;
        Ok(Some(processed.key))
    }
    .await;
    respond(html, result)
}

/// Reads and discards a refused upload, up to [`MAX_DRAIN_BYTES`] (beyond that the connection is
/// simply closed: nobody uploads an avatar that large by mistake).
async fn drain(body: Body) {
    let mut stream = body.into_data_stream();
    let mut seen = 0usize;
    while let Some(Ok(chunk)) = stream.next().await {
        seen += chunk.len();
        if seen > MAX_DRAIN_BYTES {
            break;
        }
    }
}

/// The bytes of the `avatar` field, refusing more than [`MAX_UPLOAD_BYTES`].
async fn read_file_field(mut multipart: Multipart) -> Result<Vec<u8>, AvatarError> {
    let too_large = |n: usize| AvatarError::TooLarge(format!("more than {}", megabytes(n)));
    while let Some(mut field) = multipart.next_field().await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large(MAX_UPLOAD_BYTES)
        } else {
            AvatarError::NoFile
        }
    })? {
        if field.name() != Some("avatar") {
            continue;
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_large(MAX_UPLOAD_BYTES)
            } else {
                AvatarError::NoFile
            }
        })? {
            if bytes.len() + chunk.len() > MAX_UPLOAD_BYTES {
                return Err(too_large(MAX_UPLOAD_BYTES));
            }
            bytes.extend_from_slice(&chunk);
        }
        if bytes.is_empty() {
            return Err(AvatarError::NoFile);
        }
        return Ok(bytes);
    }
    Err(AvatarError::NoFile)
}

/// Writes the files (each through a temporary name, so a reader never sees half a file). Files that
/// already exist are the same content: their name is its hash.
async fn store(avatars: &Avatars, processed: &Processed) -> Result<(), AvatarError> {
    let fail = |e: std::io::Error| {
        tracing::error!(error = %e, dir = %avatars.dir.display(), "cannot store avatar");
        AvatarError::Storage
    };
    tokio::fs::create_dir_all(&avatars.dir).await.map_err(fail)?;
    for (size, ext, bytes) in &processed.files {
        let path = avatars.file(&processed.key, *size, ext);
        if tokio::fs::try_exists(&path).await.unwrap_or(false) {
            continue;
        }
        let partial = path.with_extension(format!("{ext}.partial-{}", uuid::Uuid::now_v7()));
        tokio::fs::write(&partial, bytes).await.map_err(fail)?;
        tokio::fs::rename(&partial, &path).await.map_err(fail)?;
    }
    Ok(())
}

/// Deletes the files of a replaced avatar once no user has it any more.
async fn forget(s: &ServerState, previous: Option<String>, current: Option<&str>) {
    let Some(old) = previous.filter(|old| Some(old.as_str()) != current) else { return };
    match s.app.store.image_in_use(&old).await {
        Ok(false) => {
            for size in AVATAR_SIZES {
                for ext in ["avif", "webp"] {
                    let _ = tokio::fs::remove_file(s.avatars.file(&old, size, ext)).await;
                }
            }
        }
        Ok(true) => {}
        Err(err) => tracing::warn!(error = %err, "could not check whether an old avatar is still used; kept its files"),
    }
}

async fn remove(
    State(s): State<ServerState>,
    me: Option<axum::Extension<CurrentUser>>,
    headers: HeaderMap,
) -> Response {
    let html = wants_html(&headers);
    let result = async {
        let me = me.ok_or(AppError::SIGNED_OUT)?.0;
        let previous = s.app.store.set_user_image(me.user.id, None).await.map_err(AppError::from)?;
        forget(&s, previous, None).await;
        Ok(None)
    }
    .await;
    respond(html, result)
}

/// `<64 hex>-<size>.<avif|webp>`, or nothing: no other name is ever looked up on disk.
fn parse_name(file: &str) -> Option<(&str, u32, &'static str)> {
    let (stem, ext) = file.rsplit_once('.')?;
    let ext = match ext {
        "avif" => "avif",
        "webp" => "webp",
        _ => return None,
    };
    let (key, size) = stem.split_once('-')?;
    let size: u32 = size.parse().ok().filter(|s| AVATAR_SIZES.contains(s))?;
    (key.len() == 64 && key.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        .then_some((key, size, ext))
}

async fn serve(State(s): State<ServerState>, UrlPath(file): UrlPath<String>) -> Response {
    let Some((key, size, ext)) = parse_name(&file) else { return StatusCode::NOT_FOUND.into_response() };
    match tokio::fs::read(s.avatars.file(key, size, ext)).await {
        Ok(bytes) => {
            let mime = if ext == "avif" { "image/avif" } else { "image/webp" };
            (
                [
                    (header::CONTENT_TYPE, HeaderValue::from_static(mime)),
                    (header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=31536000, immutable")),
                ],
                bytes,
            )
                .into_response()
        }
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]

        /// Any upload, including ones that begin like a PNG, GIF or WebP with a forged header, is
        /// refused with the user's error (a 4xx) or accepted, never a panic or a server fault.
        #[test]
        fn any_bytes_are_an_image_or_a_clear_refusal(
            magic in proptest::sample::select(vec![&b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR"[..], b"GIF89a", b"RIFF\0\0\0\0WEBPVP8 ", b"\xff\xd8\xff\xe0", b""]),
            rest in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256),
        ) {
            let mut bytes = magic.to_vec();
            bytes.extend_from_slice(&rest);
            match process(&bytes) {
                Ok(_) => {}
                Err(e) => proptest::prop_assert!(
                    app::error::AppError::from(e).status().is_client_error(),
                    "a refusal, not a fault"
                ),
            }
        }
    }

    #[test]
    fn only_stored_names_are_looked_up() {
        let key = "a".repeat(64);
        assert_eq!(parse_name(&format!("{key}-64.avif")), Some((key.as_str(), 64, "avif")));
        assert_eq!(parse_name(&format!("{key}-128.webp")), Some((key.as_str(), 128, "webp")));
        assert_eq!(parse_name(&format!("{key}-65.webp")), None);
        assert_eq!(parse_name(&format!("{key}-64.png")), None);
        assert_eq!(parse_name(&format!("../{}-64.avif", "a".repeat(61))), None);
        assert_eq!(parse_name("x-64.avif"), None);
    }
}
