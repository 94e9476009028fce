//! The HTTP surface end to end over a real socket: sign-in and sessions, ownership through every
//! route, bad input, the cross-origin check, headers and compression. Runs on SQLite, and on
//! PostgreSQL when `MOSAIC_TEST_POSTGRES_URL` names a server.

mod support;

use mosaic_test_support::Engine;

use reqwest::header::{ACCEPT_ENCODING, CONTENT_ENCODING, SET_COOKIE};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use support::{client, start, TestServer};

mosaic_test_support::both_engines!(
    requests_carry_an_id_back_and_forth,
    every_log_line_of_a_request_names_its_id,
    metrics_are_served_only_with_the_token,
    another_users_rows_are_not_found_through_every_route,
    bad_input_gets_a_readable_4xx_and_changes_nothing,
    revoked_and_signed_out_sessions_are_refused,
    sign_in_errors_are_uniform_and_throttled,
    cross_origin_mutations_are_refused,
    pages_redirect_and_responses_are_hardened,
    closed_sign_up_still_admits_the_first_account,
    banned_users_cannot_sign_in,
    plain_form_errors_come_back_to_the_form,
    the_server_rendered_sidebar_pages_by_cursor,
    the_dashboard_carries_its_data_once,
    a_conversation_path_that_is_not_an_id_is_not_found,
    every_surface_answers_the_same_fault_the_same_way,
    internal_failures_are_500s_that_say_nothing_of_them,
    a_rebound_host_name_is_refused,
    personal_answers_are_not_stored_and_https_is_strict,
    signing_in_again_ends_the_old_session,
    a_stranger_cannot_lock_an_account_out,
    concurrent_guesses_cannot_pass_the_limit,
    oversized_emails_cost_nothing,
    sign_up_is_limited_and_checked,
    the_policy_allows_only_this_responses_scripts,
    slow_clients_cannot_hold_a_connection,
);

/// Only the islands are hydrated, so a page holds each message once (as HTML) instead of twice (as
/// HTML and again as the data to hydrate it from); the chat panel then fetches only what is newer.
async fn the_dashboard_carries_its_data_once(engine: Engine) {
    let s = start(engine, &[]).await;
    let c = s.user("once@example.com").await;
    let (_, conv) = s.json(&c, reqwest::Method::POST, "/api/conversations", Some(json!({"title": "Once"}))).await;
    let id = conv["id"].as_str().expect("id").to_string();
    for text in ["first-unmistakable-line", "second-unmistakable-line"] {
        let (st, _) = s
            .json(
                &c,
                reqwest::Method::POST,
                &format!("/api/conversations/{id}/messages"),
                Some(json!({"content": text})),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED);
    }
    let page = c.get(s.url(&format!("/c/{id}"))).send().await.expect("page").text().await.expect("html");
    assert_eq!(page.matches("first-unmistakable-line").count(), 1, "one copy of each message");
    assert_eq!(page.matches("second-unmistakable-line").count(), 1);
    assert!(page.contains("<leptos-island") && page.contains("ChatPanel"), "the chat panel is an island");
    // Leptos always declares the list of resolved data; here it stays empty.
    assert!(page.contains("__RESOLVED_RESOURCES=[]"), "no hydration copy of the page's data");
    assert!(!page.contains("__RESOLVED_RESOURCES["), "no data resolved later either");
    // The panel picks up after the newest settled message: nothing is newer yet.
    let props = page.split("data-component=\"ChatPanel").nth(1).expect("chat panel props");
    let since = props.split("&quot;since&quot;:&quot;").nth(1).and_then(|r| r.split("&quot;").next()).expect("since");
    let res = c
        .post(s.url("/_fn/messages_since"))
        .form(&[("conversation", id.as_str()), ("since", since)])
        .send()
        .await
        .expect("since");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.expect("json"), json!([]));
    // A third message is what it then fetches, rendered.
    let (st, _) = s
        .json(
            &c,
            reqwest::Method::POST,
            &format!("/api/conversations/{id}/messages"),
            Some(json!({"content": "**third**"})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let res =
        c.post(s.url("/_fn/messages_since")).form(&[("conversation", id.as_str()), ("since", since)]).send().await;
    let list = res.expect("since").json::<Value>().await.expect("json");
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["html"], "<p><strong>third</strong></p>\n");
}

