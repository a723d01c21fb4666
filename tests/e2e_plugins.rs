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
//!
//! `codr plugin new --grammar` scaffolds a plugin around the Go grammar
//! file the Go plugin ships; it builds and passes `codr plugin check`.
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

/// The scaffolded plugin built twice: as generated (language version
/// "1.0") and with its version changed to "2.0". Built once per test binary.
struct Built {
    v1: PathBuf,
    v2: PathBuf,
}

fn built() -> &'static Built {
    static BUILT: std::sync::OnceLock<Built> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| scaffold_and_build(&common::repo_root()))
}

/// Scaffolds the plugin into a fresh folder under target/ (inside the codr
/// workspace's tree: the template's own `[workspace]` keeps it out of it)
/// and builds it as generated and as version 2.0.
fn scaffold_and_build(root: &Path) -> Built {
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
    let out_dir = root.join("target/e2e-plugins");
    let v1 = out_dir.join(format!("{NAME}-1.0.wasm"));
    std::fs::copy(build(root, &krate, NAME), &v1).unwrap();
    let lib = krate.join("src/lib.rs");
    let source = std::fs::read_to_string(&lib).unwrap();
    let changed = source.replace(
        &format!("Identity::new(\"{NAME}\", \"1.0\""),
        &format!("Identity::new(\"{NAME}\", \"2.0\""),
    );
    assert_ne!(source, changed, "the template's version line moved");
    std::fs::write(&lib, changed).unwrap();
    let v2 = out_dir.join(format!("{NAME}-2.0.wasm"));
    std::fs::copy(build(root, &krate, NAME), &v2).unwrap();
    Built { v1, v2 }
}

/// `cargo build --profile plugin --target wasm32-wasip2` in `krate`, the
/// crate of language `name`.
fn build(root: &Path, krate: &Path, name: &str) -> PathBuf {
    let target_dir = root.join("target/e2e-plugin-build");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let started = Instant::now();
    let status = Command::new(cargo)
        .args(["build", "--profile", "plugin", "--target", "wasm32-wasip2"])
        .current_dir(krate)
        .env("CARGO_TARGET_DIR", &target_dir)
        .status()
        .expect("run cargo build");
    assert!(status.success(), "the scaffolded plugin does not build");
    eprintln!("scaffolded plugin built in {:?}", started.elapsed());
    let wasm = target_dir.join(format!(
        "wasm32-wasip2/plugin/codr_plugin_{}.wasm",
        name.replace('-', "_")
    ));
    assert!(wasm.is_file(), "{} missing", wasm.display());
    wasm
}

/// `codr plugin new NAME --grammar FILE.wasm` with the grammar the Go plugin
/// ships: the file is copied into the crate and named by its export, the
/// crate builds for wasm32-wasip2 as generated, and `codr plugin check`
/// loads it (its grammar loaded by the host) and runs its sample in the
/// sandbox.
#[test]
fn a_plugin_scaffolded_around_a_grammar_file_builds_and_passes_its_check() {
    let root = common::repo_root();
    let grammar = root.join("plugins/go/grammar/tree-sitter-go.wasm");
    let parent = Scratch::new(&root.join("target/e2e-plugins"), "grammar");
    let krate = parent.path().join("codr-plugin-gopher");
    let out = codr(&[
        "plugin",
        "new",
        "gopher",
        "--dir",
        krate.to_str().unwrap(),
        "--grammar",
        grammar.to_str().unwrap(),
    ]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "codr plugin new --grammar failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains("grammar \"go\" shipped as grammar/tree-sitter-go.wasm"),
        "{said}"
    );
    let copied = std::fs::read(krate.join("grammar/tree-sitter-go.wasm")).unwrap();
    assert!(copied == std::fs::read(&grammar).unwrap(), "not a copy");
    assert!(krate.join("grammar/SOURCE.md").is_file());
    let lib = std::fs::read_to_string(krate.join("src/lib.rs")).unwrap();
    assert!(lib.contains(".grammar(Some(\"go\"))"), "{lib}");
    assert!(
        lib.contains("include_bytes!(\"../grammar/tree-sitter-go.wasm\")"),
        "{lib}"
    );

    let wasm = build(&root, &krate, "gopher");
    let check = codr(&["plugin", "check", wasm.to_str().unwrap()]);
    let report = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success(),
        "codr plugin check failed:\n{report}"
    );
    assert!(report.contains("name     gopher"), "{report}");
    assert!(report.contains("grammar  go"), "{report}");
    assert!(report.contains("syntax-error"), "{report}");
    assert!(report.contains("  ok    empty"), "{report}");
    assert!(report.trim_end().ends_with("PASS"), "{report}");
}

