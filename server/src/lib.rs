//! The Mosaic server: configuration, startup, the middleware stack, the JSON API, the chat gateway
//! and the Leptos pages, assembled into one axum router.

pub mod api;
pub mod config;
pub mod gateway;
pub mod jobs;
pub mod listen;
pub mod media;
pub mod middleware;
pub mod oidc;
pub mod portability;
pub mod seed;
pub mod site;
pub mod telemetry;

use std::sync::Arc;

use axum::extract::FromRef;
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use mosaic_chat::provider::Provider;
use mosaic_chat::{standin, Chat, ChatSettings};

use app::state::{AppState, AuthSettings};
use config::Config;

/// What every handler can reach.
#[derive(Clone)]
pub struct ServerState {
    pub leptos: LeptosOptions,
    /// The store, the chat service and the auth settings, shared with the pages.
    pub app: AppState,
    /// The configured public origin (MOSAIC_PUBLIC_URL), accepted by the cross-origin check.
    pub public_origin: Option<String>,
    /// Host names served besides IP literals and localhost: the public URL's and
    /// MOSAIC_ALLOWED_HOSTS (see [`middleware::host`]).
    pub allowed_hosts: Arc<[String]>,
    /// Reverse proxies whose forwarding headers name the client (see [`middleware::client`]).
    pub trusted_proxies: Arc<[ipnet::IpNet]>,
    /// How long a client may take to send its request headers, or pause within a body
    /// (MOSAIC_CLIENT_TIMEOUT_SECS).
    pub client_timeout: std::time::Duration,
    /// The WebSockets each user holds open (see [`gateway::ws::SOCKETS_PER_USER`]).
    pub sockets: gateway::ws::OpenSockets,
    /// Users' avatar files.
    pub avatars: media::avatar::Avatars,
    /// The background jobs (started by [`jobs::Jobs::start`] once the server listens).
    pub jobs: Arc<jobs::Jobs>,
    /// Sign-in through OpenID Connect providers.
    pub oidc: Arc<oidc::Oidc>,
    /// Where import uploads wait while they are imported.
    pub uploads: portability::Uploads,
    /// The bearer token `/metrics` asks for (MOSAIC_METRICS_TOKEN); without one it is not served.
    pub metrics_token: Option<String>,
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
    #[error("model providers: {0}")]
    Providers(String),
    #[error("sign-in providers: {0}")]
    Oidc(String),
}

/// Opens the database (applying migrations) and builds the shared state.
pub async fn state(config: &Config) -> Result<ServerState, StartError> {
    telemetry::install();
    let store = mosaic_db::Store::connect(&config.pool).await?;
    let oidc = oidc::Oidc::new(&config.oidc).map_err(StartError::Oidc)?;
    let auth = AuthSettings {
        allow_signup: config.allow_signup,
        secure_cookies: config.secure_cookies,
        policy: config.session_policy,
        providers: oidc.buttons(),
        sign_ups_per_hour: config.sign_ups_per_hour,
    };
    let mut provider_configs = config.chat.providers.clone();
    if config.chat.demo {
        let base_url = standin::spawn(None).await.map_err(|e| StartError::Providers(format!("demo provider: {e}")))?;
        tracing::info!(%base_url, "demo provider (stand-in model) started");
        let mut demo = standin::demo_provider(base_url);
        demo.max_concurrent = config.chat.demo_max_concurrent;
        provider_configs.push(demo);
    }
    let providers = provider_configs
        .into_iter()
        .map(|p| Provider::new(p, config.chat.connect_timeout, config.chat.stall_timeout).map(Arc::new))
        .collect::<Result<Vec<_>, _>>()
        .map_err(StartError::Providers)?;
    let summariser = match &config.summarization_model {
        Some((name, model)) => {
            let provider = providers.iter().find(|p| &p.config.name == name).cloned().ok_or_else(|| {
                StartError::Providers(format!("SUMMARIZATION_MODEL names {name:?}, which is not configured"))
            })?;
            jobs::Summariser::new(Some((provider, model.clone())))
        }
        None => jobs::Summariser::new(None),
    };
    let chat = Chat::new(
        store.clone(),
        providers,
        ChatSettings {
            history_chars: config.chat.history_chars,
            replies_per_user: config.chat.replies_per_user,
            reply_max_chars: config.chat.reply_max_chars,
            reply_max_tokens: config.chat.reply_max_tokens,
            reply_max_time: config.chat.reply_max_time,
            lease: config.chat.lease,
        },
    );
    let avatars = media::avatar::Avatars::new(&config.data_dir.join("media"));
    let jobs = jobs::Jobs::new(
        store.clone(),
        mosaic_db::clock::now_micros(),
        Arc::new(jobs::SystemClock),
        config.jobs.clone(),
        avatars.clone(),
        summariser,
    );
    Ok(ServerState {
        leptos: config.site.leptos_options(config.site_addr),
        app: AppState { store, chat, auth: Arc::new(auth) },
        trusted_proxies: config.trusted_proxies.clone().into(),
        sockets: gateway::ws::OpenSockets::new(config.sockets_per_user),
        client_timeout: config.client_timeout,
        public_origin: config.public_origin.clone(),
        allowed_hosts: config.allowed_hosts.clone().into(),
        avatars,
        jobs,
        oidc: Arc::new(oidc),
        metrics_token: config.metrics_token.clone(),
        uploads: portability::Uploads::new(&config.data_dir),
    })
}

/// The whole application as one router: the JSON API, the chat gateway, avatars, static files and
/// the pages, inside the middleware stack.
pub fn router(state: ServerState) -> Router {
    let routes = generate_route_list(app::App);
    let context = {
        let app_state = state.app.clone();
        move || {
            provide_context(app_state.clone());
            // leptos_axum made a nonce of its own; the one in this response's CSP header wins.
            if let Some(nonce) = use_context::<http::request::Parts>()
                .and_then(|p| p.extensions.get::<middleware::headers::CspNonce>().cloned())
            {
                provide_context(leptos::nonce::Nonce::from_value(nonce.0));
            }
        }
    };
    let shell = {
        let options = state.leptos.clone();
        move || app::shell(options.clone())
    };
    let site_root = std::path::PathBuf::from(&*state.leptos.site_root);
    let routes = Router::new()
        .merge(api::routes())
        .merge(gateway::routes())
        .merge(media::avatar::routes())
        .merge(oidc::routes())
        .merge(telemetry::routes())
        .merge(portability::routes())
        .merge(site::routes(&site_root))
        .leptos_routes_with_context(&state, routes, context.clone(), shell)
        .fallback(leptos_axum::file_and_error_handler_with_context::<ServerState, _>(context, app::shell));
    middleware::stack(routes, &state).with_state(state)
}
