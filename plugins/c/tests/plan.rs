//! The C plugin's identity and plan, and its samples built and run with the
//! real gcc following the plan (outside the sandbox: this checks the plan's
//! commands, not the isolation).

use std::io::Write;
use std::process::{Command, Stdio};

use codr_plugin_c::C;
use codr_sdk::{Language, Plan, PlanRequest, Setting};

fn request(source: &str, args: &[&str], settings: &[(&str, &str)]) -> PlanRequest {
    PlanRequest {
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

#[test]
fn identity() {
    let id = C::identity();
    assert_eq!(id.name, "c");
    assert_eq!(id.version, "12");
    assert_eq!(id.aliases, vec!["gcc", "c11"]);
    assert_eq!(id.extension, "c");
    assert_eq!(id.editor_mode, "c");
    assert_eq!(id.grammar.as_deref(), Some("c"));
}

#[test]
fn default_plan() {
    let plan = C::plan(&request("int main(void){return 0;}", &["a", "b c"], &[])).unwrap();
    assert_eq!(plan.files.len(), 1);
    assert_eq!(plan.files[0].path, "main.c");
    assert_eq!(plan.files[0].content, "int main(void){return 0;}");
    let compile = plan.compile.as_ref().unwrap();
    assert_eq!(compile.program, "gcc");
    assert_eq!(
        compile.args,
        vec![
            "-std=c11",
            "-O2",
            "-pipe",
            "-fdiagnostics-color=never",
            "-o",
            "main",
            "main.c",
            "-lm"
        ]
    );
    assert!(compile.env.is_empty());
    assert_eq!(plan.run.program, "./main");
    assert_eq!(plan.run.args, vec!["a", "b c"]);
    assert_eq!(plan.artifacts, vec!["main"]);
}

#[test]
fn operator_overrides_commands() {
    let settings = [
        ("compile-program", "/opt/gcc-14/bin/gcc"),
        ("compile-args", "-std=c17 -O0 -o main main.c"),
        ("run-program", "/usr/bin/env"),
        ("run-args", "./main --fast"),
    ];
    let plan = C::plan(&request("", &["x"], &settings)).unwrap();
    let compile = plan.compile.unwrap();
    assert_eq!(compile.program, "/opt/gcc-14/bin/gcc");
    assert_eq!(
        compile.args,
        vec!["-std=c17", "-O0", "-o", "main", "main.c"]
    );
    assert_eq!(plan.run.program, "/usr/bin/env");
    assert_eq!(plan.run.args, vec!["./main", "--fast", "x"]);
}

/// Writes the plan's files into a fresh directory, runs its compile step
/// and its run step with `stdin`, and returns the run's stdout.
fn execute(plan: &Plan, stdin: &str, name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("codr-plugin-c-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for file in &plan.files {
        std::fs::write(dir.join(&file.path), &file.content).unwrap();
    }
    let compile = plan.compile.as_ref().unwrap();
    let out = Command::new(&compile.program)
        .args(&compile.args)
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "compile failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut child = Command::new(dir.join(&plan.run.program))
        .args(&plan.run.args)
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn samples_compile_and_print_the_expected_output() {
    let samples = C::samples();
    assert!(samples
        .iter()
        .any(|s| s.expected_stdout == "Hello, World!\n"));
    assert!(samples.iter().any(|s| !s.stdin.is_empty()));
    for sample in samples {
        let plan = C::plan(&request(&sample.source, &[], &[])).unwrap();
        assert_eq!(
            execute(&plan, &sample.stdin, &sample.name),
            sample.expected_stdout,
            "{}",
            sample.name
        );
    }
}
