//! `codr run` (placeholder until implemented).
use std::process::ExitCode;

/// Arguments of `codr run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub plugins: super::PluginArgs,
}

/// Runs `codr run`.
pub async fn run(_args: RunArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("codr run is not implemented yet")
}
