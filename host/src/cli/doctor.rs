//! `codr doctor` (placeholder until implemented).
use std::process::ExitCode;

/// Arguments of `codr doctor`.
#[derive(Debug, clap::Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub plugins: super::PluginArgs,
}

/// Runs `codr doctor`.
pub async fn run(_args: DoctorArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("codr doctor is not implemented yet")
}
