//! `codr languages` (placeholder until implemented).
use std::process::ExitCode;

/// Arguments of `codr languages`.
#[derive(Debug, clap::Args)]
pub struct LanguagesArgs {
    #[command(flatten)]
    pub plugins: super::PluginArgs,
}

/// Runs `codr languages`.
pub async fn run(_args: LanguagesArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("codr languages is not implemented yet")
}
