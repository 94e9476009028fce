//! A Mosaic server on an ephemeral port with a throwaway database, for the HTTP-level suites.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use mosaic_test_support::{fresh_database, Engine, TestDatabase};
use reqwest::cookie::CookieStore;
use reqwest::{Client, StatusCode};
use serde_json::Value;
use server::config::Config;
use uuid::Uuid;

/// A running server on an ephemeral port, with its own database and data directory.
pub struct TestServer {
    pub base: String,
    pub store: mosaic_db::Store,
    pub state: server::ServerState,
    /// MOSAIC_DATA_DIR (uploaded media).
    pub data_dir: std::path::PathBuf,
    _files: TempDir,
    // Last: the database is dropped after everything that uses it.
    _database: TestDatabase,
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Starts a server on `engine` with `extra` settings over the defaults.
pub async fn start(engine: Engine, extra: &[(&str, &str)]) -> TestServer {
    let database = fresh_database(engine).await;
    let data_dir = std::env::temp_dir().join(format!("mosaic-http-{}", Uuid::now_v7().simple()));
    let mut vars: Vec<(String, String)> =
        vec![("MOSAIC_DATA_DIR".into(), data_dir.display().to_string()), ("DATABASE_URL".into(), database.url.clone())];
    vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let config =
        Config::from_lookup(|name| vars.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.clone())).expect("config");
    let state = server::state(&config).await.expect("state");
    let store = state.app.store.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = server::router(state.clone());
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await.ok();
    });
    TestServer {
        base: format!("http://{addr}"),
        store,
        state,
        data_dir: data_dir.clone(),
        _files: TempDir(data_dir),
        _database: database,
    }
}

pub fn client() -> Client {
    Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The chat service.
    pub fn chat(&self) -> &std::sync::Arc<mosaic_chat::Chat> {
        &self.state.app.chat
    }

    /// Signs up through the server function and returns a client holding the session cookie.
    pub async fn user(&self, email: &str) -> Client {
        self.user_with_cookie(email).await.0
    }

    /// Signs up and returns the client and its `Cookie` header (for WebSocket handshakes).
    pub async fn user_with_cookie(&self, email: &str) -> (Client, String) {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let c = Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let res = c
            .post(self.url("/_fn/sign_up"))
            .form(&[("name", "Tester"), ("email", email), ("password", "correct horse battery")])
            .send()
            .await
            .expect("sign up");
        assert!(res.status().is_success(), "sign up: {} {:?}", res.status(), res.text().await);
        let url: reqwest::Url = self.base.parse().expect("url");
        let cookie = jar.cookies(&url).expect("session cookie").to_str().expect("ascii").to_string();
        (c, cookie)
    }

    pub async fn json(
        &self,
        c: &Client,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = c.request(method, self.url(path));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let text = res.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }
}
