//! `codr worker`: runs jobs from Redis in the sandbox.
use std::process::ExitCode;

use super::service;
use crate::config::{BrokerArgs, WorkerArgs};
use crate::worker::Worker;

/// Arguments of `codr worker`.
#[derive(Debug, clap::Args)]
pub struct WorkerCmdArgs {
    /// The job runner.
    #[command(flatten)]
    pub worker: WorkerArgs,
    /// The broker (Redis or in process).
    #[command(flatten)]
    pub broker: BrokerArgs,
    /// Where the language plugins are.
    #[command(flatten)]
    pub plugins: super::PluginArgs,
}

/// Runs `codr worker` until SIGTERM or ctrl-c (then drains running jobs).
pub async fn run(args: WorkerCmdArgs) -> anyhow::Result<ExitCode> {
    let broker = service::connect_broker(&args.broker, false).await?;
    let languages = crate::languages::load(&args.plugins.plugin_dir)?;
    let worker = service::worker(args.worker, broker, languages)?;
    let names: Vec<String> = languages_names(&worker);
    println!("codr worker {} ready ({})", worker.id(), names.join(", "));
    worker.run(service::shutdown_signal()).await;
    Ok(ExitCode::SUCCESS)
}

fn languages_names(worker: &Worker) -> Vec<String> {
    worker
        .languages()
        .list()
        .into_iter()
        .map(|l| l.name)
        .collect()
}
