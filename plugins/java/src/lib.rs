//! codr language plugin: Java 17 (OpenJDK `javac` and `java`).
//!
//! The host has no Java grammar: this plugin ships tree-sitter-java inside
//! its own `.wasm` ([`Language::grammar_wasm`], the file and its origin in
//! `grammar/`), the host loads it, and the rules ([`rules`]) and the plan's
//! class names ([`layout`]) are queries on it.
//!
//! # Syntax, not types
//!
//! javac translates Unicode escapes before it reads a single token, and
//! ignores some invisible characters inside names; tree-sitter does neither,
//! so the plugin does both first ([`unicode`]), parses the result, and
//! reports positions in the original text. What the rules see:
//!
//! - Names inside strings, text blocks and comments never match:
//!   `"Runtime.exec"` is text. Names split by spaces, comments, line breaks,
//!   Unicode escapes (`\u0052untime`) or ignorable characters
//!   (`Run\u200Btime`) are still matched, because javac reads them as one
//!   name.
//! - There are no types and no scopes: a rule judges names as written. A
//!   user class named `Runtime`, or a user method named `getMethod`, is
//!   reported like the JDK's (rename it). Conversely, a capability reached
//!   without writing any blocked name is not seen. Known ways, left to the
//!   sandbox (no network, a private file system, limits): constructors that
//!   take a file name as a string (`new PrintWriter("f")`,
//!   `new PrintStream("f")`, `new Formatter("f")`, `new Scanner(...)` over
//!   such a stream); reading system properties (`System.getProperty`,
//!   allowed on purpose); anything reached through an object of an allowed
//!   type whose methods the rules do not list.
//! - A source that does not compile is not judged any better than one that
//!   does: tree-sitter recovers from syntax errors and the rules judge what
//!   it recovered; javac rejects the source anyway.
//!
//! The sandbox is the real defence; the rules reject the obvious ways out of
//! a console program early, with a message and a position a learner can use.
//!
//! # Rules
//!
//! See [`rules::rule_infos`]: `blocked-import`, `blocked-class`,
//! `native-method`.
//!
//! # Operator settings
//!
//! - `allow-classes`: comma-separated classes or members to allow, simple or
//!   qualified (`Runtime`, `java.io.File`, `System.getenv`, `getMethod`).
//! - `allow-packages`: comma-separated packages to allow with everything in
//!   them (`java.nio.file`).
//! - `disable-rules`: comma-separated rule ids to skip (SDK-wide).
//! - `compile-program` (default `javac`), `compile-args`: space-separated
//!   options replacing [`COMPILE_ARGS`]; the source file name is appended.
//! - `run-program` (default `java`), `run-args`: space-separated options
//!   replacing [`RUN_ARGS`]; the main class and the user's arguments are
//!   appended.
//!
//! # Building and running
//!
//! The source is written to `<Class>.java`, where `<Class>` is the first
//! public top-level type (javac requires that name), else the type holding
//! `main`, else `Main` ([`layout`]). `javac` compiles it into `classes/`;
//! `java -cp classes <MainClass>` runs it, with a `package` prefix if the
//! source declares one. `Plan::artifacts` hands the whole `classes/`
//! directory to the run step, with the `Main$1.class` files of anonymous and
//! local classes that no one can name before javac runs.

pub mod blocklist;
pub mod layout;
pub mod rules;
mod samples;
pub mod unicode;

use codr_sdk::{
    Diagnostic, Identity, Language, Limits, Plan, PlanRequest, RuleInfo, Sample, Settings, Step,
};

/// The compiler run by default (found in the sandbox's PATH).
pub const COMPILE_PROGRAM: &str = "javac";
/// The launcher run by default (found in the sandbox's PATH).
pub const RUN_PROGRAM: &str = "java";

/// Default javac options, before the source file name. `-J` options tune
/// javac's own JVM for one short compile: the serial collector and the C1
/// compiler only (javac finishes before C2 pays off: about 40% less CPU,
/// measured), capped heap and class/code spaces so that the address space
/// stays small, no perf-data file in /tmp.
pub const COMPILE_ARGS: &[&str] = &[
    "-J-Xmx256m",
    "-J-XX:+UseSerialGC",
    "-J-XX:TieredStopAtLevel=1",
    "-J-XX:-UsePerfData",
    "-J-XX:ReservedCodeCacheSize=64m",
    "-J-XX:CompressedClassSpaceSize=64m",
    "-J-XX:MaxMetaspaceSize=256m",
    "-J-Dfile.encoding=UTF-8",
    "-encoding",
    "UTF-8",
    "-proc:none",
    "-d",
    CLASSES,
];

/// Where javac writes the class files: a directory of their own, handed to
/// the run step whole (with the `Main$1.class` files of anonymous classes
/// that no one can name before javac runs).
pub const CLASSES: &str = "classes";