async fn another_users_rows_are_not_found_through_every_route(engine: Engine) {
    let s = start(engine, &[]).await;
    let alice = s.user("alice@example.com").await;
    let mallory = s.user("mallory@example.com").await;
    let (st, conv) =
        s.json(&alice, reqwest::Method::POST, "/api/conversations", Some(json!({"title": "private"}))).await;
    assert_eq!(st, StatusCode::CREATED);
    let id = conv["id"].as_str().expect("id").to_string();
    let (st, _) = s
        .json(
            &alice,
            reqwest::Method::POST,
            &format!("/api/conversations/{id}/messages"),
            Some(json!({"content": "secret"})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);

    use reqwest::Method as M;
    let attempts = [
        (M::GET, format!("/api/conversations/{id}"), None),
        (M::PATCH, format!("/api/conversations/{id}"), Some(json!({"title": "mine"}))),
        (M::DELETE, format!("/api/conversations/{id}"), None),
        (M::GET, format!("/api/conversations/{id}/messages"), None),
        (M::POST, format!("/api/conversations/{id}/messages"), Some(json!({"content": "injected"}))),
    ];
    for (method, path, body) in attempts {
        let (st, _) = s.json(&mallory, method.clone(), &path, body).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{method} {path}");
    }
    // Through the server functions the dashboard uses, too.
    let res =
        mallory.post(s.url("/_fn/dashboard")).form(&[("conversation", id.as_str())]).send().await.expect("dashboard");
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = mallory
        .post(s.url("/_fn/post_message"))
        .form(&[("conversation", id.as_str()), ("content", "x")])
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // The chat panel's follow-up fetch answers "not found" too, and shows nothing of alice's.
    let res =
        mallory.post(s.url("/_fn/messages_since")).form(&[("conversation", id.as_str())]).send().await.expect("since");
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(!res.text().await.expect("body").contains("secret"));
    // Alice's sessions cannot be revoked by mallory.
    let (_, sessions) = s.json(&alice, M::GET, "/api/sessions", None).await;
    let sid = sessions[0]["id"].as_str().expect("session id").to_string();
    let (st, _) = s.json(&mallory, M::DELETE, &format!("/api/sessions/{sid}"), None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (_, list) = s.json(&mallory, M::GET, "/api/conversations", None).await;
    assert_eq!(list["items"], json!([]));
    // Alice still has all of it.
    let (st, msgs) = s.json(&alice, M::GET, &format!("/api/conversations/{id}/messages"), None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(msgs["items"][0]["content"], "secret");
    assert_eq!(msgs["items"].as_array().map(Vec::len), Some(1));
}

async fn bad_input_gets_a_readable_4xx_and_changes_nothing(engine: Engine) {
    let s = start(engine, &[]).await;
    let c = s.user("bad@example.com").await;
    use reqwest::Method as M;
    let (_, conv) = s.json(&c, M::POST, "/api/conversations", Some(json!({"title": "fine"}))).await;
    let id = conv["id"].as_str().expect("id").to_string();

    let (st, body) = s.json(&c, M::GET, "/api/conversations?cursor=not-a-cursor", None).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().expect("message").contains("cursor"), "{body}");
    let (st, _) = s.json(&c, M::GET, &format!("/api/conversations/{id}/messages?before=%%%"), None).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, body) = s.json(&c, M::GET, "/api/conversations?limit=100000", None).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().expect("message").contains("Limit"), "{body}");
    let (st, body) = s
        .json(
            &c,
            M::PATCH,
            &format!("/api/conversations/{id}"),
            Some(json!({"title": "t".repeat(201), "archived": true})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().expect("message").contains("200 characters"));
    let (st, _) = s
        .json(&c, M::POST, &format!("/api/conversations/{id}/messages"), Some(json!({"content": "x".repeat(70_000)})))
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let res = c
        .post(s.url(&format!("/api/conversations/{id}/messages")))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: Value = res.json().await.expect("json error");
    assert!(body["error"].as_str().expect("message").starts_with("Invalid JSON body"));
    let (st, _) = s.json(&c, M::PUT, "/api/preferences/bad%20key", Some(json!(1))).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, _) = s.json(&c, M::GET, "/api/conversations/not-a-uuid", None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // Nothing changed.
    let (_, got) = s.json(&c, M::GET, &format!("/api/conversations/{id}"), None).await;
    assert_eq!((got["title"].as_str(), got["archived"].as_bool()), (Some("fine"), Some(false)));
    assert_eq!(got["updatedAt"], conv["updatedAt"]);
    let (_, msgs) = s.json(&c, M::GET, &format!("/api/conversations/{id}/messages"), None).await;
    assert_eq!(msgs["items"], json!([]));
}

async fn revoked_and_signed_out_sessions_are_refused(engine: Engine) {
    let s = start(engine, &[]).await;
    let phone = s.user("sessions@example.com").await;
    let laptop = client();
    let res = laptop
        .post(s.url("/_fn/sign_in"))
        .form(&[("email", "sessions@example.com"), ("password", "correct horse battery")])
        .send()
        .await
        .expect("sign in");
    assert!(res.status().is_success());
    let cookie = res.headers().get(SET_COOKIE).and_then(|v| v.to_str().ok()).expect("cookie").to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && !cookie.contains("Secure"), "{cookie}");
    use reqwest::Method as M;
    let (_, sessions) = s.json(&phone, M::GET, "/api/sessions", None).await;
    assert_eq!(sessions.as_array().map(Vec::len), Some(2));
    // The phone revokes the laptop's session (the newest one).
    let laptop_session = sessions[0]["id"].as_str().expect("id").to_string();
    let (st, _) = s.json(&phone, M::DELETE, &format!("/api/sessions/{laptop_session}"), None).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _) = s.json(&laptop, M::GET, "/api/conversations", None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    // Signing out deletes the session server-side: the old cookie no longer works.
    let token_cookie = signed_out_cookie(&s).await;
    let replay = client();
    let res = replay.get(s.url("/api/conversations")).header("cookie", token_cookie).send().await.expect("replay");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

/// Signs in with a cookie jar we can read, signs out, and returns the cookie the browser had.
async fn signed_out_cookie(s: &TestServer) -> String {
    use reqwest::cookie::CookieStore;
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let own = Client::builder().cookie_provider(jar.clone()).build().expect("client");
    own.post(s.url("/_fn/sign_in"))
        .form(&[("email", "sessions@example.com"), ("password", "correct horse battery")])
        .send()
        .await
        .expect("sign in");
    let url: reqwest::Url = s.base.parse().expect("url");
    let header = jar.cookies(&url).expect("cookie").to_str().expect("ascii").to_string();
    let res = own.post(s.url("/_fn/sign_out")).send().await.expect("sign out");
    assert!(res.status().is_success() || res.status().is_redirection());
    header
}

/// A sign-in attempt from `client` (via `X-Forwarded-For`, which only a trusted proxy may set).
async fn sign_in_from(
    s: &TestServer,
    client: &str,
    email: &str,
    password: &str,
) -> (StatusCode, String, Option<String>) {
    let res = support::client()
        .post(s.url("/_fn/sign_in"))
        .header("x-forwarded-for", client)
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .expect("sign in");
    let retry = res.headers().get("retry-after").map(|v| v.to_str().expect("ascii").to_string());
    (res.status(), res.text().await.expect("body"), retry)
}

/// The rows the throttle holds (each a 32-byte digest, whatever was sent).
async fn throttle_rows(s: &TestServer) -> Vec<Vec<u8>> {
    let sql = "SELECT key FROM attempts";
    match &s.store {
        mosaic_db::Store::Sqlite(db) => sqlx::query_scalar(sql).fetch_all(db.pool()).await.expect("rows"),
        mosaic_db::Store::Postgres(db) => sqlx::query_scalar(sql).fetch_all(db.pool()).await.expect("rows"),
    }
}

async fn sign_in_errors_are_uniform_and_throttled(engine: Engine) {
    let s = start(engine, &[]).await;
    s.user("known@example.com").await;
    let (st1, wrong_password, _) = sign_in_from(&s, "-", "known@example.com", "nope nope nope").await;
    let (st2, wrong_email, _) = sign_in_from(&s, "-", "unknown@example.com", "nope nope nope").await;
    assert_eq!((st1, st2), (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED));
    assert_eq!(wrong_password, wrong_email, "the same message for either mistake");
    for _ in 0..4 {
        sign_in_from(&s, "-", "known@example.com", "still wrong").await;
    }
    let (st, body, retry) = sign_in_from(&s, "-", "known@example.com", "correct horse battery").await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(body.contains("Too many failed sign-ins"), "{body}");
    assert!(retry.is_some_and(|r| r.parse::<u64>().is_ok_and(|secs| secs > 60)), "Retry-After says when");
    // Without a trusted proxy, a forged X-Forwarded-For is no way around the limit.
    let (st, _, _) = sign_in_from(&s, "198.51.100.1", "known@example.com", "correct horse battery").await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS, "the header of an untrusted peer is ignored");
}

