//! `codr run --json --no-validate` through the real plugins and the real
//! sandbox (needs root, scripts/setup-sandbox.sh and `make plugins`).
mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{codr_run_json, repo_root, TempDir};
use serde_json::Value;

/// One test at a time: the hostile ones saturate both cores, and the plugins'
/// validation has a 1 s deadline of its own.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `codr run` and returns the JSON of its last line and the time it took.
fn codr_run(language: &str, file: &str, extra: &[&str]) -> (Value, Duration) {
    let start = Instant::now();
    let root = repo_root();
    let file = root.join("tests/hostile").join(file);
    let plugins = Path::new("target/plugins");
    let v = codr_run_json(&root, plugins, language, extra, &file);
    (v, start.elapsed())
}

fn status(v: &Value) -> &str {
    v["status"].as_str().unwrap_or("?")
}

#[test]
fn modern_programs_per_language() {
    let _serial = serial();
    let cases = [
        ("python", "modern.py", "py310 origin x=3 kind=k 1\n"),
        ("javascript", "modern.js", "node 2 default 3 true\n"),
        ("c", "modern.c", "C11 int double 42\n"),
        ("cpp", "modern.cpp", "cpp17 3\n"),
        ("rust", "modern.rs", "rust2021 2 [2, 4, 6]\n"),
    ];
    for (lang, file, want) in cases {
        let (v, _) = codr_run(lang, file, &[]);
        assert_eq!(status(&v), "ok", "{lang}: {v:#}");
        assert_eq!(v["stdout"], want, "{lang}: {v:#}");
        for key in [
            "exit_code",
            "signal",
            "stderr",
            "compile_output",
            "wall_time_ms",
            "cpu_time_ms",
            "memory_bytes",
        ] {
            assert!(v.get(key).is_some(), "{key} missing: {v:#}");
        }
    }
}

#[test]
fn hostile_programs_without_validation() {
    let _serial = serial();
    let cases: [(&str, &str, &[&str], u64); 5] = [
        ("python", "fork_bomb.py", &["time_limit"], 7 + 4),
        ("python", "memory_hog.py", &["memory_limit"], 7 + 4),
        ("python", "output_flood.py", &["output_limit"], 7 + 4),
        ("c", "busy_loop.c", &["time_limit"], 10 + 7 + 4),
        (
            "cpp",
            "template_bomb.cpp",
            &["compile_error", "time_limit"],
            10 + 4,
        ),
    ];
    for (lang, file, want, secs) in cases {
        let (v, took) = codr_run(lang, file, &["--no-validate"]);
        assert!(want.contains(&status(&v)), "{file}: {v:#}");
        assert!(took < Duration::from_secs(secs), "{file} took {took:?}");
    }
    let (v, _) = codr_run("python", "print_env.py", &["--no-validate"]);
    assert_eq!(status(&v), "ok");
    assert!(!v["stdout"].as_str().unwrap().contains("CARGO_"), "{v:#}");
}

#[test]
fn stdin_file_reaches_the_program() {
    let _serial = serial();
    let dir = TempDir::new("codr-cli-run");
    let src = dir.path().join("echo.py");
    std::fs::write(&src, "print(input().strip()[::-1])\n").unwrap();
    let input = dir.path().join("in.txt");
    std::fs::write(&input, "olleh\n").unwrap();
    let plugins = Path::new("target/plugins");
    let extra = ["--stdin", input.to_str().unwrap()];
    let v = codr_run_json(&repo_root(), plugins, "python", &extra, &src);
    assert_eq!(v["stdout"], "hello\n", "{v:#}");
}
