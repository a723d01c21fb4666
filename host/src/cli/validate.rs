//! `codr validate` (placeholder until implemented).
use std::process::ExitCode;

/// Arguments of `codr validate`.
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub plugins: super::PluginArgs,
}

/// Runs `codr validate`.
pub async fn run(_args: ValidateArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("codr validate is not implemented yet")
}
