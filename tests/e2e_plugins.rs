//! End-to-end: a language added to a running server without a restart.
//!
//! `codr plugin new` scaffolds a plugin from the SDK's template; it is built
//! for wasm32-wasip2 (outside the workspace, in target/e2e-plugin-build so
//! reruns are incremental) and checked with `codr plugin check`. A real
//! `codr serve` runs on a folder holding copies of the built-in plugins; the
//! new `.wasm` is dropped in, shows in `/api/languages` within 2 s and runs a
//! program over the WebSocket; a settings file beside it loosens its rules;
//! `python.wasm` is replaced by a broken file and Python keeps serving while
//! `/health` shows the error; the new plugin is removed (a job running in
//! it finishes) and disappears. The server's pid never changes.
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Service, Transcript};
use serde_json::Value;

/// The new language's name.
const NAME: &str = "lite";
/// The longest a folder change may take to show.
const PICKUP: Duration = Duration::from_secs(2);

/// A folder removed on drop (host has no `tempfile` dependency).
struct Scratch(PathBuf);

impl Scratch {
    fn new(under: &Path, label: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = under.join(format!("{label}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn codr(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_codr"))
        .args(args)
        .output()
        .expect("run codr")
}

/// Scaffolds the plugin into a fresh folder under target/ (inside the codr
/// workspace's tree: the template's own `[workspace]` keeps it out of it)
/// and builds it; returns the `.wasm`.
fn scaffold_and_build(root: &Path) -> PathBuf {
    let parent = Scratch::new(&root.join("target/e2e-plugins"), "scaffold");
    let krate = parent.path().join(format!("codr-plugin-{NAME}"));
    let out = codr(&["plugin", "new", NAME, "--dir", krate.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "codr plugin new failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest = std::fs::read_to_string(krate.join("Cargo.toml")).unwrap();
    let sdk = root.join("sdk").canonicalize().unwrap();
    assert!(manifest.contains(&format!("codr-sdk = {{ path = \"{}\" }}", sdk.display())));
    assert!(manifest.contains("\n[workspace]\n"));

    let target_dir = root.join("target/e2e-plugin-build");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let started = Instant::now();
    let status = Command::new(cargo)
        .args(["build", "--profile", "plugin", "--target", "wasm32-wasip2"])
        .current_dir(&krate)
        .env("CARGO_TARGET_DIR", &target_dir)
        .status()
        .expect("run cargo build");
    assert!(status.success(), "the scaffolded plugin does not build");
    eprintln!("scaffolded plugin built in {:?}", started.elapsed());
    let wasm = target_dir.join(format!(
        "wasm32-wasip2/plugin/codr_plugin_{}.wasm",
        NAME.replace('-', "_")
    ));
    assert!(wasm.is_file(), "{} missing", wasm.display());
    wasm
}

/// A folder with copies of the five built-in plugins.
fn builtin_folder() -> Scratch {
    let dir = Scratch::new(&std::env::temp_dir(), "codr-e2e-plugins");
    let from = common::plugin_dir();
    for lang in ["python", "javascript", "c", "cpp", "rust"] {
        let name = format!("{lang}.wasm");
        std::fs::copy(from.join(&name), dir.path().join(&name))
            .unwrap_or_else(|e| panic!("copy {name}: {e} (run `make build`)"));
    }
    dir
}

async fn get_json(svc: &Service, path: &str) -> Value {
    let r = common::http()
        .get(format!("{}{path}", svc.http()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    r.json().await.expect("JSON body")
}

async fn languages(svc: &Service) -> Vec<String> {
    let list = get_json(svc, "/api/languages").await;
    let list = list.as_array().expect("an array").clone();
    list.iter()
        .map(|l| l["name"].as_str().unwrap().to_string())
        .collect()
}

async fn plugin_errors(svc: &Service) -> Vec<String> {
    let health = get_json(svc, "/health").await;
    let errors = health["plugins"]["errors"].as_array().cloned();
    let errors = errors.unwrap_or_else(|| panic!("no plugins.errors in /health: {health}"));
    errors
        .iter()
        .map(|e| e.as_str().unwrap().to_string())
        .collect()
}

/// Polls `cond` every 50 ms for at most `limit`; returns how long it took.
async fn within<F, Fut>(limit: Duration, what: &str, cond: F) -> Duration
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if cond().await {
            let took = start.elapsed();
            eprintln!("{what}: {took:?}");
            return took;
        }
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn assert_same_server(svc: &mut Service, pid: u32) {
    assert_eq!(svc.front.pid(), pid);
    let exited = svc.front.child.try_wait().expect("try_wait");
    assert!(exited.is_none(), "the server exited: {exited:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_scaffolded_plugin_is_added_used_and_removed_without_a_restart() {
    let root = common::repo_root();
    let wasm = scaffold_and_build(&root);

    // Its self-test passes as generated (samples in the real sandbox).
    let check = codr(&["plugin", "check", wasm.to_str().unwrap()]);
    let report = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success(),
        "codr plugin check failed:\n{report}"
    );
    assert!(report.contains(&format!("name     {NAME}")), "{report}");
    assert!(report.contains("  ok    hello"), "{report}");
    assert!(report.trim_end().ends_with("PASS"), "{report}");

    // A server on a folder of the built-ins only.
    let folder = builtin_folder();
    let dir = folder.path().to_path_buf();
    std::env::set_var("CODR_PLUGIN_DIR", &dir);
    let mut svc = Service::embedded(&[]);
    svc.wait_healthy(Duration::from_secs(30)).await;
    let pid = svc.front.pid();
    assert!(!languages(&svc).await.contains(&NAME.to_string()));
    assert!(plugin_errors(&svc).await.is_empty());

    // Dropped in: listed within 2 s, and it runs programs.
    std::fs::copy(&wasm, dir.join(format!("{NAME}.wasm"))).unwrap();
    within(PICKUP, "new plugin listed", || async {
        languages(&svc).await.contains(&NAME.to_string())
    })
    .await;
    let t = svc.run(NAME, "print('hello from', 6 * 7)\n").await;
    t.assert_ok();
    assert!(t.output.contains("hello from 42"), "{:?}", t.output);
    let mut ws = svc
        .start_job(NAME, "name = input('name? ')\nprint(f'Hi, {name}!')\n")
        .await;
    let mut t = Transcript::default();
    assert!(
        ws.read_until_output("name? ", Duration::from_secs(30), &mut t)
            .await
    );
    ws.input("codr\n").await;
    ws.finish(Duration::from_secs(30), &mut t).await;
    t.assert_ok();
    assert!(t.output.contains("Hi, codr!"), "{:?}", t.output);
    // Its rules apply.
    let t = svc.run(NAME, "import sys\nprint(sys.version)\n").await;
    t.assert_error("sys");

    // Settings beside it loosen its rules, without a restart.
    std::fs::write(
        dir.join(format!("{NAME}.toml")),
        "[settings]\nallow-modules = \"sys\"\n",
    )
    .unwrap();
    tokio::time::sleep(PICKUP).await;
    let t = svc
        .run(NAME, "import sys\nprint('major', sys.version_info[0])\n")
        .await;
    t.assert_ok();
    assert!(t.output.contains("major 3"), "{:?}", t.output);

    // python.wasm replaced by a broken file: Python keeps serving, /health
    // shows why the new file was refused.
    std::fs::write(dir.join("python.wasm"), b"\0asm but not really").unwrap();
    within(PICKUP, "broken python reported", || async {
        plugin_errors(&svc)
            .await
            .iter()
            .any(|e| e.contains("python.wasm"))
    })
    .await;
    let errors = plugin_errors(&svc).await;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("previously loaded version keeps serving"),
        "{errors:?}"
    );
    assert!(languages(&svc).await.contains(&"python".to_string()));
    let t = svc.run("python", "print(20 + 22)\n").await;
    t.assert_ok();
    assert!(t.output.contains("42"), "{:?}", t.output);

    // Removed while a job runs in it: the job finishes, the language goes.
    let mut ws = svc
        .start_job(
            NAME,
            "import time\nprint('started', flush=True)\ntime.sleep(1.5)\nprint('finished')\n",
        )
        .await;
    let mut t = Transcript::default();
    assert!(
        ws.read_until_output("started", Duration::from_secs(30), &mut t)
            .await
    );
    std::fs::remove_file(dir.join(format!("{NAME}.wasm"))).unwrap();
    within(PICKUP, "removed plugin gone", || async {
        !languages(&svc).await.contains(&NAME.to_string())
    })
    .await;
    ws.finish(Duration::from_secs(30), &mut t).await;
    t.assert_ok();
    assert!(t.output.contains("finished"), "{:?}", t.output);
    let t = svc.run(NAME, "print(1)\n").await;
    t.assert_error("unknown language");

    assert_same_server(&mut svc, pid);
}
