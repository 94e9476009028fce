//! The `server` binary: read the configuration, open the database, serve.

use server::config::Config;

/// mimalloc instead of glibc's malloc: rendering a page allocates a lot of short-lived strings, and
/// glibc spent about a sixth of the dashboard's CPU time in malloc/free (perf, see the README).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match Config::from_env() {
        Ok(config) => match tracing_subscriber::EnvFilter::try_new(&config.log_filter) {
            Ok(filter) => {
                tracing_subscriber::fmt().with_env_filter(filter).init();
                run(config, &args).await
            }
            Err(e) => Err(format!("RUST_LOG: {e}").into()),
        },
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("mosaic: cannot start: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(config: Config, args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    match args.first().map(String::as_str) {
        None | Some("serve") => {}
        Some("seed") => return seed(&config, &args[1..]).await,
        Some("assets") => return assets(&config, &args[1..]),
        Some("migrate") => return migrate(&config, &args[1..]).await,
        Some("append-cost") => return append_cost(&config, &args[1..]).await,
        Some(other) => {
            return Err(format!(
                "unknown command {other:?}; commands: serve (default), seed, assets, migrate, append-cost"
            )
            .into())
        }
    }
    make_missing_images(&config.site.root);
    prepare_data_dir(&config.data_dir)?;
    let state = server::state(&config).await?;
    let engine = state.app.store.engine().name();
    let (chat, jobs, store) = (state.app.chat.clone(), state.jobs.clone(), state.app.store.clone());
    let app = server::router(state);
    let listener = tokio::net::TcpListener::bind(config.site_addr)
        .await
        .map_err(|e| format!("LEPTOS_SITE_ADDR: cannot listen on {}: {e}", config.site_addr))?;
    tracing::info!(addr = %config.site_addr, engine, "mosaic listening");
    let (stop_accepting, stopped) = tokio::sync::watch::channel(false);
    let mut serving = tokio::spawn(server::listen::serve(listener, app, config.client_timeout, async move {
        let mut stopped = stopped;
        let _ = stopped.wait_for(|s| *s).await;
    }));
    // The cold-start collect and the schedules begin once the server listens: never on the
    // startup path.
    jobs.start();
    tokio::select! {
        result = &mut serving => return Ok(result?),
        signal = shutdown_signal() => tracing::info!(signal, "shutting down"),
    }
    // Stop accepting; stop replies (saved as stopped) and let jobs finish their batch, together;
    // exit within the configured time whatever is still open.
    let deadline = tokio::time::Instant::now() + config.shutdown_timeout;
    stop_accepting.send_replace(true);
    let (unsaved, jobs_done) =
        tokio::join!(chat.shut_down(config.shutdown_timeout), jobs.shut_down(config.shutdown_timeout));
    if unsaved > 0 || !jobs_done {
        tracing::warn!(unsaved, jobs_done, "shutdown time ran out");
    }
    if tokio::time::timeout_at(deadline, serving).await.is_err() {
        tracing::info!("connections still open at the deadline are closed");
    }
    let _ = tokio::time::timeout_at(deadline + std::time::Duration::from_secs(1), store.close()).await;
    tracing::info!("stopped");
    Ok(())
}

/// Waits for Ctrl-C or SIGTERM (what `docker stop`, systemd and Kubernetes send); returns which.
async fn shutdown_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = tokio::signal::ctrl_c() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            },
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops the server gracefully");
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}

/// A development site (`cargo leptos watch` rebuilds `target/site` from scratch) has no image
/// variants: make them from `public/images` when it is at hand. A release site has them all (built by
/// `server assets`), so this is a few `stat` calls.
fn make_missing_images(site: &std::path::Path) {
    let sources = std::path::Path::new("public/images");
    if server::site::images_present(site) {
        return;
    }
    if !sources.is_dir() {
        tracing::warn!(site = %site.display(), "image variants are missing; run `server assets` after building the site");
        return;
    }
    match server::site::prepare_with(site, sources, false, |line| tracing::debug!("{line}")) {
        Ok(summary) => tracing::info!(written = summary.images_written, "made the missing image variants"),
        Err(err) => tracing::warn!(error = %err, "could not make the image variants; run `server assets`"),
    }
}

/// `server assets [--site DIR] [--images DIR] [--no-compress]`: the build step after the site is
/// built that writes the image variants and the brotli/gzip copies into the site (default:
/// LEPTOS_SITE_ROOT or target/site, images from public/images).
fn assets(config: &Config, args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let mut site = config.site.root.clone();
    let mut images = std::path::PathBuf::from("public/images");
    let mut compress = true;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().cloned().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--no-compress" => compress = false,
            "--site" => site = value()?.into(),
            "--images" => images = value()?.into(),
            other => {
                return Err(format!("unknown option {other:?}; options: --site DIR, --images DIR, --no-compress").into())
            }
        }
    }
    let started = std::time::Instant::now();
    let summary = server::site::prepare_with(&site, &images, compress, |line| println!("{line}"))?;
    println!(
        "assets ready in {:.1} s: {} files precompressed, {} KB → {} KB with brotli",
        started.elapsed().as_secs_f64(),
        summary.compressed,
        summary.plain_bytes / 1024,
        summary.brotli_bytes / 1024
    );
    Ok(())
}

