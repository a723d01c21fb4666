//! End-to-end harness: starts the real `codr` binary (embedded `serve`, or
//! `gateway` + `worker`s on a real `redis-server`), and speaks the protocol
//! over real HTTP and WebSockets.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub mod sessions;
pub mod suite;

pub use codr_broker::testing::RedisServer;

/// The API key every test service accepts.
pub const API_KEY: &str = "test-key-0123456789";
/// A second accepted key.
pub const API_KEY_2: &str = "second-key-abcdef";
/// The JWT secret of every test service (tests forge tokens with it).
pub const JWT_SECRET: &str = "e2e-secret-do-not-use";

/// Repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ has a parent")
        .to_path_buf()
}

/// A fresh, empty folder under the system's temporary folder, removed on
/// drop.
pub struct TempDir(PathBuf);

impl TempDir {
    /// `TMP/<label>-<pid>-<n>`, emptied if an earlier run left it.
    pub fn new(label: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("{label}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    /// Adopts `dir` (made by someone else) to remove it on drop.
    pub fn adopt(dir: PathBuf) -> Self {
        Self(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs the `codr` binary with `args` in `dir`, to its end.
pub fn codr_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_codr"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run codr")
}

/// `codr run --json --plugins PLUGINS --language LANGUAGE EXTRA... FILE` in
/// `dir`: the JSON result it prints last.
pub fn codr_run_json(
    dir: &Path,
    plugins: &Path,
    language: &str,
    extra: &[&str],
    file: &Path,
) -> Value {
    let mut args = vec!["run", "--json", "--plugins", plugins.to_str().unwrap()];
    args.extend(["--language", language]);
    args.extend(extra);
    args.push(file.to_str().unwrap());
    last_json_line(&codr_in(dir, &args))
}

/// The JSON on the last line of a command's standard output (`codr run
/// --json` prints its result there); panics with its standard error when it
/// printed nothing.
pub fn last_json_line(out: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_else(|| {
        panic!(
            "no output; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    serde_json::from_str(last).expect("JSON on the last line")
}

/// `target/plugins`, which `make build` fills. Panics with the fix if empty.
pub fn plugin_dir() -> PathBuf {
    let dir = std::env::var_os("CODR_PLUGIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/plugins"));
    let count = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "wasm"))
                .count()
        })
        .unwrap_or(0);
    assert!(
        count > 0,
        "no language plugins in {}: run `make build` (or `make plugins`) first",
        dir.display()
    );
    dir
}

/// Runs scripts/setup-sandbox.sh once (idempotent; creates the sandbox users).
pub fn setup_sandbox() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let script = repo_root().join("scripts/setup-sandbox.sh");
        if script.exists() {
            let out = Command::new("sh")
                .arg(&script)
                .output()
                .expect("run scripts/setup-sandbox.sh");
            assert!(
                out.status.success(),
                "scripts/setup-sandbox.sh failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    });
}

/// A `codr` child process, killed on drop.
pub struct Proc {
    pub child: Child,
    pub name: String,
}

impl Proc {
    /// SIGKILL now.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM.
    pub fn sigterm(&self) -> nix::Result<()> {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM)
    }

    /// SIGTERM, then wait at most `limit` for the exit; true if it exited.
    pub fn terminate(&mut self, limit: Duration) -> bool {
        let _ = self.sigterm();
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// The OS process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

fn codr() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_codr"));
    cmd.env_remove("CODR_API_KEYS")
        .env_remove("CODR_REDIS_URL")
        .env_remove("CODR_JWT_SECRET")
        .env(
            "RUST_LOG",
            std::env::var("CODR_TEST_LOG").unwrap_or_else(|_| "warn".into()),
        );
    cmd
}

/// `codr <sub> --plugins target/plugins`.
fn codr_sub(sub: &str) -> Command {
    let mut cmd = codr();
    cmd.arg(sub).arg("--plugins").arg(plugin_dir());
    cmd
}

/// Starts `codr <args>` and waits for the stdout line containing `marker`;
/// returns the process and that line. Stdout keeps draining afterwards.
fn start(name: &str, mut cmd: Command, marker: &str) -> (Proc, String) {
    cmd.stdout(Stdio::piped()).stderr(Stdio::inherit());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start codr {name}: {e}"));
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    let marker = marker.to_string();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if !sent && line.contains(&marker) {
                let _ = tx.send(line);
                sent = true;
            }
        }
    });
    let mut proc = Proc {
        child,
        name: name.to_string(),
    };
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(line) => (proc, line),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            let status = proc.child.wait();
            panic!("codr {name} exited before getting ready ({status:?}); see its stderr above");
        }
        Err(_) => {
            let status = proc.child.try_wait();
            panic!("codr {name} did not get ready within 60 s (exit: {status:?})");
        }
    }
}

