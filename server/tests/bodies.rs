//! Property-based: whatever body arrives (random bytes, random JSON built from the field names the
//! API knows, random forms, under any of the content types), every endpoint that reads one answers
//! without a panic and without a 5xx, and every refusal is a 4xx that says what was wrong (a JSON
//! `error`, or for a form the flash message its redirect carries). Run for a fixed number of cases
//! per endpoint, against a real server on both engines.

mod support;

use mosaic_test_support::Engine;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use reqwest::Method;
use serde_json::{json, Value};

mosaic_test_support::both_engines!(any_body_gets_an_answer_and_no_5xx);

/// Field names the endpoints read, so random JSON and forms reach past the first check.
const FIELDS: [&str; 16] = [
    "title",
    "archived",
    "content",
    "message",
    "model",
    "name",
    "scope",
    "expiresAt",
    "reason",
    "value",
    "enforced",
    "current",
    "new",
    "level",
    "category",
    "metadata",
];

const CONTENT_TYPES: [Option<&str>; 6] = [
    Some("application/json"),
    Some("application/x-www-form-urlencoded"),
    Some("text/plain"),
    Some("multipart/form-data; boundary=x"),
    Some("application/json; charset=utf-16"),
    None,
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
        Just(Value::String("x".repeat(70_000))),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(FIELDS.to_vec()), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
        ]
    })
}

fn form() -> impl Strategy<Value = Vec<u8>> {
    let key = prop_oneof![prop::sample::select(FIELDS.to_vec()).prop_map(str::to_string), "[a-z%=&]{0,8}"];
    prop::collection::vec((key, ".{0,30}"), 0..6).prop_map(|pairs| {
        let mut body = String::new();
        for (i, (k, v)) in pairs.iter().enumerate() {
            if i > 0 {
                body.push('&');
            }
            // Sometimes raw (stray '%' and '&'), sometimes encoded.
            if v.len() % 2 == 0 {
                body.push_str(&format!("{k}={v}"));
            } else {
                body.push_str(&format!("{k}={}", urlencode(v)));
            }
        }
        body.into_bytes()
    })
}

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

fn body() -> impl Strategy<Value = (Vec<u8>, Option<&'static str>)> {
    let bytes = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200),
        json_value().prop_map(|v| v.to_string().into_bytes()),
        form(),
    ];
    (bytes, prop::sample::select(CONTENT_TYPES.to_vec()))
}

async fn any_body_gets_an_answer_and_no_5xx(engine: Engine) {
    let s = support::start(engine, &[("MOSAIC_DEMO_PROVIDER", "true")]).await;
    // The first account is the admin, so the admin endpoints read their bodies too.
    let (c, cookie) = s.user_with_cookie("fuzz@example.com").await;
    // A fresh connection per request: a server may close a connection whose body it refused
    // unread, and a pooled client would then fail its next request on it (a browser retries).
    let fresh = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let (_, conv) = s.json(&c, Method::POST, "/api/conversations", Some(json!({"title": "fuzzed"}))).await;
    let conversation = conv["id"].as_str().expect("id").to_string();
    let (user, _) = s.store.find_credentials("fuzz@example.com").await.expect("lookup").expect("user");
    let other = s.user("member@example.com").await;
    drop(other);
    let (member, _) = s.store.find_credentials("member@example.com").await.expect("lookup").expect("member");
    let targets: Vec<(Method, String)> = vec![
        (Method::POST, "/api/conversations".into()),
        (Method::PATCH, format!("/api/conversations/{conversation}")),
        (Method::POST, format!("/api/conversations/{conversation}/messages")),
        (Method::PUT, "/api/preferences/theme".into()),
        (Method::POST, "/api/logs".into()),
        (Method::POST, "/api/tokens".into()),
        (Method::POST, "/api/me/password".into()),
        (Method::POST, "/api/chat".into()),
        (Method::POST, "/api/admin/preferences".into()),
        (Method::POST, format!("/api/admin/users/{}/ban", member.id)),
        (Method::PATCH, format!("/api/admin/users/{}/role", member.id)),
        (Method::POST, "/api/me/avatar".into()),
    ];
    // Found by this test: PostgreSQL refuses U+0000 in text and jsonb, and that reached users as
    // a 500. It is bad input, on either engine's path a 400 that says so, or (SQLite) stored.
    let nul_cases = [
        (Method::PUT, "/api/preferences/theme".to_string(), json!({"title": ["\u{0}"]})),
        (Method::PATCH, format!("/api/conversations/{conversation}"), json!({"title": "a\u{0}b"})),
        (Method::POST, format!("/api/conversations/{conversation}/messages"), json!({"content": "nul \u{0} here"})),
        (
            Method::POST,
            "/api/logs".to_string(),
            json!({"sessionId": "s", "content": "x\u{0}", "level": "info", "category": "c"}),
        ),
    ];
    for (method, path, body) in nul_cases {
        let (st, answer) = s.json(&c, method.clone(), &path, Some(body)).await;
        match engine {
            Engine::Postgres => {
                assert_eq!(st, reqwest::StatusCode::BAD_REQUEST, "{method} {path}: {answer}");
                assert!(!answer["error"].as_str().unwrap_or("").is_empty(), "{answer}");
            }
            Engine::Sqlite => assert!(st.is_success() || st.is_client_error(), "{method} {path}: {st} {answer}"),
        }
    }
    let handle = tokio::runtime::Handle::current();
    let mut failures = Vec::new();
    for (method, path) in &targets {
        let mut runner = TestRunner::new(Config { cases: 40, failure_persistence: None, ..Config::default() });
        let result = tokio::task::block_in_place(|| {
            runner.run(&body(), |(bytes, content_type)| {
                handle.block_on(async {
                    let mut req =
                        fresh.request(method.clone(), s.url(path)).header("cookie", &cookie).body(bytes.clone());
                    if let Some(t) = content_type {
                        req = req.header("content-type", t);
                    }
                    let res = req.send().await.map_err(|e| {
                        let cause = std::error::Error::source(&e).map(|c| format!(" ({c:?})")).unwrap_or_default();
                        TestCaseError::fail(format!("no answer: {e}{cause}"))
                    })?;
                    let status = res.status();
                    let text = res.text().await.unwrap_or_default();
                    prop_assert!(!status.is_server_error(), "{status}: {text}");
                    if status.is_client_error() {
                        let said = serde_json::from_str::<Value>(&text)
                            .ok()
                            .and_then(|v| v["error"].as_str().map(str::to_string))
                            .unwrap_or_default();
                        prop_assert!(!said.trim().is_empty(), "a {status} without a message: {text:?}");
                    }
                    Ok(())
                })
            })
        });
        if let Err(e) = result {
            failures.push(format!("{method} {path}: {e}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    // Nothing the fuzzing sent could take the account away from its owner.
    let (st, _) = s.json(&c, Method::GET, "/api/conversations", None).await;
    assert!(st.is_success(), "still signed in: {st}");
    assert!(s.store.find_credentials("fuzz@example.com").await.expect("lookup").is_some_and(|(u, _)| u.id == user.id));
}
