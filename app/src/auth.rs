//! Session cookies and the sign-in throttle.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The session cookie's name. The `__Host-` prefix (Secure, Path=/, no Domain) is used on HTTPS.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-mosaic_session"
    } else {
        "mosaic_session"
    }
}

/// The `Set-Cookie` value that stores `token` for `max_age_secs`.
pub fn session_cookie(token: &str, secure: bool, max_age_secs: i64) -> String {
    let secure_attr = if secure { "; Secure" } else { "" };
    format!("{}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure_attr}", cookie_name(secure))
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie(secure: bool) -> String {
    let secure_attr = if secure { "; Secure" } else { "" };
    format!("{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure_attr}", cookie_name(secure))
}

/// The cookie that carries a new API token's secret from the form post to the settings page, which
/// shows it once and clears it. Only that page sees it (its path), for five minutes at most.
pub const NEW_TOKEN_COOKIE: &str = "mosaic_new_token";

/// The `Set-Cookie` value that hands `secret` to the settings page.
pub fn new_token_cookie(secret: &str, secure: bool) -> String {
    let secure_attr = if secure { "; Secure" } else { "" };
    format!("{NEW_TOKEN_COOKIE}={secret}; Path=/settings; HttpOnly; SameSite=Strict; Max-Age=300{secure_attr}")
}

/// The `Set-Cookie` value that clears that cookie once shown.
pub fn clear_new_token_cookie(secure: bool) -> String {
    let secure_attr = if secure { "; Secure" } else { "" };
    format!("{NEW_TOKEN_COOKIE}=; Path=/settings; HttpOnly; SameSite=Strict; Max-Age=0{secure_attr}")
}

/// A cookie's value in a request's `Cookie` headers.
pub fn cookie(headers: &http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

/// The session token in a request's `Cookie` headers, if any.
pub fn token_from_headers(headers: &http::HeaderMap, secure: bool) -> Option<String> {
    cookie(headers, cookie_name(secure))
}

/// Starts a session for `user_id` on behalf of a request with `headers` from `ip`: ends the session
/// the browser still had (a sign-in never leaves it alive behind the new cookie), records the new
/// one, and returns the `Set-Cookie` value that carries it. Every way of signing in goes through here.
pub async fn begin_session(
    state: &crate::state::AppState,
    user_id: uuid::Uuid,
    headers: &http::HeaderMap,
    ip: Option<&str>,
) -> Result<String, mosaic_db::DbError> {
    use mosaic_db::token;
    let secure = state.auth.secure_cookies;
    if let Some(old) = token_from_headers(headers, secure) {
        state.store.revoke_session_by_token(&token::hash(&old)).await?;
    }
    let user_agent = headers.get(http::header::USER_AGENT).and_then(|v| v.to_str().ok());
    let token = token::generate()?;
    state.store.create_session(user_id, &token::hash(&token), ip, user_agent, state.auth.policy).await?;
    Ok(session_cookie(&token, secure, state.auth.policy.absolute / mosaic_db::clock::SECOND))
}

/// Failed sign-ins allowed per key (email or client address) within [`WINDOW`].
pub const MAX_FAILURES: u32 = 5;
/// How long failures are remembered, and how long a locked key stays locked.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

/// Slows down password guessing: after [`MAX_FAILURES`] failed sign-ins for one email or one client
/// address within [`WINDOW`], further attempts for it are refused until the window passes.
///
/// Kept in memory: with several instances behind a load balancer each enforces its own limit.
#[derive(Debug, Default)]
pub struct SignInLimiter {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl SignInLimiter {
    /// How long until `keys` may try again, if any of them is locked.
    pub fn locked_for(&self, keys: &[String]) -> Option<Duration> {
        let map = self.failures.lock().ok()?;
        keys.iter()
            .filter_map(|k| map.get(k))
            .filter(|(count, since)| *count >= MAX_FAILURES && since.elapsed() < WINDOW)
            .map(|(_, since)| WINDOW.saturating_sub(since.elapsed()))
            .max()
    }

    /// Records a failed attempt for each key.
    pub fn fail(&self, keys: &[String]) {
        let Ok(mut map) = self.failures.lock() else {
            return;
        };
        if map.len() > 100_000 {
            map.retain(|_, (_, since)| since.elapsed() < WINDOW);
        }
        for key in keys {
            let entry = map.entry(key.clone()).or_insert((0, Instant::now()));
            if entry.1.elapsed() >= WINDOW {
                *entry = (0, Instant::now());
            }
            entry.0 += 1;
        }
    }

    /// Forgets the failures of `key` after a successful sign-in.
    pub fn succeed(&self, key: &str) {
        if let Ok(mut map) = self.failures.lock() {
            map.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_repeated_failures_and_reads_the_cookie_back() {
        let limiter = SignInLimiter::default();
        let keys = vec!["email:a@b.c".to_string(), "ip:1.2.3.4".to_string()];
        for _ in 0..MAX_FAILURES - 1 {
            limiter.fail(&keys);
        }
        assert!(limiter.locked_for(&keys).is_none());
        limiter.fail(&keys);
        assert!(limiter.locked_for(&["ip:1.2.3.4".to_string()]).is_some());
        limiter.succeed("email:a@b.c");
        assert!(limiter.locked_for(&["email:a@b.c".to_string()]).is_none());

        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::COOKIE, "a=1; mosaic_session=tok; b=2".parse().expect("header"));
        assert_eq!(token_from_headers(&headers, false).as_deref(), Some("tok"));
        assert_eq!(token_from_headers(&headers, true), None);
        assert!(session_cookie("t", true, 60).contains("; Secure"));
        assert!(session_cookie("t", false, 60).contains("HttpOnly; SameSite=Lax"));
    }
}
