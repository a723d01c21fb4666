//! Interactive sessions at classroom scale (issue 18): many Python programs
//! that each print a prompt and wait for their user, arriving evenly over a
//! few seconds, each user typing a few seconds after seeing the prompt; and a
//! CPU-bound batch load beside them. Shared by the load driver
//! (`host/examples/sessions.rs`, which includes this file) and the test
//! `tests/e2e_sessions.rs` (through `mod common`).
//!
//! Every wait has a timeout: a session that gets no prompt, no `complete`,
//! or a refused request ends as a [`Failure`] with a status and a message,
//! never as a hang.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// What every session's program prints before it waits.
pub const PROMPT: &str = "name? ";
/// Every session's program: a prompt, then a greeting with the answer.
pub const PROGRAM: &str = "name = input(\"name? \")\nprint(\"hello\", name)\n";

/// Iterations of the batch job's loop: about 0.3 s of CPU in CPython 3.11.
pub const BATCH_N: u64 = 2_000_000;

/// The CPU-bound batch job: a loop summing squares, printing the sum.
pub fn batch_program() -> String {
    format!("s = 0\nfor i in range({BATCH_N}):\n    s += i * i\nprint(s)\n")
}

/// What the batch job must print: the sum of `i * i` for `i < BATCH_N`.
pub fn batch_expected() -> String {
    let n = BATCH_N as u128;
    ((n - 1) * n * (2 * n - 1) / 6).to_string()
}

/// Where the jobs go.
#[derive(Clone)]
pub struct Target {
    pub http: reqwest::Client,
    /// `http://HOST:PORT`.
    pub url: String,
    /// An API key.
    pub key: String,
}

impl Target {
    /// A target with its own HTTP client (each request at most `limit`).
    pub fn new(url: &str, key: &str, limit: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(limit)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .expect("HTTP client");
        Target {
            http,
            url: url.trim_end_matches('/').to_string(),
            key: key.to_string(),
        }
    }

    fn ws_url(&self) -> String {
        format!("{}/ws/execute", self.url.replacen("http", "ws", 1))
    }
}

/// What a run of sessions does.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Sessions in all.
    pub sessions: usize,
    /// They start evenly over this long (session `i` at `i * over / sessions`).
    pub over: Duration,
    /// Each user answers this long after seeing the prompt.
    pub answer_after: Duration,
    /// From `execute` to the prompt, at most.
    pub prompt_timeout: Duration,
    /// From the answer to `complete`, at most.
    pub finish_timeout: Duration,
    /// The server's process id, for the RSS of its process tree (`None`:
    /// only MemAvailable is read).
    pub server_pid: Option<u32>,
}

/// Why a session did not end `ok` with its answer.
#[derive(Clone, Debug)]
pub struct Failure {
    /// The session's index.
    pub session: usize,
    /// `complete`'s status when it came (`time_limit`, ...), else what went
    /// wrong: `create_failed`, `connect_failed`, `error`, `no_prompt`,
    /// `no_complete`, `closed`, `wrong_output`.
    pub status: String,
    /// The detail (`complete`'s message, the error, what was missing).
    pub message: String,
}

/// One session as its user saw it.
#[derive(Clone, Debug)]
pub struct SessionResult {
    pub session: usize,
    /// From sending `execute` to the output holding the prompt.
    pub prompt_latency: Option<Duration>,
    /// From sending `execute` to the first `input_required` before the answer.
    pub input_required_latency: Option<Duration>,
    /// `None` when the session ended `ok` with its answer in the output.
    pub failure: Option<Failure>,
}

impl SessionResult {
    pub fn ok(&self) -> bool {
        self.failure.is_none()
    }
}

/// Host memory at one moment.
#[derive(Clone, Debug, Default)]
pub struct Memory {
    /// `MemAvailable` of /proc/meminfo, KiB.
    pub mem_available_kib: Option<u64>,
    /// RSS of the server and all its descendants, KiB (shared pages counted
    /// once per process).
    pub tree_rss_kib: Option<u64>,
    /// Processes in the server's tree.
    pub tree_processes: usize,
}

impl Memory {
    pub fn to_json(&self) -> Value {
        json!({
            "mem_available_kib": self.mem_available_kib,
            "tree_rss_kib": self.tree_rss_kib,
            "tree_processes": self.tree_processes,
        })
    }
}

