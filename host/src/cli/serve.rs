//! `codr serve`: the gateway and a worker in one process, on the in-process
//! broker (or Redis with `--redis`).
use std::process::ExitCode;

use super::service;
use crate::config::{random_secret, ApiArgs};

/// Arguments of `codr serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The HTTP and WebSocket API.
    #[command(flatten)]
    pub api: ApiArgs,
    /// The worker: what `codr worker` takes (runner, broker, plugins).
    #[command(flatten)]
    pub run: super::worker::WorkerCmdArgs,
}

/// Runs `codr serve` until SIGTERM or ctrl-c.
pub async fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let broker = service::connect_broker(&args.run.broker, true).await?;
    let languages = crate::languages::load(&args.run.plugins.plugin_dir)?;
    let worker = service::worker(args.run.worker, broker.clone(), languages.clone())?;
    let (keys, generated_key) = match args.api.api_keys.iter().any(|k| !k.trim().is_empty()) {
        true => (args.api.api_keys.clone(), None),
        false => {
            let key = random_secret();
            (vec![key.clone()], Some(key))
        }
    };
    let secret = args.api.jwt_secret.clone().unwrap_or_else(random_secret);
    let gateway = service::gateway(&args.api, &keys, &secret, broker, languages).await?;
    let shutdown = service::shutdown_signal();
    let worker_task = tokio::spawn(worker.run(shutdown.clone()));
    gateway
        .serve("codr", &args.api, generated_key.as_deref(), shutdown)
        .await?;
    // The worker drains its jobs; their sessions relay the ends meanwhile.
    let _ = worker_task.await;
    service::wait_for_sessions(std::time::Duration::from_secs(2)).await;
    Ok(ExitCode::SUCCESS)
}

/// Prints the line that says the service is up (tests and scripts parse it),
/// with the generated key and a warning when the Piston routes are open.
pub fn announce(role: &str, addr: std::net::SocketAddr, key: Option<&str>, piston_open: bool) {
    use std::io::Write;
    let mut line = format!("{role} listening on http://{addr}");
    if let Some(key) = key {
        line.push_str(&format!("  API key: {key}"));
    }
    if piston_open {
        line.push_str("  WARNING: Piston routes open to anyone without an API key (--piston-open)");
    }
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