/// The address in a `... listening on http://ADDR ...` line.
pub fn parse_listen_line(line: &str) -> SocketAddr {
    let rest = line
        .split("http://")
        .nth(1)
        .unwrap_or_else(|| panic!("no URL in {line:?}"));
    let addr = rest.split_whitespace().next().unwrap_or_default();
    addr.parse()
        .unwrap_or_else(|_| panic!("bad address in {line:?}"))
}

/// Common flags of a test gateway or serve.
fn api_flags(cmd: &mut Command, extra: &[&str]) {
    cmd.args(["--listen", "127.0.0.1:0"])
        .args(["--api-keys", &format!("{API_KEY},{API_KEY_2}")])
        .args(["--jwt-secret", JWT_SECRET]);
    // Tests create many jobs: no rate limit unless a test asks for one.
    for flag in ["--rate-limit", "--batch-rate-limit"] {
        if !extra.contains(&flag) {
            cmd.args([flag, "100000"]);
        }
    }
    cmd.args(extra);
}

/// A running service under test.
pub struct Service {
    pub addr: SocketAddr,
    pub front: Proc,
    pub workers: Vec<Proc>,
    pub redis: Option<RedisServer>,
    pub mode: &'static str,
}

impl Service {
    /// `codr <role>` (serve or gateway) with the API flags, on `redis` if given.
    fn launch(role: &str, redis: Option<RedisServer>, extra: &[&str], mode: &'static str) -> Self {
        setup_sandbox();
        let mut cmd = codr_sub(role);
        if let Some(r) = &redis {
            cmd.args(["--redis", &r.url()]);
        }
        api_flags(&mut cmd, extra);
        let (front, line) = start(role, cmd, "listening on http://");
        Service {
            addr: parse_listen_line(&line),
            front,
            workers: Vec::new(),
            redis,
            mode,
        }
    }

    /// `codr serve` on the in-process broker.
    pub fn embedded(extra: &[&str]) -> Self {
        Self::launch("serve", None, extra, "embedded")
    }

    /// `codr serve --redis`: both roles in one process, on a real redis-server.
    pub fn serve_on_redis(extra: &[&str]) -> Self {
        Self::launch("serve", Some(RedisServer::start()), extra, "serve-redis")
    }

    /// `codr serve` with no key configured: returns the key it printed.
    pub fn embedded_without_key() -> (Self, String) {
        setup_sandbox();
        let mut cmd = codr_sub("serve");
        cmd.args(["--listen", "127.0.0.1:0"]);
        let (front, line) = start("serve", cmd, "listening on http://");
        let key = line
            .split("API key: ")
            .nth(1)
            .unwrap_or_else(|| panic!("no API key in {line:?}"))
            .trim()
            .to_string();
        let svc = Service {
            addr: parse_listen_line(&line),
            front,
            workers: Vec::new(),
            redis: None,
            mode: "embedded",
        };
        (svc, key)
    }

    /// A real redis-server, `codr gateway` and `workers` × `codr worker`.
    pub fn distributed(workers: usize, extra: &[&str]) -> Self {
        let mut service = Self::launch("gateway", Some(RedisServer::start()), extra, "redis");
        for _ in 0..workers {
            service.add_worker(&[]);
        }
        service
    }

    /// Starts one more worker on this service's Redis.
    pub fn add_worker(&mut self, extra: &[&str]) {
        let url = self.redis.as_ref().expect("a Redis service").url();
        let mut cmd = codr_sub("worker");
        cmd.args(["--redis", &url]).args(extra);
        let (proc, _) = start("worker", cmd, "ready");
        self.workers.push(proc);
    }

    /// Starts a worker that loads its plugins from `dir` instead.
    pub fn add_worker_with_plugins(&mut self, dir: &std::path::Path) {
        let url = self.redis.as_ref().expect("a Redis service").url();
        let mut cmd = codr();
        cmd.arg("worker")
            .arg("--plugins")
            .arg(dir)
            .args(["--redis", &url]);
        let (proc, _) = start("worker", cmd, "ready");
        self.workers.push(proc);
    }