/// The memory sample taken while sessions were waiting for their answer.
#[derive(Clone, Debug)]
pub struct WaitingSample {
    pub memory: Memory,
    /// Sessions waiting for their answer at that moment.
    pub waiting: usize,
    /// True when that was every session (the last prompt seen, no answer
    /// typed yet); false for the peak seen by the periodic sampler.
    pub all: bool,
    /// Since the first session's start.
    pub at: Duration,
}

/// A whole run of sessions.
#[derive(Clone, Debug)]
pub struct SessionsRun {
    pub results: Vec<SessionResult>,
    /// Memory just before the first session started.
    pub before: Memory,
    /// Memory while the most sessions were waiting (every one, if they all
    /// reached their prompt before the first answer).
    pub waiting: Option<WaitingSample>,
    /// From the first session's start to the last one's end.
    pub wall: Duration,
}

impl SessionsRun {
    pub fn ok(&self) -> usize {
        self.results.iter().filter(|r| r.ok()).count()
    }

    pub fn failures(&self) -> Vec<&Failure> {
        self.results
            .iter()
            .filter_map(|r| r.failure.as_ref())
            .collect()
    }

    /// Failures by status.
    pub fn failure_counts(&self) -> Vec<(String, usize)> {
        let mut counts: HashMap<String, usize> = HashMap::new();
        for f in self.failures() {
            *counts.entry(f.status.clone()).or_default() += 1;
        }
        let mut counts: Vec<_> = counts.into_iter().collect();
        counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        counts
    }

    pub fn prompt_latencies(&self) -> Vec<Duration> {
        self.results
            .iter()
            .filter_map(|r| r.prompt_latency)
            .collect()
    }

    pub fn input_required_latencies(&self) -> Vec<Duration> {
        self.results
            .iter()
            .filter_map(|r| r.input_required_latency)
            .collect()
    }

    /// Host memory per waiting session, KiB: (MemAvailable drop, tree RSS
    /// growth) divided by the sessions waiting at the sample.
    pub fn per_waiting_session_kib(&self) -> (Option<f64>, Option<f64>) {
        let Some(w) = &self.waiting else {
            return (None, None);
        };
        if w.waiting == 0 {
            return (None, None);
        }
        let n = w.waiting as f64;
        let avail = match (self.before.mem_available_kib, w.memory.mem_available_kib) {
            (Some(b), Some(a)) => Some((b as f64 - a as f64) / n),
            _ => None,
        };
        let rss = match (self.before.tree_rss_kib, w.memory.tree_rss_kib) {
            (Some(b), Some(a)) => Some((a as f64 - b as f64) / n),
            _ => None,
        };
        (avail, rss)
    }
}

/// Percentile `p` (0..=1) of sorted `d`, nearest rank.
pub fn percentile(sorted: &[Duration], p: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    Some(sorted[i.min(sorted.len() - 1)])
}

/// p50, p95, p99 and max in ms, with the count (JSON).
pub fn latency_json(mut d: Vec<Duration>) -> Value {
    d.sort();
    let ms = |x: Option<Duration>| x.map(|x| x.as_secs_f64() * 1000.0);
    json!({
        "n": d.len(),
        "p50_ms": ms(percentile(&d, 0.5)),
        "p95_ms": ms(percentile(&d, 0.95)),
        "p99_ms": ms(percentile(&d, 0.99)),
        "max_ms": ms(d.last().copied()),
        "within_1s": d.iter().filter(|x| **x <= Duration::from_secs(1)).count(),
    })
}

// ---------------------------------------------------------------- memory

/// `MemAvailable` in KiB.
pub fn mem_available_kib() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// (parent pid, RSS in pages) of a process, from /proc/PID/stat.
fn stat_of(pid: u32) -> Option<(u32, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: fields after
    // its last ')' are state (3), ppid (4), ... rss (24).
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ppid = fields.get(1)?.parse().ok()?;
    let rss = fields.get(21)?.parse().ok()?;
    Some((ppid, rss))
}

