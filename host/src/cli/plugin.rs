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
//! any workspace and passes `codr plugin check` as generated. With
//! `--grammar FILE.wasm` the plugin is built around that tree-sitter grammar
//! instead: the file copied into its `grammar/` folder, shipped with
//! `grammar_wasm()` and named in the identity as the file names itself (its
//! `tree_sitter_<name>` export).
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
    /// A tree-sitter grammar compiled to WebAssembly (`tree-sitter-LANG.wasm`,
    /// from the grammar's npm package or `tree-sitter build --wasm`): the
    /// plugin ships it and its rules query it.
    #[arg(long, value_name = "FILE.wasm")]
    pub grammar: Option<PathBuf>,
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
        "README.md",
        include_str!("../../../sdk/template/README.md.tmpl"),
    ),
    (
        ".gitignore",
        include_str!("../../../sdk/template/gitignore.tmpl"),
    ),
];

/// The plugin's code: a Python-flavoured plugin on the host's python
/// grammar, or (`--grammar`) one built around a shipped grammar.
const LIB: &str = include_str!("../../../sdk/template/src/lib.rs.tmpl");
/// See [`LIB`].
const GRAMMAR_LIB: &str = include_str!("../../../sdk/template/src/grammar_lib.rs.tmpl");
/// `grammar/SOURCE.md` beside a copied grammar.
const GRAMMAR_SOURCE: &str = include_str!("../../../sdk/template/grammar/SOURCE.md.tmpl");

/// What the scaffold says about itself, by kind (the README's first lines).
const PYTHON_SUMMARY: &str =
    "As generated it runs programs with `/usr/bin/python3` and applies a few