/// Behind a reverse proxy every client arrives from the proxy's address: five failures by a
/// stranger must not lock the account's owner out, from anywhere.
async fn a_stranger_cannot_lock_an_account_out(engine: Engine) {
    let s = start(engine, &[("MOSAIC_TRUSTED_PROXIES", "127.0.0.1/32")]).await;
    s.user("victim@example.com").await;
    for _ in 0..5 {
        let (st, _, _) = sign_in_from(&s, "203.0.113.66", "victim@example.com", "a wrong guess").await;
        assert_eq!(st, StatusCode::UNAUTHORIZED);
    }
    let (st, _, _) = sign_in_from(&s, "203.0.113.66", "victim@example.com", "another guess").await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS, "the guesser is stopped");
    // The rightmost untrusted hop is the client: a prefix the guesser wrote changes nothing.
    let (st, _, _) = sign_in_from(&s, "192.0.2.1, 203.0.113.66", "victim@example.com", "spoofed").await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS, "a forged prefix does not make a new client");
    let (st, body, _) = sign_in_from(&s, "198.51.100.20", "victim@example.com", "correct horse battery").await;
    assert_eq!(st, StatusCode::OK, "the owner, elsewhere, still signs in: {body}");
    // IPv6 clients are one client per /64.
    for i in 0..5 {
        sign_in_from(&s, &format!("2001:db8:7:7::{i}"), "victim@example.com", "v6 guess").await;
    }
    let (st, _, _) = sign_in_from(&s, "2001:db8:7:7:ffff::1", "victim@example.com", "v6 guess").await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS, "another address in the same /64 is the same client");
}