/// RSS of `root` and all its descendants (KiB) and how many they are.
pub fn tree_rss_kib(root: u32) -> Option<(u64, usize)> {
    let page_kib = {
        // SAFETY: sysconf has no preconditions.
        let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        if p > 0 {
            p as u64 / 1024
        } else {
            4
        }
    };
    let mut procs: HashMap<u32, (u32, u64)> = HashMap::new();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        if let Some(s) = stat_of(pid) {
            procs.insert(pid, s);
        }
    }
    let (_, root_rss) = *procs.get(&root)?;
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for (&pid, &(ppid, _)) in &procs {
        children.entry(ppid).or_default().push(pid);
    }
    let (mut total, mut count, mut stack) = (root_rss, 1, vec![root]);
    while let Some(p) = stack.pop() {
        for &c in children.get(&p).map(Vec::as_slice).unwrap_or(&[]) {
            total += procs[&c].1;
            count += 1;
            stack.push(c);
        }
    }
    Some((total * page_kib, count))
}

/// Memory now (blocking: reads /proc).
pub fn sample_memory(server_pid: Option<u32>) -> Memory {
    let tree = server_pid.and_then(tree_rss_kib);
    Memory {
        mem_available_kib: mem_available_kib(),
        tree_rss_kib: tree.map(|t| t.0),
        tree_processes: tree.map_or(0, |t| t.1),
    }
}

async fn sample_memory_async(server_pid: Option<u32>) -> Memory {
    tokio::task::spawn_blocking(move || sample_memory(server_pid))
        .await
        .unwrap_or_default()
}

// ---------------------------------------------------------------- sessions

/// Who is waiting for their answer; the memory samples.
#[derive(Default)]
struct Gauge {
    prompted: usize,
    answered: usize,
    waiting: usize,
    all: Option<WaitingSample>,
    peak: Option<WaitingSample>,
}

struct Shared {
    target: Target,
    plan: Plan,
    start: Instant,
    /// Async: the task that sees the last prompt samples memory while
    /// holding it, so no answer is typed before the sample is taken.
    gauge: tokio::sync::Mutex<Gauge>,
}

impl Shared {
    /// A session saw its prompt.
    async fn prompted(&self) {
        let mut g = self.gauge.lock().await;
        g.prompted += 1;
        g.waiting += 1;
        if g.prompted == self.plan.sessions && g.answered == 0 {
            let memory = sample_memory_async(self.plan.server_pid).await;
            g.all = Some(WaitingSample {
                memory,
                waiting: g.waiting,
                all: true,
                at: self.start.elapsed(),
            });
        }
    }

    /// A session is about to type its answer.
    async fn answering(&self) {
        let mut g = self.gauge.lock().await;
        g.answered += 1;
        g.waiting -= 1;
    }

    fn waiting_now(&self) -> Option<usize> {
        self.gauge.try_lock().ok().map(|g| g.waiting)
    }
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Next JSON message before `deadline`: `Ok(None)` when the server closed,
/// `Err` on timeout or a broken connection.
async fn next_json(
    ws: &mut Socket,
    deadline: tokio::time::Instant,
) -> Result<Option<Value>, String> {
    loop {
        let frame = match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => return Err("timeout".into()),
            Ok(None) => return Ok(None),
            Ok(Some(Err(e))) => return Err(format!("connection: {}", chain(&e))),
            Ok(Some(Ok(frame))) => frame,
        };
        match frame {
            Message::Text(text) => {
                return serde_json::from_str(text.as_str())
                    .map(Some)
                    .map_err(|e| format!("bad JSON from the server: {e}"))
            }
            Message::Close(_) => return Ok(None),
            _ => continue,
        }
    }
}

/// An error with its causes (`reqwest` and `tungstenite` keep the reason
/// there: "connection refused").
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        cause = c.source();
    }
    text
}

fn fail(session: usize, status: &str, message: impl Into<String>) -> Failure {
    Failure {
        session,
        status: status.into(),
        message: message.into(),
    }
}

/// The last `n` characters of `s`, for messages.
fn tail(s: &str, n: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    chars[chars.len().saturating_sub(n)..].iter().collect()
}

/// A failure from a final message (`complete` not ok, or `error`).
fn final_failure(session: usize, v: &Value, output: &str) -> Failure {
    match v["type"].as_str() {
        Some("complete") => fail(
            session,
            v["status"].as_str().unwrap_or("?"),
            v["message"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| {
                    format!(
                        "exit code {}, output {:?}",
                        v["exit_code"],
                        tail(output, 80)
                    )
                }),
        ),
        _ => fail(
            session,
            "error",
            v["message"].as_str().unwrap_or("(no message)").to_string(),
        ),
    }
}

