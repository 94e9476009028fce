//! Taking history out and bringing it in.
//!
//! - `GET /api/conversations/{id}/export?format=markdown|json`: one conversation.
//! - `GET /api/export`: everything the user owns, as a Mosaic archive ([`archive`]), streamed.
//! - `POST /api/import` (multipart: `file`, optional `skip_bad`): a Mosaic archive, ChatGPT's
//!   `conversations.json` or Open WebUI's chat export ([`formats`]); the upload is kept on disk
//!   while it is imported in the background ([`import`]). API clients get `202` and the import's
//!   address; a browser's form goes to the progress page.
//! - `GET /api/imports/{id}`: how an import stands.

pub mod archive;
pub mod formats;
pub mod import;

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Path as UrlPath, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use mosaic_db::model::{Conversation, ImportJob, Message, MessageRole};
use serde::Deserialize;
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

use app::error::AppError;

use crate::media::avatar::wants_html;
use crate::middleware::Authed;
use crate::ServerState;

/// The largest file accepted for import (1 GiB): years of ChatGPT history are a few hundred MB.
pub const MAX_IMPORT_BYTES: usize = 1024 * 1024 * 1024;
/// Messages read per statement for one conversation's export.
const EXPORT_BATCH: u32 = 500;

/// Where uploads wait while they are imported: `<data dir>/imports`.
#[derive(Clone, Debug)]
pub struct Uploads {
    pub dir: PathBuf,
}

impl Uploads {
    /// Uploads kept under `data_dir`.
    pub fn new(data_dir: &Path) -> Uploads {
        Uploads { dir: data_dir.join("imports") }
    }
}

/// The routes above.
pub fn routes() -> Router<ServerState> {
    Router::new()
        .route("/api/conversations/{id}/export", get(export_conversation))
        .route("/api/export", get(export_archive))
        .route(
            "/api/import",
            post(start_import).layer(axum::extract::DefaultBodyLimit::max(MAX_IMPORT_BYTES + 1024 * 1024)),
        )
        .route("/api/imports/{id}", get(import_status))
}

#[derive(Deserialize)]
struct ExportQuery {
    format: Option<String>,
}

/// A file name for `title`: letters, digits and dashes, never empty.
fn file_name(title: &str, ext: &str) -> String {
    let mut name = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            name.push(c.to_ascii_lowercase());
        } else if !name.ends_with('-') && !name.is_empty() {
            name.push('-');
        }
        if name.len() >= 60 {
            break;
        }
    }
    let name = name.trim_end_matches('-');
    format!("{}.{ext}", if name.is_empty() { "conversation" } else { name })
}

fn attachment(content_type: &'static str, name: &str, body: Body) -> Response {
    let disposition = format!("attachment; filename=\"{name}\"");
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition).unwrap_or(HeaderValue::from_static("attachment")),
            ),
        ],
        body,
    )
        .into_response()
}

async fn export_conversation(
    State(s): State<ServerState>,
    Authed(me): Authed,
    UrlPath(raw): UrlPath<String>,
    Query(q): Query<ExportQuery>,
) -> Result<Response, AppError> {
    let id: Uuid = raw.parse().map_err(|_| AppError::NotFound)?;
    let format = q.format.unwrap_or_else(|| "markdown".into());
    if format != "markdown" && format != "json" {
        return Err(AppError::BadRequest("format must be markdown or json".into()));
    }
    let store = &s.app.store;
    let conversation = store.get_conversation(me.user.id, id).await?;
    let mut messages = Vec::new();
    loop {
        let after = messages.last().map(|m: &Message| (m.created_at, m.id));
        let page = store.export_messages(me.user.id, id, after, EXPORT_BATCH).await?;
        if page.is_empty() {
            break;
        }
        messages.extend(page);
    }
    Ok(if format == "json" {
        let line = archive::conversation_line(&conversation, None);
        let body = serde_json::json!({
            "format": "mosaic-conversation",
            "version": archive::VERSION,
            "conversation": line,
            "messages": messages,
        });
        let text = serde_json::to_string_pretty(&body).map_err(|_| AppError::Internal)?;
        attachment("application/json", &file_name(&conversation.title, "json"), Body::from(text))
    } else {
        attachment(
            "text/markdown; charset=utf-8",
            &file_name(&conversation.title, "md"),
            Body::from(markdown(&conversation, &messages)),
        )
    })
}

