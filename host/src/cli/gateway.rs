//! `codr gateway`: HTTP + WebSocket only; jobs go through Redis to workers.
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;

use super::service;
use crate::api::{self, AppState};
use crate::config::{ApiArgs, BrokerArgs};

/// Arguments of `codr gateway`.
#[derive(Debug, clap::Args)]
pub struct GatewayArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(flatten)]
    pub broker: BrokerArgs,
    #[command(flatten)]
    pub plugins: super::PluginArgs,
}

/// Runs `codr gateway` until SIGTERM or ctrl-c.
pub async fn run(args: GatewayArgs) -> anyhow::Result<ExitCode> {
    if !args.api.api_keys.iter().any(|k| !k.trim().is_empty()) {
        anyhow::bail!("codr gateway needs API keys: pass --api-keys KEY,... or set CODR_API_KEYS");
    }
    let Some(secret) = args.api.jwt_secret.clone().filter(|s| !s.is_empty()) else {
        anyhow::bail!(
            "codr gateway needs a JWT secret shared by every gateway: pass --jwt-secret or set CODR_JWT_SECRET"
        );
    };
    let broker = service::connect_broker(&args.broker, false).await?;
    let languages = service::load_languages(&args.plugins.plugin_dir)?;
    let listener = tokio::net::TcpListener::bind(args.api.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.api.listen))?;
    let addr = listener.local_addr()?;
    let shutdown = service::shutdown_signal();
    let state = Arc::new(AppState::new(
        args.api.clone(),
        &args.api.api_keys,
        &secret,
        broker.clone(),
        languages,
    ));
    tokio::spawn(api::reaper(
        broker,
        args.api.reap_interval,
        args.api.job_stuck_after,
    ));
    super::serve::announce("codr gateway", addr, None, args.api.piston_open);
    api::serve(listener, state, service::until_true(shutdown)).await?;
    // Sessions whose jobs still run on workers get a little time to finish.
    service::wait_for_sessions(std::time::Duration::from_secs(20)).await;
    Ok(ExitCode::SUCCESS)
}
