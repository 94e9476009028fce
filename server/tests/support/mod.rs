//! A Mosaic server on an ephemeral port with a throwaway database, for the HTTP-level suites.

#![allow(dead_code)]

use std::net::SocketAddr;

use std::sync::Arc;

use reqwest::cookie::CookieStore;
use reqwest::{Client, StatusCode};
use serde_json::Value;
use server::config::Config;
use uuid::Uuid;

/// A running server on an ephemeral port, with its own database.
pub struct TestServer {
    pub base: String,
    pub store: mosaic_db::Store,
    pub state: server::ServerState,
    /// MOSAIC_DATA_DIR (the SQLite file on that engine, and uploaded media on both).
    pub data_dir: std::path::PathBuf,
    _db: TempDb,
    _files: TempDir,
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

enum TempDb {
    Sqlite(std::path::PathBuf),
    Postgres(String, String),
}

impl Drop for TempDb {
    fn drop(&mut self) {
        match self {
            TempDb::Sqlite(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            TempDb::Postgres(base, name) => {
                let (base, name) = (base.clone(), name.clone());
                std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
                    rt.block_on(async {
                        if let Ok(admin) = sqlx::PgPool::connect(&base).await {
                            let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                            let _ = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&admin).await;
                        }
                    })
                })
                .join()
                .ok();
            }
        }
    }
}

pub async fn start(engine: &str, extra: &[(&str, &str)]) -> Option<TestServer> {
    let mut vars: Vec<(String, String)> = extra.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let data_dir = std::env::temp_dir().join(format!("mosaic-http-{}", Uuid::now_v7().simple()));
    vars.push(("MOSAIC_DATA_DIR".into(), data_dir.display().to_string()));
    let db = if engine == "postgres" {
        let base = std::env::var("MOSAIC_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty())?;
        let name = format!("mosaic_h_{}", Uuid::now_v7().simple());
        let admin = sqlx::PgPool::connect(&base).await.expect("connect postgres");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&admin).await.expect("create db");
        let url = format!("{}/{name}", base.rsplit_once('/').expect("url with a database").0);
        vars.push(("DATABASE_URL".into(), url));
        TempDb::Postgres(base, name)
    } else {
        TempDb::Sqlite(data_dir.clone())
    };
    let config =
        Config::from_lookup(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())).expect("config");
    let mut options = server::leptos_options(&config).expect("leptos options");
    if let Some(root) = vars.iter().find(|(k, _)| k == "LEPTOS_SITE_ROOT") {
        options.site_root = root.1.clone().into();
    }
    let state = server::state(&config, options).await.expect("state");
    let store = state.app.store.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = server::router(state.clone());
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await.ok();
    });
    Some(TestServer {
        base: format!("http://{addr}"),
        store,
        state,
        data_dir: data_dir.clone(),
        _db: db,
        _files: TempDir(data_dir),
    })
}

pub fn client() -> Client {
    Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
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
