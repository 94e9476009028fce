//! The one error policy: how every failure becomes an HTTP status and a sentence for the user, for
//! every surface (the JSON API, the server functions behind the pages, the WebSocket gateway and
//! `POST /api/chat`).
//!
//! - The caller's mistakes are 4xx with a message they can act on: 400 for input that breaks a rule
//!   (a bad field, a malformed cursor, a model that is not offered), 401 when signed out or when
//!   credentials do not match, 403 when the caller may not (sign-up closed, account suspended), 404
//!   for anything that does not exist *or belongs to someone else* (the two are indistinguishable on
//!   purpose), 409 for a conflict with the current state (a taken email, a locked preference, a
//!   reply still being written), 413 and 415 for an upload too large or of the wrong kind, 429 when
//!   the caller must slow down.
//! - 503 when something the server depends on is out of reach: the database (connect timeout, pool
//!   exhausted or closed) or, for chat, any model provider at all.
//! - Everything else is the server's own fault (a driver error, a failed hash, no randomness, a row
//!   that does not read back): logged with its detail, answered 500 with a generic sentence, never a
//!   4xx and never the detail.
//!
//! [`AppError`] is built from the data layer's and the chat service's errors through `From`, so no
//! surface decides a status of its own.

use mosaic_chat::ChatError;
use mosaic_db::DbError;

/// A failure as the user meets it: a status and what to tell them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppError {
    /// Not signed in, or credentials that do not match; the message says which.
    Unauthorized(&'static str),
    /// The caller may not do this; the message says why.
    Forbidden(String),
    /// Does not exist, or is not the caller's.
    NotFound,
    /// The caller's input breaks a rule; the message says which.
    BadRequest(String),
    /// The request conflicts with the current state; the message says how.
    Conflict(String),
    /// Too many attempts; the message says when to try again, `retry_after` in seconds.
    TooManyRequests { message: String, retry_after: u64 },
    /// An upload larger than accepted; the message gives both sizes.
    TooLarge(String),
    /// An upload of a kind not accepted; the message says which kinds are.
    UnsupportedMedia(String),
    /// A dependency is out of reach; the message says which and what to do.
    Unavailable(String),
    /// The server has too much of this work waiting; try again in a few seconds.
    Busy(String),
    /// The server's own fault. Its detail has been logged; the user gets a generic sentence.
    Internal,
}

/// What the user reads for [`AppError::Internal`].
const INTERNAL: &str = "Something went wrong on the server. Try again.";
/// How long a caller refused as busy is asked to wait.
const BUSY_RETRY_SECS: u64 = 5;
/// What the user reads when the database is out of reach.
const DATABASE_UNAVAILABLE: &str = "The database is unavailable right now. Try again in a moment.";

impl AppError {
    /// A request that needs a session came without a live one.
    pub const SIGNED_OUT: AppError = AppError::Unauthorized("You are signed out. Sign in again.");

    /// The HTTP status.
    pub fn status(&self) -> http::StatusCode {
        use http::StatusCode as S;
        match self {
            AppError::Unauthorized(_) => S::UNAUTHORIZED,
            AppError::Forbidden(_) => S::FORBIDDEN,
            AppError::NotFound => S::NOT_FOUND,
            AppError::BadRequest(_) => S::BAD_REQUEST,
            AppError::Conflict(_) => S::CONFLICT,
            AppError::TooManyRequests { .. } => S::TOO_MANY_REQUESTS,
            AppError::TooLarge(_) => S::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMedia(_) => S::UNSUPPORTED_MEDIA_TYPE,
            AppError::Unavailable(_) | AppError::Busy(_) => S::SERVICE_UNAVAILABLE,
            AppError::Internal => S::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the user is told.
    pub fn message(&self) -> &str {
        match self {
            AppError::Unauthorized(m) => m,
            AppError::NotFound => "That conversation or item does not exist.",
            AppError::BadRequest(m)
            | AppError::Forbidden(m)
            | AppError::Conflict(m)
            | AppError::TooManyRequests { message: m, .. }
            | AppError::TooLarge(m)
            | AppError::UnsupportedMedia(m)
            | AppError::Unavailable(m)
            | AppError::Busy(m) => m,
            AppError::Internal => INTERNAL,
        }
    }

    /// Seconds the caller should wait before trying again (`Retry-After`), for 429 and busy 503s.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            AppError::TooManyRequests { retry_after, .. } => Some(*retry_after),
            AppError::Busy(_) => Some(BUSY_RETRY_SECS),
            _ => None,
        }
    }

