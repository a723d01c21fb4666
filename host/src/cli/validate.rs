//! `codr validate`: check a source file against a language's rules.
//!
//! Exit 0 when acceptable, 1 when rejected, 2 for a usage error, an unknown
//! language, an unreadable file or a failing plugin (each with one line on
//! stderr, printed by `main` from the returned error).
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use codr_plugin_host::Diagnostic;

/// Arguments of `codr validate`.
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// Where the language plugins are.
    #[command(flatten)]
    pub plugins: super::PluginArgs,
    /// Language name or alias (`codr languages` lists them).
    #[arg(long, short = 'l')]
    pub language: String,
    /// Print `{"ok": bool, "diagnostics": [...]}` instead of text lines.
    #[arg(long)]
    pub json: bool,
    /// A plugin setting, `KEY=VALUE` (repeatable), as an operator would set it.
    #[arg(long = "setting", value_name = "KEY=VALUE", value_parser = parse_setting)]
    pub settings: Vec<(String, String)>,
    /// The source file, or `-` for standard input.
    pub file: PathBuf,
}

/// Runs `codr validate`.
pub async fn run(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    let (registry, _report) = super::languages::load_registry(&args.plugins)?;
    let Some(plugin) = registry.get(&args.language) else {
        let known: Vec<String> = registry
            .list()
            .iter()
            .map(|p| p.name().to_string())
            .collect();
        let known = if known.is_empty() {
            format!("none loaded from {}", args.plugins.plugin_dir.display())
        } else {
            known.join(", ")
        };
        anyhow::bail!(
            "unknown language {:?}; known languages: {known}",
            args.language
        );
    };
    let (display_name, source) = read_source(&args.file)?;
    let diagnostics = plugin
        .validate(&source, &args.settings)
        .with_context(|| format!("{} plugin failed on {display_name}", plugin.name()))?;
    if args.json {
        let out = serde_json::json!({
            "ok": diagnostics.is_empty(),
            "language": plugin.name(),
            "diagnostics": diagnostics,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print!("{}", text_lines(&display_name, &diagnostics));
    }
    Ok(if diagnostics.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The file's name for messages and its content.
fn read_source(file: &PathBuf) -> anyhow::Result<(String, String)> {
    if file.as_os_str() == "-" {
        let mut source = String::new();
        std::io::stdin()
            .read_to_string(&mut source)
            .context("cannot read standard input")?;
        return Ok(("<stdin>".to_string(), source));
    }
    let name = file.display().to_string();
    let source = std::fs::read_to_string(file).with_context(|| format!("cannot read {name}"))?;
    Ok((name, source))
}

/// `file:line:col: rule-id: message`, one line per diagnostic.
fn text_lines(file: &str, diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(|d| {
            format!(
                "{file}:{}:{}: {}: {}\n",
                d.line, d.column, d.rule, d.message
            )
        })
        .collect()
}

fn parse_setting(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("expected KEY=VALUE, got {text:?}"))?;
    Ok((key.trim().to_string(), value.to_string()))
}