/// Whether `output` holds `hello ANSWER` as a whole line's end.
fn greeted(output: &str, answer: &str) -> bool {
    let needle = format!("hello {answer}");
    output.match_indices(&needle).any(|(i, _)| {
        matches!(
            output[i + needle.len()..].chars().next(),
            None | Some('\r' | '\n')
        )
    })
}

/// One session: create, connect, execute, prompt, wait, answer, complete.
async fn one_session(
    shared: Arc<Shared>,
    i: usize,
    start_at: tokio::time::Instant,
) -> SessionResult {
    tokio::time::sleep_until(start_at).await;
    let mut result = SessionResult {
        session: i,
        prompt_latency: None,
        input_required_latency: None,
        failure: None,
    };
    let mut answered = false;
    let failure = drive(&shared, i, &mut result, &mut answered).await.err();
    // A session that saw its prompt but never answered leaves the gauge.
    if result.prompt_latency.is_some() && !answered {
        shared.answering().await;
    }
    result.failure = failure;
    result
}

async fn drive(
    shared: &Shared,
    i: usize,
    result: &mut SessionResult,
    answered: &mut bool,
) -> Result<(), Failure> {
    let t = &shared.target;
    let plan = &shared.plan;
    let r = t
        .http
        .post(format!("{}/api/jobs/create", t.url))
        .header("X-API-Key", &t.key)
        .send()
        .await
        .map_err(|e| fail(i, "create_failed", chain(&e)))?;
    let status = r.status();
    let body = r.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(fail(
            i,
            "create_failed",
            format!("HTTP {status}: {}", tail(&body, 200)),
        ));
    }
    let body: Value = serde_json::from_str(&body)
        .map_err(|e| fail(i, "create_failed", format!("bad JSON: {e}")))?;
    let (mut ws, _) = tokio::time::timeout(
        Duration::from_secs(10),
        tokio_tungstenite::connect_async(t.ws_url()),
    )
    .await
    .map_err(|_| fail(i, "connect_failed", "no WebSocket within 10 s"))?
    .map_err(|e| fail(i, "connect_failed", chain(&e)))?;
    let exec = json!({
        "type": "execute", "job_id": body["job_id"], "job_token": body["job_token"],
        "code": PROGRAM, "language": "python",
    });
    let sent = Instant::now();
    ws.send(Message::text(exec.to_string()))
        .await
        .map_err(|e| fail(i, "connect_failed", format!("sending execute: {e}")))?;

    // Until the prompt.
    let mut output = String::new();
    let deadline = tokio::time::Instant::now() + plan.prompt_timeout;
    while !output.contains(PROMPT) {
        let v = match next_json(&mut ws, deadline).await {
            Ok(Some(v)) => v,
            Ok(None) => return Err(fail(i, "closed", "the server closed before the prompt")),
            Err(e) if e == "timeout" => {
                return Err(fail(
                    i,
                    "no_prompt",
                    format!(
                        "no prompt within {:.0} s of execute",
                        plan.prompt_timeout.as_secs_f64()
                    ),
                ))
            }
            Err(e) => return Err(fail(i, "closed", e)),
        };
        match v["type"].as_str() {
            Some("output") => output.push_str(v["data"].as_str().unwrap_or_default()),
            Some("input_required") => {
                result.input_required_latency.get_or_insert(sent.elapsed());
            }
            Some("complete" | "error") => return Err(final_failure(i, &v, &output)),
            _ => {}
        }
    }
    result.prompt_latency = Some(sent.elapsed());
    shared.prompted().await;

    // The user reads and types; meanwhile the server may still speak.
    let answer_at = tokio::time::Instant::now() + plan.answer_after;
    loop {
        match next_json(&mut ws, answer_at).await {
            Err(e) if e == "timeout" => break,
            Err(e) => {
                return Err(fail(
                    i,
                    "closed",
                    format!("while waiting for the answer: {e}"),
                ))
            }
            Ok(None) => return Err(fail(i, "closed", "the server closed before the answer")),
            Ok(Some(v)) => match v["type"].as_str() {
                Some("output") => output.push_str(v["data"].as_str().unwrap_or_default()),
                Some("input_required") => {
                    result.input_required_latency.get_or_insert(sent.elapsed());
                }
                Some("complete" | "error") => return Err(final_failure(i, &v, &output)),
                _ => {}
            },
        }
    }
    let answer = format!("user{i}");
    shared.answering().await;
    *answered = true;
    ws.send(Message::text(
        json!({"type": "input", "data": format!("{answer}\n")}).to_string(),
    ))
    .await
    .map_err(|e| fail(i, "closed", format!("sending the answer: {e}")))?;

    // Until `complete`.
    let deadline = tokio::time::Instant::now() + plan.finish_timeout;
    loop {
        let v = match next_json(&mut ws, deadline).await {
            Ok(Some(v)) => v,
            Ok(None) => return Err(fail(i, "closed", "the server closed without complete")),
            Err(e) if e == "timeout" => {
                return Err(fail(
                    i,
                    "no_complete",
                    format!(
                        "no complete within {:.0} s of the answer",
                        plan.finish_timeout.as_secs_f64()
                    ),
                ))
            }
            Err(e) => return Err(fail(i, "closed", e)),
        };
        match v["type"].as_str() {
            Some("output") => output.push_str(v["data"].as_str().unwrap_or_default()),
            Some("complete") if v["status"] == "ok" => {
                return if greeted(&output, &answer) {
                    Ok(())
                } else {
                    Err(fail(
                        i,
                        "wrong_output",
                        format!(
                            "no \"hello {answer}\" in the output {:?}",
                            tail(&output, 120)
                        ),
                    ))
                };
            }
            Some("complete" | "error") => return Err(final_failure(i, &v, &output)),
            _ => {}
        }
    }
}

