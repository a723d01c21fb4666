//! codr language plugin: JavaScript on Node.js.
//!
//! Validation is a courtesy that rejects the obvious ways out of a plain
//! program (modules with process, file-system or network access, code built
//! from strings, `process` internals, prototype tricks) with a message a
//! learner understands; see [`rules`]. The sandbox is the real defence, and
//! the default command adds Node's own guards: code generation from strings
//! is disabled, `__proto__` is deleted, and the permission model denies the
//! file system (except the job directory), child processes and workers.
//!
//! Operator settings:
//! - `allow-modules`: comma-separated modules to allow despite the rules
//!   (for example `os`); `node:` prefixes and sub-paths follow the module.
//! - `disable-rules`: comma-separated rule ids to skip.
//! - `run-program`: replaces `node`.
//! - `run-args`: space-separated arguments replacing [`DEFAULT_ARGS`] (the
//!   operator's list must name `main.js` itself).

pub mod rules;

use codr_sdk::{
    Diagnostic, Identity, Language, Limits, Plan, PlanRequest, RuleInfo, Sample, Settings, Step,
};

/// The file the source is written to, relative to the job directory.
pub const MAIN_FILE: &str = "main.js";
/// The runtime, looked up in the sandbox's PATH (`/usr/bin/node` here).
pub const DEFAULT_PROGRAM: &str = "node";
/// Default arguments before the user's own.
///
/// The old-space cap (192 MiB) keeps the heap, the young generation (up to
/// about 48 MiB) and Node's own ~40 MiB inside a 300 MB memory limit, so a
/// program that allocates without end stops with V8's "heap out of memory"
/// rather than being killed by the sandbox without a word.
pub const DEFAULT_ARGS: &[&str] = &[
    "--max-old-space-size=192",
    "--disallow-code-generation-from-strings",
    "--disable-proto=delete",
    "--experimental-permission",
    // The job directory only (the program and the files sent beside it,
    // e.g. Piston's extra files for `require('./helper.js')`).
    "--allow-fs-read=./*",
    "--disable-warning=ExperimentalWarning",
    MAIN_FILE,
];
/// V8 reserves far more address space than it uses (about 700 MiB for hello
/// world): when the host limits address space instead of using a memory
/// cgroup, it needs room.
pub const ADDRESS_SPACE_BYTES: u64 = 4 << 30;
/// Node runs about 7 threads for hello world (libuv pool, V8 platform
/// workers); threads count as processes.
pub const PROCESSES: u32 = 64;

/// The JavaScript plugin.
pub struct JavaScript;

impl Language for JavaScript {
    fn identity() -> Identity {
        Identity::new("javascript", "20", "js")
            .aliases(&["js", "node", "nodejs", "node-js"])
            .runtime("node")
    }

    fn rules() -> Vec<RuleInfo> {
        rules::rule_set(&[]).infos()
    }

    fn validate(source: &str, settings: &Settings) -> Vec<Diagnostic> {
        rules::validate(source, settings)
    }

    fn plan(request: &PlanRequest, settings: &Settings) -> Result<Plan, String> {
        let run = Step::run(settings, DEFAULT_PROGRAM, DEFAULT_ARGS).limits(Limits {
            processes: Some(PROCESSES),
            address_space_bytes: Some(ADDRESS_SPACE_BYTES),
            ..Limits::default()
        });
        Ok(Plan::new(request, MAIN_FILE, run))
    }

    fn samples() -> Vec<Sample> {
        vec![
            Sample::new(
                "hello-world",
                "console.log(\"Hello, World!\");\n",
                "Hello, World!\n",
            ),
            Sample::new(
                "echo-upper",
                "const readline = require(\"readline\");\n\
                         const rl = readline.createInterface({ input: process.stdin });\n\
                         rl.once(\"line\", (name) => {\n  \
                           console.log(`Hello, ${name.trim().toUpperCase()}!`);\n  \
                           rl.close();\n\
                         });\n",
                "Hello, CODR!\n",
            )
            .stdin("codr\n"),
        ]
    }
}

codr_sdk::register!(JavaScript);