/// Guesses sent all at once are each counted before any password is checked: no more than the
/// limit get an answer, however many race.
async fn concurrent_guesses_cannot_pass_the_limit(engine: Engine) {
    let s = start(engine, &[]).await;
    s.user("raced@example.com").await;
    let guesses: Vec<_> = (0..16)
        .map(|i| {
            let url = s.url("/_fn/sign_in");
            tokio::spawn(async move {
                let form = [("email", "raced@example.com".to_string()), ("password", format!("guess number {i}"))];
                support::client().post(url).form(&form).send().await.expect("guess").status()
            })
        })
        .collect();
    let mut checked = 0;
    for g in guesses {
        match g.await.expect("join") {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(checked, 5, "exactly the limit of guesses were checked");
}

/// Whatever is sent as the email, the throttle keeps a fixed-size digest, and nothing at all for
/// an address that is not one (refused before the throttle and before any hashing).
async fn oversized_emails_cost_nothing(engine: Engine) {
    let s = start(engine, &[]).await;
    let huge = format!("{}@example.com", "a".repeat(900 * 1024));
    let (st, body, _) = sign_in_from(&s, "-", &huge, "whatever it is").await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{}", &body[..body.len().min(200)]);
    assert!(body.contains("valid email"), "a clear message");
    assert!(throttle_rows(&s).await.is_empty(), "nothing recorded for it");
    sign_in_from(&s, "-", "Someone@Example.com ", "whatever it is").await;
    let rows = throttle_rows(&s).await;
    assert_eq!(rows.len(), 3, "pair, account and client");
    assert!(rows.iter().all(|k| k.len() == 32), "digests, not the address");
    // The same address however it is written is the same account.
    sign_in_from(&s, "-", "someone@example.com", "whatever it is").await;
    assert_eq!(throttle_rows(&s).await.len(), 3);
}

/// Sign-up is limited per client; the password may not be a common one; and a closed instance
/// admits exactly one first account however many race for it.
async fn sign_up_is_limited_and_checked(engine: Engine) {
    let s = start(engine, &[("MOSAIC_SIGN_UPS_PER_HOUR", "2")]).await;
    let sign_up = |email: String, password: &'static str| {
        let url = s.url("/_fn/sign_up");
        async move {
            let form = [("name", "N".to_string()), ("email", email), ("password", password.to_string())];
            let res = support::client().post(url).form(&form).send().await.expect("sign up");
            (res.status(), res.text().await.expect("body"))
        }
    };
    let (st, body) = sign_up("common@example.com".into(), "Password1").await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(body.contains("most common"), "{body}");
    assert!(s.store.find_credentials("common@example.com").await.expect("lookup").is_none());
    for i in 0..2 {
        let (st, body) = sign_up(format!("u{i}@example.com"), "correct horse battery").await;
        assert_eq!(st, StatusCode::OK, "{body}");
    }
    let (st, body) = sign_up("u3@example.com".into(), "correct horse battery").await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(s.store.find_credentials("u3@example.com").await.expect("lookup").is_none());

    let closed = start(engine, &[("MOSAIC_ALLOW_SIGNUP", "false")]).await;
    let racers: Vec<_> = (0..6)
        .map(|i| {
            let url = closed.url("/_fn/sign_up");
            tokio::spawn(async move {
                let form = [
                    ("name", "R".to_string()),
                    ("email", format!("racer{i}@example.com")),
                    ("password", "correct horse battery".to_string()),
                ];
                support::client().post(url).form(&form).send().await.expect("sign up").status()
            })
        })
        .collect();
    let mut admitted = 0;
    for r in racers {
        let st = r.await.expect("join");
        assert!(st == StatusCode::OK || st == StatusCode::FORBIDDEN, "{st}");
        admitted += usize::from(st == StatusCode::OK);
    }
    assert_eq!(admitted, 1, "one first account, the others refused");
}

async fn cross_origin_mutations_are_refused(engine: Engine) {
    let s = start(engine, &[]).await;
    let c = s.user("csrf@example.com").await;
    let res = c
        .post(s.url("/api/conversations"))
        .header("origin", "http://evil.example")
        .json(&json!({"title": "forged"}))
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = c
        .post(s.url("/_fn/new_conversation"))
        .header("sec-fetch-site", "cross-site")
        .form(&[("title", "forged")])
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let (_, list) = s.json(&c, reqwest::Method::GET, "/api/conversations", None).await;
    assert_eq!(list["items"], json!([]), "nothing was created");
    let res = c
        .post(s.url("/api/conversations"))
        .header("origin", s.base.clone())
        .header("sec-fetch-site", "same-origin")
        .json(&json!({"title": "mine"}))
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), StatusCode::CREATED);
}

async fn pages_redirect_and_responses_are_hardened(engine: Engine) {
    let s = start(engine, &[]).await;
    let anon = client();
    let res = anon.get(s.url("/")).send().await.expect("get");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/login");
    let res = anon.get(s.url("/api/conversations")).send().await.expect("get");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = anon.get(s.url("/login")).header(ACCEPT_ENCODING, "br").send().await.expect("login page");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[CONTENT_ENCODING], "br");
    for h in ["content-security-policy", "x-content-type-options", "x-frame-options", "referrer-policy"] {
        assert!(res.headers().contains_key(h), "missing {h}");
    }
    let res = anon.get(s.url("/login")).header(ACCEPT_ENCODING, "gzip").send().await.expect("login page");
    assert_eq!(res.headers()[CONTENT_ENCODING], "gzip");
    let c = s.user("pages@example.com").await;
    let res = c.get(s.url("/login")).send().await.expect("get");
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "signed-in users skip the sign-in page");
    let res = c.get(s.url("/")).send().await.expect("dashboard");
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.expect("html");
    assert!(html.contains("Start a conversation") && html.contains("Tester"), "server-rendered dashboard");
    assert!(html.contains("No model is configured"), "the composer says no model is configured, and how");
}