/// Runs `plan.sessions` sessions as concurrent tasks; returns when every one
/// has ended (each within its timeouts). Progress goes to stderr.
pub async fn run_sessions(target: &Target, plan: &Plan) -> SessionsRun {
    let before = sample_memory_async(plan.server_pid).await;
    let start = Instant::now();
    let shared = Arc::new(Shared {
        target: target.clone(),
        plan: plan.clone(),
        start,
        gauge: tokio::sync::Mutex::new(Gauge::default()),
    });
    let t0 = tokio::time::Instant::now();
    let n = plan.sessions.max(1);
    let mut tasks = Vec::with_capacity(plan.sessions);
    for i in 0..plan.sessions {
        let at = t0 + plan.over.mul_f64(i as f64 / n as f64);
        tasks.push(tokio::spawn(one_session(shared.clone(), i, at)));
    }

    // The peak sampler: memory whenever more sessions wait than at the
    // last sample, at most every 250 ms, until the sessions are done.
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let shared = shared.clone();
        let done = done.clone();
        tokio::spawn(async move {
            let mut last_report = Instant::now();
            while !done.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(250)).await;
                let Some(waiting) = shared.waiting_now() else {
                    continue;
                };
                if last_report.elapsed() >= Duration::from_secs(2) {
                    last_report = Instant::now();
                    let g = shared.gauge.lock().await;
                    progress_line(&shared, &g);
                }
                let best = shared
                    .gauge
                    .lock()
                    .await
                    .peak
                    .as_ref()
                    .map_or(0, |p| p.waiting);
                if waiting > best {
                    let memory = sample_memory_async(shared.plan.server_pid).await;
                    // Count again: fewer may wait once the sample is taken.
                    let waiting = shared.waiting_now().map_or(waiting, |w| w.min(waiting));
                    let mut g = shared.gauge.lock().await;
                    if waiting > g.peak.as_ref().map_or(0, |p| p.waiting) {
                        g.peak = Some(WaitingSample {
                            memory,
                            waiting,
                            all: false,
                            at: shared.start.elapsed(),
                        });
                    }
                }
            }
        })
    };

    let mut results = Vec::with_capacity(plan.sessions);
    for (i, task) in tasks.into_iter().enumerate() {
        results.push(task.await.unwrap_or_else(|e| SessionResult {
            session: i,
            prompt_latency: None,
            input_required_latency: None,
            failure: Some(fail(i, "driver_panic", e.to_string())),
        }));
    }
    let wall = start.elapsed();
    done.store(true, Ordering::Relaxed);
    let _ = sampler.await;
    let g = shared.gauge.lock().await;
    let waiting = g.all.clone().or_else(|| g.peak.clone());
    drop(g);
    let run = SessionsRun {
        results,
        before,
        waiting,
        wall,
    };
    progress_line(&shared, &*shared.gauge.lock().await);
    run
}

