//! Search over HTTP: `GET /api/search`, the page around a result, the sidebar's search page with
//! and without JavaScript, and bad queries. Runs on SQLite, and on PostgreSQL when
//! `MOSAIC_TEST_POSTGRES_URL` names a server.

mod support;

use mosaic_test_support::Engine;
use reqwest::{Method, StatusCode};
use serde_json::json;
use support::start;

mosaic_test_support::both_engines!(
    the_api_finds_only_the_users_own_messages,
    bad_queries_are_4xx_never_5xx,
    the_search_page_works_without_javascript,
    enter_sends_is_a_setting_the_composer_carries,
);

async fn the_api_finds_only_the_users_own_messages(engine: Engine) {
    let s = start(engine, &[]).await;
    let alice = s.user("alice@example.com").await;
    let mallory = s.user("mallory@example.com").await;
    let (_, conv) = s.json(&alice, Method::POST, "/api/conversations", Some(json!({"title": "Zoo notes"}))).await;
    let id = conv["id"].as_str().expect("id").to_string();
    for content in ["first", "the Zèbra <script>alert(1)</script> stripes", "last"] {
        let (st, _) = s
            .json(
                &alice,
                Method::POST,
                &format!("/api/conversations/{id}/messages"),
                Some(json!({ "content": content })),
            )
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
    assert!(
        snippet.iter().any(|f| f["text"].as_str().is_some_and(|t| t.contains("<script>"))),
        "text, unescaped, as data"
    );
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

/// Posts `contents` to a new conversation titled `title`; returns its id.
async fn conversation(s: &support::TestServer, c: &reqwest::Client, title: &str, contents: &[&str]) -> String {
    let (_, conv) = s.json(c, Method::POST, "/api/conversations", Some(json!({ "title": title }))).await;
    let id = conv["id"].as_str().expect("id").to_string();
    for content in contents {
        let path = format!("/api/conversations/{id}/messages");
        let (st, _) = s.json(c, Method::POST, &path, Some(json!({ "content": content }))).await;
        assert_eq!(st, StatusCode::CREATED);
    }
    id
}

/// How many results a search page lists (the sidebar's conversation links aside).
fn results(html: &str) -> usize {
    let list = html.split("class=\"search-results\"").nth(1).expect("a result list");
    list[..list.find("</ol>").expect("list end")].matches("<li>").count()
}

async fn page(c: &reqwest::Client, url: String) -> String {
    let res = c.get(url).send().await.expect("page");
    assert_eq!(res.status(), StatusCode::OK);
    res.text().await.expect("html")
}

async fn the_search_page_works_without_javascript(engine: Engine) {
    let s = start(engine, &[]).await;
    let c = s.user("page@example.com").await;
    let id = conversation(&s, &c, "Garden", &["the <b>Tomatoes</b> ripened", "later words"]).await;
    for i in 0..25 {
        conversation(&s, &c, &format!("Walk {i}"), &["tomatoes again"]).await;
    }
    // The sidebar holds the search form: a GET to /search.
    let home = page(&c, s.url("/")).await;
    assert!(home.contains(r#"action="/search""#) && home.contains(r#"name="q""#), "no search form");
    let html = page(&c, s.url("/search?q=ripened%20tomat")).await;
    assert!(html.contains("<mark>Tomatoes</mark>"), "highlighted");
    assert!(html.contains("&lt;b&gt;"), "the user's markup is escaped");
    assert!(!html.contains("<b><mark>"));
    let (_, found) = s.json(&c, Method::GET, "/api/search?q=ripened", None).await;
    let message = found["items"][0]["message"]["id"].as_str().expect("message").to_string();
    let link = format!("/c/{id}?at={message}#m-{message}");
    let html = page(&c, s.url("/search?q=ripened")).await;
    assert!(html.contains(&link.replace('&', "&amp;")) || html.contains(&link), "result links to its message");
    // The link opens the conversation at that message, marked for the fragment.
    let opened = page(&c, s.url(&format!("/c/{id}?at={message}"))).await;
    assert!(opened.contains(&format!(r#"id="m-{message}""#)), "anchor on the message");
    // 26 results, 20 a page: a "More results" link carrying the cursor; its page has the rest.
    let first = page(&c, s.url("/search?q=tomatoes")).await;
    assert_eq!(results(&first), 20);
    let more = first.split("href=\"/search?q=tomatoes&amp;from=").nth(1).expect("more link");
    let cursor = &more[..more.find('"').expect("end")];
    let second = page(&c, s.url(&format!("/search?q=tomatoes&from={cursor}"))).await;
    assert_eq!(results(&second), 6);
    // A bad query says so on the page, with a 200 and the rest of the page intact.
    let long = page(&c, s.url(&format!("/search?q={}", "x".repeat(600)))).await;
    assert!(long.contains("A search can be at most 500 characters."));
    let none = page(&c, s.url("/search?q=%22%22%20OR")).await;
    assert!(none.contains("No conversation matches"));
}

async fn enter_sends_is_a_setting_the_composer_carries(engine: Engine) {
    let s = start(engine, &[]).await;
    let c = s.user("enter@example.com").await;
    let home = page(&c, s.url("/")).await;
    assert!(home.contains(r#"data-enter-sends="true""#), "on by default");
    let settings = page(&c, s.url("/settings")).await;
    assert!(settings.contains(r#"action="/_fn/set_enter_sends""#));
    // The form unticked sends no field: off.
    let res = c
        .post(s.url("/_fn/set_enter_sends"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .expect("post");
    assert!(res.status().is_success() || res.status().is_redirection(), "{}", res.status());
    let home = page(&c, s.url("/")).await;
    assert!(home.contains(r#"data-enter-sends="false""#));
    let id = conversation(&s, &c, "Chat", &["hi"]).await;
    assert!(page(&c, s.url(&format!("/c/{id}"))).await.contains(r#"data-enter-sends="false""#));
    let (_, prefs) = s.json(&c, Method::GET, "/api/preferences", None).await;
    let value =
        prefs.as_array().expect("list").iter().find(|p| p["key"] == "chat.sendOnEnter").map(|p| p["value"].clone());
    assert_eq!(value, Some(json!(false)));
    // Ticked again: on.
    let res = c.post(s.url("/_fn/set_enter_sends")).form(&[("enter_sends", "on")]).send().await.expect("post");
    assert!(res.status().is_success() || res.status().is_redirection());
    assert!(page(&c, s.url("/")).await.contains(r#"data-enter-sends="true""#));
}
