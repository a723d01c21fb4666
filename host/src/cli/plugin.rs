//! `codr plugin`: check a language plugin, or scaffold a new one.
//!
//! `codr plugin check FILE.wasm` loads the plugin as the service would (its
//! contract version checked, its settings file beside it read), prints who
//! it is and its rules, then runs its samples through the real sandbox and
//! compares their standard output with the expected one. Exit 0 when
//! everything passed, 1 otherwise.
//!
//! `codr plugin new NAME` writes a plugin crate from the SDK's template
//! (`sdk/template`): a working plugin that builds for `wasm32-wasip2` outside
//! any workspace and passes `codr plugin check` as generated.
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use codr_plugin_host::{Plugin, Registry, Sample};
use codr_sandbox::{Sandbox, SandboxConfig, Status};

/// Arguments of `codr plugin`.
#[derive(Debug, clap::Args)]
pub struct PluginCmdArgs {
    /// Which plugin command.
    #[command(subcommand)]
    pub command: PluginCommand,
}

/// The `codr plugin` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum PluginCommand {
    /// Load a plugin, check its contract version, print its identity and
    /// rules, and run its samples in the sandbox (exit 0: all passed, 1: not).
    Check(CheckArgs),
    /// Scaffold a plugin crate from the SDK's template; it builds and passes
    /// `codr plugin check` as generated.
    New(NewArgs),
}

/// Arguments of `codr plugin check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The plugin file (a `.wasm` component). Settings are read from the
    /// `.toml` of the same name beside it, as the service does.
    pub file: PathBuf,
    /// Load and describe only; do not run the samples in the sandbox.
    #[arg(long)]
    pub no_run: bool,
}

/// Arguments of `codr plugin new`.
#[derive(Debug, clap::Args)]
pub struct NewArgs {
    /// The language's name: lowercase ASCII letters, digits and `-`,
    /// starting with a letter (`mylang`).
    pub name: String,
    /// The crate's folder (default: `./codr-plugin-NAME`); must not exist or be empty.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// The codr SDK to depend on (default: the `sdk/` of the checkout this
    /// `codr` was built from).
    #[arg(long)]
    pub sdk: Option<PathBuf>,
}

/// Runs `codr plugin ...`.
pub async fn run(args: PluginCmdArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        PluginCommand::Check(args) => check(args).await,
        PluginCommand::New(args) => new(args),
    }
}

// ---------------------------------------------------------------- check

async fn check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let registry = Registry::new(crate::languages::registry_config())?;
    let file = args.file.clone();
    println!("plugin   {}", file.display());
    let plugin = match tokio::task::spawn_blocking(move || registry.load_plugin(&file)).await? {
        Ok((plugin, _)) => plugin,
        Err(e) => {
            println!("FAIL     not loaded: {}", one_line(&e.to_string()));
            return Ok(ExitCode::from(1));
        }
    };
    describe(&plugin);
    let mut failures = 0;
    match plugin.rules() {
        Ok(rules) => print_rules(&rules),
        Err(e) => {
            println!("FAIL     rules(): {e}");
            failures += 1;
        }
    }
    let samples = match plugin.samples() {
        Ok(samples) => samples,
        Err(e) => {
            println!("FAIL     samples(): {e}");
            return Ok(ExitCode::from(1));
        }
    };
    if args.no_run {
        println!("samples  {} (not run: --no-run)", samples.len());
    } else {
        failures += run_samples(&plugin, &samples).await?;
    }
    Ok(verdict(failures))
}

fn describe(plugin: &Plugin) {
    let id = plugin.identity();
    println!(
        "contract codr:plugin@{} (this host supports {})",
        plugin.contract_version(),
        codr_plugin_host::supported_range()
    );
    println!("name     {}", id.name);
    println!("version  {}", id.version);
    println!("aliases  {}", none_if_empty(&id.aliases.join(", ")));
    println!("ext      .{}", id.extension);
    println!("editor   {}", id.editor_mode);
    println!(
        "grammar  {}",
        id.grammar
            .as_deref()
            .unwrap_or("(none: the plugin checks sources itself)")
    );
    println!("sha256   {}", plugin.hash());
    let settings: Vec<String> = plugin
        .settings()
        .iter()
        .map(|(k, v)| format!("{k} = {v:?}"))
        .collect();
    println!("settings {}", none_if_empty(&settings.join(", ")));
}