fn progress_line(shared: &Shared, g: &Gauge) {
    eprintln!(
        "[sessions] {:.1} s: {} prompted, {} waiting, {} answered of {}",
        shared.start.elapsed().as_secs_f64(),
        g.prompted,
        g.waiting,
        g.answered,
        shared.plan.sessions
    );
}

// ---------------------------------------------------------------- batch load

/// What a batch load did in its window.
#[derive(Clone, Debug, Default)]
pub struct BatchFigures {
    /// Jobs that ended `ok` with the right output within the window.
    pub ok: usize,
    /// Jobs that failed (counted whenever they ended).
    pub failed: usize,
    /// The first few failures.
    pub failures: Vec<String>,
    /// The window's length.
    pub secs: f64,
}

impl BatchFigures {
    pub fn jobs_per_s(&self) -> Option<f64> {
        (self.secs > 0.0).then(|| self.ok as f64 / self.secs)
    }

    pub fn to_json(&self) -> Value {
        json!({
            "ok": self.ok,
            "failed": self.failed,
            "secs": self.secs,
            "jobs_per_s": self.jobs_per_s(),
            "failures": self.failures,
        })
    }
}

/// `concurrency` client loops each POSTing the CPU-bound job to
/// `/api/v1/execute`, one after the other, until [`BatchLoad::stop`].
pub struct BatchLoad {
    stop: Arc<AtomicBool>,
    loops: Vec<tokio::task::JoinHandle<(usize, usize, Vec<String>)>>,
    started: Instant,
}

/// One batch job: `Ok` when it ended `ok` printing the expected sum.
pub async fn batch_job(t: &Target) -> Result<(), String> {
    let r = t
        .http
        .post(format!("{}/api/v1/execute", t.url))
        .header("X-API-Key", &t.key)
        .json(&json!({"language": "python", "code": batch_program()}))
        .send()
        .await
        .map_err(|e| format!("request: {}", chain(&e)))?;
    let status = r.status();
    let text = r
        .text()
        .await
        .map_err(|e| format!("answer: {}", chain(&e)))?;
    if !status.is_success() {
        return Err(format!("HTTP {status}: {}", tail(&text, 200)));
    }
    let v: Value = serde_json::from_str(&text).map_err(|e| format!("bad JSON: {e}"))?;
    if v["status"] != "ok" {
        return Err(format!("status {}: {}", v["status"], v["message"]));
    }
    let out = v["stdout"].as_str().unwrap_or_default();
    if out.trim() != batch_expected() {
        return Err(format!("wrong output {:?}", tail(out, 80)));
    }
    Ok(())
}

impl BatchLoad {
    /// Starts the loops (none when `concurrency` is 0).
    pub fn start(target: &Target, concurrency: usize) -> BatchLoad {
        let stop = Arc::new(AtomicBool::new(false));
        let loops = (0..concurrency)
            .map(|_| {
                let (t, stop) = (target.clone(), stop.clone());
                tokio::spawn(async move {
                    let (mut ok, mut failed, mut failures) = (0, 0, Vec::new());
                    while !stop.load(Ordering::Relaxed) {
                        let result = batch_job(&t).await;
                        match result {
                            // A job that ends after the window does not count.
                            Ok(()) if !stop.load(Ordering::Relaxed) => ok += 1,
                            Ok(()) => {}
                            Err(e) => {
                                failed += 1;
                                if failures.len() < 5 {
                                    failures.push(e);
                                }
                                // A refusing server is not hammered.
                                tokio::time::sleep(Duration::from_millis(100)).await;
                            }
                        }
                    }
                    (ok, failed, failures)
                })
            })
            .collect();
        BatchLoad {
            stop,
            loops,
            started: Instant::now(),
        }
    }

    /// Ends the window now; waits for the jobs in flight (not counted).
    pub async fn stop(self) -> BatchFigures {
        let secs = self.started.elapsed().as_secs_f64();
        self.stop.store(true, Ordering::Relaxed);
        let mut f = BatchFigures {
            secs,
            ..BatchFigures::default()
        };
        for l in self.loops {
            if let Ok((ok, failed, failures)) = l.await {
                f.ok += ok;
                f.failed += failed;
                f.failures.extend(failures);
            }
        }
        f.failures.truncate(10);
        f
    }
}
