//! codr language plugin: Python 3 (CPython, `/usr/bin/python3`).
//!
//! Validation is a courtesy that rejects the obvious ways out of a plain
//! program (process, file-system and interpreter internals) with a message a
//! learner understands; the sandbox is the real defence. See [`rules`].
//!
//! Operator settings:
//! - `allow-modules`: comma-separated modules to allow despite the rules
//!   (for example `sys`).
//! - `disable-rules`: comma-separated rule ids to skip.
//! - `run-program`: replaces `/usr/bin/python3`.
//! - `run-args`: space-separated arguments replacing `-u main.py` (the
//!   operator's list must name `main.py` itself).

pub mod rules;

use codr_sdk::{
    Diagnostic, EnvVar, Identity, Language, Limits, Plan, PlanRequest, RuleInfo, Sample, Settings,
    SourceFile, Step,
};

/// The file the source is written to, relative to the job directory.
pub const MAIN_FILE: &str = "main.py";
/// The interpreter run by default (Debian 12's CPython 3.11).
pub const DEFAULT_PROGRAM: &str = "/usr/bin/python3";
/// Default interpreter arguments before the user's own: unbuffered output so
/// prompts appear before `input()` waits.
pub const DEFAULT_ARGS: &[&str] = &["-u", MAIN_FILE];

/// The Python plugin.
pub struct Python;

impl Language for Python {
    fn identity() -> Identity {
        Identity {
            name: "python".into(),
            version: "3.11".into(),
            aliases: ["py", "python3", "py3"].map(String::from).to_vec(),
            extension: "py".into(),
            editor_mode: "python".into(),
            grammar: Some("python".into()),
        }
    }

    fn rules() -> Vec<RuleInfo> {
        rules::rule_set().infos()
    }

    fn validate(source: &str, settings: &Settings) -> Vec<Diagnostic> {
        rules::rule_set().validate(source, settings)
    }

    fn plan(request: &PlanRequest) -> Result<Plan, String> {
        let settings = Settings::new(request.settings.clone());
        let program = settings.get("run-program").unwrap_or(DEFAULT_PROGRAM);
        let mut args: Vec<String> = match settings.get("run-args") {
            Some(custom) => custom.split_whitespace().map(String::from).collect(),
            None => DEFAULT_ARGS.iter().map(|a| a.to_string()).collect(),
        };
        args.extend(request.args.iter().cloned());
        Ok(Plan {
            files: vec![SourceFile {
                path: MAIN_FILE.into(),
                content: request.source.clone(),
                executable: false,
            }],
            compile: None,
            run: Step {
                program: program.to_string(),
                args,
                env: env(&[
                    ("PYTHONDONTWRITEBYTECODE", "1"),
                    ("PYTHONUNBUFFERED", "1"),
                    ("PYTHONIOENCODING", "utf-8"),
                ]),
                limits: no_limit_changes(),
            },
            artifacts: Vec::new(),
        })
    }

    fn samples() -> Vec<Sample> {
        vec![
            Sample {
                name: "hello-world".into(),
                source: "print(\"Hello, World!\")\n".into(),
                stdin: String::new(),
                expected_stdout: "Hello, World!\n".into(),
            },
            Sample {
                name: "echo-upper".into(),
                source: "name = input()\nprint(f\"Hello, {name.strip().upper()}!\")\n".into(),
                stdin: "codr\n".into(),
                expected_stdout: "Hello, CODR!\n".into(),
            },
        ]
    }
}

fn env(pairs: &[(&str, &str)]) -> Vec<EnvVar> {
    pairs
        .iter()
        .map(|(name, value)| EnvVar {
            name: (*name).into(),
            value: (*value).into(),
        })
        .collect()
}

/// CPython fits the deployment's defaults: nothing to adjust.
fn no_limit_changes() -> Limits {
    Limits {
        wall_time_ms: None,
        cpu_time_ms: None,
        memory_bytes: None,
        processes: None,
        file_size_bytes: None,
        output_bytes: None,
        address_space_bytes: None,
    }
}

codr_sdk::register!(Python);
