//! Server functions: the UI's API. Each one checks who is asking itself (they are public HTTP
//! endpoints under `/_fn/`), and mutations are POST-only behind the server's Origin check.

pub mod account;
pub mod activity;
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
pub(crate) mod respond;
