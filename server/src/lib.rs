//! The Mosaic server: configuration, startup, the middleware stack, the JSON API and the Leptos
//! pages, assembled into one axum router.

pub mod api;
pub mod chat;
pub mod config;
pub mod error;
pub mod media;
pub mod middleware;
pub mod seed;
pub mod site;

use std::sync::Arc;

use axum::extract::FromRef;
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::compression::{CompressionLayer, CompressionLevel};

use app::state::{AppState, AuthSettings};
use config::Config;

/// What every handler can reach.
#[derive(Clone)]
pub struct ServerState {
    pub leptos: LeptosOptions,
    pub app: AppState,
    /// Model providers and the replies in progress.
    pub chat: Arc<chat::Chat>,
    /// The configured public origin (MOSAIC_PUBLIC_URL), accepted by the cross-origin check.
    pub public_origin: Option<String>,
    /// Users' avatar files.
    pub avatars: media::avatar::Avatars,
}

impl FromRef<ServerState> for LeptosOptions {
    fn from_ref(state: &ServerState) -> Self {
        state.leptos.clone()
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("configuration: {0}")]
    Config(#[from] config::ConfigError),
    #[error("database: {0}")]
    Db(#[from] mosaic_db::DbError),
    #[error("leptos configuration: {0}")]
    Leptos(String),
    #[error("model providers: {0}")]
    Providers(String),
}

/// Opens the database (applying migrations) and builds the shared state.
pub async fn state(config: &Config, leptos: LeptosOptions) -> Result<ServerState, StartError> {
    let store = mosaic_db::Store::connect(&config.pool).await?;
    let auth = AuthSettings {
        allow_signup: config.allow_signup,
        secure_cookies: config.secure_cookies,
        policy: config.session_policy,
    };
    let mut provider_configs = config.chat.providers.clone();
    if config.chat.demo {
        let base_url =
            chat::standin::spawn(None).await.map_err(|e| StartError::Providers(format!("demo provider: {e}")))?;
        tracing::info!(%base_url, "demo provider (stand-in model) started");
        provider_configs.push(chat::provider::ProviderConfig {
            name: "demo".into(),
            base_url,
            api_key: None,
            default_model: Some("standin-echo".into()),
            max_concurrent: 16,
        });
    }
    let providers = provider_configs
        .into_iter()
        .map(|p| chat::provider::Provider::new(p, config.chat.connect_timeout, config.chat.stall_timeout).map(Arc::new))
        .collect::<Result<Vec<_>, _>>()
        .map_err(StartError::Providers)?;
    let chat =
        chat::Chat::new(store.clone(), providers, chat::ChatSettings { history_chars: config.chat.history_chars });
    let hooks = chat_hooks(&chat);
    Ok(ServerState {
        leptos,
        app: AppState { store, auth: Arc::new(auth), limiter: Arc::default(), chat: hooks },
        chat,
        public_origin: config.public_origin.clone(),
        avatars: media::avatar::Avatars::new(&config.data_dir.join("media")),
    })
}

/// Lets the pages reach the chat service (which they cannot name: it lives in this crate).
fn chat_hooks(chat: &Arc<chat::Chat>) -> app::state::ChatHooks {
    let for_models = chat.clone();
    let for_send = chat.clone();
    app::state::ChatHooks {
        models: Arc::new(move || {
            let chat = for_models.clone();
            Box::pin(async move { chat.models_now().await })
        }),
        send: Arc::new(move |user_id, conversation_id, content, model| {
            let chat = for_send.clone();
            Box::pin(async move {
                chat.send(user_id, Some(conversation_id), content, model)
                    .await
                    .map(|_| ())
                    .map_err(|e| (chat::rest::status_of(&e), chat::ws::user_message(&e)))
            })
        }),
    }
}

/// The Leptos options for `config`: the environment's LEPTOS_* values, with our output name and
/// listen address.
pub fn leptos_options(config: &Config) -> Result<LeptosOptions, StartError> {
    let mut options = get_configuration(None).map_err(|e| StartError::Leptos(e.to_string()))?.leptos_options;
    if std::env::var("LEPTOS_OUTPUT_NAME").is_err() {
        options.output_name = Arc::from("mosaic");
    }
    options.site_addr = config.site_addr;
    // A release build by cargo-leptos leaves hash.txt beside the binary: use the hashed names.
    if std::env::var("LEPTOS_HASH_FILES").is_err() {
        let beside_exe = std::env::current_exe().ok().and_then(|exe| Some(exe.parent()?.join(&*options.hash_file)));
        options.hash_files = beside_exe.is_some_and(|p| p.exists());
    }
    Ok(options)
}

/// The whole application as one router.
pub fn router(state: ServerState) -> Router {
    let routes = generate_route_list(app::App);
    let context = {
        let app_state = state.app.clone();
        move || provide_context(app_state.clone())
    };
    let shell = {
        let options = state.leptos.clone();
        move || app::shell(options.clone())
    };
    let site_root = std::path::PathBuf::from(&*state.leptos.site_root);
    Router::new()
        .merge(api::routes())
        .merge(media::avatar::routes())
        .merge(site::routes(&site_root))
        .leptos_routes_with_context(&state, routes, context, shell)
        .fallback(leptos_axum::file_and_error_handler::<ServerState, _>(app::shell))
        .layer(axum::extract::DefaultBodyLimit::max(1024 * 1024))
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::session))
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::cross_origin_check))
        .layer(axum::middleware::from_fn(middleware::security_headers))
        .layer(axum::middleware::from_fn(site::cache_pages))
        // Level 5 on the fly (tower-http's default is 4): the dashboard's HTML comes out 7 % smaller
        // for about half a millisecond more CPU per page; static files are precompressed at 11.
        .layer(CompressionLayer::new().br(true).gzip(true).zstd(true).quality(CompressionLevel::Precise(5)))
        .with_state(state)
}
