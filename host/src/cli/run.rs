//! `codr run`: validate, compile and run one program in the sandbox.
//!
//! Without `--json` it is interactive: the program runs on a PTY, the terminal
//! is put in raw mode, keystrokes are forwarded, output appears as it comes and
//! the window size follows the terminal. With `--json` it runs on pipes and the
//! last line of standard output is one JSON object: `status`, `exit_code`,
//! `signal`, `stdout`, `stderr`, `compile_output`, `wall_time_ms`,
//! `cpu_time_ms`, `memory_bytes`, `message` (and `diagnostics` when rejected).
//!
//! Exit code: the program's own when it ran to its end, 1 for every other
//! status (rejected, compile error, limits), 2 for usage errors.
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use crate::cli::term::{window_size, RawMode};
use anyhow::Context;
use codr_job::{Control, Event, Outcome, Status, Stream};
use codr_sandbox::{Sandbox, SandboxConfig};
use tokio::sync::mpsc;

/// Arguments of `codr run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Where the language plugins are.
    #[command(flatten)]
    pub plugins: super::PluginArgs,
    /// Language name or alias (`codr languages` lists them).
    #[arg(long, short = 'l')]
    pub language: String,
    /// Standard input for the program (batch), or typed ahead (interactive).
    #[arg(long)]
    pub stdin: Option<PathBuf>,
    /// Run on pipes and print one JSON object on the last line.
    #[arg(long)]
    pub json: bool,
    /// Skip the language's validation rules (the sandbox still holds).
    #[arg(long)]
    pub no_validate: bool,
    /// Arguments passed to the program.
    #[arg(long = "arg", value_name = "ARG")]
    pub args: Vec<String>,
    /// The source file, or `-` for standard input.
    pub file: PathBuf,
}

/// Runs `codr run`.
pub async fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let (registry, _report) = super::languages::load_registry(&args.plugins)?;
    let plugin = registry.get(&args.language).with_context(|| {
        format!(
            "unknown language {:?} (plugins from {})",
            args.language,
            args.plugins.plugin_dir.display()
        )
    })?;
    let source = read_source(&args.file)?;
    let stdin = match &args.stdin {
        Some(p) => std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?,
        None => Vec::new(),
    };
    if !args.no_validate {
        let diagnostics = plugin.validate(&source, &[]).context("validation failed")?;
        if !diagnostics.is_empty() {
            return rejected(&args, &diagnostics);
        }
    }
    let plan = plugin
        .plan(&source, &args.args, &[])
        .context("the plugin gave no plan")?;
    let sandbox = Sandbox::new(SandboxConfig::for_one_job())?;
    let outcome = if args.json {
        let o = sandbox.run_batch(&plan, &stdin).await;
        println!("{}", serde_json::to_string(&o)?);
        o
    } else {
        interactive(&sandbox, &plan, stdin).await?
    };
    Ok(exit_code(&outcome))
}

fn exit_code(o: &Outcome) -> ExitCode {
    match (o.status, o.exit_code) {
        (Status::Ok, _) => ExitCode::SUCCESS,
        (Status::RuntimeError, Some(c)) if o.message.is_none() => {
            ExitCode::from(c.clamp(1, 255) as u8)
        }
        _ => ExitCode::from(1),
    }
}

fn rejected(
    args: &RunArgs,
    diagnostics: &[codr_plugin_host::Diagnostic],
) -> anyhow::Result<ExitCode> {
    if args.json {
        let out = serde_json::json!({
            "status": Status::Rejected,
            "exit_code": null, "signal": null, "stdout": "", "stderr": "",
            "compile_output": null, "wall_time_ms": 0, "cpu_time_ms": 0, "memory_bytes": 0,
            "message": "rejected by validation",
            "diagnostics": diagnostics,
        });
        println!("{out}");
    } else {
        for d in diagnostics {
            eprintln!(
                "{}:{}:{}: {} [{}]",
                args.file.display(),
                d.line,
                d.column,
                d.message,
                d.rule
            );
        }
        eprintln!("rejected");
    }
    Ok(ExitCode::from(1))
}

fn read_source(file: &PathBuf) -> anyhow::Result<String> {
    if file.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("cannot read standard input")?;
        return Ok(s);
    }
    std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))
}

async fn interactive(
    sandbox: &Sandbox,
    plan: &codr_sandbox::Plan,
    typed_ahead: Vec<u8>,
) -> anyhow::Result<Outcome> {
    let (ev_tx, mut ev_rx) = mpsc::channel::<Event>(256);
    let (ctl_tx, ctl_rx) = mpsc::channel::<Control>(256);
    let raw = RawMode::enter();
    if !typed_ahead.is_empty() {
        let _ = ctl_tx.try_send(Control::Input(typed_ahead));
    }
    // Keystrokes: a blocking reader thread. At EOF of a non-terminal stdin,
    // the program gets ^D (EOF on the PTY); the channel stays open (closing
    // it would kill the job).
    let keys = ctl_tx.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1024];
        let mut stdin = std::io::stdin();
        loop {
            match stdin.read(&mut buf) {
                Ok(0) | Err(_) => {
                    let _ = keys.blocking_send(Control::Input(vec![4]));
                    return;
                }
                Ok(n) => {
                    if keys
                        .blocking_send(Control::Input(buf[..n].to_vec()))
                        .is_err()
                    {
                        return;
                    }
                }
            }
        }
    });
    let resizes = ctl_tx.clone();
    tokio::spawn(async move {
        let Ok(mut winch) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change())
        else {
            return;
        };
        while winch.recv().await.is_some() {
            let (rows, cols) = window_size();
            if resizes.send(Control::Resize { rows, cols }).await.is_err() {
                return;
            }
        }
    });
    let printer = tokio::spawn(async move {
        let mut out = std::io::stdout();
        while let Some(ev) = ev_rx.recv().await {
            match ev {
                Event::Output {
                    stream: Stream::Compile,
                    data,
                }
                | Event::Output {
                    stream: Stream::Stderr,
                    data,
                } => {
                    let _ = std::io::stderr().write_all(&data);
                }
                Event::Output { data, .. } => {
                    let _ = out.write_all(&data);
                    let _ = out.flush();
                }
                Event::Stage(_) | Event::InputRequired => {}
            }
        }
    });
    let outcome = sandbox
        .run_interactive_sized(plan, window_size(), ev_tx, ctl_rx)
        .await;
    drop(ctl_tx);
    let _ = printer.await;
    drop(raw);
    if outcome.status != Status::Ok {
        let detail = outcome
            .message
            .clone()
            .or(outcome.signal.clone())
            .unwrap_or_default();
        eprintln!("\r\n[codr: {} {}]", outcome.status.as_str(), detail);
    }
    Ok(outcome)
}
