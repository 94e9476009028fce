//! The `server` binary: read the configuration, open the database, serve.

use std::net::SocketAddr;

use server::config::Config;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,leptos=warn".into()),
        )
        .init();
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("mosaic: cannot start: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::from_env()?;
    let options = server::leptos_options(&config)?;
    let state = server::state(&config, options).await?;
    let engine = state.app.store.engine();
    let app = server::router(state);
    let listener = tokio::net::TcpListener::bind(config.site_addr)
        .await
        .map_err(|e| format!("LEPTOS_SITE_ADDR: cannot listen on {}: {e}", config.site_addr))?;
    tracing::info!(addr = %config.site_addr, engine, "mosaic listening");
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