/// A conversation as Markdown: its title, then each message under a heading naming who wrote it
/// (and the model), when, and how a reply ended if not complete. Message text is kept as written
/// (it is Markdown already).
pub fn markdown(c: &Conversation, messages: &[Message]) -> String {
    let time = app::components::format_time;
    let mut out = format!(
        "# {}\n\n_Exported from Mosaic. Started {}, last active {}._\n",
        c.title,
        time(c.created_at),
        time(c.updated_at)
    );
    for m in messages {
        let who = match m.role {
            MessageRole::User => "You".to_string(),
            MessageRole::Assistant => match m.metadata.get("model").and_then(|v| v.as_str()) {
                Some(model) => format!("Assistant ({model})"),
                None => "Assistant".to_string(),
            },
            MessageRole::System => "System".to_string(),
        };
        let state = match m.state.as_str() {
            "complete" if m.state.reason().is_some() => " · cut at the length limit".to_string(),
            "complete" => String::new(),
            other => format!(" · {other}{}", m.state.reason().map(|r| format!(": {r}")).unwrap_or_default()),
        };
        out.push_str(&format!("\n## {who} · {}{state}\n\n{}\n", time(m.created_at), m.content.trim_end()));
    }
    out
}

async fn export_archive(State(s): State<ServerState>, Authed(me): Authed) -> Response {
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    tokio::spawn(archive::write(s.app.store.clone(), me.user.clone(), tx));
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (Ok::<_, std::io::Error>(chunk), rx))
    });
    let date = app::components::format_time(mosaic_db::clock::now_micros());
    let name = format!("mosaic-archive-{}.jsonl", &date[..10]);
    attachment("application/x-ndjson", &name, Body::from_stream(stream))
}

async fn import_status(
    State(s): State<ServerState>,
    Authed(me): Authed,
    UrlPath(raw): UrlPath<String>,
) -> Result<Json<ImportJob>, AppError> {
    let id: Uuid = raw.parse().map_err(|_| AppError::NotFound)?;
    Ok(Json(s.app.store.get_import(me.user.id, id).await?))
}

/// Why an upload was refused before its import began.
fn refuse(html: bool, status: StatusCode, message: String) -> Response {
    if html {
        app::auth::redirect_with_flash("/settings#import", &message)
    } else {
        (status, Json(serde_json::json!({ "error": message }))).into_response()
    }
}

async fn start_import(
    State(s): State<ServerState>,
    me: Option<axum::Extension<app::state::CurrentUser>>,
    req: Request,
) -> Response {
    let html = wants_html(req.headers());
    let Some(me) = me.map(|m| m.0) else { return AppError::SIGNED_OUT.into_response() };
    let Ok(mut multipart) = Multipart::from_request(req, &s).await else {
        return refuse(
            html,
            StatusCode::BAD_REQUEST,
            "Send the file as multipart/form-data, in a field named file.".into(),
        );
    };
    let spool = s.uploads.dir.join(format!("{}.upload", Uuid::now_v7()));
    let (mut skip_bad, mut received) = (false, None::<Result<usize, (StatusCode, String)>>);
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => match field.name() {
                Some("skip_bad") => skip_bad = field.text().await.is_ok_and(|v| v != "false"),
                Some("file") => received = Some(save(field, &spool).await),
                _ => {}
            },
            Ok(None) => break,
            Err(e) => {
                received = Some(Err(if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    (StatusCode::PAYLOAD_TOO_LARGE, too_large())
                } else {
                    (StatusCode::BAD_REQUEST, format!("The upload broke off: {}", e.body_text()))
                }));
                break;
            }
        }
    }
    let kind = match received {
        None => Err((StatusCode::BAD_REQUEST, "Choose a file to import.".to_string())),
        Some(Err(e)) => Err(e),
        Some(Ok(0)) => Err((StatusCode::BAD_REQUEST, "The file is empty.".to_string())),
        Some(Ok(_)) => sniff(&spool).await,
    };
    let kind = match kind {
        Ok(kind) => kind,
        Err((status, message)) => {
            let _ = tokio::fs::remove_file(&spool).await;
            return refuse(html, status, message);
        }
    };
    let job = match s.app.store.create_import(me.user.id, kind.name()).await {
        Ok(job) => job,
        Err(e) => {
            let _ = tokio::fs::remove_file(&spool).await;
            return AppError::from(e).into_response();
        }
    };
    let request = import::Request { user_id: me.user.id, job: job.id, path: spool, kind, skip_bad };
    tokio::spawn(import::run(s.app.store.clone(), request));
    if html {
        Redirect::to(&format!("/imports/{}", job.id)).into_response()
    } else {
        let location = format!("/api/imports/{}", job.id);
        (StatusCode::ACCEPTED, [(header::LOCATION, location)], Json(job)).into_response()
    }
}

