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

use codr_sdk::rules::RuleSet;
use codr_sdk::{Identity, Language, Plan, PlanRequest, Sample, Settings, Step};

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
        Identity::new("python", "3.11", "py").aliases(&["py", "python3", "py3"])
    }

    fn rule_set() -> RuleSet {
        rules::rule_set()
    }

    fn plan(request: &PlanRequest, settings: &Settings) -> Result<Plan, String> {
        // CPython fits the deployment's default limits: nothing to adjust.
        let run = Step::run(settings, DEFAULT_PROGRAM, DEFAULT_ARGS)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("PYTHONUNBUFFERED", "1")
            .env("PYTHONIOENCODING", "utf-8");
        Ok(Plan::new(request, MAIN_FILE, run))
    }

    fn samples() -> Vec<Sample> {
        vec![
            Sample::new(
                "hello-world",
                "print(\"Hello, World!\")\n",
                "Hello, World!\n",
            ),
            Sample::new(
                "echo-upper",
                "name = input()\nprint(f\"Hello, {name.strip().upper()}!\")\n",
                "Hello, CODR!\n",
            )
            .stdin("codr\n"),
        ]
    }
}

codr_sdk::register!(Python);