async fn closed_sign_up_still_admits_the_first_account(engine: Engine) {
    let s = start(engine, &[("MOSAIC_ALLOW_SIGNUP", "false")]).await;
    s.user("owner@example.com").await;
    let res = client()
        .post(s.url("/_fn/sign_up"))
        .form(&[("name", "Stranger"), ("email", "stranger@example.com"), ("password", "correct horse battery")])
        .send()
        .await
        .expect("sign up");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.expect("body").contains("Sign-up is closed"));
    assert!(s.store.find_credentials("stranger@example.com").await.expect("lookup").is_none());
}

async fn banned_users_cannot_sign_in(engine: Engine) {
    let s = start(engine, &[]).await;
    s.user("admin@example.com").await;
    let c = s.user("troll@example.com").await;
    let (user, _) = s.store.find_credentials("troll@example.com").await.expect("lookup").expect("exists");
    let ops = mosaic_db::audit::Actor { id: None, email: "ops@example.com".into() };
    s.store.ban(&ops, user.id, Some("abuse")).await.expect("ban");
    let (st, _) = s.json(&c, reqwest::Method::GET, "/api/conversations", None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "a ban ends the user's sessions");
    let res = client()
        .post(s.url("/_fn/sign_in"))
        .form(&[("email", "troll@example.com"), ("password", "correct horse battery")])
        .send()
        .await
        .expect("sign in");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.headers().get(SET_COOKIE).is_none(), "no session for a banned user");
}

