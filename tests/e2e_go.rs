//! End-to-end: Go, a plugin with its own grammar (`plugins/go`, built by
//! `make plugins` into target/plugins/go.wasm), through the real binary and
//! the real sandbox: a program reading stdin through `codr run`, the
//! WebSocket, `/api/v1/execute` and Piston's `/api/v2/execute` (two files);
//! a refused import; a second identical build served by the compile cache;
//! `codr languages --json` showing the shipped grammar; and `go.wasm`
//! dropped into a running server's folder, served within about a second.
mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{codr_in, post, Service, TempDir};
use serde_json::{json, Value};

/// Reads a name and greets; the prompt comes first, unbuffered.
const GREET: &str = r#"package main

import (
	"bufio"
	"fmt"
	"os"
)

func main() {
	fmt.Print("name? ")
	in := bufio.NewScanner(os.Stdin)
	if in.Scan() {
		fmt.Printf("Hi, %s!\n", in.Text())
	}
}
"#;

/// The longest a dropped-in plugin may take to be listed.
const PICKUP: Duration = Duration::from_secs(2);

/// One test at a time: they start services, the timings they print mean
/// something only on a quiet machine (2 cores here), and they set
/// `CODR_PLUGIN_DIR`, which tests/common reads when it starts a process.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// target/plugins/go.wasm, which `make plugins` builds.
fn go_wasm() -> PathBuf {
    let wasm = common::repo_root().join("target/plugins/go.wasm");
    assert!(
        wasm.is_file(),
        "{} missing: run `make plugins`",
        wasm.display()
    );
    wasm
}

/// `codr serve` on `plugins` (target/plugins when `None`) with `extra` flags.
fn serve(plugins: Option<&Path>, extra: &[&str]) -> Service {
    match plugins {
        Some(dir) => std::env::set_var("CODR_PLUGIN_DIR", dir),
        None => std::env::remove_var("CODR_PLUGIN_DIR"),
    }
    let svc = Service::embedded(extra);
    std::env::remove_var("CODR_PLUGIN_DIR");
    svc
}

/// A Go program that reads a line and greets, runs through `codr run`, the
/// WebSocket (typed input after the prompt), `/api/v1/execute` and Piston's
/// `/api/v2/execute` (with a second file of the same package); an import of
/// `os/exec` is refused with the rule's message and position.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_go_program_reading_stdin_runs_through_every_route() {
    let _serial = SERIAL.lock().await;
    go_wasm();
    let scratch = TempDir::new("codr-e2e-go-run");

    // codr run
    let src = scratch.path().join("greet.go");
    std::fs::write(&src, GREET).unwrap();
    let input = scratch.path().join("in.txt");
    std::fs::write(&input, "cli\n").unwrap();
    let plugins = common::repo_root().join("target/plugins");
    let started = Instant::now();
    let extra = ["--stdin", input.to_str().unwrap()];
    let v = common::codr_run_json(scratch.path(), &plugins, "go", &extra, &src);
    assert_eq!(v["status"], "ok", "{v:#}");
    assert_eq!(v["stdout"], "name? Hi, cli!\n", "{v:#}");
    eprintln!("codr run (go build + run): {:?}", started.elapsed());

    let svc = serve(None, &[]);
    svc.wait_healthy(Duration::from_secs(30)).await;

    // The WebSocket: the prompt arrives before the program waits for input.
    let t = svc
        .converse(
            "go",
            GREET,
            ("name? ", "websocket\n"),
            Duration::from_secs(60),
        )
        .await;
    assert!(t.output.contains("Hi, websocket!"), "{:?}", t.output);

    // /api/v1/execute
    let (status, r) = post(
        &svc,
        "/api/v1/execute",
        json!({"language": "golang", "code": GREET, "stdin": "batch\n"}),
    )
    .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["status"], "ok", "{r}");
    assert_eq!(r["stdout"], "name? Hi, batch!\n", "{r}");

    // Piston: main.go calls a function of a second file of package main.
    let main = "package main\n\nimport (\n\t\"bufio\"\n\t\"fmt\"\n\t\"os\"\n)\n\nfunc main() {\n\tin := bufio.NewScanner(os.Stdin)\n\tin.Scan()\n\tfmt.Println(greeting(in.Text()))\n}\n";
    let helper = "package main\n\nimport \"strings\"\n\nfunc greeting(name string) string {\n\treturn \"Hi, \" + strings.ToUpper(name) + \"!\"\n}\n";
    let (status, r) = post(
        &svc,
        "/api/v2/execute",
        json!({
            "language": "go",
            "version": "1.19",
            "files": [{"name": "main.go", "content": main}, {"name": "greeting.go", "content": helper}],
            "stdin": "piston\n",
        }),
    )
    .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["run"]["stdout"], "Hi, PISTON!\n", "{r}");
    assert_eq!(r["run"]["code"], 0, "{r}");

    // Refused before anything runs: an aliased import of os/exec, escaped.
    let code =
        "package main\n\nimport x \"os\\x2fexec\"\n\nfunc main() { x.Command(\"id\").Run() }\n";
    let (status, r) = post(
        &svc,
        "/api/v1/execute",
        json!({"language": "go", "code": code}),
    )
    .await;
    assert_eq!((status, &r["status"]), (200, &json!("rejected")), "{r}");
    assert_eq!(
        r["message"],
        "code rejected: import of package 'os/exec' is not allowed (line 3, column 10)",
        "{r}"
    );
    let d = &r["diagnostics"][0];
    assert_eq!(
        (&d["rule"], &d["line"], &d["column"]),
        (&json!("blocked-import"), &json!(3), &json!(10)),
        "{r}"
    );
}

