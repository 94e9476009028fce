//! Session cookies and how a session begins (the throttle is `mosaic_db::throttle`).

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

/// The cookie that carries a failed plain form post's message to the page it redirects to. A cookie
/// only this server sets, rather than `?error=` in the URL, so that no link can make the real
/// sign-in page say words of its author's choosing.
pub const FLASH_COOKIE: &str = "mosaic_flash";
/// The longest message a flash carries (longer ones are cut).
const FLASH_MAX_CHARS: usize = 300;

/// The `Set-Cookie` value that shows `message` on the next page, within a minute.
pub fn flash_cookie(message: &str) -> String {
    let message: String = message.chars().take(FLASH_MAX_CHARS).collect();
    let value = percent_encoding::utf8_percent_encode(&message, percent_encoding::NON_ALPHANUMERIC);
    format!("{FLASH_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age=60")
}

/// The `Set-Cookie` value that clears the flash once shown.
pub fn clear_flash_cookie() -> String {
    format!("{FLASH_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}

/// The flash message a request carries, if any.
pub fn flash(headers: &http::HeaderMap) -> Option<String> {
    let raw = raw_cookie(headers, FLASH_COOKIE)?;
    let message = percent_encoding::percent_decode_str(raw).decode_utf8().ok()?;
    let message: String = message.chars().filter(|c| !c.is_control()).take(FLASH_MAX_CHARS).collect();
    (!message.trim().is_empty()).then_some(message)
}

/// A redirect to `to` that shows `message` there (a plain form post that failed).
pub fn redirect_with_flash(to: &str, message: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut response = axum::response::Redirect::to(to).into_response();
    if let Ok(v) = http::HeaderValue::from_str(&flash_cookie(message)) {
        response.headers_mut().append(http::header::SET_COOKIE, v);
    }
    response
}

/// A token-like cookie's value in a request's `Cookie` headers (at most 128 characters).
pub fn cookie(headers: &http::HeaderMap, name: &str) -> Option<String> {
    raw_cookie(headers, name).filter(|v| !v.is_empty() && v.len() <= 128).map(str::to_string)
}

/// A cookie's value as sent, whatever its length.
fn raw_cookie<'h>(headers: &'h http::HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_cookie_back() {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::COOKIE, "a=1; mosaic_session=tok; b=2".parse().expect("header"));
        assert_eq!(token_from_headers(&headers, false).as_deref(), Some("tok"));
        assert_eq!(token_from_headers(&headers, true), None);
        assert!(session_cookie("t", true, 60).contains("; Secure"));
        assert!(session_cookie("t", false, 60).contains("HttpOnly; SameSite=Lax"));

        let set = flash_cookie("That didn't work; try 100% again.\r\nSet-Cookie: x=1");
        let value = set.split_once(';').map(|(v, _)| v).unwrap_or_default();
        assert!(!value.contains(' ') && !value.contains('\n'), "{set}");
        headers.insert(http::header::COOKIE, value.parse().expect("header"));
        assert_eq!(flash(&headers).as_deref(), Some("That didn't work; try 100% again.Set-Cookie: x=1"));
    }
}