fn too_large() -> String {
    format!("The file is larger than {} MiB, the most Mosaic imports at once.", MAX_IMPORT_BYTES / (1024 * 1024))
}

/// Writes the file field to `path` as it arrives; returns its size.
async fn save(mut field: axum::extract::multipart::Field<'_>, path: &Path) -> Result<usize, (StatusCode, String)> {
    let io = |e: std::io::Error| {
        tracing::error!(error = %e, "cannot store an upload");
        (StatusCode::INTERNAL_SERVER_ERROR, "The upload could not be stored on the server.".to_string())
    };
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir).await.map_err(io)?;
    }
    let mut file = tokio::fs::File::create(path).await.map_err(io)?;
    let mut size = 0usize;
    loop {
        match field.chunk().await {
            Ok(Some(chunk)) => {
                size += chunk.len();
                if size > MAX_IMPORT_BYTES {
                    return Err((StatusCode::PAYLOAD_TOO_LARGE, too_large()));
                }
                file.write_all(&chunk).await.map_err(io)?;
            }
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err((StatusCode::PAYLOAD_TOO_LARGE, too_large()))
            }
            Err(e) => return Err((StatusCode::BAD_REQUEST, format!("The upload broke off: {}", e.body_text()))),
        }
    }
    file.flush().await.map_err(io)?;
    Ok(size)
}

/// Tells the format from the file's start (and, for a JSON array, its first element).
async fn sniff(path: &Path) -> Result<import::Kind, (StatusCode, String)> {
    let unknown = || {
        (
            StatusCode::BAD_REQUEST,
            "This file is not a Mosaic archive, a ChatGPT conversations.json or an Open WebUI chat export.".to_string(),
        )
    };
    let mut start = vec![0u8; 64 * 1024];
    let mut file = tokio::fs::File::open(path).await.map_err(|_| unknown())?;
    let n = tokio::io::AsyncReadExt::read(&mut file, &mut start).await.map_err(|_| unknown())?;
    start.truncate(n);
    let text = String::from_utf8_lossy(&start);
    let text = text.trim_start_matches('\u{feff}').trim_start();
    if archive::looks_like(text.as_bytes()) {
        return Ok(import::Kind::Archive);
    }
    if !text.starts_with('[') {
        return Err(unknown());
    }
    // The first element tells which product wrote the array; reading stops after it.
    let path = path.to_path_buf();
    let first = tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(path).ok()?;
        let mut found = None;
        let _ = formats::for_each_element(file, &mut |_, value| {
            found = Some(formats::Source::of(&value));
            false
        });
        found
    })
    .await
    .ok()
    .flatten();
    match first {
        Some(Some(source)) => Ok(import::Kind::Array(source)),
        // An empty array imports nothing, cleanly.
        None => Ok(import::Kind::Array(formats::Source::ChatGpt)),
        Some(None) => Err(unknown()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_plain() {
        assert_eq!(file_name("Trip to Zürich: day 1!", "md"), "trip-to-z-rich-day-1.md");
        assert_eq!(file_name("???", "json"), "conversation.json");
    }
}
