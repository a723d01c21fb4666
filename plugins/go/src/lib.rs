//! codr language plugin: Go (Debian's `golang-go`, 1.19).
//!
//! The grammar is tree-sitter-go 0.25.0, shipped inside the plugin
//! (`grammar/SOURCE.md`); the host runs the [`rules`] on it as on a
//! built-in grammar. The plan writes `main.go` and a `go.mod` (module
//! `main`, so extra files may be packages `main/<dir>`), builds with
//! `go build -o main main.go <the other top-level .go files>` inside the
//! sandbox, offline, and runs `./main`. Settings: `allow-modules` (import
//! paths, with their subpackages), `disable-rules`, and the SDK's
//! `compile-program`, `compile-args`, `run-program`, `run-args`.

use codr_sdk::{
    Diagnostic, Identity, Language, Limits, Plan, PlanRequest, RuleInfo, Sample, Settings,
    SourceFile, Step,
};

pub mod rules;
mod samples;

/// The Go language plugin.
pub struct Go;

/// The module every job is: written by the plan, so a client's `go.mod`
/// (a `replace` of a package by a directory) clashes with it and is refused.
pub const GO_MOD: &str = "module main\n\ngo 1.19\n";
/// Files `go build` would also take into a package: assembly (reaches the
/// kernel without `syscall`, unseen by the rules) and object files.
const NOT_GO: &[&str] = &[".s", ".S", ".sx", ".syso"];

/// The build's environment: offline (no proxy, no toolchain download, no
/// vendor directory, no cgo), and nothing read from the job directory but
/// the sources: no `go.env`/`go.work` there, and the build cache in the
/// sandbox's private `/tmp`, where a client's files cannot seed it.
const GO_ENV: &[(&str, &str)] = &[
    ("GOCACHE", "/tmp/go-cache"),
    ("GOPATH", "/tmp/go"),
    ("GOENV", "off"),
    ("GOWORK", "off"),
    ("GOFLAGS", "-mod=mod"),
    ("GOPROXY", "off"),
    ("GOTOOLCHAIN", "local"),
    ("CGO_ENABLED", "0"),
];

/// A Go program reserves about 800 MB of address space at start, build
/// tools included: without a memory cgroup the host would otherwise cap
/// the address space at the memory limit, where Go cannot start.
const ADDRESS_SPACE: Option<u64> = Some(4 << 30);

impl Language for Go {
    fn identity() -> Identity {
        Identity::new("go", "1.19", "go").aliases(&["golang"])
    }

    // CONTRACT-0.2: fn grammar_wasm() -> Option<&'static [u8]> {
    //     Some(include_bytes!("../grammar/tree-sitter-go.wasm"))
    // }

    fn rules() -> Vec<RuleInfo> {
        rules::infos()
    }

    fn validate(source: &str, settings: &Settings) -> Vec<Diagnostic> {
        rules::validate(source, settings)
    }

    fn plan(request: &PlanRequest) -> Result<Plan, String> {
        let files: &[String] = &[]; // CONTRACT-0.2: &request.files
        if let Some(f) = files.iter().find(|f| NOT_GO.iter().any(|e| f.ends_with(e))) {
            return Err(format!(
                "{f}: a Go build here takes .go files only (no assembly or object files)"
            ));
        }
        let settings = Settings::from(request);
        let others = files.iter().filter(|f| {
            f.ends_with(".go") && !f.contains('/') && !f.ends_with("_test.go") && *f != "main.go"
        });
        let mut compile = Step::compile(&settings, "go", &["build", "-o", "main", "main.go"]);
        compile = GO_ENV
            .iter()
            .fold(compile.args(others), |s, (k, v)| s.env(k, v));
        let compile = compile.limits(Limits {
            wall_time_ms: Some(20_000),
            cpu_time_ms: Some(20_000),
            processes: Some(128),
            address_space_bytes: ADDRESS_SPACE,
            ..Limits::default()
        });
        let run = Step::run(&settings, "./main", &[]).limits(Limits {
            address_space_bytes: ADDRESS_SPACE,
            ..Limits::default()
        });
        let mut plan = Plan::new(request, "main.go", run)
            .with_compile(compile)
            .with_artifacts(["main"]);
        plan.files.push(SourceFile {
            path: "go.mod".into(),
            content: GO_MOD.into(),
            executable: false,
        });
        Ok(plan)
    }

    fn samples() -> Vec<Sample> {
        samples::samples()
    }
}

// Only the wasm build exports the component (see plugins/rust).
#[cfg(target_arch = "wasm32")]
codr_sdk::register!(Go);
