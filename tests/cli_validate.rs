//! `codr languages` and `codr validate` driven as a user would: the real
//! binary, real plugin folders (the fixture plugins, and the built-in ones
//! from `make build`), exit codes and output formats.
mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use common::{repo_root, TempDir};

/// Builds the fixture plugins once (a no-op when up to date).
fn fixtures() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let script = repo_root().join("tests/fixtures/bad-plugins/build.sh");
            let status = Command::new("sh")
                .arg(&script)
                .status()
                .expect("run build.sh");
            assert!(
                status.success(),
                "building the fixture plugins failed; try `make fixtures`"
            );
            repo_root().join("target/bad-plugins")
        })
        .clone()
}

/// A folder with the named fixture plugins.
fn folder(names: &[&str]) -> TempDir {
    let dir = TempDir::new("codr-cli-validate");
    for name in names {
        std::fs::copy(
            fixtures().join(format!("{name}.wasm")),
            dir.path().join(format!("{name}.wasm")),
        )
        .unwrap();
    }
    dir
}

/// Runs `codr ARGS` with its own cache folder, feeding `stdin`.
fn codr(args: &[&str], stdin: &str) -> Output {
    static CACHE: OnceLock<TempDir> = OnceLock::new();
    let cache = CACHE.get_or_init(|| TempDir::new("codr-cli-validate"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_codr"))
        .args(args)
        .env("XDG_CACHE_HOME", cache.path())
        .env_remove("CODR_PLUGIN_DIR")
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn codr");
    // A child that exits at once (a usage error) may never read its stdin.
    if let Err(e) = child.stdin.take().unwrap().write_all(stdin.as_bytes()) {
        assert_eq!(
            e.kind(),
            std::io::ErrorKind::BrokenPipe,
            "writing stdin: {e}"
        );
    }
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn languages_lists_plugins_and_warns_about_bad_ones() {
    let dir = folder(&["good", "incompatible"]);
    let out = codr(
        &["languages", "--plugins", path_str(dir.path()), "--json"],
        "",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["name"], "fixture");
    assert_eq!(
        list[0]["aliases"],
        serde_json::json!(["fx", "Fixture-Alias"])
    );
    assert_eq!(list[0]["editor_mode"], "python");
    assert!(
        text(&out.stderr).contains(
            "warning: plugin incompatible.wasm implements codr:plugin@9.0.0; this host supports codr:plugin@0.1.x to 0.2.x"
        ),
        "{}",
        text(&out.stderr)
    );

    let out = codr(&["languages", "--plugins", path_str(dir.path())], "");
    let table = text(&out.stdout);
    assert!(table.starts_with("NAME"), "{table}");
    assert!(
        table.lines().nth(1).unwrap().starts_with("fixture  0.0.1"),
        "{table}"
    );
}

#[test]
fn languages_fails_on_a_missing_folder() {
    let out = codr(&["languages", "--plugins", "/nonexistent/plugins"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("plugin folder /nonexistent/plugins does not exist"));
}

#[test]
fn validate_accepts_and_rejects_with_positions() {
    let dir = folder(&["good"]);
    let plugins = path_str(dir.path());
    let src = TempDir::new("codr-cli-validate");
    let ok = src.path().join("ok.py");
    std::fs::write(&ok, "print('forbidden')\n").unwrap();
    let bad = src.path().join("bad.py");
    std::fs::write(&bad, "x = 1\n  forbidden(x)\n").unwrap();

    let out = codr(
        &[
            "validate",
            "--plugins",
            plugins,
            "--language",
            "fixture",
            path_str(&ok),
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "");

    let out = codr(
        &["validate", "--plugins", plugins, "-l", "FX", path_str(&bad)],
        "",
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!(
            "{}:2:3: forbidden-call: `forbidden` is not allowed\n",
            bad.display()
        )
    );

    let out = codr(
        &[
            "validate",
            "--plugins",
            plugins,
            "-l",
            "fixture",
            "--json",
            path_str(&bad),
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["ok"], false);
    let d = &json["diagnostics"][0];
    assert_eq!(d["rule"], "forbidden-call");
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(2), Some(3))
    );
    assert_eq!(
        (d["end_line"].as_u64(), d["end_column"].as_u64()),
        (Some(2), Some(12))
    );

    let out = codr(
        &[
            "validate",
            "--plugins",
            plugins,
            "-l",
            "fixture",
            "--json",
            "-",
        ],
        "print(1)\n",
    );
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"ok": true, "language": "fixture", "diagnostics": []})
    );

    let out = codr(
        &["validate", "--plugins", plugins, "-l", "fixture", "-"],
        "forbidden()",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).starts_with("<stdin>:1:1: forbidden-call:"));
}

#[test]
fn validate_usage_errors_exit_2_with_one_line() {
    let dir = folder(&["good"]);
    let plugins = path_str(dir.path());

    let out = codr(&["validate", "--plugins", plugins, "-l", "cobol", "-"], "x");
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert_eq!(
        err.trim(),
        "codr: unknown language \"cobol\"; known languages: fixture"
    );

    let out = codr(
        &[
            "validate",
            "--plugins",
            plugins,
            "-l",
            "fixture",
            "/nonexistent/x.py",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("codr: cannot read /nonexistent/x.py: "),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    let out = codr(&["validate", "--plugins", plugins, "-"], "x");
    assert_eq!(
        out.status.code(),
        Some(2),
        "missing --language is a usage error"
    );
}

#[test]
fn validate_reports_a_failing_plugin_with_exit_2() {
    let dir = folder(&["good", "looping", "trap"]);
    let plugins = path_str(dir.path());
    let out = codr(
        &["validate", "--plugins", plugins, "-l", "looping", "-"],
        "x",
    );
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert_eq!(
        err.trim(),
        "codr: looping plugin failed on <stdin>: plugin ran longer than 1000 ms and was stopped"
    );

    let out = codr(&["validate", "--plugins", plugins, "-l", "trap", "-"], "x");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("plugin crashed:"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn the_built_in_languages_are_listed() {
    let dir = repo_root().join("target/plugins");
    for name in ["python", "javascript", "c", "cpp", "rust"] {
        assert!(
            dir.join(format!("{name}.wasm")).is_file(),
            "target/plugins/{name}.wasm is missing: run `make build` first"
        );
    }
    let out = codr(&["languages", "--plugins", path_str(&dir), "--json"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    for name in ["python", "javascript", "c", "cpp", "rust"] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
    let out = codr(
        &["validate", "--plugins", path_str(&dir), "-l", "py", "-"],
        "import os\n",
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("<stdin>:1:"),
        "{}",
        text(&out.stdout)
    );
}
