//! Helpers for a plugin's native tests (plain `cargo test`, no wasm runtime):
//! build a plan request, assert what a rule set finds, and run a plan with the
//! real toolchain. Only outside wasm.
//!
//! Running a plan here skips the sandbox on purpose: it checks a plan's
//! commands and a sample's expected output, not the isolation (the host's
//! tests do that).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::{Diagnostic, Language, Plan, PlanRequest, Setting, Settings};

/// A plan request for `source` with program arguments and operator settings
/// (and no other files: set `files` on the result to add some).
pub fn request(source: &str, args: &[&str], settings: &[(&str, &str)]) -> PlanRequest {
    PlanRequest {
        files: Vec::new(),
        source: source.to_string(),
        args: args.iter().map(|a| a.to_string()).collect(),
        settings: settings
            .iter()
            .map(|(k, v)| Setting {
                key: k.to_string(),
                value: v.to_string(),
            })
            .collect(),
    }
}

/// Makes the grammar `L` ships ([`Language::grammar_wasm`]) known to the
/// native engine that answers [`crate::syntax`] in tests, under the name its
/// identity gives. The assertions below call it; call it yourself before
/// calling `L::validate` directly. Does nothing for a plugin that ships none.
#[track_caller]
pub fn load_grammar<L: Language>() {
    if let (Some(name), Some(wasm)) = (L::identity().grammar, L::grammar_wasm()) {
        if let Err(e) = crate::syntax::load_native_grammar(&name, wasm) {
            panic!("the grammar '{name}' this plugin ships does not load: {e}");
        }
    }
}

/// Asserts that `L` reports a diagnostic of `rule` starting at `line`:`column`.
#[track_caller]
pub fn assert_rejected<L: Language>(source: &str, rule: &str, line: u32, column: u32) {
    load_grammar::<L>();
    let found = L::validate(source, &Settings::default());
    assert!(
        found
            .iter()
            .any(|d| d.rule == rule && d.line == line && d.column == column),
        "expected {rule} at {line}:{column}, got {found:#?}\n--- source ---\n{source}"
    );
}

/// Asserts that `L` finds nothing in `source`.
#[track_caller]
pub fn assert_accepted<L: Language>(source: &str) {
    load_grammar::<L>();
    let found: Vec<Diagnostic> = L::validate(source, &Settings::default());
    assert!(
        found.is_empty(),
        "expected no diagnostics, got {found:#?}\n--- source ---\n{source}"
    );
}

/// A fresh directory under the system temp dir, removed on drop.
struct JobDir(PathBuf);

impl JobDir {
    fn new() -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("codr-sdk-test-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the job directory");
        JobDir(dir)
    }
}

impl Drop for JobDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// PATH and HOME of this process, LANG and TERM as the sandbox sets them.
fn base_env() -> Vec<(String, String)> {
    let mut env = vec![
        ("LANG".to_string(), "C.UTF-8".to_string()),
        ("TERM".to_string(), "xterm-256color".to_string()),
    ];
    for key in ["PATH", "HOME"] {
        if let Ok(value) = std::env::var(key) {
            env.push((key.to_string(), value));
        }
    }
    env
}

/// Every `DIR/*.EXT` program with its optional `.in` file (stdin), sorted by
/// path: `(path, source, stdin)`. For suites of accepted programs.
pub fn programs_in(dir: &std::path::Path, extension: &str) -> Vec<(PathBuf, String, String)> {
    let mut programs: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("readable dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .map(|p| {
            let source = std::fs::read_to_string(&p).expect("readable program");
            let stdin = std::fs::read_to_string(p.with_extension("in")).unwrap_or_default();
            (p, source, stdin)
        })
        .collect();
    programs.sort();
    programs
}

/// Runs `plan` the way the host would, without the sandbox: its files written
/// into a fresh directory, its compile step (which must succeed), then its run
/// step with `stdin`. Returns the run step's output.
///
/// The environment is built from scratch as the host builds it (PATH, HOME,
/// LANG, TERM and the plan's variables), except that PATH and HOME are this
/// process's: toolchains found through rustup need them.
pub fn run_plan(plan: &Plan, stdin: &str) -> Output {
    let job = JobDir::new();
    for file in &plan.files {
        std::fs::write(job.0.join(&file.path), &file.content).expect("write a plan file");
    }
    if let Some(compile) = &plan.compile {
        let out = Command::new(&compile.program)
            .args(&compile.args)
            .env_clear()
            .envs(base_env())
            .envs(compile.env.iter().map(|v| (&v.name, &v.value)))
            .current_dir(&job.0)
            .output()
            .expect("start the compiler");
        assert!(
            out.status.success(),
            "compile failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // `./main` names a file in the job directory, not in the test's cwd.
    let program = if plan.run.program.starts_with("./") {
        job.0.join(&plan.run.program).into_os_string()
    } else {
        plan.run.program.clone().into()
    };
    let mut child = Command::new(program)
        .args(&plan.run.args)
        .env_clear()
        .envs(base_env())
        .envs(plan.run.env.iter().map(|v| (&v.name, &v.value)))
        .current_dir(&job.0)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the planned program");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait for the program")
}
