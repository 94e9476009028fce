//! How a server function answers a failure: the status and message of the one error policy
//! ([`crate::error`]), and, for a plain form post (JavaScript off), a redirect back to the form with
//! the message in a one-time cookie ([`crate::auth::flash_cookie`]) so the page can show it.

use leptos::prelude::*;
use leptos_axum::ResponseOptions;

use crate::error::AppError;
use crate::state::{current_user, request_parts, CurrentUser};

/// Turns any failure into the server function's error: sets the response status and, for a plain
/// form post, redirects back to the form with the message.
pub fn fail(err: impl Into<AppError>) -> ServerFnError {
    answer(None, err.into())
}

/// [`fail`], but a plain form post goes to `path` with the message rather than back to the form
/// (when what was asked partly happened: a conversation was started, its reply could not be).
pub fn fail_at(path: &str, err: impl Into<AppError>) -> ServerFnError {
    answer(Some(path), err.into())
}

fn answer(to: Option<&str>, err: AppError) -> ServerFnError {
    if let Some(res) = use_context::<ResponseOptions>() {
        res.set_status(err.status());
        if let Some(secs) = err.retry_after() {
            res.insert_header(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
        }
    }
    if let Some(parts) = request_parts().filter(is_plain_form_post) {
        let back = to.map(str::to_string).unwrap_or_else(|| {
            parts
                .headers
                .get(http::header::REFERER)
                .and_then(|v| v.to_str().ok())
                .and_then(same_site_path)
                .unwrap_or_else(|| "/".to_string())
        });
        leptos_axum::redirect(&back);
        if let (Some(res), Ok(v)) =
            (use_context::<ResponseOptions>(), http::HeaderValue::from_str(&crate::auth::flash_cookie(err.message())))
        {
            res.append_header(http::header::SET_COOKIE, v);
        }
    }
    ServerFnError::new(err.message())
}

/// The signed-in user, or a 401.
pub fn require_user() -> Result<CurrentUser, ServerFnError> {
    current_user().ok_or_else(|| fail(AppError::SIGNED_OUT))
}

/// After a successful plain form post, go to `path` (with JavaScript, the client navigates).
pub fn redirect_plain_form(path: &str) {
    if request_parts().as_ref().is_some_and(is_plain_form_post) {
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
