//! `codr languages`: list the languages the plugins in a folder provide.
use std::process::ExitCode;

use codr_plugin_host::{LanguageInfo, LoadReport, Registry};

/// Arguments of `codr languages`.
#[derive(Debug, clap::Args)]
pub struct LanguagesArgs {
    /// Where the language plugins are.
    #[command(flatten)]
    pub plugins: super::PluginArgs,
    /// Print a JSON array instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Runs `codr languages`: a table (or JSON array) on stdout, load problems as
/// warnings on stderr. Exit 2 when the folder cannot be read.
pub async fn run(args: LanguagesArgs) -> anyhow::Result<ExitCode> {
    let (_registry, report) = load_registry(&args.plugins)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report.loaded)?);
    } else {
        print!("{}", table(&report.loaded));
    }
    Ok(ExitCode::SUCCESS)
}

/// Loads the plugin folder; prints load errors and warnings to stderr. Fails
/// (exit 2 from `main`) only when the folder itself cannot be read.
pub(crate) fn load_registry(plugins: &super::PluginArgs) -> anyhow::Result<(Registry, LoadReport)> {
    let registry = Registry::new(crate::languages::registry_config())?;
    let dir = &plugins.plugin_dir;
    if !dir.is_dir() {
        anyhow::bail!(
            "plugin folder {} does not exist (build the plugins with `make build`, or pass --plugins DIR)",
            dir.display()
        );
    }
    let report = registry.load_dir(dir);
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    for error in &report.errors {
        eprintln!("warning: {}", error.message);
    }
    Ok((registry, report))
}

/// A plain-text table, one language a line.
fn table(languages: &[LanguageInfo]) -> String {
    let mut rows = vec![[
        "NAME".to_string(),
        "VERSION".to_string(),
        "EXTENSION".to_string(),
        "EDITOR".to_string(),
        "ALIASES".to_string(),
    ]];
    rows.extend(languages.iter().map(|l| {
        [
            l.name.clone(),
            l.version.clone(),
            l.extension.clone(),
            l.editor_mode.clone(),
            l.aliases.join(", "),
        ]
    }));
    let widths: Vec<usize> = (0..5)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}
