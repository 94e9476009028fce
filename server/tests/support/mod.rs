//! A Mosaic server on an ephemeral port with a throwaway database, for the HTTP-level suites.

#![allow(dead_code)]

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
    start_at(engine, extra, 0).await
}

/// [`start`] on a given port (0: any), for settings that must name the server's own address.
pub async fn start_at(engine: Engine, extra: &[(&str, &str)], port: u16) -> TestServer {
    let database = fresh_database(engine).await;
    let data_dir = std::env::temp_dir().join(format!("mosaic-http-{}", Uuid::now_v7().simple()));
    // Tests sign many users up from one address; the sign-up limit is tested on its own.
    let mut vars: Vec<(String, String)> = vec![
        ("MOSAIC_DATA_DIR".into(), data_dir.display().to_string()),
        ("DATABASE_URL".into(), database.url.clone()),
        ("MOSAIC_SIGN_UPS_PER_HOUR".into(), "100000".into()),
    ];
    vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let config =
        Config::from_lookup(|name| vars.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.clone())).expect("config");
    let state = server::state(&config).await.expect("state");
    let store = state.app.store.clone();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = server::router(state.clone());
    tokio::spawn(server::listen::serve(listener, app, config.client_timeout, std::future::pending()));
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

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// Waits until the server at `base` answers `/healthz` (10 s at most).
pub async fn wait_healthy(base: &str) {
    for _ in 0..200 {
        if reqwest::get(format!("{base}/healthz")).await.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{base} never answered /healthz");
}

/// The server binary, configured for a test: `database_url`, data in `dir`, listening on `port`,
/// the stand-in model on, plus `extra` variables.
pub fn server_process(
    database_url: &str,
    dir: &std::path::Path,
    port: u16,
    extra: &[(&str, &str)],
) -> std::process::Child {
    server_command(database_url, dir, port, extra).spawn().expect("start the server")
}

/// The command [`server_process`] runs, for a test that needs its output.
pub fn server_command(
    database_url: &str,
    dir: &std::path::Path,
    port: u16,
    extra: &[(&str, &str)],
) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_server"));
    command
        .current_dir(dir)
        .env("DATABASE_URL", database_url)
        .env("MOSAIC_DATA_DIR", dir)
        .env("MOSAIC_DEMO_PROVIDER", "1")
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("LEPTOS_SITE_ROOT", dir.join("site"))
        .env("MOSAIC_SIGN_UPS_PER_HOUR", "100000")
        .env("RUST_LOG", "warn");
    for (k, v) in extra {
        command.env(k, v);
    }
    command
}

/// Sends SIGTERM to a child process.
pub fn terminate(child: &std::process::Child) {
    let status = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
    assert!(status.success(), "kill -TERM");
}

/// Waits for a child to exit, at most `within`; its exit status, or `None` if it is still running.
pub async fn wait_exit(
    child: &mut std::process::Child,
    within: std::time::Duration,
) -> Option<std::process::ExitStatus> {
    let until = std::time::Instant::now() + within;
    while std::time::Instant::now() < until {
        if let Some(status) = child.try_wait().expect("wait") {
            return Some(status);
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    None
}

/// A new, empty directory in the temp directory for one test's server process (`tag` names it).
pub fn scratch_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mosaic-{tag}-{}", Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Signs up `email` on the server at `base` through the form endpoint; returns the session's
/// `Cookie` header (for WebSocket handshakes to a server process).
pub async fn sign_up_at(base: &str, name: &str, email: &str) -> String {
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let c = Client::builder().cookie_provider(jar.clone()).build().expect("client");
    let form = [("name", name), ("email", email), ("password", "correct horse battery")];
    let res = c.post(format!("{base}/_fn/sign_up")).form(&form).send().await.expect("sign up");
    assert!(res.status().is_success(), "sign up: {}", res.status());
    jar.cookies(&base.parse().expect("url")).expect("cookie").to_str().expect("ascii").to_string()
}

/// The one-time message a redirect carries to the page it goes to (its `mosaic_flash` cookie), as
/// that page will show it.
pub fn flash(res: &reqwest::Response) -> Option<String> {
    let cookie = res
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{}=", app::auth::FLASH_COOKIE)))?
        .split(';')
        .next()?
        .to_string();
    let mut headers = http::HeaderMap::new();
    headers.insert(http::header::COOKIE, cookie.parse().ok()?);
    app::auth::flash(&headers)
}