    /// A refusal for going too fast: how long to wait, in words and in `Retry-After`.
    pub fn slow_down(what: &str, wait: std::time::Duration) -> AppError {
        let secs = wait.as_secs().max(1);
        let when = if secs < 90 {
            format!("{secs} second{}", if secs == 1 { "" } else { "s" })
        } else {
            let minutes = secs.div_ceil(60);
            format!("{minutes} minute{}", if minutes == 1 { "" } else { "s" })
        };
        AppError::TooManyRequests { message: format!("{what} Try again in {when}."), retry_after: secs }
    }

    /// An internal failure: logs `detail` (never sent) and answers 500.
    pub fn internal(detail: impl std::fmt::Display) -> AppError {
        tracing::error!(error = %detail, "internal error");
        AppError::Internal
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for AppError {}

impl From<DbError> for AppError {
    fn from(err: DbError) -> Self {
        match err {
            DbError::NotFound => AppError::NotFound,
            DbError::Invalid(_) | DbError::BadCursor => AppError::BadRequest(sentence(&err.to_string())),
            DbError::Conflict(_) | DbError::Immutable(_) => AppError::Conflict(sentence(&err.to_string())),
            DbError::Unavailable(_) => {
                tracing::error!(error = %err, "database unavailable");
                AppError::Unavailable(DATABASE_UNAVAILABLE.into())
            }
            DbError::Closed => AppError::Forbidden(sentence(&err.to_string())),
            DbError::Busy(_) => AppError::Busy(format!("{} Try again in a few seconds.", sentence(&err.to_string()))),
            DbError::Internal(_) | DbError::Sqlx(_) | DbError::Migrate(_) => AppError::internal(err),
        }
    }
}

impl From<ChatError> for AppError {
    fn from(err: ChatError) -> Self {
        match err {
            ChatError::Db(e) => e.into(),
            ChatError::Busy => AppError::Conflict(err.to_string()),
            ChatError::TooManyReplies(_) => AppError::TooManyRequests { message: err.to_string(), retry_after: 5 },
            ChatError::NoProvider | ChatError::ShuttingDown => AppError::Unavailable(err.to_string()),
            ChatError::NoModelChosen(_) | ChatError::UnknownModel(_) => AppError::BadRequest(err.to_string()),
        }
    }
}

/// The data layer's messages are clauses ("a title can be at most 200 characters"); the user reads
/// a sentence.
fn sentence(clause: &str) -> String {
    let mut chars = clause.chars();
    let mut out: String = chars.next().map(|c| c.to_uppercase().collect()).unwrap_or_default();
    out.push_str(chars.as_str());
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

/// The JSON API's and the chat endpoint's form of an error: the status and `{"error": "…"}`.
impl axum::response::IntoResponse for AppError {
    fn into_response(self) -> axum::response::Response {
        let retry_after = self.retry_after();
        let mut response = (self.status(), axum::Json(serde_json::json!({ "error": self.message() }))).into_response();
        if let Some(secs) = retry_after {
            response.headers_mut().insert(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_has_one_status_and_internal_faults_say_nothing() {
        use http::StatusCode as S;
        let cases: [(AppError, S); 11] = [
            (DbError::Busy("too many sign-ins are being checked right now".into()).into(), S::SERVICE_UNAVAILABLE),
            (DbError::NotFound.into(), S::NOT_FOUND),
            (DbError::Invalid("a title can be at most 200 characters".into()).into(), S::BAD_REQUEST),
            (DbError::BadCursor.into(), S::BAD_REQUEST),
            (DbError::Conflict("taken".into()).into(), S::CONFLICT),
            (DbError::Unavailable("timed out".into()).into(), S::SERVICE_UNAVAILABLE),
            (DbError::Internal("no randomness".into()).into(), S::INTERNAL_SERVER_ERROR),
            (ChatError::Busy.into(), S::CONFLICT),
            (ChatError::NoProvider.into(), S::SERVICE_UNAVAILABLE),
            (ChatError::UnknownModel("x/y".into()).into(), S::BAD_REQUEST),
            (ChatError::Db(DbError::Unavailable("pool closed".into())).into(), S::SERVICE_UNAVAILABLE),
        ];
        for (err, status) in cases {
            assert_eq!(err.status(), status, "{err:?}");
        }
        let internal = AppError::from(DbError::Internal("no randomness: getrandom failed".into()));
        assert!(!internal.message().contains("randomness"), "the detail is never sent");
        assert_eq!(
            AppError::from(DbError::Invalid("a title can be at most 200 characters".into())).message(),
            "A title can be at most 200 characters."
        );
    }
}