/// `server migrate --to postgres://…`: copies the SQLite database of DATABASE_URL into an empty
/// PostgreSQL database (migrated first), with progress, then checks every table's row count and
/// checksum on both sides. Stop the server first: the copy is of what the file holds when it runs.
async fn migrate(config: &Config, args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let to = match args {
        [flag, url] if flag == "--to" => url.clone(),
        _ => {
            return Err(
                "usage: server migrate --to postgres://user@host/database (DATABASE_URL names the SQLite source)"
                    .into(),
            )
        }
    };
    if mosaic_db::Engine::of_url(&config.pool.url) != Some(mosaic_db::Engine::Sqlite) {
        return Err("DATABASE_URL must name the SQLite database to copy (sqlite:…)".into());
    }
    if mosaic_db::Engine::of_url(&to) != Some(mosaic_db::Engine::Postgres) {
        return Err("--to must be a PostgreSQL URL (postgres://…)".into());
    }
    let source = mosaic_db::Store::connect(&config.pool).await?;
    let target = mosaic_db::Store::connect(&mosaic_db::PoolSettings::new(to)).await?;
    let started = std::time::Instant::now();
    let mut last = std::time::Instant::now();
    let copies = mosaic_db::transfer::sqlite_to_postgres(&source, &target, |progress| match progress {
        mosaic_db::transfer::Progress::Copying { table, done, total } => {
            // Every table's start and end, and once a second between.
            if done == 0 || done == total || last.elapsed().as_secs() >= 1 {
                last = std::time::Instant::now();
                let percent = (done * 100).checked_div(total).unwrap_or(100);
                eprintln!("{table}: {done} of {total} rows ({percent} %)");
            }
        }
        mosaic_db::transfer::Progress::Verifying { table } => eprintln!("{table}: verifying"),
    })
    .await;
    source.close().await;
    target.close().await;
    let copies = copies?;
    println!("{:<22} {:>12}  checksum (the same on both sides)", "table", "rows");
    for copy in &copies {
        println!("{:<22} {:>12}  {}", copy.table, copy.rows, copy.checksum);
    }
    let rows: u64 = copies.iter().map(|c| c.rows).sum();
    println!("copied and verified {rows} rows in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// `server seed [--users N] [--conversations N] [--messages N] [--open-messages N] [--logs N] [--email E] [--password P]`
async fn seed(config: &Config, args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let mut plan = server::seed::SeedPlan {
        users: 100,
        conversations: 1_000,
        messages: 20,
        open_messages: 50,
        logs: 10_000,
        email: "bench@example.com".into(),
        password: "benchmark-password".into(),
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number =
            || value.replace('_', "").parse::<usize>().map_err(|_| format!("{flag}: {value:?} is not a whole number"));
        match flag.as_str() {
            "--users" => plan.users = number()?,
            "--conversations" => plan.conversations = number()?,
            "--messages" => plan.messages = number()?,
            "--open-messages" => plan.open_messages = number()?,
            "--logs" => plan.logs = number()?,
            "--email" => plan.email = value.clone(),
            "--password" => plan.password = value.clone(),
            other => return Err(format!("unknown option {other:?}").into()),
        }
    }
    let store = mosaic_db::Store::connect(&config.pool).await?;
    let started = std::time::Instant::now();
    let (user, busiest) = server::seed::seed(&store, &plan).await?;
    store.close().await;
    println!("seeded in {:.1} s; user {user}; conversation {busiest}", started.elapsed().as_secs_f64());
    Ok(())
}

/// `server append-cost [--seconds N] [--email E]`: messages appended per second with SQLite's
/// search index and without it (the benchmark's write-cost row; see `server::seed::append_cost`).
async fn append_cost(config: &Config, args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let (mut secs, mut email) = (10u64, "bench@example.com".to_string());
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--seconds" => secs = value.parse().map_err(|_| format!("--seconds: {value:?} is not a whole number"))?,
            "--email" => email = value.clone(),
            other => return Err(format!("unknown option {other:?}").into()),
        }
    }
    let (with, without) = server::seed::append_cost(&config.pool, &email, secs).await?;
    println!("{with:.0} {without:.0}");
    Ok(())
}

/// Creates the data directory (the SQLite file, uploads) readable by this user only (0700), and
/// warns when an existing one is open to others.
fn prepare_data_dir(dir: &std::path::Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let existed = dir.exists();
    std::fs::create_dir_all(dir).map_err(|e| format!("MOSAIC_DATA_DIR: cannot create {}: {e}", dir.display()))?;
    if !existed {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("MOSAIC_DATA_DIR: cannot restrict {}: {e}", dir.display()))?;
    } else if let Ok(meta) = std::fs::metadata(dir) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(dir = %dir.display(), mode = format!("{mode:o}"), "the data directory is open to other users; chmod 700 it");
        }
    }
    Ok(())
}
