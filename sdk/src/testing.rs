//! Helpers for a plugin's native tests (plain `cargo test`, no wasm runtime):
//! build a plan request, assert what a rule set finds, check every sample
//! ([`check_samples`]), and run a plan with the real toolchain
//! ([`run_plan`], [`run_samples`]). Only outside wasm.
//!
//! Running a plan here skips the sandbox on purpose: it checks a plan's
//! commands and a sample's expected output, not the isolation (the host's
//! tests do that).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::{Diagnostic, Language, Plan, PlanRequest, Sample, Setting, Settings};

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

/// Checks every sample of `L` as far as a unit test can without a
/// toolchain: there is at least one; each passes `L`'s own rules with the
/// default settings (the grammar it ships loaded first); `L` plans it; and
/// the plan is one the host accepts (every file and artifact path relative
/// and made of plain names, the source written, a program to run). Panics
/// naming the sample otherwise. Building and running the samples for real
/// is [`run_samples`] (needs the toolchain) and `codr plugin check` (the
/// sandbox).
#[track_caller]
pub fn check_samples<L: Language>() {
    load_grammar::<L>();
    let samples = L::samples();
    assert!(
        !samples.is_empty(),
        "the plugin ships no samples: `codr plugin check` would fail"
    );
    for sample in &samples {
        let found = L::validate(&sample.source, &Settings::default());
        assert!(
            found.is_empty(),
            "sample '{}' is rejected by its own rules: {found:#?}",
            sample.name
        );
        let plan = plan_sample::<L>(sample);
        if let Err(why) = check_plan(&plan, &sample.source) {
            panic!("sample '{}': {why}\n{plan:#?}", sample.name);
        }
    }
}

/// Builds and runs every sample of `L` with the real toolchain, as
/// [`run_plan`] does (outside the sandbox), and compares standard output
/// exactly. Needs the language's compiler or interpreter on this machine,
/// nothing else (no network).
#[track_caller]
pub fn run_samples<L: Language>() {
    for sample in L::samples() {
        let out = run_plan(&plan_sample::<L>(&sample), &sample.stdin);
        assert!(out.status.success(), "{}: {out:?}", sample.name);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            sample.expected_stdout,
            "sample '{}' printed something else",
            sample.name
        );
    }
}

/// `L`'s plan of `request`, with the settings the request carries (as the
/// host passes them to `plan`).
pub fn plan<L: Language>(request: &PlanRequest) -> Result<Plan, String> {
    L::plan(request, &Settings::from(request))
}

/// `L`'s plan of `sample`, as the host asks for it (no arguments, no
/// settings).
#[track_caller]
fn plan_sample<L: Language>(sample: &Sample) -> Plan {
    plan::<L>(&request(&sample.source, &[], &[]))
        .unwrap_or_else(|e| panic!("sample '{}' is not planned: {e}", sample.name))
}

/// The host's checks of a plan (its one path rule, `codr_job::RelPath`),
/// and that the plan writes `source` somewhere.
fn check_plan(plan: &Plan, source: &str) -> Result<(), String> {
    let paths = plan.files.iter().map(|f| &f.path).chain(&plan.artifacts);
    for path in paths {
        let plain = |part: &str| !part.is_empty() && part != "." && part != "..";
        let ok = !path.starts_with('/')
            && path.len() <= 1024
            && !path.contains(['\\', '\0'])
            && path.split('/').all(plain);
        if !ok {
            return Err(format!("the host refuses the path {path:?}"));
        }
    }
    if !plan.files.iter().any(|f| f.content == source) {
        return Err("no file of the plan holds the source".into());
    }
    let steps = plan.compile.iter().chain([&plan.run]);
    if let Some(step) = steps.into_iter().find(|s| s.program.is_empty()) {
        return Err(format!("a step has no program: {step:?}"));
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{self, RuleSet};
    use crate::{Identity, Sample, Step};

    /// A plugin that declares only its rule set, plan and samples.
    struct Tiny;

    impl Language for Tiny {
        fn identity() -> Identity {
            Identity::new("tiny", "1", "py").grammar(Some("python"))
        }
        fn rule_set() -> RuleSet {
            RuleSet::new("python").rule(rules::blocked_imports("python", &["os"]))
        }
        fn plan(request: &PlanRequest, settings: &Settings) -> Result<Plan, String> {
            let run = Step::run(settings, "python3", &["main.py"]);
            Ok(Plan::new(request, "main.py", run))
        }
        fn samples() -> Vec<Sample> {
            vec![Sample::new("hello", "print('hi')\n", "hi\n")]
        }
    }

    /// Its sample imports a blocked module.
    struct Rejects;

    impl Language for Rejects {
        fn identity() -> Identity {
            Tiny::identity()
        }
        fn rule_set() -> RuleSet {
            Tiny::rule_set()
        }
        fn plan(request: &PlanRequest, settings: &Settings) -> Result<Plan, String> {
            Tiny::plan(request, settings)
        }
        fn samples() -> Vec<Sample> {
            vec![Sample::new("shell", "import os\n", "")]
        }
    }

    /// Its plan writes outside the job directory.
    struct Escapes;

    impl Language for Escapes {
        fn identity() -> Identity {
            Tiny::identity()
        }
        fn plan(request: &PlanRequest, _settings: &Settings) -> Result<Plan, String> {
            Ok(Plan::new(request, "../main.py", Step::new("python3")))
        }
        fn samples() -> Vec<Sample> {
            Tiny::samples()
        }
    }

    #[test]
    fn rules_and_validate_default_to_the_rule_set() {
        let ids: Vec<String> = Tiny::rules().into_iter().map(|r| r.id).collect();
        assert_eq!(ids, ["blocked-import"]);
        let found = Tiny::validate("import os\n", &Settings::default());
        assert_eq!(found[0].message, "import of module 'os' is not allowed");
        // No rule set: nothing listed, everything accepted.
        assert!(Escapes::rules().is_empty());
        assert!(Escapes::validate("import os\n", &Settings::default()).is_empty());
    }

    #[test]
    fn check_samples_passes_a_sound_plugin() {
        check_samples::<Tiny>();
    }

    #[test]
    #[should_panic(expected = "sample 'shell' is rejected by its own rules")]
    fn check_samples_fails_a_sample_its_rules_reject() {
        check_samples::<Rejects>();
    }

    #[test]
    #[should_panic(expected = "the host refuses the path \"../main.py\"")]
    fn check_samples_fails_a_plan_the_host_refuses() {
        check_samples::<Escapes>();
    }
}
