//! codr language plugin: Go (Debian's `golang-go`, 1.19), with the
//! tree-sitter-go grammar shipped inside (`grammar/SOURCE.md`) for its
//! [`rules`]. The plan writes `main.go` and a `go.mod` (module `main`),
//! builds offline with `go build -o main main.go <other top-level .go
//! files>` and runs `./main`. Settings: `allow-modules`, `disable-rules`,
//! and the SDK's `compile-program`, `compile-args`, `run-program`, `run-args`.

use codr_sdk::plan::native_executable;
use codr_sdk::{Diagnostic, Identity, Language, Limits, Plan, PlanRequest, RuleInfo};
use codr_sdk::{Sample, Settings, SourceFile};

pub mod rules;
mod samples;

/// The Go language plugin.
pub struct Go;

/// Every job's module, written by the plan: a client's own `go.mod` (which
/// could `replace` a package by any directory) clashes with it.
pub const GO_MOD: &str = "module main\n\ngo 1.19\n";
/// The build's environment: offline, no cgo, no `go.env`, `go.work` or
/// vendor directory read from the job directory, and the build cache in the
/// sandbox's private `/tmp`, where a client's files cannot seed it.
pub const GO_ENV: &str = "GOCACHE=/tmp/go-cache GOPATH=/tmp/go GOENV=off GOWORK=off \
    GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local CGO_ENABLED=0";
/// Go reserves about 800 MB of address space at start (the host caps it at
/// the memory limit when it has no memory cgroup).
const ADDRESS_SPACE: Option<u64> = Some(4 << 30);

impl Language for Go {
    fn identity() -> Identity {
        Identity::new("go", "1.19", "go").aliases(&["golang"])
    }

    fn grammar_wasm() -> Option<&'static [u8]> {
        Some(include_bytes!("../grammar/tree-sitter-go.wasm"))
    }

    fn rules() -> Vec<RuleInfo> {
        rules::rule_set().infos()
    }

    fn validate(source: &str, settings: &Settings) -> Vec<Diagnostic> {
        rules::validate(source, settings)
    }

    /// Assembly and object files are refused: `go build` would take them
    /// into a package, unseen by the rules.
    fn plan(request: &PlanRequest) -> Result<Plan, String> {
        let not_go = |f: &&String| [".s", ".S", ".sx", ".syso"].iter().any(|e| f.ends_with(e));
        if let Some(f) = request.files.iter().find(not_go) {
            return Err(format!("{f}: a Go job builds .go files only"));
        }
        let mut args = vec!["build", "-o", "main", "main.go"];
        args.extend(request.files.iter().map(String::as_str).filter(|f| {
            f.ends_with(".go") && !f.contains('/') && !f.ends_with("_test.go") && *f != "main.go"
        }));
        let limits = Limits {
            wall_time_ms: Some(20_000),
            cpu_time_ms: Some(20_000),
            processes: Some(128),
            address_space_bytes: ADDRESS_SPACE,
            ..Limits::default()
        };
        let mut plan = native_executable(request, "main.go", "go", &args, limits);
        let env = GO_ENV.split_whitespace().filter_map(|v| v.split_once('='));
        plan.compile = plan
            .compile
            .map(|step| env.fold(step, |s, (k, v)| s.env(k, v)));
        plan.run.limits.address_space_bytes = ADDRESS_SPACE;
        let go_mod = SourceFile {
            path: "go.mod".into(),
            content: GO_MOD.into(),
            executable: false,
        };
        plan.files.push(go_mod);
        Ok(plan)
    }

    fn samples() -> Vec<Sample> {
        samples::samples()
    }
}

// Only the wasm build exports the component (see plugins/rust).
#[cfg(target_arch = "wasm32")]
codr_sdk::register!(Go);