async fn plain_form_errors_come_back_to_the_form(engine: Engine) {
    let s = start(engine, &[]).await;
    // A browser without JavaScript posts the form and follows the redirect back with the message.
    let res = client()
        .post(s.url("/_fn/sign_in"))
        .header("accept", "text/html")
        .header("referer", s.url("/login"))
        .form(&[("email", "nobody@example.com"), ("password", "whatever it is")])
        .send()
        .await
        .expect("sign in");
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(res.headers()["location"], "/login", "no message in the URL");
    let flash = res
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("mosaic_flash="))
        .and_then(|v| v.split(';').next())
        .expect("the message travels in a cookie")
        .to_string();
    let res = client().get(s.url("/login")).header("cookie", &flash).send().await.expect("form page");
    let cleared =
        res.headers().get_all(SET_COOKIE).iter().any(|v| v.to_str().is_ok_and(|v| v.starts_with("mosaic_flash=;")));
    assert!(cleared, "shown once");
    let page = res.text().await.expect("html");
    assert!(page.contains("That email and password do not match an account."), "the form shows the message");
    // A link cannot put its own words on the real sign-in page.
    let page = client()
        .get(s.url("/login?error=Your%20account%20is%20locked.%20Call%20%2B1%20555%200100"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(!page.contains("Call +1 555"), "text from the URL is not shown");
}

async fn the_server_rendered_sidebar_pages_by_cursor(engine: Engine) {
    let s = start(engine, &[]).await;
    let c = s.user("many@example.com").await;
    for i in 0..55 {
        let (st, _) = s
            .json(&c, reqwest::Method::POST, "/api/conversations", Some(json!({"title": format!("Topic {i:02}")})))
            .await;
        assert_eq!(st, StatusCode::CREATED);
    }
    let first = c.get(s.url("/")).send().await.expect("dashboard").text().await.expect("html");
    assert!(first.contains("Topic 54") && first.contains("Topic 05") && !first.contains("Topic 04"), "newest 50 first");
    let link = first.split("href=\"?more=").nth(1).and_then(|rest| rest.split('"').next()).expect("a Load more link");
    let second = c.get(s.url(&format!("/?more={link}"))).send().await.expect("page 2").text().await.expect("html");
    assert!(second.contains("Topic 04") && second.contains("Topic 00") && !second.contains("Topic 05"), "the rest");
    assert!(second.contains("Back to the newest"));
    // And through the JSON API, every row once.
    let mut seen = 0;
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/conversations?limit=20&cursor={c}"),
            None => "/api/conversations?limit=20".to_string(),
        };
        let (st, page) = s.json(&c, reqwest::Method::GET, &path, None).await;
        assert_eq!(st, StatusCode::OK);
        seen += page["items"].as_array().map_or(0, Vec::len);
        match page["next"].as_str() {
            Some(n) => cursor = Some(n.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, 55);
}

async fn a_conversation_path_that_is_not_an_id_is_not_found(engine: Engine) {
    let s = start(engine, &[]).await;
    let c = s.user("paths@example.com").await;
    for path in ["/c/not-a-uuid", &format!("/c/{}", uuid::Uuid::now_v7())] {
        let res = c.get(s.url(path)).send().await.expect("page");
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(res.text().await.expect("html").contains("does not exist"), "{path}: the page says so");
    }
}

/// One error mapping: the same fault gets the same status and words from the JSON API, the server
/// functions, `POST /api/chat` and the WebSocket.
async fn every_surface_answers_the_same_fault_the_same_way(engine: Engine) {
    let s = start(engine, &[("MOSAIC_DEMO_PROVIDER", "1")]).await;
    let alice = s.user("alice-faults@example.com").await;
    let mallory = s.user("mallory-faults@example.com").await;
    let (_, conv) = s.json(&alice, reqwest::Method::POST, "/api/conversations", Some(json!({"title": "x"}))).await;
    let id = conv["id"].as_str().expect("id").to_string();
    // Someone else's conversation: 404 and the same sentence everywhere.
    let api = s.json(&mallory, reqwest::Method::GET, &format!("/api/conversations/{id}"), None).await;
    let chat = s
        .json(&mallory, reqwest::Method::POST, "/api/chat", Some(json!({"message": "hi", "conversationId": id})))
        .await;
    let res = mallory.post(s.url("/_fn/messages_since")).form(&[("conversation", id.as_str())]).send().await;
    let res = res.expect("server fn");
    let server_fn = (res.status(), res.text().await.expect("body"));
    assert_eq!((api.0, chat.0, server_fn.0), (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND, StatusCode::NOT_FOUND));
    assert_eq!(api.1["error"], chat.1["error"]);
    assert!(server_fn.1.contains(api.1["error"].as_str().expect("message")), "{}", server_fn.1);
    // Input that breaks a rule: 400 on both the JSON API and the chat endpoint (it was 400 vs 409).
    let too_long = "x".repeat(70_000);
    let api = s
        .json(
            &alice,
            reqwest::Method::POST,
            &format!("/api/conversations/{id}/messages"),
            Some(json!({"content": too_long})),
        )
        .await;
    let chat = s
        .json(&alice, reqwest::Method::POST, "/api/chat", Some(json!({"message": too_long, "conversationId": id})))
        .await;
    assert_eq!((api.0, chat.0), (StatusCode::BAD_REQUEST, StatusCode::BAD_REQUEST));
    assert_eq!(api.1["error"], chat.1["error"]);
    // A reply still being written: 409 from the chat endpoint.
    let slow = json!({"message": "go slowly", "conversationId": id, "model": "demo/standin-slow"});
    let first = alice.post(s.url("/api/chat")).json(&slow).send().await.expect("first");
    assert_eq!(first.status(), StatusCode::OK);
    let (st, body) = s.json(&alice, reqwest::Method::POST, "/api/chat", Some(slow.clone())).await;
    assert_eq!(st, StatusCode::CONFLICT, "{body}");
    drop(first);
}

/// A fault of the server (here a table gone from under it) is a logged 500 with a generic sentence,
/// never a 4xx and never the database's own words.
async fn internal_failures_are_500s_that_say_nothing_of_them(engine: Engine) {
    let s = start(engine, &[]).await;
    let c = s.user("internal@example.com").await;
    let sql = "ALTER TABLE preferences RENAME TO preferences_gone";
    match &s.store {
        mosaic_db::Store::Sqlite(db) => sqlx::query(sql).execute(db.pool()).await.map(|_| ()),
        mosaic_db::Store::Postgres(db) => sqlx::query(sql).execute(db.pool()).await.map(|_| ()),
    }
    .expect("break the schema");
    let (st, body) = s.json(&c, reqwest::Method::GET, "/api/preferences", None).await;
    assert_eq!(st, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    let message = body["error"].as_str().expect("message");
    assert_eq!(message, "Something went wrong on the server. Try again.");
    let res = c.post(s.url("/_fn/set_model")).form(&[("model", "demo/x")]).send().await.expect("server fn");
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let text = res.text().await.expect("body");
    assert!(!text.contains("preferences") && !text.contains("relation"), "no detail: {text}");
}

/// DNS rebinding: a page on attacker.example whose name now resolves to this server talks to it as
/// its own origin; every such request carries the attacker's host name and is refused with 421.
async fn a_rebound_host_name_is_refused(engine: Engine) {
    let s = start(engine, &[("MOSAIC_ALLOWED_HOSTS", "chat.internal")]).await;
    let port = s.base.rsplit(':').next().expect("port").to_string();
    let rebound = format!("attacker.example:{port}");
    let res = client()
        .post(s.url("/_fn/sign_up"))
        .header("host", &rebound)
        .header("origin", format!("http://{rebound}"))
        .form(&[("name", "Rebound"), ("email", "rebound@example.com"), ("password", "correct horse battery")])
        .send()
        .await
        .expect("sign up");
    assert_eq!(res.status(), StatusCode::MISDIRECTED_REQUEST);
    assert!(res.text().await.expect("body").contains("MOSAIC_ALLOWED_HOSTS"));
    assert_eq!(s.store.count_users().await.expect("count"), 0, "nobody was signed up");
    let res = client().get(s.url("/login")).header("host", &rebound).send().await.expect("page");
    assert_eq!(res.status(), StatusCode::MISDIRECTED_REQUEST);
    // The socket too.
    let (_, cookie) = s.user_with_cookie("owner@example.com").await;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = format!("{}/ws", s.base.replace("http://", "ws://")).into_client_request().expect("request");
    req.headers_mut().insert("cookie", cookie.parse().expect("cookie"));
    req.headers_mut().insert("host", rebound.parse().expect("host"));
    assert!(tokio_tungstenite::connect_async(req).await.is_err(), "a rebound handshake is refused");
    // Names it does answer to.
    for host in [format!("127.0.0.1:{port}"), format!("localhost:{port}"), format!("chat.internal:{port}")] {
        let res = client().get(s.url("/login")).header("host", &host).send().await.expect("page");
        assert_eq!(res.status(), StatusCode::OK, "{host}");
    }
}

/// Answers to a signed-in request are `no-store`; HSTS goes with an https public URL only.
async fn personal_answers_are_not_stored_and_https_is_strict(engine: Engine) {
    let s = start(engine, &[]).await;
    let c = s.user("private@example.com").await;
    for path in ["/", "/settings", "/api/conversations", "/api/preferences"] {
        let res = c.get(s.url(path)).send().await.expect("get");
        assert_eq!(res.headers()["cache-control"], "no-store", "{path}");
        assert!(res.headers().get("strict-transport-security").is_none(), "plain http: no HSTS");
    }
    let res = client().get(s.url("/login")).send().await.expect("login");
    assert_eq!(res.headers()["cache-control"], "private, no-cache", "a signed-out page may be revalidated");
    let s = start(engine, &[("MOSAIC_PUBLIC_URL", "https://chat.example.com")]).await;
    let res = client().get(s.url("/login")).send().await.expect("login");
    assert_eq!(res.headers()["strict-transport-security"], "max-age=31536000; includeSubDomains");
}

/// A sign-in in a browser that still holds a session ends that session (ASVS 7.2.4).
async fn signing_in_again_ends_the_old_session(engine: Engine) {
    let s = start(engine, &[]).await;
    let (c, old_cookie) = s.user_with_cookie("again@example.com").await;
    let res = c
        .post(s.url("/_fn/sign_in"))
        .form(&[("email", "again@example.com"), ("password", "correct horse battery")])
        .send()
        .await
        .expect("sign in");
    assert!(res.status().is_success() || res.status().is_redirection(), "{}", res.status());
    assert_eq!(s.json(&c, reqwest::Method::GET, "/api/conversations", None).await.0, StatusCode::OK);
    let res = client().get(s.url("/api/conversations")).header("cookie", &old_cookie).send().await.expect("old");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "the session from before is over");
}

/// A data directory the server creates is readable by its user only (it holds the database and
/// the uploads).
#[tokio::test]
async fn a_new_data_directory_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = support::scratch_dir("private-data");
    let data = dir.join("data");
    let port = support::free_port();
    let url = format!("sqlite:{}", data.join("mosaic.db").display());
    let data_var = data.display().to_string();
    let mut child = support::server_process(&url, &dir, port, &[("MOSAIC_DATA_DIR", &data_var)]);
    support::wait_healthy(&format!("http://127.0.0.1:{port}")).await;
    let mode = std::fs::metadata(&data).expect("data dir").permissions().mode() & 0o777;
    support::terminate(&child);
    support::wait_exit(&mut child, std::time::Duration::from_secs(10)).await;
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(mode, 0o700, "mode {mode:o}");
}

