//! The Go plugin's identity and plan, and its samples built and run with the
//! real `go` following the plan (outside the sandbox: this checks the plan's
//! commands, not the isolation).

use codr_plugin_go::{Go, GO_MOD};
use codr_sdk::testing::{request, run_plan};
use codr_sdk::{Language, Plan};

#[test]
fn identity_and_shipped_grammar() {
    let id = Go::identity();
    assert_eq!(id.name, "go");
    assert_eq!(id.version, "1.19");
    assert_eq!(id.aliases, vec!["golang"]);
    assert_eq!(id.extension, "go");
    assert_eq!(id.editor_mode, "go");
    assert_eq!(id.grammar.as_deref(), Some("go"));
    let wasm = Go::grammar_wasm().expect("a shipped grammar");
    assert!(wasm.starts_with(b"\0asm"), "not WebAssembly");
    codr_sdk::testing::load_grammar::<Go>();
}

fn env_of(plan: &Plan) -> Vec<(String, String)> {
    let compile = plan.compile.as_ref().expect("a compile step");
    compile
        .env
        .iter()
        .map(|v| (v.name.clone(), v.value.clone()))
        .collect()
}

#[test]
fn default_plan() {
    let plan =
        codr_sdk::testing::plan::<Go>(&request("package main\n", &["a", "b c"], &[])).unwrap();
    let files: Vec<(&str, &str)> = plan
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.content.as_str()))
        .collect();
    assert_eq!(files, [("main.go", "package main\n"), ("go.mod", GO_MOD)]);
    let compile = plan.compile.as_ref().unwrap();
    assert_eq!(compile.program, "go");
    assert_eq!(compile.args, ["build", "-o", "main", "main.go"]);
    let env = env_of(&plan);
    for (name, value) in [
        ("GOCACHE", "/tmp/go-cache"),
        ("GOPATH", "/tmp/go"),
        ("GOENV", "off"),
        ("GOWORK", "off"),
        ("GOFLAGS", "-mod=mod"),
        ("GOPROXY", "off"),
        ("GOTOOLCHAIN", "local"),
        ("CGO_ENABLED", "0"),
    ] {
        assert!(
            env.contains(&(name.to_string(), value.to_string())),
            "{name}={value} missing from {env:?}"
        );
    }
    assert_eq!(compile.limits.wall_time_ms, Some(20_000));
    assert_eq!(compile.limits.processes, Some(128));
    assert_eq!(compile.limits.address_space_bytes, Some(4 << 30));
    assert_eq!(plan.run.program, "./main");
    assert_eq!(plan.run.args, ["a", "b c"]);
    assert_eq!(plan.run.limits.address_space_bytes, Some(4 << 30));
    assert_eq!(plan.artifacts, ["main"]);
}

#[test]
fn other_top_level_go_files_join_the_build() {
    let mut req = request("package main\n", &[], &[]);
    req.files = ["util.go", "lib/x.go", "main_test.go", "input.txt", "z.go"]
        .map(String::from)
        .to_vec();
    let plan = codr_sdk::testing::plan::<Go>(&req).unwrap();
    let compile = plan.compile.unwrap();
    assert_eq!(
        compile.args,
        ["build", "-o", "main", "main.go", "util.go", "z.go"]
    );
}

#[test]
fn assembly_and_object_files_are_refused() {
    for name in ["sys.s", "lib/raw.S", "x.sx", "rsrc.syso"] {
        let mut req = request("package main\n", &[], &[]);
        req.files = vec!["util.go".into(), name.into()];
        let err = codr_sdk::testing::plan::<Go>(&req).unwrap_err();
        assert!(err.starts_with(name), "{err}");
    }
}

#[test]
fn operator_overrides_commands() {
    let settings = [
        ("compile-program", "/usr/lib/go-1.21/bin/go"),
        ("compile-args", "build -trimpath -o main main.go"),
        ("run-args", "-v"),
    ];
    let plan =
        codr_sdk::testing::plan::<Go>(&request("package main\n", &["x"], &settings)).unwrap();
    let compile = plan.compile.as_ref().unwrap();
    assert_eq!(compile.program, "/usr/lib/go-1.21/bin/go");
    assert_eq!(
        compile.args,
        ["build", "-trimpath", "-o", "main", "main.go"]
    );
    assert_eq!(plan.run.args, ["-v", "x"]);
}

/// Every sample built with the real `go` by the plan's command and
/// environment, and run with its stdin.
#[test]
fn samples_build_and_print_what_they_promise() {
    let samples = Go::samples();
    assert!(samples.len() >= 4);
    for sample in samples {
        let plan = codr_sdk::testing::plan::<Go>(&request(&sample.source, &[], &[])).unwrap();
        let out = run_plan(&plan, &sample.stdin);
        assert!(out.status.success(), "{}: {out:?}", sample.name);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            sample.expected_stdout,
            "{}",
            sample.name
        );
    }
}

/// A package of two files in the job directory, as the plan builds it.
#[test]
fn a_second_file_of_package_main_builds() {
    let mut req = request(
        "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(twice(21)) }\n",
        &[],
        &[],
    );
    req.files = vec!["twice.go".into()];
    let mut plan = codr_sdk::testing::plan::<Go>(&req).unwrap();
    // The host writes extra files beside the plan's; run_plan writes the
    // plan's files only.
    plan.files.push(codr_sdk::SourceFile {
        path: "twice.go".into(),
        content: "package main\n\nfunc twice(n int) int { return 2 * n }\n".into(),
        executable: false,
    });
    let out = run_plan(&plan, "");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "42\n", "{out:?}");
}

/// Every sample passes the plugin's own rules and plans into a plan the
/// host accepts (the SDK's check, no toolchain needed; `codr plugin check`
/// builds and runs them in the sandbox).
#[test]
fn samples_pass_the_rules_and_plan() {
    codr_sdk::testing::check_samples::<codr_plugin_go::Go>();
}
