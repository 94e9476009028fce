//! Search over HTTP: `GET /api/search`, the page around a result, the sidebar's search page with
//! and without JavaScript, and bad queries. Runs on SQLite, and on PostgreSQL when
//! `MOSAIC_TEST_POSTGRES_URL` names a server.

mod support;

use mosaic_test_support::Engine;
use reqwest::{Method, StatusCode};
use serde_json::json;
use support::start;

mosaic_test_support::both_engines!(the_api_finds_only_the_users_own_messages, bad_queries_are_4xx_never_5xx,);

async fn the_api_finds_only_the_users_own_messages(engine: Engine) {
    let s = start(engine, &[]).await;
    let alice = s.user("alice@example.com").await;
    let mallory = s.user("mallory@example.com").await;
    let (_, conv) = s.json(&alice, Method::POST, "/api/conversations", Some(json!({"title": "Zoo notes"}))).await;
    let id = conv["id"].as_str().expect("id").to_string();
    for content in ["first", "the Zèbra <script>alert(1)</script> stripes", "last"] {
        let (st, _) = s
            .json(&alice, Method::POST, &format!("/api/conversations/{id}/messages"), Some(json!({ "content": content })))
            .await;
        assert_eq!(st, StatusCode::CREATED);
    }
    let (st, found) = s.json(&alice, Method::GET, "/api/search?q=zebr", None).await;
    assert_eq!(st, StatusCode::OK, "{found}");
    assert_eq!(found["items"].as_array().map(Vec::len), Some(1), "{found}");
    let hit = &found["items"][0];
    assert_eq!(hit["conversation"]["id"], id.as_str());
    assert_eq!(hit["conversation"]["archived"], false);
    let snippet = hit["message"]["snippet"].as_array().expect("snippet");
    assert!(snippet.contains(&json!({"text": "Zèbra", "hit": true})), "{snippet:?}");
    assert!(snippet.iter().any(|f| f["text"].as_str().is_some_and(|t| t.contains("<script>"))), "text, unescaped, as data");
    // The result opens on the page around its message.
    let message = hit["message"]["id"].as_str().expect("message id");
    let (st, page) =
        s.json(&alice, Method::GET, &format!("/api/conversations/{id}/messages?around={message}&limit=1"), None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(page["items"][0]["id"], message);
    assert!(page["earlier"].is_string() && page["later"].is_string(), "{page}");
    // Mallory finds nothing of it, and cannot open it.
    for q in ["zebra", "zoo", "stripes", "script"] {
        let (st, found) = s.json(&mallory, Method::GET, &format!("/api/search?q={q}"), None).await;
        assert_eq!((st, &found["items"]), (StatusCode::OK, &json!([])), "{q}");
    }
    let (st, _) =
        s.json(&mallory, Method::GET, &format!("/api/conversations/{id}/messages?around={message}"), None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // Without a session: 401.
    let res = support::client().get(s.url("/api/search?q=zebra")).send().await.expect("request");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

async fn bad_queries_are_4xx_never_5xx(engine: Engine) {
    let s = start(engine, &[]).await;
    let c = s.user("bad@example.com").await;
    let long = "a".repeat(10_000);
    let cases = [
        ("/api/search", StatusCode::BAD_REQUEST),
        ("/api/search?q=", StatusCode::BAD_REQUEST),
        ("/api/search?q=%20%20", StatusCode::BAD_REQUEST),
        (&*format!("/api/search?q={long}"), StatusCode::BAD_REQUEST),
        ("/api/search?q=x&cursor=forged", StatusCode::BAD_REQUEST),
        ("/api/search?q=x&limit=0", StatusCode::BAD_REQUEST),
        ("/api/search?q=x&limit=abc", StatusCode::BAD_REQUEST),
        ("/api/search?q=NEAR(a%20b", StatusCode::OK),
        ("/api/search?q=%22", StatusCode::OK),
        ("/api/search?q=*%20OR%20-x", StatusCode::OK),
        ("/api/search?q=%27%3B%20DROP%20TABLE%20messages%3B--", StatusCode::OK),
        ("/api/search?q=%00", StatusCode::OK),
    ];
    for (path, want) in cases {
        let (st, body) = s.json(&c, Method::GET, path, None).await;
        let shown = &path[..path.len().min(60)];
        assert_eq!(st, want, "{shown}: {body}");
        if st != StatusCode::OK {
            let error = body["error"].as_str().unwrap_or_default();
            assert!(!error.is_empty(), "{shown}: {body}");
            assert!(!error.to_lowercase().contains("sql") && !error.contains("fts5"), "{shown}: {error}");
        }
    }
    let (_, body) = s.json(&c, Method::GET, &format!("/api/search?q={long}"), None).await;
    assert_eq!(body["error"], "A search can be at most 500 characters.");
}