/// No inline script runs unless it carries this response's nonce, fresh each time; no inline style;
/// connections only to our own origin.
async fn the_policy_allows_only_this_responses_scripts(engine: Engine) {
    let s = start(engine, &[]).await;
    let c = s.user("csp@example.com").await;
    let mut nonces = Vec::new();
    for (who, path) in [(&c, "/"), (&c, "/settings"), (&client(), "/login"), (&client(), "/no/such/page")] {
        let res = who.get(s.url(path)).send().await.expect("page");
        let csp = res.headers()["content-security-policy"].to_str().expect("ascii").to_string();
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert!(csp.contains("connect-src 'self';"), "{path}: only our own origin: {csp}");
        assert!(csp.contains("style-src 'self';"), "{path}: {csp}");
        let nonce = csp.split("'nonce-").nth(1).and_then(|r| r.split('\'').next()).expect("a nonce").to_string();
        assert!(nonce.len() >= 22, "128 bits at least");
        let html = res.text().await.expect("html");
        let scripts: Vec<&str> = html.split("<script").skip(1).collect();
        assert!(!scripts.is_empty() || path == "/no/such/page", "{path} hydrates islands");
        for script in scripts {
            let tag = script.split('>').next().unwrap_or_default();
            assert!(tag.contains(&format!("nonce=\"{nonce}\"")) || tag.contains(" src="), "{path}: {tag}");
        }
        assert!(!html.contains(" style="), "{path}: no inline style attributes");
        nonces.push(nonce);
    }
    nonces.sort();
    nonces.dedup();
    assert_eq!(nonces.len(), 4, "a fresh nonce per response");
}