/// The same Go program twice: the second job takes its binary from the
/// compile cache. The first build's cached compiler output is replaced by
/// a marker, so a hit shows as that marker in the second job's
/// `compile_output` (a real compile would print nothing).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_second_identical_go_build_is_a_compile_cache_hit() {
    let _serial = SERIAL.lock().await;
    go_wasm();
    let scratch = TempDir::new("codr-e2e-go-cache");
    let store = scratch.path().join("cache");
    let svc = serve(None, &["--compile-cache-dir", store.to_str().unwrap()]);
    svc.wait_healthy(Duration::from_secs(30)).await;
    // Unique per run: no earlier entry can serve it.
    let code = GREET.replace("Hi, ", &format!("Hi ({}), ", common::now()));
    let body = json!({"language": "go", "code": code, "stdin": "cache\n"});

    let started = Instant::now();
    let (status, first) = post(&svc, "/api/v1/execute", body.clone()).await;
    let miss = started.elapsed();
    assert_eq!((status, &first["status"]), (200, &json!("ok")), "{first}");
    let entries: Vec<PathBuf> = std::fs::read_dir(&store)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("compile_output.txt").is_file())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    std::fs::write(entries[0].join("compile_output.txt"), "from the cache\n").unwrap();

    let started = Instant::now();
    let (status, second) = post(&svc, "/api/v1/execute", body).await;
    let hit = started.elapsed();
    assert_eq!((status, &second["status"]), (200, &json!("ok")), "{second}");
    assert_eq!(second["stdout"], first["stdout"], "{second}");
    assert!(
        second["compile_output"]
            .as_str()
            .is_some_and(|o| o.contains("from the cache")),
        "not a cache hit: {second}"
    );
    eprintln!(
        "go job through /api/v1/execute: {miss:?} with a cold go build (run {} ms), \
         {hit:?} on a compile-cache hit (run {} ms)",
        first["wall_time_ms"], second["wall_time_ms"]
    );
}

/// `codr languages --json` lists go with the grammar it ships (the host
/// links none for Go), and its self-test passes.
#[test]
fn go_is_listed_with_its_grammar_and_passes_its_check() {
    let _serial = SERIAL.blocking_lock();
    let wasm = go_wasm();
    let root = common::repo_root();
    let out = codr_in(
        &root,
        &["languages", "--plugins", "target/plugins", "--json"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let go = list
        .as_array()
        .expect("an array")
        .iter()
        .find(|l| l["name"] == "go")
        .unwrap_or_else(|| panic!("no go in {list:#}"));
    assert_eq!(go["grammar"], "go", "{go:#}");
    assert_eq!(go["grammar_shipped"], true, "{go:#}");
    assert_eq!(go["aliases"], json!(["golang"]), "{go:#}");
    assert_eq!(go["extension"], "go", "{go:#}");

    let started = Instant::now();
    let out = codr_in(&root, &["plugin", "check", wasm.to_str().unwrap()]);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "codr plugin check failed:\n{report}");
    for sample in ["hello", "scanner-sum", "goroutines", "generics"] {
        assert!(report.contains(&format!("  ok    {sample}")), "{report}");
    }
    assert!(report.trim_end().ends_with("PASS"), "{report}");
    eprintln!(
        "codr plugin check go.wasm (4 samples built and run): {:?}",
        started.elapsed()
    );
}

/// A server on a folder without Go; `go.wasm` is dropped in (copied under
/// another name and renamed, as PLUGINS.md advises): Go is listed within
/// [`PICKUP`] and runs a program, with no restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn go_dropped_into_a_running_server_is_served_within_a_second() {
    let _serial = SERIAL.lock().await;
    let wasm = go_wasm();
    let folder = TempDir::new("codr-e2e-go-drop");
    let from = common::repo_root().join("target/plugins/python.wasm");
    std::fs::copy(&from, folder.path().join("python.wasm")).unwrap();
    let mut svc = serve(Some(folder.path()), &[]);
    svc.wait_healthy(Duration::from_secs(30)).await;
    let pid = svc.front.pid();
    let names = || async {
        let list: Value = svc.get_json("/api/languages").await;
        let list = list.as_array().cloned().unwrap_or_default();
        list.iter()
            .map(|l| l["name"].as_str().unwrap_or_default().to_string())
            .collect::<Vec<_>>()
    };
    assert!(!names().await.contains(&"go".to_string()));

    let tmp = folder.path().join(".go.wasm.tmp");
    std::fs::copy(&wasm, &tmp).unwrap();
    let dropped = Instant::now();
    std::fs::rename(&tmp, folder.path().join("go.wasm")).unwrap();
    loop {
        if names().await.contains(&"go".to_string()) {
            break;
        }
        assert!(
            dropped.elapsed() < PICKUP,
            "go not listed within {PICKUP:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let listed = dropped.elapsed();
    let t = svc
        .converse("go", GREET, ("name? ", "hot\n"), Duration::from_secs(60))
        .await;
    assert!(t.output.contains("Hi, hot!"), "{:?}", t.output);
    eprintln!(
        "go.wasm dropped in: listed after {listed:?}, first Go job done after {:?}",
        dropped.elapsed()
    );
    assert_eq!(svc.front.pid(), pid);
    assert!(
        svc.front.child.try_wait().unwrap().is_none(),
        "the server exited"
    );
}
