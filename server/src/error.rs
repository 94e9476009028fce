//! The HTTP layer's one error type.
//!
//! Policy: every error becomes a status and a JSON body `{"error": "…"}` a user can act on.
//! Internal failures are logged with their detail and answered with a generic message.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use mosaic_db::DbError;

/// Everything a JSON API handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("sign in first")]
    Unauthorized,
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the database is unavailable right now; try again in a moment")]
    Unavailable,
    #[error("something went wrong on the server")]
    Internal,
}

impl ApiError {
    /// The HTTP status for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<DbError> for ApiError {
    fn from(err: DbError) -> Self {
        match err {
            DbError::NotFound => ApiError::NotFound,
            DbError::Invalid(_) | DbError::BadCursor => ApiError::BadRequest(err.to_string()),
            DbError::Conflict(_) | DbError::Immutable(_) => ApiError::Conflict(err.to_string()),
            DbError::Unavailable(_) => {
                tracing::error!(error = %err, "database unavailable");
                ApiError::Unavailable
            }
            DbError::Sqlx(_) | DbError::Migrate(_) => {
                tracing::error!(error = %err, "database error");
                ApiError::Internal
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status(), Json(serde_json::json!({ "error": self.to_string() }))).into_response()
    }
}