fn none_if_empty(s: &str) -> &str {
    if s.is_empty() {
        "(none)"
    } else {
        s
    }
}

fn print_rules(rules: &[codr_plugin_host::RuleInfo]) {
    println!("rules    {}", rules.len());
    let width = rules.iter().map(|r| r.id.len()).max().unwrap_or(0);
    for rule in rules {
        println!("  {:<width$}  {}", rule.id, rule.description);
    }
}

/// Runs every sample; returns how many failed.
async fn run_samples(plugin: &Plugin, samples: &[Sample]) -> anyhow::Result<usize> {
    if samples.is_empty() {
        println!(
            "FAIL     the plugin ships no samples: nothing to self-test (add some to samples())"
        );
        return Ok(1);
    }
    let sandbox = match Sandbox::new(SandboxConfig::for_one_job()) {
        Ok(sandbox) => sandbox,
        Err(e) => {
            println!("FAIL     the sandbox is not usable here: {e} (see `codr doctor`; --no-run skips the samples)");
            return Ok(1);
        }
    };
    println!("samples  {}", samples.len());
    let mut failed = 0;
    for sample in samples {
        match run_sample(plugin, &sandbox, sample).await {
            Ok(ms) => println!("  ok    {} ({ms} ms)", sample.name),
            Err(why) => {
                failed += 1;
                println!("  FAIL  {}: {why}", sample.name);
            }
        }
    }
    Ok(failed)
}

/// Validates, plans and runs one sample; `Ok` is its wall time in ms.
async fn run_sample(plugin: &Plugin, sandbox: &Sandbox, sample: &Sample) -> Result<u64, String> {
    let diagnostics = plugin
        .validate(&sample.source, &[])
        .map_err(|e| format!("validate(): {e}"))?;
    if let Some(d) = diagnostics.first() {
        return Err(format!(
            "rejected by its own rules: {} [{}] at {}:{}",
            d.message, d.rule, d.line, d.column
        ));
    }
    let plan = plugin
        .plan(&sample.source, &[], &[])
        .map_err(|e| format!("plan(): {e}"))?;
    let outcome = sandbox.run_batch(&plan, sample.stdin.as_bytes()).await;
    if outcome.status != Status::Ok {
        let detail = outcome
            .compile_output
            .clone()
            .filter(|c| !c.trim().is_empty())
            .or(outcome.message.clone())
            .unwrap_or_else(|| outcome.stderr.clone());
        return Err(format!(
            "ended {} (exit {:?}): {}",
            outcome.status.as_str(),
            outcome.exit_code,
            first_lines(detail.trim(), 6)
        ));
    }
    if outcome.stdout != sample.expected_stdout {
        return Err(format!(
            "stdout differs\n        expected {:?}\n        got      {:?}",
            sample.expected_stdout, outcome.stdout
        ));
    }
    Ok(outcome.wall_time_ms)
}

/// Multi-line messages (wasmtime's) on one line.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The first `n` lines of `s`, and how many were left out.
fn first_lines(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    if lines.len() <= n {
        return s.to_string();
    }
    format!(
        "{}\n        ... ({} more lines)",
        lines[..n].join("\n        "),
        lines.len() - n
    )
}

fn verdict(failures: usize) -> ExitCode {
    if failures == 0 {
        println!("PASS");
        ExitCode::SUCCESS
    } else {
        println!("FAIL     {failures} problem(s)");
        ExitCode::from(1)
    }
}

// ---------------------------------------------------------------- new

