//! A request body as JSON or as a plain form: the JSON API and the pages' forms (which work without
//! JavaScript) share one handler per action.

use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use serde::de::DeserializeOwned;
use serde::Serialize;

use app::error::AppError;

/// Whether a request's body is a form (`application/x-www-form-urlencoded`), so the answer is a
/// redirect back to the page rather than JSON.
pub fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

/// The body, read as a form or as JSON by its content type.
pub struct Input<T> {
    pub value: T,
    /// True when it came from a form.
    pub form: bool,
}

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequest<S> for Input<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        if is_form(req.headers()) {
            let Form(value) = Form::<T>::from_request(req, state)
                .await
                .map_err(|e| AppError::BadRequest(format!("Invalid form: {}", e.body_text())))?;
            return Ok(Input { value, form: true });
        }
        let value = super::body(Json::<T>::from_request(req, state).await)?;
        Ok(Input { value, form: false })
    }
}

/// Answers an action: JSON (`ok` as the body, or 204 when it is `None`) or, for a form, a redirect
/// to `back`, with the error's message in the flash cookie when it failed.
pub fn answer<T: Serialize>(form: bool, back: &str, result: Result<Option<T>, AppError>) -> Response {
    match (form, result) {
        (true, Ok(_)) => Redirect::to(back).into_response(),
        (true, Err(e)) => app::auth::redirect_with_flash(back, e.message()),
        (false, Ok(Some(body))) => Json(body).into_response(),
        (false, Ok(None)) => StatusCode::NO_CONTENT.into_response(),
        (false, Err(e)) => e.into_response(),
    }
}