/// Tests change `CODR_PLUGIN_DIR` (read by tests/common when it starts a
/// process): one at a time.
static ENV: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `start` with `CODR_PLUGIN_DIR` set to `dir`.
fn with_plugin_dir<T>(dir: &Path, start: impl FnOnce() -> T) -> T {
    let _guard = ENV.lock().unwrap_or_else(|e| e.into_inner());
    std::env::set_var("CODR_PLUGIN_DIR", dir);
    start()
}

/// A folder with copies of the five built-in plugins.
fn builtin_folder() -> Scratch {
    folder_with(&["python", "javascript", "c", "cpp", "rust"])
}

/// A folder with copies of the named built-in plugins.
fn folder_with(langs: &[&str]) -> Scratch {
    let dir = Scratch::new(&std::env::temp_dir(), "codr-e2e-plugins");
    let from = common::repo_root().join("target/plugins");
    for lang in langs {
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
    let wasm = &built().v1;

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
    let mut svc = with_plugin_dir(&dir, || Service::embedded(&[]));
    svc.wait_healthy(Duration::from_secs(30)).await;
    let pid = svc.front.pid();
    assert!(!languages(&svc).await.contains(&NAME.to_string()));
    assert!(plugin_errors(&svc).await.is_empty());

    // Dropped in: listed within 2 s, and it runs programs.
    std::fs::copy(wasm, dir.join(format!("{NAME}.wasm"))).unwrap();
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
    let (mut ws, mut t) = svc
        .start_running(
            NAME,
            "time.sleep(1.5)\nprint('finished')\n",
            Duration::from_secs(30),
        )
        .await;
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

/// Runs `code` in `language` until the outcome satisfies `done` (a worker
/// picks up its folder's changes within about a second), at most 5 s.
async fn run_until(
    svc: &Service,
    language: &str,
    code: &str,
    done: impl Fn(&Transcript) -> bool,
) -> Transcript {
    let start = Instant::now();
    loop {
        let t = svc.run(language, code).await;
        if done(&t) || start.elapsed() > Duration::from_secs(5) {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_without_the_language_or_its_version_fails_the_job_clearly() {
    let built = built();
    // The gateway has python and lite 1.0; the worker has python only.
    let gateway_dir = folder_with(&["python"]);
    std::fs::copy(&built.v1, gateway_dir.path().join(format!("{NAME}.wasm"))).unwrap();
    let worker_dir = folder_with(&["python"]);
    let mut svc = with_plugin_dir(gateway_dir.path(), || Service::distributed(0, &[]));
    with_plugin_dir(worker_dir.path(), || svc.add_worker(&[]));
    svc.wait_healthy(Duration::from_secs(30)).await;
    let t = svc.run("python", "print('python ok')\n").await;
    t.assert_ok();

    let code = "print('lite ok')\n";
    let t = svc.run(NAME, code).await;
    t.assert_error(&format!("has no plugin for language \"{NAME}\""));

    // The worker gets another version of it: refused, naming both versions.
    let in_worker = worker_dir.path().join(format!("{NAME}.wasm"));
    std::fs::copy(&built.v2, &in_worker).unwrap();
    let t = run_until(&svc, NAME, code, |t| {
        t.error_message()
            .is_some_and(|m| m.contains("not the version"))
    })
    .await;
    t.assert_error(&format!(
        "has {NAME} 2.0, not the version 1.0 this job was accepted for"
    ));

    // The same version: the job runs.
    let tmp = worker_dir.path().join(".lite.wasm.tmp");
    std::fs::copy(&built.v1, &tmp).unwrap();
    std::fs::rename(&tmp, &in_worker).unwrap();
    let t = run_until(&svc, NAME, code, |t| t.complete.is_some()).await;
    t.assert_ok();
    assert!(t.output.contains("lite ok"), "{:?}", t.output);
}
