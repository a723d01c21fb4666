//! The playground page in a real browser: Debian's headless `chromium`,
//! driven through `chromedriver` (WebDriver over HTTP, with reqwest), against
//! a real `codr serve` and against `codr gateway` + `codr worker` over Redis.
//! Each state is saved as a screenshot under `target/playground/`.
//!
//! Also checks how the page is served (compression, caching, ETag, the
//! security headers) and that `--no-playground` turns it off.
mod common;

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::{http, Service, TempDir, API_KEY};
use serde_json::{json, Value};

/// The key WebDriver uses for an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
/// WebDriver's keys (the spec's code points).
const ENTER: &str = "\u{E007}";
const CONTROL: &str = "\u{E009}";
const DELETE: &str = "\u{E017}";

/// `chromedriver` on a free port, killed on drop.
struct Driver {
    child: Child,
    url: String,
    _profile: TempDir,
}

impl Drop for Driver {
    /// Kills chromedriver and the browser it started (its process group:
    /// a test that fails leaves no Chromium behind).
    fn drop(&mut self) {
        let group = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser session.
struct Browser {
    driver: Driver,
    session: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn screenshots() -> PathBuf {
    let dir = common::repo_root().join("target/playground");
    std::fs::create_dir_all(&dir).expect("create target/playground");
    dir
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with a fresh profile.
    async fn start() -> Browser {
        for bin in ["/usr/bin/chromedriver", "/usr/bin/chromium"] {
            assert!(
                std::path::Path::new(bin).exists(),
                "{bin} is missing: run `make setup` (scripts/setup.sh installs chromium and chromium-driver)"
            );
        }
        let port = free_port();
        let child = Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let profile =
            std::env::temp_dir().join(format!("codr-playground-{}-{}", std::process::id(), port));
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            _profile: TempDir::adopt(profile.clone()),
        };
        let start = Instant::now();
        loop {
            let ready = http()
                .get(format!("{}/status", driver.url))
                .send()
                .await
                .ok()
                .map(|r| r.status().is_success())
                .unwrap_or(false);
            if ready {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "chromedriver not ready"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // As root, and without the network: no sandbox, and nothing that
        // reaches for the internet (Chromium hangs on refused connections).
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1280,800",
            &format!("--user-data-dir={}", profile.display()),
        ];
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args},
        }}});
        let r: Value = http()
            .post(format!("{}/session", driver.url))
            .timeout(Duration::from_secs(60))
            .json(&caps)
            .send()
            .await
            .expect("new session")
            .json()
            .await
            .expect("session JSON");
        let session = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {r}"))
            .to_string();
        Browser { driver, session }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.driver.url, self.session);
        let mut req = http().request(method, url).timeout(Duration::from_secs(60));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let r: Value = req
            .send()
            .await
            .expect("WebDriver request")
            .json()
            .await
            .expect("WebDriver JSON");
        if let Some(err) = r["value"]["error"].as_str() {
            panic!("WebDriver {path}: {err}: {}", r["value"]["message"]);
        }
        r["value"].clone()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }

    async fn js(&self, script: &str) -> Value {
        self.post("/execute/sync", json!({ "script": script, "args": [] }))
            .await
    }

    async fn find(&self, css: &str) -> String {
        let v = self
            .post("/element", json!({ "using": "css selector", "value": css }))
            .await;
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {v}"))
            .to_string()
    }

    async fn click(&self, css: &str) {
        let el = self.find(css).await;
        self.post(&format!("/element/{el}/click"), json!({})).await;
    }

    async fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        self.post(&format!("/element/{el}/value"), json!({ "text": text }))
            .await;
    }

    async fn screenshot(&self, name: &str) -> PathBuf {
        let b64 = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().expect("base64"))
            .expect("PNG");
        let path = screenshots().join(name);
        std::fs::write(&path, png).expect("write screenshot");
        path
    }

    async fn set_window(&self, width: u32, height: u32) {
        self.post("/window/rect", json!({ "width": width, "height": height }))
            .await;
    }

    /// Waits until `script` returns a truthy value; panics with `what` and
    /// the page's state otherwise.
    async fn wait_for(&self, what: &str, script: &str, limit: Duration) -> Value {
        let start = Instant::now();
        loop {
            let v = self.js(script).await;
            if !(v.is_null() || v == json!(false) || v == json!("")) {
                return v;
            }
            if start.elapsed() > limit {
                let state = self.state().await;
                panic!("timed out waiting for {what}; page: {state}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// What the page shows: status, terminal, diagnostics.
    async fn state(&self) -> Value {
        self.js(
            "return {status: document.getElementById('status')?.textContent, \
             terminal: window.codr ? window.codr.terminalText() : null, \
             diagnostics: document.getElementById('diagnostics')?.textContent, \
             body: document.body.innerText.slice(0, 300)}",
        )
        .await
    }

    async fn terminal_contains(&self, text: &str, limit: Duration) {
        let script = format!("return window.codr.terminalText().includes({text:?})");
        self.wait_for(&format!("{text:?} in the terminal"), &script, limit)
            .await;
    }

    async fn status_matches(&self, what: &str, regex: &str, limit: Duration) -> String {
        let script = format!(
            "const s = document.getElementById('status').textContent; \
             return new RegExp({regex:?}).test(s) ? s : false"
        );
        self.wait_for(what, &script, limit)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    async fn pick_language(&self, name: &str) {
        self.click(&format!("#language option[value=\"{name}\"]"))
            .await;
        let script = format!("return document.getElementById('language').value === {name:?}");
        self.wait_for(&format!("{name} picked"), &script, Duration::from_secs(5))
            .await;
    }

    async fn set_code(&self, code: &str) {
        let script = format!("window.codr.setCode({code:?}); return true");
        self.js(&script).await;
    }

    async fn click_run(&self) {
        self.click("#run").await;
    }

    async fn quit(self) {
        let _ = self.call(reqwest::Method::DELETE, "", None).await;
    }
}

const LONG: Duration = Duration::from_secs(60);

/// The scenario of the issue, against `svc`; screenshots named `tag-...`.
async fn drive(svc: &Service, tag: &str) {
    let page = svc
        .get("/")
        .send()
        .await
        .expect("GET /")
        .text()
        .await
        .expect("the page");
    assert!(
        page.contains("playground.js"),
        "the binary has no playground bundle (its placeholder page: {page:?}): run `make web` (or `make build`), then rebuild"
    );
    let b = Browser::start().await;
    // The URL codr prints: the key in the fragment.
    b.goto(&format!("{}/#key={API_KEY}", svc.http())).await;
    b.wait_for(
        "the languages",
        "return document.body.dataset.ready === 'true'",
        Duration::from_secs(20),
    )
    .await;
    let moved = b
        .js("return location.hash === '' && localStorage.getItem('codr.key')")
        .await;
    assert_eq!(
        moved,
        json!(API_KEY),
        "the key moves from the fragment to localStorage"
    );
    let names = b
        .js("return [...document.querySelectorAll('#language option')].map(o => o.value)")
        .await;
    for lang in ["python", "c", "javascript"] {
        assert!(
            names.as_array().unwrap().contains(&json!(lang)),
            "{lang} in the picker: {names}"
        );
    }

    // Python: type a program that asks for a name, run it, answer `Ada`.
    b.pick_language("python").await;
    let sample = b.js("return window.codr.code()").await;
    assert!(
        !sample.as_str().unwrap_or_default().is_empty(),
        "a sample program is shown for python"
    );
    b.click(".cm-content").await;
    b.type_into(".cm-content", &format!("{CONTROL}a{CONTROL}{DELETE}"))
        .await;
    b.type_into(
        ".cm-content",
        &format!("name = input(\"What is your name? \"){ENTER}print(f\"Hello, {{name}}\")"),
    )
    .await;
    let code = b.js("return window.codr.code()").await;
    assert_eq!(
        code.as_str().unwrap_or_default().trim_end(),
        "name = input(\"What is your name? \")\nprint(f\"Hello, {name}\")",
        "the program as typed into the editor"
    );
    // Python's grammar (a chunk loaded when the language is picked)
    // highlights the program: its tokens are spans.
    b.wait_for(
        "Python highlighting",
        "return document.querySelectorAll('.cm-line span').length > 2",
        Duration::from_secs(10),
    )
    .await;
    b.screenshot(&format!("{tag}-1-python-typed.png")).await;
    let started = Instant::now();
    b.click_run().await;
    b.terminal_contains("What is your name?", LONG).await;
    let prompt = started.elapsed();
    // `input_required` (the program blocked reading its terminal).
    b.status_matches("the program waiting for input", "Waiting for input", LONG)
        .await;
    let focused = b
        .js("return document.activeElement && document.activeElement.classList.contains('xterm-helper-textarea')")
        .await;
    assert_eq!(focused, json!(true), "the terminal has the focus");
    b.type_into(".xterm-helper-textarea", &format!("Ada{ENTER}"))
        .await;
    b.terminal_contains("Hello, Ada", LONG).await;
    let status = b.status_matches("the exit status", "exit 0", LONG).await;
    assert!(status.contains("Finished"), "status: {status}");
    eprintln!("{tag}: python prompt after {prompt:?}; status: {status}");
    let shot = b.screenshot(&format!("{tag}-2-python-hello-ada.png")).await;
    if tag == "serve" {
        let _ = std::fs::copy(&shot, screenshots().join("playground.png"));
    }
    // The program is kept in the browser.
    let kept = b
        .js("return localStorage.getItem('codr.code.python')")
        .await;
    assert!(
        kept.as_str().unwrap_or_default().contains("Hello, {name}"),
        "the last program is kept: {kept}"
    );

    // Output stays in the terminal: colours yes; a title, a clipboard
    // write, a link: no.
    b.set_code(
        "print('\\x1b]0;pwned\\x07\\x1b]52;c;aGVsbG8=\\x07\\x1b]8;;http://example.com/\\x07link\\x1b]8;;\\x07 and \\x1b[32mgreen\\x1b[0m done')\n",
    )
    .await;
    b.click_run().await;
    b.terminal_contains("link and green done", LONG).await;
    b.status_matches("the end", "exit 0", LONG).await;
    let seen = b
        .js("return {title: document.title, \
             green: [...document.querySelectorAll('.xterm-rows span')].some(s => s.textContent.includes('green') && s.className.includes('xterm-fg-2'))}")
        .await;
    assert_eq!(seen["title"], json!("codr playground"), "{seen}");
    assert_eq!(seen["green"], json!(true), "ANSI colours shown: {seen}");

    // A refused program: the diagnostic at its line, in the editor.
    b.set_code("x = 1\nimport os\nprint(os.getcwd())\n").await;
    b.click_run().await;
    b.wait_for(
        "a diagnostic",
        "return document.querySelector('#diagnostics li')",
        LONG,
    )
    .await;
    let diag = b
        .js("const li = document.querySelector('#diagnostics li'); \
             const marked = [...document.querySelectorAll('.cm-line')].findIndex(l => l.querySelector('.cm-lintRange-error')); \
             return {line: li.dataset.line, text: li.textContent, marked_line: marked + 1}")
        .await;
    assert_eq!(diag["line"], json!("2"), "diagnostic at line 2: {diag}");
    assert_eq!(
        diag["marked_line"],
        json!(2),
        "the editor marks line 2: {diag}"
    );
    assert!(
        diag["text"]
            .as_str()
            .unwrap_or_default()
            .contains("not allowed"),
        "the rule's message is shown: {diag}"
    );
    b.status_matches("the refusal", "Rejected", LONG).await;
    b.screenshot(&format!("{tag}-3-python-refused.png")).await;

    // C with a compile error: the compiler's message, readable.
    b.pick_language("c").await;
    b.set_code("#include <stdio.h>\n\nint main(void) {\n    printf(\"hi\\n\")\n    return 0;\n}\n")
        .await;
    // Ctrl-Enter in the editor runs it.
    b.type_into(".cm-content", &format!("{CONTROL}{ENTER}"))
        .await;
    let status = b
        .status_matches("the compile error", "Compile error", LONG)
        .await;
    b.terminal_contains("error: expected", Duration::from_secs(5))
        .await;
    eprintln!("{tag}: c: {status}");
    b.screenshot(&format!("{tag}-4-c-compile-error.png")).await;

    // Stop ends an endless loop.
    b.pick_language("python").await;
    b.set_code("i = 0\nprint('looping', flush=True)\nwhile True:\n    i += 1\n")
        .await;
    b.click_run().await;
    b.terminal_contains("looping", LONG).await;
    let stop_clicked = Instant::now();
    b.click("#stop").await;
    let status = b
        .status_matches(
            "the end after Stop",
            "^(Stopped|Finished|Runtime error|Time limit)",
            Duration::from_secs(20),
        )
        .await;
    let stopped = stop_clicked.elapsed();
    eprintln!("{tag}: stopped after {stopped:?}: {status}");
    assert!(
        stopped < Duration::from_secs(5),
        "Stop took {stopped:?} (the time limit is 7 s): {status}"
    );
    assert!(
        status.starts_with("Stopped") && status.contains("SIGKILL"),
        "Stop, not the time limit, ended it: {status}"
    );
    b.screenshot(&format!("{tag}-5-stopped.png")).await;

    // The window changes size while the program runs: the terminal refits
    // and the program's terminal gets the new size (`resize`).
    b.set_code(
        "import sys, termios\ninput('resize me ')\nrows, cols = termios.tcgetwinsize(sys.stdin.fileno())\nprint(f'size {rows}x{cols}')\n",
    )
    .await;
    b.click_run().await;
    b.status_matches("the program waiting for input", "Waiting for input", LONG)
        .await;
    let before = b
        .js("return [window.codr.term.rows, window.codr.term.cols]")
        .await;
    b.set_window(900, 600).await;
    let after = b
        .wait_for(
            "the terminal to refit",
            &format!(
                "const s = [window.codr.term.rows, window.codr.term.cols]; \
                 return JSON.stringify(s) !== {:?} && s",
                before.to_string()
            ),
            Duration::from_secs(10),
        )
        .await;
    // Let the `resize` reach the job before the program reads its size.
    tokio::time::sleep(Duration::from_millis(500)).await;
    b.type_into(".xterm-helper-textarea", ENTER).await;
    let expected = format!("size {}x{}", after[0], after[1]);
    b.terminal_contains(&expected, LONG).await;
    eprintln!("{tag}: terminal {before} -> {after}, the program saw {expected}");
    b.set_window(1280, 800).await;

    if tag == "serve" {
        // A phone's width, and the dark scheme.
        b.set_window(390, 844).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let stacked = b
            .js(
                "const e = document.querySelector('.editor-pane').getBoundingClientRect(); \
                 const t = document.querySelector('.term-pane').getBoundingClientRect(); \
                 return t.top >= e.bottom - 1 && e.width <= 400",
            )
            .await;
        assert_eq!(stacked, json!(true), "editor above terminal on a phone");
        b.screenshot(&format!("{tag}-6-phone.png")).await;
        b.set_window(1280, 800).await;
        b.post(
            "/goog/cdp/execute",
            json!({"cmd": "Emulation.setEmulatedMedia", "params": {
                "features": [{"name": "prefers-color-scheme", "value": "dark"}]}}),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        b.screenshot(&format!("{tag}-7-dark.png")).await;
    }
    b.quit().await;
}

/// Serving: compression, caching, the page's headers.
async fn check_serving(svc: &Service) {
    let page = svc
        .get("/")
        .header("Accept-Encoding", "br, gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let h = page.headers().clone();
    assert_eq!(h["content-encoding"], "br");
    assert_eq!(h["cache-control"], "no-cache");
    assert!(h["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));
    let etag = h["etag"].clone();
    let again = svc
        .get("/")
        .header("Accept-Encoding", "br, gzip")
        .header("If-None-Match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304, "revalidated with the ETag");

    let html = svc.get_text("/").await;
    assert!(
        !html.contains("make build"),
        "the real page is embedded, not the placeholder"
    );
    let js = html
        .split('"')
        .find(|s| s.starts_with("/playground/playground.js?v="))
        .expect("the page names its script with a hash")
        .to_string();
    for (encoding, expected) in [("gzip", Some("gzip")), ("identity", None)] {
        let r = svc
            .get(&js)
            .header("Accept-Encoding", encoding)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(
            r.headers()
                .get("content-encoding")
                .map(|v| v.to_str().unwrap()),
            expected
        );
        let len = r.bytes().await.unwrap().len();
        eprintln!("playground.js: {len} bytes with Accept-Encoding: {encoding}");
    }
    // The chunks the script loads (a language's grammar, shared code) are
    // named by their content: cached for good.
    let script = svc.get_text(&js).await;
    let chunk = script
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '.'))
        .find(|s| s.starts_with("chunk-") && s.ends_with(".js"))
        .expect("the script imports chunks");
    let r = svc
        .get(&format!("/playground/{chunk}"))
        .header("Accept-Encoding", "br")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{chunk}");
    assert_eq!(
        r.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(
        r.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let stale = svc.fetch("/playground/playground.js?v=old").await;
    assert_eq!(stale.headers()["cache-control"], "no-cache");
    let samples: Value = svc.get_json("/playground/samples.json").await;
    assert!(
        samples["python"][0]["source"].is_string(),
        "samples: {samples}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playground_on_codr_serve() {
    let svc = Service::embedded(&[]);
    svc.wait_healthy(Duration::from_secs(30)).await;
    check_serving(&svc).await;
    drive(&svc, "serve").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playground_on_gateway_and_worker_over_redis() {
    let svc = Service::distributed(1, &[]);
    svc.wait_healthy(Duration::from_secs(30)).await;
    drive(&svc, "redis").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_playground_turns_the_page_off() {
    let svc = Service::embedded(&["--no-playground"]);
    for path in ["/", "/playground/playground.js", "/playground/samples.json"] {
        let r = svc.fetch(path).await;
        assert_eq!(r.status(), 404, "{path} with --no-playground");
    }
    let langs = svc.fetch("/api/languages").await;
    assert_eq!(langs.status(), 200, "the API is still served");
}