    /// `http://ADDR`.
    pub fn http(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `ws://ADDR/ws/execute`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws/execute", self.addr)
    }

    /// A `GET` of `path` (such as `/api/languages`), to add headers to.
    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        http().get(format!("{}{path}", self.http()))
    }

    /// `GET path`: the response.
    pub async fn fetch(&self, path: &str) -> reqwest::Response {
        self.get(path).send().await.unwrap()
    }

    /// `GET path`: the body as text.
    pub async fn get_text(&self, path: &str) -> String {
        self.fetch(path).await.text().await.unwrap()
    }

    /// `GET path`: the body as JSON.
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> T {
        self.fetch(path).await.json().await.unwrap()
    }

    /// `GET /api/v1/jobs/{id}` with the test key: the answer.
    pub async fn v1_job(&self, id: &str) -> Value {
        let r = self.get(&format!("/api/v1/jobs/{id}"));
        r.header("X-API-Key", API_KEY)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Reads `GET /api/v1/jobs/{id}` until the job is neither `queued` nor
    /// `running` (asserted within `limit`): its result.
    pub async fn v1_result(&self, id: &str, limit: Duration) -> Value {
        let start = Instant::now();
        loop {
            let r = self.v1_job(id).await;
            if !matches!(r["status"].as_str(), Some("queued") | Some("running")) {
                return r;
            }
            assert!(start.elapsed() < limit, "never finished: {r}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `/health` says 200 (workers registered), at most `limit`.
    pub async fn wait_healthy(&self, limit: Duration) {
        let start = Instant::now();
        loop {
            if let Ok(r) = self.get("/health").send().await {
                if r.status() == 200 {
                    return;
                }
            }
            assert!(
                start.elapsed() < limit,
                "service not healthy within {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `POST /api/jobs/create` with the test key.
    pub async fn create_job(&self) -> (String, String) {
        let r = http()
            .post(format!("{}/api/jobs/create", self.http()))
            .header("X-API-Key", API_KEY)
            .send()
            .await
            .expect("POST /api/jobs/create");
        assert_eq!(r.status(), 200, "job creation failed");
        let body: Value = r.json().await.expect("JSON body");
        (
            body["job_id"].as_str().expect("job_id").to_string(),
            body["job_token"].as_str().expect("job_token").to_string(),
        )
    }

    /// Opens a WebSocket to `/ws/execute`.
    pub async fn connect(&self) -> Ws {
        let (ws, _) = tokio_tungstenite::connect_async(self.ws_url())
            .await
            .expect("WebSocket connect");
        Ws { ws }
    }

    /// Creates a job, connects and sends `execute`.
    pub async fn start_job(&self, language: &str, code: &str) -> Ws {
        let (job_id, token) = self.create_job().await;
        let mut ws = self.connect().await;
        ws.send_json(json!({
            "type": "execute", "job_id": job_id, "job_token": token,
            "code": code, "language": language,
        }))
        .await;
        ws
    }

    /// Starts a Python-syntax job that prints `started`, then runs `rest`
    /// (with `time` imported), and reads until `started` arrived (asserted,
    /// within `limit`): for tests that act while a job is running.
    pub async fn start_running(
        &self,
        language: &str,
        rest: &str,
        limit: Duration,
    ) -> (Ws, Transcript) {
        let code = format!("import time\nprint('started', flush=True)\n{rest}");
        let mut ws = self.start_job(language, &code).await;
        let mut t = Transcript::default();
        assert!(
            ws.read_until_output("started", limit, &mut t).await,
            "the job never started: {:?}",
            t.messages
        );
        (ws, t)
    }

    /// Runs `code`, which asks with `prompt`: waits for the prompt
    /// (asserted, within `limit`), types `input` and reads to the end. The
    /// transcript, asserted ok.
    pub async fn converse(
        &self,
        language: &str,
        code: &str,
        (prompt, input): (&str, &str),
        limit: Duration,
    ) -> Transcript {
        let mut ws = self.start_job(language, code).await;
        let mut t = Transcript::default();
        assert!(
            ws.read_until_output(prompt, limit, &mut t).await,
            "no prompt: {:?}",
            t.messages
        );
        ws.input(input).await;
        ws.finish(limit, &mut t).await;
        t.assert_ok();
        t
    }

    /// Runs `code` without input and returns the transcript.
    pub async fn run(&self, language: &str, code: &str) -> Transcript {
        let mut ws = self.start_job(language, code).await;
        ws.transcript(Duration::from_secs(60)).await
    }
}

/// Runs the cases of a client library's script (`program script`, with
/// `CODR_URL` set to `svc` and `env` besides) and asserts that all passed:
/// it exits 0 and reports ` 0 failed`.
pub async fn client_cases(svc: &Service, program: &str, script: &str, env: &[(&str, &OsStr)]) {
    let out = tokio::process::Command::new(program)
        .arg(repo_root().join(script))
        .envs(env.iter().copied())
        .env("CODR_URL", svc.http())
        .output()
        .await
        .expect(program);
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!(
        "{}: {stdout}{}",
        svc.mode,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "a client case failed ({}):\n{stdout}",
        svc.mode
    );
    assert!(stdout.contains(" 0 failed"), "{stdout}");
}

/// POSTs `body` to `path` with the test API key: the status and the JSON
/// answer (`{"raw": text}` when it is not JSON).
pub async fn post(svc: &Service, path: &str, body: Value) -> (u16, Value) {
    let (status, _, body) = answer(
        http()
            .post(format!("{}{path}", svc.http()))
            .header("X-API-Key", API_KEY)
            .json(&body),
    )
    .await;
    (status, body)
}

/// Sends a request: its status, its `Retry-After` and its JSON answer
/// (`{"raw": text}` when it is not JSON).
pub async fn answer(request: reqwest::RequestBuilder) -> (u16, Option<String>, Value) {
    let r = request.send().await.expect("request");
    let status = r.status().as_u16();
    let retry_after = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let text = r.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| json!({ "raw": text }));
    (status, retry_after, body)
}

/// Panics unless `body` is Piston's error shape: `{message}` alone.
pub fn assert_piston_error(body: &Value) {
    let alone = body.as_object().is_some_and(|o| o.len() == 1);
    assert!(
        body["message"].is_string() && alone,
        "not Piston's error shape: {body}"
    );
}

/// A shared HTTP client.
pub fn http() -> reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("HTTP client")
        })
        .clone()
}

/// Everything a session received until the server closed it.
#[derive(Debug, Default)]
pub struct Transcript {
    /// Every JSON message, in order.
    pub messages: Vec<Value>,
    /// All `output` data concatenated.
    pub output: String,
    /// The `complete` message, if any.
    pub complete: Option<Value>,
    /// The `error` message, if any.
    pub error: Option<Value>,
    /// The server sent a Close frame (a clean close).
    pub closed_cleanly: bool,
    /// Close code, if any.
    pub close_code: Option<u16>,
}

impl Transcript {
    /// The `status` field of `complete`.
    pub fn status(&self) -> Option<&str> {
        self.complete.as_ref()?.get("status")?.as_str()
    }

    /// The `message` of `error`.
    pub fn error_message(&self) -> Option<&str> {
        self.error.as_ref()?.get("message")?.as_str()
    }

    /// Panics unless the job completed with status ok and exit code 0.
    pub fn assert_ok(&self) {
        let c = self
            .complete
            .as_ref()
            .unwrap_or_else(|| panic!("no complete message: {:?}", self.messages));
        assert_eq!(c["status"], "ok", "transcript: {:?}", self.messages);
        assert_eq!(c["exit_code"], 0, "transcript: {:?}", self.messages);
        assert!(c["execution_time"].is_number(), "{c}");
    }

    /// Panics unless the job completed with status compile_error; the
    /// compiler's output.
    pub fn assert_compile_error(&self) -> &str {
        let c = self
            .complete
            .as_ref()
            .unwrap_or_else(|| panic!("{:?}", self.messages));
        assert_eq!(c["status"], "compile_error", "{c}");
        c["compile_output"].as_str().unwrap_or_default()
    }

    /// Panics unless an error containing `needle` came, then a clean close.
    pub fn assert_error(&self, needle: &str) {
        let message = self
            .error_message()
            .unwrap_or_else(|| panic!("expected an error, got {:?}", self.messages));
        assert!(
            message.to_lowercase().contains(&needle.to_lowercase()),
            "error {message:?} does not mention {needle:?}"
        );
        assert!(
            self.closed_cleanly,
            "no clean close after the error: {self:?}"
        );
    }
}

/// A client WebSocket.
pub struct Ws {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Ws {
    /// Sends a JSON text frame.
    pub async fn send_json(&mut self, value: Value) {
        self.send_text(&value.to_string()).await;
    }

    /// Sends a raw text frame.
    pub async fn send_text(&mut self, text: &str) {
        self.ws
            .send(Message::text(text.to_string()))
            .await
            .expect("send text frame");
    }

    /// Sends `{type: input, data}`.
    pub async fn input(&mut self, data: &str) {
        self.send_json(json!({"type": "input", "data": data})).await;
    }

    /// Next JSON message (`None` at close or timeout); a Close frame is
    /// recorded in `t`.
    pub async fn next(&mut self, limit: Duration, t: &mut Transcript) -> Option<Value> {
        loop {
            let frame = tokio::time::timeout(limit, self.ws.next()).await.ok()??;
            match frame {
                Ok(Message::Text(text)) => {
                    let v: Value = serde_json::from_str(text.as_str())
                        .unwrap_or_else(|e| panic!("server sent bad JSON {text:?}: {e}"));
                    t.record(&v);
                    return Some(v);
                }
                Ok(Message::Close(frame)) => {
                    t.closed_cleanly = true;
                    t.close_code = frame.map(|f| u16::from(f.code));
                    return None;
                }
                Ok(Message::Binary(_)) => panic!("server sent a binary frame"),
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
    }

    /// Reads until the output contains `needle` (or the session ends).
    pub async fn read_until_output(
        &mut self,
        needle: &str,
        limit: Duration,
        t: &mut Transcript,
    ) -> bool {
        let deadline = Instant::now() + limit;
        while !t.output.contains(needle) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || self.next(left, t).await.is_none() {
                return t.output.contains(needle);
            }
        }
        true
    }

    /// Reads every message until the server closes, at most `limit`.
    pub async fn transcript(&mut self, limit: Duration) -> Transcript {
        let mut t = Transcript::default();
        self.finish(limit, &mut t).await;
        t
    }

    /// Continues a transcript until the server closes.
    pub async fn finish(&mut self, limit: Duration, t: &mut Transcript) {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || self.next(left, t).await.is_none() {
                return;
            }
        }
    }
}

impl Transcript {
    fn record(&mut self, v: &Value) {
        match v["type"].as_str() {
            Some("output") => self.output.push_str(v["data"].as_str().unwrap_or_default()),
            Some("complete") => self.complete = Some(v.clone()),
            Some("error") => self.error = Some(v.clone()),
            _ => {}
        }
        self.messages.push(v.clone());
    }
}

/// A job token signed with `secret`, for `job_id`, expiring at `exp`.
pub fn sign_token(secret: &str, job_id: &str, exp: u64) -> String {
    let claims = json!({"sub": job_id, "jti": uuid::Uuid::new_v4().to_string(), "exp": exp, "iat": exp.saturating_sub(60)});
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign a token")
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Runs named async cases one after another, collecting failures instead of
/// stopping at the first; panics at the end listing every failed case.
pub struct Cases {
    failed: Vec<String>,
    passed: usize,
    label: String,
}

impl Cases {
    /// A run labelled `label` (the service mode).
    pub fn new(label: &str) -> Self {
        Self {
            failed: Vec::new(),
            passed: 0,
            label: label.to_string(),
        }
    }

    /// Runs one case, catching its panic.
    pub async fn case<F>(&mut self, name: &str, f: F)
    where
        F: std::future::Future<Output = ()>,
    {
        use futures::FutureExt;
        let start = Instant::now();
        let result = std::panic::AssertUnwindSafe(f).catch_unwind().await;
        let ms = start.elapsed().as_millis();
        match result {
            Ok(()) => {
                self.passed += 1;
                eprintln!("[{}] case {name} ... ok ({ms} ms)", self.label);
            }
            Err(e) => {
                let msg = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                eprintln!("[{}] case {name} ... FAILED ({ms} ms): {msg}", self.label);
                self.failed.push(format!("{name}: {msg}"));
            }
        }
    }

    /// Panics if any case failed.
    pub fn finish(self) {
        eprintln!(
            "[{}] {} passed, {} failed",
            self.label,
            self.passed,
            self.failed.len()
        );
        assert!(
            self.failed.is_empty(),
            "failed cases:\n{}",
            self.failed.join("\n")
        );
    }
}