Python rules (on the host's python grammar)";
/// See [`PYTHON_SUMMARY`].
const GRAMMAR_SUMMARY: &str = "It ships the tree-sitter grammar `{{grammar}}`
(`grammar/{{grammar_file}}`); as generated its only rule refuses code that
grammar cannot parse and its plan prints the program back (`cat`)";

/// A shipped grammar as `codr plugin new --grammar` uses it.
struct Grammar {
    /// The name it was built as (its `tree_sitter_<name>` export).
    name: String,
    /// Its file name inside the crate's `grammar/` folder.
    file: String,
    /// The file it was copied from.
    from: PathBuf,
    bytes: Vec<u8>,
}

impl Grammar {
    fn read(path: &Path) -> anyhow::Result<Self> {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let name = grammar_name(&bytes).with_context(|| {
            format!(
                "{} is not a tree-sitter grammar compiled to WebAssembly",
                path.display()
            )
        })?;
        anyhow::ensure!(
            !codr_syntax::grammars().contains(&name.as_str()),
            "the grammar '{name}' is built into the host: a plugin names it in its identity \
             (`.grammar(Some(\"{name}\"))`) and does not ship it (run `codr plugin new` without --grammar)"
        );
        Ok(Self {
            file: format!("tree-sitter-{name}.wasm"),
            name,
            from: path.canonicalize().unwrap_or_else(|_| path.to_path_buf()),
            bytes,
        })
    }
}

/// The name a tree-sitter grammar compiled to WebAssembly was built as: the
/// `<name>` of its one `tree_sitter_<name>` function export (external
/// scanners add `tree_sitter_<name>_external_scanner_*` ones).
fn grammar_name(wasm: &[u8]) -> anyhow::Result<String> {
    let names: Vec<String> = wasm_exports(wasm)?
        .into_iter()
        .filter_map(|e| e.strip_prefix("tree_sitter_").map(str::to_string))
        .filter(|n| !n.contains("_external_scanner_"))
        .collect();
    match names.as_slice() {
        [name] if check_grammar_name(name) => Ok(name.clone()),
        [name] => anyhow::bail!("its grammar name {name:?} is not a plain identifier"),
        [] => anyhow::bail!("it exports no tree_sitter_<name> function"),
        _ => anyhow::bail!("it exports several grammars: {}", names.join(", ")),
    }
}

/// Lowercase ASCII letters, digits and `_` (C identifiers as grammars use them).
fn check_grammar_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The export names of a core WebAssembly module (the export section, id 7).
fn wasm_exports(wasm: &[u8]) -> anyhow::Result<Vec<String>> {
    anyhow::ensure!(
        wasm.starts_with(b"\0asm\x01\0\0\0"),
        "not a WebAssembly module (a component or another file)"
    );
    let mut r = Reader(&wasm[8..]);
    let mut names = Vec::new();
    while !r.0.is_empty() {
        let id = r.byte()?;
        let size = r.leb()? as usize;
        let mut section = Reader(r.take(size)?);
        if id != 7 {
            continue;
        }
        for _ in 0..section.leb()? {
            let len = section.leb()? as usize;
            names.push(String::from_utf8_lossy(section.take(len)?).into_owned());
            section.byte()?; // kind
            section.leb()?; // index
        }
    }
    Ok(names)
}

/// A cursor over WebAssembly bytes.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> anyhow::Result<&'a [u8]> {
        anyhow::ensure!(n <= self.0.len(), "truncated WebAssembly");
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn byte(&mut self) -> anyhow::Result<u8> {
        Ok(self.take(1)?[0])
    }

    /// An unsigned LEB128 number of at most 32 bits.
    fn leb(&mut self) -> anyhow::Result<u32> {
        let mut value = 0u32;
        for shift in (0..35).step_by(7) {
            let b = self.byte()?;
            value |= u32::from(b & 0x7f).checked_shl(shift).unwrap_or(0);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        anyhow::bail!("malformed WebAssembly number")
    }
}

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
    let grammar = args.grammar.as_deref().map(Grammar::read).transpose()?;
    ensure_empty(&dir)?;
    let lib = crate_name.replace('-', "_");
    let (summary, host_grammars) = match &grammar {
        Some(_) => (GRAMMAR_SUMMARY, ""),
        None => (PYTHON_SUMMARY, "\"python\""),
    };
    let (grammar_name, grammar_file, grammar_from) = match &grammar {
        Some(g) => (g.name.as_str(), g.file.as_str(), g.from.to_string_lossy()),
        None => ("", "", "".into()),
    };
    let fill = |text: &str| {
        text.replace("{{summary}}", summary)
            .replace("{{host_grammars}}", host_grammars)
            .replace("{{name}}", &args.name)
            .replace("{{crate}}", &crate_name)
            .replace("{{lib}}", &lib)
            .replace("{{sdk_path}}", &toml_escape(&sdk.to_string_lossy()))
            .replace("{{grammar}}", grammar_name)
            .replace("{{grammar_file}}", grammar_file)
            .replace("{{grammar_from}}", &grammar_from)
    };
    let lib_rs = if grammar.is_some() { GRAMMAR_LIB } else { LIB };
    let mut files: Vec<(&str, &str)> = TEMPLATE.to_vec();
    files.push(("src/lib.rs", lib_rs));
    let grammar_doc = grammar.as_ref().map(|g| format!("grammar/{}", g.file));
    if grammar.is_some() {
        files.push(("grammar/SOURCE.md", GRAMMAR_SOURCE));
    }
    for (path, text) in files {
        write_file(&dir.join(path), fill(text).as_bytes())?;
    }
    if let (Some(g), Some(path)) = (&grammar, &grammar_doc) {
        write_file(&dir.join(path), &g.bytes)?;
    }
    copy_lockfile(&sdk, &dir);
    println!(
        "created {} ({crate_name}, language {:?})",
        dir.display(),
        args.name
    );
    if let (Some(g), Some(path)) = (&grammar, &grammar_doc) {
        println!(
            "grammar {:?} shipped as {path} (from {})",
            g.name,
            g.from.display()
        );
    }
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

/// Writes `bytes` to `path`, creating its folder.
fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
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
        let extra = [
            ("src/lib.rs", LIB),
            ("src/lib.rs", GRAMMAR_LIB),
            ("grammar/SOURCE.md", GRAMMAR_SOURCE),
        ];
        for (path, text) in TEMPLATE.iter().chain(&extra) {
            let filled = text
                .replace("{{summary}}", GRAMMAR_SUMMARY)
                .replace("{{host_grammars}}", "x")
                .replace("{{name}}", "x")
                .replace("{{crate}}", "x")
                .replace("{{lib}}", "x")
                .replace("{{sdk_path}}", "x")
                .replace("{{grammar}}", "x")
                .replace("{{grammar_file}}", "x")
                .replace("{{grammar_from}}", "x");
            assert!(!filled.contains("{{"), "{path} has an unknown placeholder");
        }
    }

    /// A module exporting `names` as functions (hand-assembled: type
    /// section, function section, export section, code section).
    fn module_exporting(names: &[&str]) -> Vec<u8> {
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        wasm.extend([1, 4, 1, 0x60, 0, 0]); // one type: [] -> []
        wasm.extend([3, 2, 1, 0]); // one function of type 0
        let mut exports = vec![names.len() as u8];
        for name in names {
            exports.push(name.len() as u8);
            exports.extend(name.as_bytes());
            exports.extend([0, 0]); // function 0
        }
        wasm.push(7);
        wasm.push(exports.len() as u8);
        wasm.extend(exports);
        wasm.extend([10, 4, 1, 2, 0, 0x0b]); // its body: end
        wasm
    }

    #[test]
    fn a_grammar_is_named_by_its_export() {
        let go = module_exporting(&[
            "tree_sitter_go",
            "tree_sitter_go_external_scanner_create",
            "malloc",
        ]);
        assert_eq!(grammar_name(&go).unwrap(), "go");
        let none = module_exporting(&["malloc"]);
        assert!(grammar_name(&none).is_err());
        let two = module_exporting(&["tree_sitter_a", "tree_sitter_b"]);
        assert!(grammar_name(&two).unwrap_err().to_string().contains("a, b"));
        assert!(grammar_name(b"\0asm\x0d\0\x01\0").is_err(), "a component");
        assert!(
            grammar_name(b"\0asm\x01\0\0\0\x07\x05\x01").is_err(),
            "truncated"
        );
    }

    #[test]
    fn a_grammar_built_into_the_host_is_not_shipped() {
        let file = std::env::temp_dir().join(format!("codr-{}-python.wasm", std::process::id()));
        std::fs::write(&file, module_exporting(&["tree_sitter_python"])).unwrap();
        let refused = Grammar::read(&file).err().map(|e| e.to_string());
        let _ = std::fs::remove_file(&file);
        let refused = refused.expect("refused");
        assert!(refused.contains("built into the host"), "{refused}");
    }

    #[test]
    fn the_shipped_go_grammar_is_named_go() {
        let file =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/go/grammar/tree-sitter-go.wasm");
        let grammar = Grammar::read(&file).unwrap();
        assert_eq!(grammar.name, "go");
        assert_eq!(grammar.file, "tree-sitter-go.wasm");
    }
}
