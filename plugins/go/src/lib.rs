//! codr language plugin: Go (Debian's `golang-go`, 1.19), the tree-sitter-go
//! grammar inside (`grammar/SOURCE.md`) for its [`rules`]. The plan builds
//! `main.go`, a `go.mod` and the other top-level `.go` files offline with `go
//! build` and runs `./main`. Settings: `allow-modules`, `disable-rules` and
//! the SDK's `compile-program`, `compile-args`, `run-program`, `run-args`.

use codr_sdk::rules::RuleSet;
use codr_sdk::{Identity, Language, Limits, Plan, PlanRequest, Sample, Settings, Step};

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

impl Language for Go {
    fn identity() -> Identity {
        Identity::new("go", "1.19", "go").aliases(&["golang"])
    }

    fn grammar_wasm() -> Option<&'static [u8]> {
        Some(include_bytes!("../grammar/tree-sitter-go.wasm"))
    }

    fn rule_set() -> RuleSet {
        rules::rule_set()
    }

    /// Assembly and object files are refused: `go build` would take them
    /// into a package, unseen by the rules. Go reserves about 800 MB of
    /// address space at start (the host caps it at the memory limit when it
    /// has no memory cgroup).
    fn plan(request: &PlanRequest, settings: &Settings) -> Result<Plan, String> {
        let not_go = |f: &&String| [".s", ".S", ".sx", ".syso"].iter().any(|e| f.ends_with(e));
        if let Some(f) = request.files.iter().find(not_go) {
            return Err(format!("{f}: a Go job builds .go files only"));
        }
        let mut args = vec!["build", "-o", "main", "main.go"];
        args.extend(request.files.iter().map(String::as_str).filter(|f| {
            f.ends_with(".go") && !f.contains('/') && !f.ends_with("_test.go") && *f != "main.go"
        }));
        let space = Limits::default().address_space_bytes(4 << 30);
        let compile = Step::compile(settings, "go", &args)
            .envs(GO_ENV.split_whitespace().filter_map(|v| v.split_once('=')))
            .limits(space.time_ms(20_000).processes(128));
        let run = Step::run(settings, "./main", &[]).limits(space);
        Ok(Plan::new(request, "main.go", run)
            .with_compile(compile)
            .with_artifacts(["main"])
            .with_file("go.mod", GO_MOD))
    }

    fn samples() -> Vec<Sample> {
        samples::samples()
    }
}

codr_sdk::register!(Go);
