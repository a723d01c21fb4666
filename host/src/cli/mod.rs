//! The `codr` commands. Each subcommand lives in its own module with a
//! `run(args) -> anyhow::Result<ExitCode>` entry point.
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

pub mod doctor;
pub mod gateway;
pub mod languages;
pub mod plugin;
pub mod run;
pub mod serve;
pub mod service;
pub mod term;
pub mod validate;
pub mod worker;

/// codr runs untrusted code in many languages inside a Firejail sandbox.
///
/// Languages are WebAssembly plugins loaded from a folder (`--plugins`,
/// `CODR_PLUGIN_DIR`): drop a `.wasm` file in to add one.
#[derive(Debug, Parser)]
#[command(name = "codr", version, about, long_about)]
pub struct Cli {
    /// Log more (repeat for more detail); `RUST_LOG` overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Where the language plugins are.
#[derive(Debug, Clone, Args)]
pub struct PluginArgs {
    /// Folder of language plugins (`*.wasm`).
    #[arg(
        long = "plugins",
        env = "CODR_PLUGIN_DIR",
        default_value = "target/plugins"
    )]
    pub plugin_dir: PathBuf,
}

/// Every `codr` subcommand.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the languages the plugins in the folder provide.
    Languages(languages::LanguagesArgs),
    /// Check a source file against a language's rules (exit 0 ok, 1 rejected, 2 usage error).
    Validate(validate::ValidateArgs),
    /// Validate, compile and run a program in the sandbox.
    Run(run::RunArgs),
    /// Report what this machine offers (Firejail, cgroups, sandbox users, compilers) and how to fix what is missing.
    Doctor(doctor::DoctorArgs),
    /// Run the whole service in one process: HTTP + WebSocket API and a worker,
    /// on an in-process queue (or on Redis with `--redis`). Prints the URL and,
    /// when no key is configured, a fresh API key.
    Serve(Box<serve::ServeArgs>),
    /// Run the HTTP + WebSocket API only; jobs go through Redis to `codr worker`s.
    Gateway(gateway::GatewayArgs),
    /// Run jobs from Redis in the sandbox (bounded concurrency; SIGTERM drains).
    Worker(worker::WorkerCmdArgs),
    /// Check or scaffold language plugins.
    Plugin(plugin::PluginCmdArgs),
    /// Serve the grammars plugins ship to the host that started it (on stdin
    /// and stdout). Started by codr itself; not for use by hand.
    #[command(hide = true)]
    GrammarWorker,
}

/// Runs one subcommand.
pub async fn dispatch(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Languages(args) => languages::run(args).await,
        Command::Validate(args) => validate::run(args).await,
        Command::Run(args) => run::run(args).await,
        Command::Doctor(args) => doctor::run(args).await,
        Command::Serve(args) => serve::run(*args).await,
        Command::Gateway(args) => gateway::run(args).await,
        Command::Worker(args) => worker::run(args).await,
        Command::Plugin(args) => plugin::run(args).await,
        Command::GrammarWorker => {
            codr_syntax::worker::serve_stdio()?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Logs go to stderr; `RUST_LOG` wins over `-v`.
pub fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
