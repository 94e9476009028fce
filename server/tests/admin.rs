//! The admin area, API tokens, bootstrap and the account's own credentials over HTTP and the
//! WebSocket, on SQLite and PostgreSQL: who reaches what, what each action changes and records, and
//! the attacks named in the issue (a member probing the admin area, a forged bearer header riding a
//! cookie, a revoked token, a banned user's open socket).

mod support;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use mosaic_test_support::Engine;
use reqwest::header::{AUTHORIZATION, LOCATION, ORIGIN, SET_COOKIE};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use support::{client, start, TestServer};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

mosaic_test_support::both_engines!(
    members_find_no_admin_area,
    admins_manage_users_and_every_action_is_audited,
    a_ban_or_a_deletion_closes_open_sockets_at_once,
    tokens_authenticate_the_api_and_the_socket_with_their_scope,
    a_forged_bearer_header_does_not_ride_the_cookie,
    bootstrap_sets_up_an_empty_instance_once,
    enforced_preferences_are_locked_for_users,
    a_password_change_asks_for_the_current_one_and_ends_other_sessions,
    plain_forms_come_back_to_their_page,
    admins_see_job_runs_and_start_one,
    a_socket_closes_when_its_session_expires,
    sockets_per_user_are_capped,
    oversized_frames_and_floods_close_the_socket,
);

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A client that sends `Authorization: Bearer <secret>` and no cookie.
fn bearer(secret: &str) -> Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(AUTHORIZATION, format!("Bearer {secret}").parse().expect("header"));
    Client::builder().default_headers(headers).redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

async fn socket(s: &TestServer, header: (&str, &str)) -> Socket {
    let mut req = format!("{}/ws", s.base.replace("http://", "ws://")).into_client_request().expect("request");
    let name = reqwest::header::HeaderName::from_bytes(header.0.as_bytes()).expect("name");
    req.headers_mut().insert(name, header.1.parse().expect("header"));
    tokio_tungstenite::connect_async(req).await.expect("websocket").0
}

/// Reads the socket until it closes (within `within`), returning the text events seen on the way.
async fn until_closed(ws: &mut Socket, within: Duration) -> Vec<Value> {
    until_closed_with_code(ws, within).await.0
}

/// [`until_closed`], and the close frame's code if one came.
async fn until_closed_with_code(ws: &mut Socket, within: Duration) -> (Vec<Value>, Option<u16>) {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => panic!("the socket stayed open; saw {seen:?}"),
            Ok(Some(Ok(Message::Close(frame)))) => return (seen, frame.map(|f| u16::from(f.code))),
            Ok(None | Some(Err(_))) => return (seen, None),
            Ok(Some(Ok(Message::Text(t)))) => seen.push(serde_json::from_str(t.as_str()).expect("json")),
            Ok(Some(Ok(_))) => {}
        }
    }
}

async fn user_id(s: &TestServer, email: &str) -> String {
    s.store.find_credentials(email).await.expect("lookup").expect("exists").0.id.to_string()
}

async fn new_token(s: &TestServer, c: &Client, scope: &str) -> (String, String) {
    let (st, body) =
        s.json(c, Method::POST, "/api/tokens", Some(json!({"name": format!("{scope} token"), "scope": scope}))).await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    (body["secret"].as_str().expect("secret").to_string(), body["token"]["id"].as_str().expect("id").to_string())
}

