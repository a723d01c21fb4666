//! `codr gateway`: HTTP + WebSocket only; jobs go through Redis to workers.
use std::process::ExitCode;

use super::service;
use crate::config::{ApiArgs, BrokerArgs};

/// Arguments of `codr gateway`.
#[derive(Debug, clap::Args)]
pub struct GatewayArgs {
    /// The HTTP and WebSocket API.
    #[command(flatten)]
    pub api: ApiArgs,
    /// The broker (Redis or in process).
    #[command(flatten)]
    pub broker: BrokerArgs,
    /// Where the language plugins are.
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
    let languages = crate::languages::load(&args.plugins.plugin_dir)?;
    let gateway =
        service::gateway(&args.api, &args.api.api_keys, &secret, broker, languages).await?;
    let shutdown = service::shutdown_signal();
    gateway
        .serve("codr gateway", &args.api, None, shutdown)
        .await?;
    // Sessions whose jobs still run on workers get a little time to finish.
    service::wait_for_sessions(std::time::Duration::from_secs(20)).await;
    Ok(ExitCode::SUCCESS)
}