/// A client that sends its headers, or its body, a little at a time is cut off after the client
/// timeout instead of holding the connection for ever (slowloris).
async fn slow_clients_cannot_hold_a_connection(engine: Engine) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = start(engine, &[("MOSAIC_CLIENT_TIMEOUT_SECS", "1")]).await;
    let addr = s.base.trim_start_matches("http://").to_string();
    let read_all = |mut tcp: tokio::net::TcpStream| async move {
        let mut answer = Vec::new();
        let read = tokio::time::timeout(std::time::Duration::from_secs(5), tcp.read_to_end(&mut answer)).await;
        (read.is_ok(), String::from_utf8_lossy(&answer).into_owned())
    };
    // Headers that never end.
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.expect("connect");
    tcp.write_all(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1").await.expect("write");
    let (closed, _) = read_all(tcp).await;
    assert!(closed, "a connection with unfinished headers is closed by the server");
    // A body that stops coming.
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.expect("connect");
    let head = "POST /_fn/sign_in HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nemail=a";
    tcp.write_all(head.as_bytes()).await.expect("write");
    let (closed, answer) = read_all(tcp).await;
    assert!(closed, "a stalled body ends the request: {answer}");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    // A server function's body is held to the body limit like every other.
    let res = client()
        .post(s.url("/_fn/sign_in"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("email=a%40b.c&password={}", "p".repeat(2 << 20)))
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

/// A sane `X-Request-Id` is kept and sent back; none, or a malformed one, gets a new id.
async fn requests_carry_an_id_back_and_forth(engine: Engine) {
    let s = start(engine, &[]).await;
    let id_of = |res: &reqwest::Response| res.headers()["x-request-id"].to_str().expect("ascii").to_string();
    let with = |id: String| {
        let url = s.url("/healthz");
        async move { client().get(url).header("x-request-id", id).send().await.expect("request") }
    };
    assert_eq!(id_of(&with("edge-42.a_B".into()).await), "edge-42.a_B", "the proxy's id is kept");
    let made = id_of(&client().get(s.url("/login")).send().await.expect("page"));
    assert!(made.len() == 32 && made.bytes().all(|b| b.is_ascii_hexdigit()), "{made}");
    let again = id_of(&client().get(s.url("/login")).send().await.expect("page"));
    assert_ne!(made, again, "each request its own");
    for bad in ["two words".to_string(), "x".repeat(200), "<script>".into()] {
        let id = id_of(&with(bad.clone()).await);
        assert!(id != bad && id.len() == 32, "{bad:?} became {id:?}");
    }
    // Refused requests carry one too.
    let res = client().get(s.url("/api/conversations")).send().await.expect("signed out");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(id_of(&res).len(), 32);
}

/// What the server logs while serving a request names the request's id, so one request can be
/// followed through the logs of several instances.
async fn every_log_line_of_a_request_names_its_id(engine: Engine) {
    let database = mosaic_test_support::fresh_database(engine).await;
    let dir = support::scratch_dir("request-id");
    let port = support::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = support::server_command(&database.url, &dir, port, &[("RUST_LOG", "info")])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start");
    support::wait_healthy(&base).await;
    let sign_in = |id: &'static str| {
        let url = format!("{base}/_fn/sign_in");
        async move {
            client()
                .post(url)
                .header("x-request-id", id)
                .form(&[("email", "nobody@example.com"), ("password", "wrong wrong wrong")])
                .send()
                .await
                .expect("sign in")
                .status()
        }
    };
    // Five failures, then the throttle refuses the sixth and says so in the log.
    for _ in 0..5 {
        assert_eq!(sign_in("guess").await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(sign_in("follow-me-42").await, StatusCode::TOO_MANY_REQUESTS);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    support::terminate(&server);
    support::wait_exit(&mut server, std::time::Duration::from_secs(10)).await.expect("exited");
    let mut out = String::new();
    std::io::Read::read_to_string(&mut server.stdout.take().expect("stdout"), &mut out).expect("read");
    let _ = std::fs::remove_dir_all(&dir);
    let line = out.lines().find(|l| l.contains("sign-in refused by the throttle")).expect("the throttle's line");
    assert!(line.contains("follow-me-42"), "{line}");
}

/// `/metrics` is not served without MOSAIC_METRICS_TOKEN, and only to the token's bearer with it;
/// it counts requests by route and status and reads the pool and the live replies.
async fn metrics_are_served_only_with_the_token(engine: Engine) {
    let off = start(engine, &[]).await;
    assert_eq!(client().get(off.url("/metrics")).send().await.expect("metrics").status(), StatusCode::NOT_FOUND);
    let token = "scrape-me-please-0123";
    let s = start(engine, &[("MOSAIC_METRICS_TOKEN", token)]).await;
    let scrape = |auth: Option<&str>| {
        let mut req = client().get(s.url("/metrics"));
        if let Some(auth) = auth {
            req = req.header("authorization", auth);
        }
        async move { req.send().await.expect("metrics") }
    };
    assert_eq!(scrape(None).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(scrape(Some("Bearer scrape-me-please-0124")).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(scrape(Some(token)).await.status(), StatusCode::UNAUTHORIZED, "the scheme is required");
    client().get(s.url("/healthz")).send().await.expect("health");
    let c = s.user("metrics@example.com").await;
    let (st, conv) = s.json(&c, reqwest::Method::POST, "/api/conversations", Some(json!({"title": "m"}))).await;
    assert_eq!(st, StatusCode::CREATED);
    client().get(s.url(&format!("/api/conversations/{}", conv["id"].as_str().expect("id")))).send().await.expect("401");
    let res = scrape(Some(&format!("Bearer {token}"))).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body = res.text().await.expect("body");
    for expected in [
        r#"mosaic_http_requests_total{route="/healthz",method="GET",status="200"}"#,
        r#"mosaic_http_requests_total{route="/api/conversations",method="POST",status="201"}"#,
        r#"route="/api/conversations/{id}",method="GET",status="401""#,
        r#"mosaic_http_request_duration_seconds_bucket{route="/healthz",method="GET",le="0.005"}"#,
        r#"mosaic_db_pool_connections{state="in_use"}"#,
        r#"mosaic_db_pool_connections{state="idle"}"#,
        "mosaic_live_replies 0",
        "mosaic_bus_signals_sent_total",
    ] {
        assert!(body.contains(expected), "{expected} is missing from:\n{body}");
    }
}
