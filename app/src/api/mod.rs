//! Server functions: the UI's API. Each one checks who is asking itself (they are public HTTP
//! endpoints under `/_fn/`), and mutations are POST-only behind the server's Origin check.

pub mod account;
pub mod conversations;

use leptos::prelude::*;

/// The text of a server function error, without the framework's prefix, for showing to a user.
pub fn error_text(err: &ServerFnError) -> String {
    match err {
        ServerFnError::ServerError(msg) => msg.clone(),
        ServerFnError::Request(_) => "Mosaic could not be reached. Check your connection and try again.".into(),
        other => other.to_string(),
    }
}

/// Adds `?key=value` to a path (how plain form posts are sent back with an error).
#[cfg(feature = "ssr")]
pub use respond::with_query;

#[cfg(feature = "ssr")]
pub(crate) mod respond {
    //! Turning failures into what the user sees: a message, the right HTTP status for API clients,
    //! and, for a plain form post (JavaScript off), a redirect back to the form with `?error=`.

    use leptos::prelude::*;
    use leptos_axum::ResponseOptions;
    use mosaic_db::DbError;

    use crate::state::{current_user, request_parts, CurrentUser};

    /// An error with an HTTP status and a message meant for the user.
    pub fn fail(status: http::StatusCode, message: impl Into<String>) -> ServerFnError {
        let message = message.into();
        if let Some(res) = use_context::<ResponseOptions>() {
            res.set_status(status);
        }
        if let Some(parts) = request_parts() {
            if is_plain_form_post(&parts) {
                let back = parts
                    .headers
                    .get(http::header::REFERER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(same_site_path)
                    .unwrap_or_else(|| "/".to_string());
                leptos_axum::redirect(&with_query(&back, "error", &message));
            }
        }
        ServerFnError::new(message)
    }

    /// Maps a data-layer error: input problems keep their message, internals are logged and hidden.
    pub fn db(err: DbError) -> ServerFnError {
        use http::StatusCode as S;
        match &err {
            DbError::NotFound => fail(S::NOT_FOUND, "That conversation or item does not exist."),
            DbError::Invalid(_) | DbError::BadCursor => fail(S::BAD_REQUEST, err.to_string()),
            DbError::Conflict(_) | DbError::Immutable(_) => fail(S::CONFLICT, err.to_string()),
            DbError::Unavailable(_) => {
                tracing::error!(error = %err, "database unavailable");
                fail(S::SERVICE_UNAVAILABLE, "The database is unavailable right now. Try again in a moment.")
            }
            DbError::Sqlx(_) | DbError::Migrate(_) => {
                tracing::error!(error = %err, "database error");
                fail(S::INTERNAL_SERVER_ERROR, "Something went wrong on the server. Try again.")
            }
        }
    }

    /// The signed-in user, or a 401.
    pub fn require_user() -> Result<CurrentUser, ServerFnError> {
        current_user().ok_or_else(|| fail(http::StatusCode::UNAUTHORIZED, "You are signed out. Sign in again."))
    }

    /// After a successful plain form post, go to `path` (with JavaScript, the client navigates).
    pub fn redirect_plain_form(path: &str) {
        if request_parts().is_some_and(|p| is_plain_form_post(&p)) {
            leptos_axum::redirect(path);
        }
    }

    fn is_plain_form_post(parts: &http::request::Parts) -> bool {
        parts.method == http::Method::POST
            && parts
                .headers
                .get(http::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("text/html"))
    }

    /// The path and query of a same-site Referer URL (never redirect to another site).
    fn same_site_path(referer: &str) -> Option<String> {
        let after_scheme = referer.split_once("://").map_or(referer, |(_, rest)| rest);
        let path = after_scheme.find('/').map(|i| &after_scheme[i..])?;
        (path.starts_with('/') && !path.starts_with("//")).then(|| path.to_string())
    }

    /// `path` with `key=value` set in its query, replacing an earlier value of `key`.
    pub fn with_query(path: &str, key: &str, value: &str) -> String {
        let (base, query) = path.split_once('?').unwrap_or((path, ""));
        let mut pairs: Vec<String> = query
            .split('&')
            .filter(|p| !p.is_empty() && !p.starts_with(&format!("{key}=")))
            .map(str::to_string)
            .collect();
        pairs.push(format!("{key}={}", encode(value)));
        format!("{base}?{}", pairs.join("&"))
    }

    fn encode(value: &str) -> String {
        value
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
}
