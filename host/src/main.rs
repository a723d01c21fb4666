//! The `codr` command line: one binary for every role.
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // A `.env` in the working directory supplies `CODR_*` variables that the
    // environment does not already set.
    let _ = dotenvy::dotenv();
    let cli = codr::cli::Cli::parse();
    if let codr::cli::Command::GrammarWorker = cli.command {
        // A child of the host: no async runtime, no logs on its stdout.
        return match codr_syntax::worker::serve_stdio() {
            Ok(()) => ExitCode::SUCCESS,
            Err(_) => ExitCode::from(2),
        };
    }
    codr::cli::init_tracing(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("codr: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(codr::cli::dispatch(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("codr: {e:#}");
            ExitCode::from(2)
        }
    }
}