/// The template, compiled in so `codr plugin new` works from any folder.
const TEMPLATE: &[(&str, &str)] = &[
    (
        "Cargo.toml",
        include_str!("../../../sdk/template/Cargo.toml.tmpl"),
    ),
    (
        "src/lib.rs",
        include_str!("../../../sdk/template/src/lib.rs.tmpl"),
    ),
    (
        "README.md",
        include_str!("../../../sdk/template/README.md.tmpl"),
    ),
    (
        ".gitignore",
        include_str!("../../../sdk/template/gitignore.tmpl"),
    ),
];

/// The SDK of the checkout this binary was built from.
fn default_sdk() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk")
}

fn new(args: NewArgs) -> anyhow::Result<ExitCode> {
    check_name(&args.name)?;
    let crate_name = format!("codr-plugin-{}", args.name);
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(&crate_name));
    let sdk = args.sdk.clone().unwrap_or_else(default_sdk);
    let sdk = sdk.canonicalize().with_context(|| {
        format!(
            "the codr SDK is not at {} (pass --sdk PATH to the sdk/ folder of a codr checkout)",
            sdk.display()
        )
    })?;
    anyhow::ensure!(
        sdk.join("Cargo.toml").is_file(),
        "{} is not the codr SDK (no Cargo.toml); pass --sdk PATH",
        sdk.display()
    );
    ensure_empty(&dir)?;
    let lib = crate_name.replace('-', "_");
    let fill = |text: &str| {
        text.replace("{{name}}", &args.name)
            .replace("{{crate}}", &crate_name)
            .replace("{{lib}}", &lib)
            .replace("{{sdk_path}}", &toml_escape(&sdk.to_string_lossy()))
    };
    for (path, text) in TEMPLATE {
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&target, fill(text))
            .with_context(|| format!("cannot write {}", target.display()))?;
    }
    copy_lockfile(&sdk, &dir);
    println!(
        "created {} ({crate_name}, language {:?})",
        dir.display(),
        args.name
    );
    println!("next:");
    println!("  cd {}", dir.display());
    println!("  cargo test");
    println!("  cargo build --profile plugin --target wasm32-wasip2");
    println!("  codr plugin check target/wasm32-wasip2/plugin/{lib}.wasm");
    println!(
        "  cp target/wasm32-wasip2/plugin/{lib}.wasm <plugin folder>/{}.wasm",
        args.name
    );
    Ok(ExitCode::SUCCESS)
}

/// Lowercase ASCII letters, digits and `-`, starting with a letter.
fn check_name(name: &str) -> anyhow::Result<()> {
    let ok = name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    anyhow::ensure!(
        ok,
        "invalid plugin name {name:?}: use lowercase ASCII letters, digits and '-', starting with a letter"
    );
    Ok(())
}

fn ensure_empty(dir: &Path) -> anyhow::Result<()> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => anyhow::ensure!(
            entries.next().is_none(),
            "{} already exists and is not empty",
            dir.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => anyhow::bail!("cannot use {}: {e}", dir.display()),
    }
    Ok(())
}

/// Starts the new crate from the workspace's lock file when there is one,
/// so it builds with the dependency versions codr is tested with (and
/// from the local registry cache) instead of whatever is newest.
fn copy_lockfile(sdk: &Path, dir: &Path) {
    let lock = sdk.join("../Cargo.lock");
    if lock.is_file() {
        let _ = std::fs::copy(&lock, dir.join("Cargo.lock"));
    }
}

fn toml_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_names_are_checked() {
        for good in ["mylang", "lua54", "python-lite"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in ["", "MyLang", "1lang", "my_lang", "lang-", "my lang", "../x"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_template_fills_every_placeholder() {
        for (path, text) in TEMPLATE {
            let filled = text
                .replace("{{name}}", "x")
                .replace("{{crate}}", "x")
                .replace("{{lib}}", "x")
                .replace("{{sdk_path}}", "x");
            assert!(!filled.contains("{{"), "{path} has an unknown placeholder");
        }
    }
}
