//! The Rust plugin's identity and plan, and its samples built and run with the
//! real rustc following the plan (outside the sandbox: this checks the plan's
//! commands, not the isolation).

use std::process::Command;

use codr_plugin_rust::Rust;
use codr_sdk::testing::{request, run_plan};
use codr_sdk::Language;

#[test]
fn identity() {
    let id = Rust::identity();
    assert_eq!(id.name, "rust");
    assert_eq!(id.aliases, vec!["rs", "rustc"]);
    assert_eq!(id.extension, "rs");
    assert_eq!(id.editor_mode, "rust");
    assert_eq!(id.grammar.as_deref(), Some("rust"));
    // The version served is the installed compiler's (`rustc 1.95.0 ...`).
    let out = Command::new("rustc").arg("--version").output().unwrap();
    let installed = String::from_utf8(out.stdout).unwrap();
    assert!(
        installed.starts_with(&format!("rustc {}.", id.version)),
        "{installed} vs {}",
        id.version
    );
}

#[test]
fn default_plan() {
    let plan =
        codr_sdk::testing::plan::<Rust>(&request("fn main() {}", &["a", "b c"], &[])).unwrap();
    assert_eq!(plan.files.len(), 1);
    assert_eq!(plan.files[0].path, "main.rs");
    assert_eq!(plan.files[0].content, "fn main() {}");
    let compile = plan.compile.as_ref().unwrap();
    assert_eq!(compile.program, "rustc");
    assert_eq!(
        compile.args,
        vec![
            "--edition",
            "2021",
            "-O",
            "-F",
            "unsafe-code",
            "--color",
            "never",
            "-o",
            "main",
            "main.rs"
        ]
    );
    assert_eq!(compile.limits.memory_bytes, Some(512 << 20));
    assert_eq!(compile.limits.processes, Some(64));
    assert!(compile.env.is_empty());
    assert_eq!(plan.run.program, "./main");
    assert_eq!(plan.run.args, vec!["a", "b c"]);
    assert_eq!(plan.artifacts, vec!["main"]);
}

#[test]
fn operator_overrides_commands() {
    let settings = [
        ("compile-program", "/opt/rust/bin/rustc"),
        ("compile-args", "--edition 2024 -o main main.rs"),
        ("run-program", "/usr/bin/env"),
        ("run-args", "./main --fast"),
    ];
    let plan = codr_sdk::testing::plan::<Rust>(&request("", &["x"], &settings)).unwrap();
    let compile = plan.compile.unwrap();
    assert_eq!(compile.program, "/opt/rust/bin/rustc");
    assert_eq!(
        compile.args,
        vec!["--edition", "2024", "-o", "main", "main.rs"]
    );
    assert_eq!(plan.run.program, "/usr/bin/env");
    assert_eq!(plan.run.args, vec!["./main", "--fast", "x"]);
}

#[test]
fn samples_compile_and_print_the_expected_output() {
    let samples = Rust::samples();
    assert!(samples
        .iter()
        .any(|s| s.expected_stdout == "Hello, World!\n"));
    assert!(samples.iter().any(|s| !s.stdin.is_empty()));
    for sample in samples {
        let plan = codr_sdk::testing::plan::<Rust>(&request(&sample.source, &[], &[])).unwrap();
        let out = run_plan(&plan, &sample.stdin);
        assert!(out.status.success(), "{}: {:?}", sample.name, out);
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            sample.expected_stdout,
            "{}",
            sample.name
        );
    }
}

#[test]
fn compiler_refuses_unsafe_even_if_a_rule_is_disabled() {
    let source = "macro_rules! u { ($e:expr) => { unsafe { $e } } }\nfn main() { let x = u!(1); println!(\"{x}\"); }\n";
    let plan = codr_sdk::testing::plan::<Rust>(&request(source, &[], &[])).unwrap();
    let dir = std::env::temp_dir().join(format!("codr-plugin-rust-forbid-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("main.rs"), source).unwrap();
    let compile = plan.compile.unwrap();
    let out = Command::new(&compile.program)
        .args(&compile.args)
        .current_dir(&dir)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage of an `unsafe` block"));
}

/// Every sample passes the plugin's own rules and plans into a plan the
/// host accepts (the SDK's check, no toolchain needed; `codr plugin check`
/// builds and runs them in the sandbox).
#[test]
fn samples_pass_the_rules_and_plan() {
    codr_sdk::testing::check_samples::<codr_plugin_rust::Rust>();
}