async fn members_find_no_admin_area(engine: Engine) {
    let s = start(engine, &[]).await;
    let admin = s.user("root@example.com").await;
    let member = s.user("member@example.com").await;
    let root_id = user_id(&s, "root@example.com").await;
    for (method, path, body) in [
        (Method::GET, "/api/admin/users".to_string(), None),
        (Method::GET, "/api/admin/audit".to_string(), None),
        (Method::GET, "/api/admin/jobs".to_string(), None),
        (Method::POST, format!("/api/admin/users/{root_id}/ban"), Some(json!({}))),
        (Method::PATCH, format!("/api/admin/users/{root_id}/role"), Some(json!({"role": "member"}))),
        (Method::PUT, "/api/admin/preferences/theme".to_string(), Some(json!({"value": "dark", "enforced": true}))),
        (Method::POST, "/api/admin/jobs/session-sweep/run".to_string(), None),
    ] {
        let (st, _) = s.json(&member, method.clone(), &path, body).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{method} {path} for a member");
    }
    for page in ["/admin", "/admin/preferences", "/admin/jobs", "/admin/audit"] {
        let res = member.get(s.url(page)).send().await.expect("page");
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{page} for a member");
        let html = res.text().await.expect("html");
        assert!(!html.contains("root@example.com"), "{page} shows nothing of the admin area");
        assert_eq!(admin.get(s.url(page)).send().await.expect("page").status(), StatusCode::OK, "{page} for an admin");
    }
    // A write-scoped token of an admin is not an admin credential either.
    let (secret, _) = new_token(&s, &admin, "write").await;
    let res = bearer(&secret).get(s.url("/api/admin/users")).send().await.expect("get");
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(!s.store.get_user(root_id.parse().expect("id")).await.expect("root").banned);
}