/// Default JVM options, before the main class. A 256 MiB heap; a 64 MiB
/// thread stack (deep recursion is common in exercises; only touched pages
/// cost memory); the serial collector (fewest threads and least memory);
/// capped code, class and direct-buffer spaces (a small address space);
/// UTF-8 for `System.out` and `Scanner(System.in)` whatever the locale.
pub const RUN_ARGS: &[&str] = &[
    "-Xmx256m",
    "-Xss64m",
    "-XX:+UseSerialGC",
    "-XX:-UsePerfData",
    "-XX:ReservedCodeCacheSize=64m",
    "-XX:CompressedClassSpaceSize=64m",
    "-XX:MaxMetaspaceSize=128m",
    "-XX:MaxDirectMemorySize=64m",
    "-XX:+DisableAttachMechanism",
    "-Dfile.encoding=UTF-8",
    "-cp",
    CLASSES,
];

const MIB: u64 = 1024 * 1024;
const GIB: u64 = 1024 * MIB;

/// The Java plugin.
pub struct Java;

impl Language for Java {
    fn identity() -> Identity {
        Identity::new("java", "17", "java")
            .aliases(&["java17", "jdk"])
            .grammar(Some(rules::GRAMMAR))
    }

    fn rules() -> Vec<RuleInfo> {
        rules::rule_infos()
    }

    fn validate(source: &str, settings: &Settings) -> Vec<Diagnostic> {
        rules::validate(source, settings)
    }

    fn plan(request: &PlanRequest, _settings: &Settings) -> Result<Plan, String> {
        Ok(plan(request))
    }

    fn samples() -> Vec<Sample> {
        samples::samples()
    }

    fn grammar_wasm() -> Option<&'static [u8]> {
        Some(include_bytes!("../grammar/tree-sitter-java.wasm"))
    }
}

/// The build plan for `request` (never fails: a source javac rejects fails
/// in the compile step, with javac's message).
pub fn plan(request: &PlanRequest) -> Plan {
    let settings = Settings::from(request);
    let layout = layout::layout(&request.source);
    let source_file = format!("{}.java", layout.file_class);

    let compile = jvm_step(Step::compile(&settings, COMPILE_PROGRAM, COMPILE_ARGS))
        .arg(source_file.clone())
        .limits(compile_limits());
    let run = jvm_step(Step::run(&settings, RUN_PROGRAM, RUN_ARGS))
        .arg(layout.launch_name())
        .limits(run_limits());
    let artifacts = artifacts(&compile.args, &layout);
    Plan::new(request, source_file, run)
        .with_compile(compile)
        .with_artifacts(artifacts)
}

/// What the run step needs of the compile step: javac's output directory
/// (`-d DIR`), or the named class files when that is the job directory itself.
fn artifacts(compile_args: &[String], layout: &layout::Layout) -> Vec<String> {
    let out_dir = compile_args
        .windows(2)
        .rev()
        .find(|w| w[0] == "-d")
        .map(|w| w[1].trim_end_matches('/'));
    match out_dir {
        Some(dir) if dir != "." && !dir.is_empty() => vec![dir.to_string()],
        _ => layout.class_files(),
    }
}

/// `step` with `MALLOC_ARENA_MAX=2`: glibc otherwise reserves a 64 MiB arena
/// per JVM thread, which took javac's address space from 0.7 GB to 1.8 GB
/// here and made it fail under a 1.5 GB address-space limit (5 of 5 runs).
fn jvm_step(step: Step) -> Step {
    step.env("MALLOC_ARENA_MAX", "2")
}

/// javac is a JVM: slow to start (1-2 s for hello world, 4-5 s for 10 KB on
/// a loaded 2-core machine), about 14 threads, 65-80 MB resident and 0.7 GB
/// of address space with [`COMPILE_ARGS`].
pub fn compile_limits() -> Limits {
    Limits {
        wall_time_ms: Some(20_000),
        cpu_time_ms: Some(20_000),
        memory_bytes: Some(512 * MIB),
        processes: Some(64),
        address_space_bytes: Some(2 * GIB),
        ..Limits::default()
    }
}

/// The JVM running a program: about 14 threads before the program starts
/// any, 35 MB resident at start and up to the 256 MiB heap plus about
/// 60 MB; the JIT compiles on other threads, so CPU time runs ahead of wall
/// time. Address space: 1.9 GB measured with 9 threads of 64 MiB stacks.
pub fn run_limits() -> Limits {
    Limits {
        cpu_time_ms: Some(10_000),
        memory_bytes: Some(512 * MIB),
        processes: Some(128),
        address_space_bytes: Some(4 * GIB),
        ..Limits::default()
    }
}

codr_sdk::register!(Java);
