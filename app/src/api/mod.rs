//! Server functions: the UI's API. Each one checks who is asking itself (they are public HTTP
//! endpoints under `/_fn/`), and mutations are POST-only behind the server's Origin check.

pub mod account;
pub mod activity;
pub mod admin;
pub mod conversations;
pub mod portability;
pub mod search;

use leptos::prelude::*;

/// The text of a server function error, without the framework's prefix, for showing to a user.
pub fn error_text(err: &ServerFnError) -> String {
    match err {
        ServerFnError::ServerError(msg) => msg.clone(),
        ServerFnError::Request(_) => "Mosaic could not be reached. Check your connection and try again.".into(),
        other => other.to_string(),
    }
}

#[cfg(feature = "ssr")]
pub(crate) mod respond;

/// `path` with `key=value` set in its query, replacing an earlier value of `key`.
pub fn with_query(path: &str, key: &str, value: &str) -> String {
    let (base, query) = path.split_once('?').unwrap_or((path, ""));
    let mut pairs: Vec<String> =
        query.split('&').filter(|p| !p.is_empty() && !p.starts_with(&format!("{key}="))).map(str::to_string).collect();
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