async fn admins_manage_users_and_every_action_is_audited(engine: Engine) {
    let s = start(engine, &[]).await;
    let admin = s.user("root@example.com").await;
    for i in 0..3 {
        s.user(&format!("user{i}@example.com")).await;
    }
    let (st, page) = s.json(&admin, Method::GET, "/api/admin/users?limit=2", None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(page["items"][0]["email"], "user2@example.com", "newest first");
    assert_eq!(page["items"][0]["sessionCount"], 1);
    let next = page["next"].as_str().expect("a next page");
    let (_, rest) = s.json(&admin, Method::GET, &format!("/api/admin/users?limit=2&cursor={next}"), None).await;
    assert_eq!(rest["items"].as_array().map(Vec::len), Some(2));
    let (_, found) = s.json(&admin, Method::GET, "/api/admin/users?search=USER1", None).await;
    assert_eq!(found["items"].as_array().map(Vec::len), Some(1));
    let target = user_id(&s, "user1@example.com").await;
    let root = user_id(&s, "root@example.com").await;
    // Role, ban with a reason, unban; the last admin stays.
    let (st, body) =
        s.json(&admin, Method::PATCH, &format!("/api/admin/users/{target}/role"), Some(json!({"role": "admin"}))).await;
    assert_eq!((st, body["role"].as_str()), (StatusCode::OK, Some("admin")));
    let (st, _) = s
        .json(&admin, Method::PATCH, &format!("/api/admin/users/{target}/role"), Some(json!({"role": "member"})))
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, body) =
        s.json(&admin, Method::PATCH, &format!("/api/admin/users/{root}/role"), Some(json!({"role": "member"}))).await;
    assert_eq!(st, StatusCode::CONFLICT, "{body}");
    assert!(body["error"].as_str().is_some_and(|e| e.contains("last admin")), "{body}");
    let (st, _) =
        s.json(&admin, Method::POST, &format!("/api/admin/users/{target}/ban"), Some(json!({"reason": "spam"}))).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (_, found) = s.json(&admin, Method::GET, "/api/admin/users?search=user1", None).await;
    assert_eq!(
        (found["items"][0]["banned"].as_bool(), found["items"][0]["banReason"].as_str()),
        (Some(true), Some("spam"))
    );
    let (st, _) = s.json(&admin, Method::POST, &format!("/api/admin/users/{target}/unban"), None).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    // Deletion wants the email typed again; a wrong one changes nothing.
    let (st, body) = s
        .json(
            &admin,
            Method::DELETE,
            &format!("/api/admin/users/{target}"),
            Some(json!({"confirmEmail": "user2@example.com"})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
    assert!(s.store.find_credentials("user1@example.com").await.expect("lookup").is_some());
    let (st, _) = s
        .json(
            &admin,
            Method::DELETE,
            &format!("/api/admin/users/{target}"),
            Some(json!({"confirmEmail": "USER1@example.com"})),
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert!(s.store.find_credentials("user1@example.com").await.expect("lookup").is_none());
    let (st, _) = s.json(&admin, Method::POST, &format!("/api/admin/users/{target}/ban"), Some(json!({}))).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // The trail, newest first: who, what, whom.
    let (st, audit) = s.json(&admin, Method::GET, "/api/admin/audit?limit=10", None).await;
    assert_eq!(st, StatusCode::OK);
    let actions: Vec<&str> =
        audit["items"].as_array().expect("items").iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(actions, ["user.delete", "user.unban", "user.ban", "user.role", "user.role"]);
    assert_eq!(audit["items"][0]["actorEmail"], "root@example.com");
    assert_eq!(audit["items"][0]["targetLabel"], "user1@example.com");
}

async fn a_ban_or_a_deletion_closes_open_sockets_at_once(engine: Engine) {
    let s = start(engine, &[]).await;
    let admin = s.user("root@example.com").await;
    let (banned_client, banned_cookie) = s.user_with_cookie("banned@example.com").await;
    let (_, deleted_cookie) = s.user_with_cookie("deleted@example.com").await;
    let (_, bystander_cookie) = s.user_with_cookie("bystander@example.com").await;
    let mut banned = socket(&s, ("cookie", &banned_cookie)).await;
    let mut deleted = socket(&s, ("cookie", &deleted_cookie)).await;
    let mut bystander = socket(&s, ("cookie", &bystander_cookie)).await;
    let id = user_id(&s, "banned@example.com").await;
    let (st, _) =
        s.json(&admin, Method::POST, &format!("/api/admin/users/{id}/ban"), Some(json!({"reason": "abuse"}))).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    // Closed without sending anything: not only refused at its next event.
    let (said, code) = until_closed_with_code(&mut banned, Duration::from_secs(3)).await;
    assert!(said.iter().any(|e| e["message"].as_str().is_some_and(|m| m.contains("session has ended"))), "{said:?}");
    assert_eq!(code, Some(mosaic_chat::events::CLOSE_SIGNED_OUT), "a close code the page shows as signed out");
    let (st, _) = s.json(&banned_client, Method::GET, "/api/conversations", None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let id = user_id(&s, "deleted@example.com").await;
    let (st, _) = s
        .json(
            &admin,
            Method::DELETE,
            &format!("/api/admin/users/{id}"),
            Some(json!({"confirmEmail": "deleted@example.com"})),
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    until_closed(&mut deleted, Duration::from_secs(3)).await;
    // Someone else's socket stays open and working.
    bystander
        .send(Message::text(json!({"type": "subscribe", "conversationId": uuid::Uuid::now_v7()}).to_string()))
        .await
        .expect("send");
    let frame = tokio::time::timeout(Duration::from_secs(3), bystander.next()).await.expect("an answer");
    assert!(matches!(frame, Some(Ok(Message::Text(_)))), "{frame:?}");
}

async fn tokens_authenticate_the_api_and_the_socket_with_their_scope(engine: Engine) {
    let s = start(engine, &[]).await;
    s.user("root@example.com").await;
    let c = s.user("owner@example.com").await;
    let (read, read_id) = new_token(&s, &c, "read").await;
    let (write, write_id) = new_token(&s, &c, "write").await;
    let (st, _) = s.json(&c, Method::POST, "/api/tokens", Some(json!({"name": "x", "scope": "admin"}))).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "only admins hold admin-scoped tokens");
    let (st, listed) = s.json(&c, Method::GET, "/api/tokens", None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(listed.as_array().map(Vec::len), Some(2));
    assert!(!listed.to_string().contains(&read), "the secret is shown once, never listed");
    // Reads with either; writes only with the write token, and as the owner.
    let res = bearer(&read).get(s.url("/api/conversations")).send().await.expect("get");
    assert_eq!(res.status(), StatusCode::OK);
    let res = bearer(&read).post(s.url("/api/conversations")).json(&json!({"title": "no"})).send().await.expect("post");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // A bearer request is not a browser's: the origin check does not apply to it.
    let res = bearer(&write)
        .post(s.url("/api/conversations"))
        .header(ORIGIN, "https://elsewhere.example")
        .json(&json!({"title": "by token"}))
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::CREATED);
    let (_, mine) = s.json(&c, Method::GET, "/api/conversations", None).await;
    assert_eq!(mine["items"][0]["title"], "by token");
    // POST /api/chat takes them too, with the scope enforced.
    let chat = json!({"message": "hi"});
    let res = bearer(&read).post(s.url("/api/chat")).json(&chat).send().await.expect("chat");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = bearer(&write).post(s.url("/api/chat")).json(&chat).send().await.expect("chat");
    assert!(![StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN].contains(&res.status()), "{}", res.status());
    // Tokens are for the API and the socket, not the pages.
    let res = bearer(&write).get(s.url("/settings")).send().await.expect("page");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // The socket: a read token follows but cannot send; a write token sends.
    let mut ws = socket(&s, ("authorization", &format!("Bearer {read}"))).await;
    ws.send(Message::text(json!({"type": "send", "content": "hello"}).to_string())).await.expect("send");
    let frame =
        tokio::time::timeout(Duration::from_secs(3), ws.next()).await.expect("answer").expect("open").expect("frame");
    let event: Value = serde_json::from_str(frame.to_text().expect("text")).expect("json");
    assert!(event["message"].as_str().is_some_and(|m| m.contains("can only read")), "{event}");
    // Revoking a token refuses it at once and closes its socket.
    let res = c.delete(s.url(&format!("/api/tokens/{read_id}"))).send().await.expect("revoke");
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    until_closed(&mut ws, Duration::from_secs(3)).await;
    let res = bearer(&read).get(s.url("/api/conversations")).send().await.expect("get");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.text().await.expect("body").contains("revoked"));
    // A token cannot manage credentials: no minting tokens that outlive it, no ending sessions.
    for (path, body) in [
        ("/api/tokens", json!({"name": "child", "scope": "write"})),
        ("/api/sessions/revoke-others", json!({})),
        ("/api/me/password", json!({"currentPassword": "correct horse battery", "newPassword": "another long one"})),
    ] {
        let res = bearer(&write).post(s.url(path)).json(&body).send().await.expect("post");
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path} with a token");
    }
    assert_eq!(s.json(&c, Method::GET, "/api/conversations", None).await.0, StatusCode::OK, "the browser stays");
    // An expired token is refused at once too.
    let owner = s.store.get_user(user_id(&s, "owner@example.com").await.parse().expect("id")).await.expect("user");
    let soon = mosaic_db::clock::now_micros() + mosaic_db::clock::SECOND;
    s.store
        .create_api_token(
            &owner,
            "brief",
            mosaic_db::model::TokenScope::Read,
            Some(soon),
            &mosaic_db::token::hash("mosaic_brief"),
        )
        .await
        .expect("token");
    let mut brief = socket(&s, ("authorization", "Bearer mosaic_brief")).await;
    until_closed(&mut brief, Duration::from_secs(3)).await;
    let res = bearer("mosaic_brief").get(s.url("/api/conversations")).send().await.expect("get");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = bearer("not-a-token").get(s.url("/api/conversations")).send().await.expect("get");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let _ = write_id;
}

/// A cross-site request cannot carry a custom Authorization header without CORS, but if one did:
/// a made-up bearer token with the victim's cookie is judged by the token alone and changes nothing.
async fn a_forged_bearer_header_does_not_ride_the_cookie(engine: Engine) {
    let s = start(engine, &[]).await;
    let (_, cookie) = s.user_with_cookie("victim@example.com").await;
    let res = client()
        .post(s.url("/api/conversations"))
        .header("cookie", &cookie)
        .header(ORIGIN, "https://evil.example")
        .header(AUTHORIZATION, "Bearer forged")
        .json(&json!({"title": "planted"}))
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = client()
        .post(s.url("/api/conversations"))
        .header("cookie", &cookie)
        .header(ORIGIN, "https://evil.example")
        .json(&json!({"title": "planted"}))
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "without the header the origin check refuses it");
    let victim = s.store.find_credentials("victim@example.com").await.expect("lookup").expect("exists").0;
    let list = s.store.list_conversations(victim.id, false, None, 10).await.expect("list");
    assert!(list.items.is_empty(), "nothing was planted");
}

async fn bootstrap_sets_up_an_empty_instance_once(engine: Engine) {
    let s = start(engine, &[]).await;
    let script = client();
    let (st, status) = s.json(&script, Method::GET, "/api/bootstrap/status", None).await;
    assert_eq!((st, status), (StatusCode::OK, json!({"needsSetup": true})));
    let (st, body) = s
        .json(
            &script,
            Method::POST,
            "/api/bootstrap/setup",
            Some(json!({"email": "ops@example.com", "name": "Ops", "password": "short"})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(s.store.count_users().await.expect("count"), 0, "a refused setup creates nothing");
    let setup = json!({"email": "ops@example.com", "name": "Ops", "password": "correct horse battery"});
    let (st, body) = s.json(&script, Method::POST, "/api/bootstrap/setup", Some(setup.clone())).await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    assert_eq!((body["user"]["role"].as_str(), body["token"]["scope"].as_str()), (Some("admin"), Some("admin")));
    let secret = body["secret"].as_str().expect("secret");
    let res = bearer(secret).get(s.url("/api/admin/users")).send().await.expect("admin api");
    assert_eq!(res.status(), StatusCode::OK, "the admin token opens the admin API");
    let (st, _) = s.json(&script, Method::POST, "/api/bootstrap/setup", Some(setup)).await;
    assert_eq!(st, StatusCode::CONFLICT);
    let (_, status) = s.json(&script, Method::GET, "/api/bootstrap/status", None).await;
    assert_eq!(status, json!({"needsSetup": false}));
    // The password works in the browser too.
    let res = client()
        .post(s.url("/_fn/sign_in"))
        .form(&[("email", "ops@example.com"), ("password", "correct horse battery")])
        .send()
        .await
        .expect("sign in");
    assert!(res.headers().get_all(SET_COOKIE).iter().count() > 0);
}

async fn enforced_preferences_are_locked_for_users(engine: Engine) {
    let s = start(engine, &[]).await;
    let admin = s.user("root@example.com").await;
    let member = s.user("member@example.com").await;
    let (st, _) = s.json(&member, Method::PUT, "/api/preferences/theme", Some(json!("light"))).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _) = s
        .json(&admin, Method::PUT, "/api/admin/preferences/theme", Some(json!({"value": "dark", "enforced": true})))
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, body) = s.json(&member, Method::PUT, "/api/preferences/theme", Some(json!("sepia"))).await;
    assert_eq!(st, StatusCode::CONFLICT);
    assert!(body["error"].as_str().is_some_and(|e| e.contains("\"theme\"")), "the error names the key: {body}");
    let (st, _) = s.json(&member, Method::DELETE, "/api/preferences/theme", None).await;
    assert_eq!(st, StatusCode::CONFLICT);
    let (_, prefs) = s.json(&member, Method::GET, "/api/preferences", None).await;
    let theme = prefs.as_array().expect("list").iter().find(|p| p["key"] == "theme").cloned().expect("theme");
    assert_eq!((theme["value"].as_str(), theme["mutable"].as_bool()), (Some("dark"), Some(false)));
    let settings = member.get(s.url("/settings")).send().await.expect("page").text().await.expect("html");
    assert!(settings.contains("set by your administrator"), "the settings page shows the key locked");
    let (st, _) = s.json(&admin, Method::DELETE, "/api/admin/preferences/theme", None).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (_, prefs) = s.json(&member, Method::GET, "/api/preferences", None).await;
    let theme = prefs.as_array().expect("list").iter().find(|p| p["key"] == "theme").cloned().expect("theme");
    assert_eq!(theme["value"], "light", "the user's own value was kept underneath");
}

async fn a_password_change_asks_for_the_current_one_and_ends_other_sessions(engine: Engine) {
    let s = start(engine, &[]).await;
    let here = s.user("pw@example.com").await;
    let there = client();
    let res = there
        .post(s.url("/_fn/sign_in"))
        .form(&[("email", "pw@example.com"), ("password", "correct horse battery")])
        .send()
        .await
        .expect("sign in");
    assert!(res.status().is_success() || res.status().is_redirection());
    let (st, body) = s
        .json(
            &here,
            Method::POST,
            "/api/me/password",
            Some(json!({"currentPassword": "wrong", "newPassword": "a new long password"})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
    let (st, _) = s
        .json(
            &here,
            Method::POST,
            "/api/me/password",
            Some(json!({"currentPassword": "correct horse battery", "newPassword": "a new long password"})),
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert_eq!(s.json(&here, Method::GET, "/api/conversations", None).await.0, StatusCode::OK, "this session stays");
    assert_eq!(s.json(&there, Method::GET, "/api/conversations", None).await.0, StatusCode::UNAUTHORIZED);
    let res = client()
        .post(s.url("/_fn/sign_in"))
        .form(&[("email", "pw@example.com"), ("password", "a new long password")])
        .send()
        .await
        .expect("sign in");
    assert!(res.headers().get_all(SET_COOKIE).iter().count() > 0, "the new password signs in");
}

async fn plain_forms_come_back_to_their_page(engine: Engine) {
    let s = start(engine, &[]).await;
    let admin = s.user("root@example.com").await;
    s.user("member@example.com").await;
    let other = client();
    other
        .post(s.url("/_fn/sign_in"))
        .form(&[("email", "root@example.com"), ("password", "correct horse battery")])
        .send()
        .await
        .expect("sign in");
    let member = user_id(&s, "member@example.com").await;
    let root = user_id(&s, "root@example.com").await;
    let res = admin
        .post(s.url(&format!("/api/admin/users/{member}/ban")))
        .form(&[("reason", "spam")])
        .send()
        .await
        .expect("ban");
    assert_eq!((res.status(), res.headers()[LOCATION].to_str().ok()), (StatusCode::SEE_OTHER, Some("/admin")));
    let res = admin
        .post(s.url(&format!("/api/admin/users/{root}/role")))
        .form(&[("role", "member")])
        .send()
        .await
        .expect("role");
    assert_eq!(res.headers()[LOCATION], "/admin");
    let message = support::flash(&res).expect("a message");
    assert!(message.contains("last admin"), "{message}");
    let res = admin
        .post(s.url("/api/admin/preferences/theme/set"))
        .form(&[("value", "not json"), ("enforced", "on")])
        .send()
        .await
        .expect("pref");
    assert_eq!(res.headers()[LOCATION], "/admin/preferences");
    assert!(support::flash(&res).is_some(), "the form says what was wrong");
    let res = admin
        .post(s.url("/api/admin/preferences/theme/set"))
        .form(&[("value", "\"dark\""), ("enforced", "on")])
        .send()
        .await
        .expect("pref");
    assert_eq!(res.headers()[LOCATION].to_str().ok(), Some("/admin/preferences"));
    // A token made by a form: its secret reaches the settings page once, in a cookie, not the URL.
    let res = admin
        .post(s.url("/api/tokens"))
        .form(&[("name", "ci"), ("scope", "read"), ("expiresInDays", "")])
        .send()
        .await
        .expect("token");
    assert_eq!(res.headers()[LOCATION].to_str().ok(), Some("/settings"));
    let page = admin.get(s.url("/settings")).send().await.expect("page").text().await.expect("html");
    assert!(page.contains("mosaic_"), "the new secret is shown");
    let page = admin.get(s.url("/settings")).send().await.expect("page").text().await.expect("html");
    assert!(!page.contains("Copy it now"), "and only once");
    // Sign out everywhere else.
    let res =
        admin.post(s.url("/api/sessions/revoke-others")).form::<[(&str, &str); 0]>(&[]).send().await.expect("others");
    assert_eq!(res.headers()[LOCATION].to_str().ok(), Some("/settings"));
    assert_eq!(s.json(&other, Method::GET, "/api/conversations", None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(s.json(&admin, Method::GET, "/api/conversations", None).await.0, StatusCode::OK);
}

async fn admins_see_job_runs_and_start_one(engine: Engine) {
    let s = start(engine, &[]).await;
    let admin = s.user("root@example.com").await;
    let (st, body) = s.json(&admin, Method::POST, "/api/admin/jobs/session-sweep/run", None).await;
    assert_eq!(st, StatusCode::ACCEPTED, "{body}");
    let (st, _) = s.json(&admin, Method::POST, "/api/admin/jobs/no-such-job/run", None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let mut runs = Value::Null;
    for _ in 0..100 {
        let (_, jobs) = s.json(&admin, Method::GET, "/api/admin/jobs", None).await;
        runs = jobs.as_array().expect("jobs").iter().find(|j| j["job"] == "session-sweep").cloned().expect("sweep");
        if runs["runs"][0]["status"] == "succeeded" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(runs["runs"][0]["status"], "succeeded", "{runs}");
    assert!(runs["runs"][0]["detail"]["durationMs"].is_u64());
    let (_, audit) = s.json(&admin, Method::GET, "/api/admin/audit", None).await;
    assert_eq!(audit["items"][0]["action"], "job.run");
    assert_eq!(audit["items"][0]["targetLabel"], "session-sweep");
    let page = admin.get(s.url("/admin/jobs")).send().await.expect("page").text().await.expect("html");
    assert!(page.contains("session-sweep") && page.contains("succeeded"), "the jobs page lists the run");
}

/// Sets a session's expiry (microseconds) directly, as time passing would.
async fn expire_sessions_of(s: &TestServer, email: &str, at: i64) {
    let id = s.store.find_credentials(email).await.expect("lookup").expect("exists").0.id;
    let sql = "UPDATE sessions SET expires_at = $1 WHERE user_id = $2";
    match &s.store {
        mosaic_db::Store::Sqlite(db) => sqlx::query(sql).bind(at).bind(id).execute(db.pool()).await.map(|_| ()),
        mosaic_db::Store::Postgres(db) => sqlx::query(sql).bind(at).bind(id).execute(db.pool()).await.map(|_| ()),
    }
    .expect("expire");
}

/// A socket open when its session reaches its expiry (idle or absolute) is closed then, pushed to
/// it, not discovered at its next event.
async fn a_socket_closes_when_its_session_expires(engine: Engine) {
    let s = start(engine, &[]).await;
    let (_, cookie) = s.user_with_cookie("expiring@example.com").await;
    let (_, other_cookie) = s.user_with_cookie("lasting@example.com").await;
    expire_sessions_of(&s, "expiring@example.com", mosaic_db::clock::now_micros() + 3_000_000).await;
    let mut ws = socket(&s, ("cookie", &cookie)).await;
    let mut lasting = socket(&s, ("cookie", &other_cookie)).await;
    let (said, code) = until_closed_with_code(&mut ws, Duration::from_secs(8)).await;
    assert!(said.iter().any(|e| e["message"].as_str().is_some_and(|m| m.contains("session has ended"))), "{said:?}");
    assert_eq!(code, Some(mosaic_chat::events::CLOSE_SIGNED_OUT));
    // Another user's socket is untouched.
    lasting
        .send(Message::text(r#"{"type":"subscribe","conversationId":"00000000-0000-0000-0000-000000000000"}"#))
        .await
        .expect("send");
    let reply = tokio::time::timeout(Duration::from_secs(2), lasting.next()).await.expect("an answer");
    assert!(matches!(reply, Some(Ok(Message::Text(_)))), "{reply:?}");
}

async fn sockets_per_user_are_capped(engine: Engine) {
    let s = start(engine, &[]).await;
    let (_, cookie) = s.user_with_cookie("tabs@example.com").await;
    let mut open = Vec::new();
    for _ in 0..server::gateway::ws::SOCKETS_PER_USER {
        open.push(socket(&s, ("cookie", &cookie)).await);
    }
    let mut req = format!("{}/ws", s.base.replace("http://", "ws://")).into_client_request().expect("request");
    req.headers_mut().insert("cookie", cookie.parse().expect("cookie"));
    match tokio_tungstenite::connect_async(req.clone()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
            assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS)
        }
        other => panic!("one socket too many must be refused: {:?}", other.map(|_| ())),
    }
    // Closing one frees its place.
    let mut first = open.remove(0);
    first.close(None).await.expect("close");
    drop(first);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(tokio_tungstenite::connect_async(req).await.is_ok(), "a place came free");
}

async fn oversized_frames_and_floods_close_the_socket(engine: Engine) {
    use tokio::io::AsyncWriteExt;
    let s = start(engine, &[]).await;
    let (_, cookie) = s.user_with_cookie("flood@example.com").await;
    // A frame announcing 8 MiB: refused from its header, before any of it is buffered.
    let mut ws = socket(&s, ("cookie", &cookie)).await;
    let mut header = vec![0x81u8, 0x80 | 127];
    header.extend_from_slice(&(8u64 << 20).to_be_bytes());
    header.extend_from_slice(&[1, 2, 3, 4]);
    header.extend_from_slice(&[b'x'; 1024]);
    match ws.get_mut() {
        tokio_tungstenite::MaybeTlsStream::Plain(tcp) => tcp.write_all(&header).await.expect("write"),
        _ => unreachable!("plain TCP in tests"),
    }
    until_closed(&mut ws, Duration::from_secs(3)).await;
    // A flood of events: refused past the rate (a burst of 30 goes through, the rest are told to
    // slow down), then, when it goes on, disconnected.
    let mut ws = socket(&s, ("cookie", &cookie)).await;
    let event = r#"{"type":"subscribe","conversationId":"00000000-0000-0000-0000-000000000000"}"#;
    for _ in 0..60 {
        ws.send(Message::text(event)).await.expect("send");
    }
    let mut told = false;
    for _ in 0..60 {
        let Ok(Some(Ok(Message::Text(t)))) = tokio::time::timeout(Duration::from_secs(5), ws.next()).await else {
            panic!("the socket answers every event while under the close threshold");
        };
        told |= t.as_str().contains("Slow down");
    }
    assert!(told, "told to slow down");
    for _ in 0..300 {
        if ws.send(Message::text(event)).await.is_err() {
            break;
        }
    }
    // Closed with 1008 (or reset, when the client was still sending as the server closed).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => panic!("a flooding socket stays open"),
            Ok(Some(Ok(Message::Close(frame)))) => {
                assert_eq!(frame.map(|f| u16::from(f.code)), Some(mosaic_chat::events::CLOSE_POLICY));
                break;
            }
            Ok(None | Some(Err(_))) => break,
            Ok(Some(Ok(_))) => {}
        }
    }
}
