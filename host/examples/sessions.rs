//! Load driver for issue 18 (live sessions at classroom scale): N interactive
//! Python sessions arriving evenly over S seconds on one `codr serve`, each
//! program printing a prompt (`name = input("name? ")`) and waiting for its
//! user, who types an answer of its own (`user17`) T seconds after seeing the
//! prompt; beside them, a CPU-bound batch load.
//!
//! It measures:
//! - prompt latency: from sending `execute` to the first output holding the
//!   prompt (p50/p95/p99/max), and how many came within 1 s;
//! - sessions that end `complete` with status `ok` and `hello userI` in their
//!   output, out of N, and the first failures with their status and message;
//! - batch throughput: `--batch-concurrency` client loops each POSTing a
//!   Python loop summing squares (~0.3 s of CPU; its output checked) to
//!   `/api/v1/execute`, first alone for `--batch-secs`, then during the whole
//!   session phase; jobs/s of each and their ratio;
//! - host memory per waiting session: MemAvailable (/proc/meminfo) and the RSS
//!   of the server's process tree (the server and every descendant, from
//!   /proc), before the sessions and when every session waits for its answer
//!   (the last prompt seen, no answer typed yet; when that moment never comes,
//!   at the most sessions waiting at once), divided by the sessions waiting;
//! - the total wall time.
//!
//! ```text
//! cargo build --release -p codr --example sessions
//! target/release/examples/sessions --sessions 200 --over 10s --answer-after 5s \
//!     --json target/bench/sessions.json --markdown target/bench/sessions.md
//! target/release/examples/sessions --sessions 6 --over 2s --answer-after 2s --batch-secs 3
//! target/release/examples/sessions --url http://HOST:8080 --key KEY [--server-pid PID]
//! ```
//!
//! Without `--url` it starts `target/release/codr serve --plugins
//! target/plugins` on a free port (its log in `--logs`, default target/bench)
//! with the rate limits off, the `CODR_*` variables of this environment and
//! every `--server-env KEY=VALUE`. Every wait has a timeout
//! (`--prompt-timeout`, `--finish-timeout`, HTTP requests): a session that
//! fails is counted and reported, never waited for forever. The exit status
//! is 0 whenever it measured, targets met or not.
//!
//! The session logic is shared with the test `tests/e2e_sessions.rs`: it
//! lives in `tests/common/sessions.rs`, included below.
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{json, Map, Value};

// One copy of the session logic for this driver and `make test`'s
// `tests/e2e_sessions.rs` (which reaches it through `mod common`).
#[path = "../../tests/common/sessions.rs"]
mod sessions;

use sessions::{BatchFigures, BatchLoad, Plan, SessionsRun, Target};

struct Opts {
    url: Option<String>,
    key: Option<String>,
    server_pid: Option<u32>,
    codr: String,
    plugins: String,
    logs: PathBuf,
    server_env: Vec<(String, String)>,
    sessions: usize,
    over: Duration,
    answer_after: Duration,
    batch_concurrency: usize,
    batch_secs: Duration,
    prompt_timeout: Duration,
    finish_timeout: Duration,
    json: Option<PathBuf>,
    markdown: Option<PathBuf>,
}

fn parse_args() -> Opts {
    let mut o = Opts {
        url: None,
        key: None,
        server_pid: None,
        codr: "target/release/codr".into(),
        plugins: "target/plugins".into(),
        logs: "target/bench".into(),
        server_env: Vec::new(),
        sessions: 200,
        over: Duration::from_secs(10),
        answer_after: Duration::from_secs(5),
        batch_concurrency: 2,
        batch_secs: Duration::from_secs(10),
        prompt_timeout: Duration::from_secs(30),
        finish_timeout: Duration::from_secs(30),
        json: None,
        markdown: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut val = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{flag} needs a value")))
        };
        match flag.as_str() {
            "--url" => o.url = Some(val()),
            "--key" => o.key = Some(val()),
            "--server-pid" => o.server_pid = Some(number(&val(), "--server-pid PID") as u32),
            "--codr" => o.codr = val(),
            "--plugins" => o.plugins = val(),
            "--logs" => o.logs = val().into(),
            "--server-env" => {
                let kv = val();
                let Some((k, v)) = kv.split_once('=') else {
                    usage("--server-env KEY=VALUE")
                };
                o.server_env.push((k.to_string(), v.to_string()));
            }
            "--sessions" | "-n" => o.sessions = number(&val(), "--sessions N"),
            "--over" => o.over = duration(&val(), "--over S"),
            "--answer-after" => o.answer_after = duration(&val(), "--answer-after T"),
            "--batch-concurrency" => o.batch_concurrency = number(&val(), "--batch-concurrency C"),
            "--batch-secs" => o.batch_secs = duration(&val(), "--batch-secs S"),
            "--prompt-timeout" => o.prompt_timeout = duration(&val(), "--prompt-timeout S"),
            "--finish-timeout" => o.finish_timeout = duration(&val(), "--finish-timeout S"),
            "--json" => o.json = Some(val().into()),
            "--markdown" => o.markdown = Some(val().into()),
            "--help" | "-h" => usage(""),
            other => usage(&format!("unknown flag {other}")),
        }
    }
    if o.url.is_some() && !o.server_env.is_empty() {
        usage("--server-env is for the server this driver starts, not with --url");
    }
    o
}

fn number(s: &str, what: &str) -> usize {
    s.trim().parse().unwrap_or_else(|_| usage(what))
}

/// `10s`, `500ms`, `2m`, or a bare number of seconds (`2.5`).
fn duration(s: &str, what: &str) -> Duration {
    let s = s.trim();
    let (num, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60.0)
    } else {
        (s, 1.0)
    };
    match num.trim().parse::<f64>() {
        Ok(x) if x >= 0.0 && x.is_finite() => Duration::from_secs_f64(x * scale),
        _ => usage(what),
    }
}

fn usage(problem: &str) -> ! {
    if !problem.is_empty() {
        eprintln!("sessions: {problem}");
    }
    eprintln!(
        "usage: sessions [--sessions N (200)] [--over S (10s)] [--answer-after T (5s)]\n\
         \x20               [--batch-concurrency C (2; 0 = no batch load)] [--batch-secs S (10s, the batch-alone phase)]\n\
         \x20               [--prompt-timeout 30s] [--finish-timeout 30s (from the answer to complete)]\n\
         \x20               [--url http://HOST:PORT --key KEY [--server-pid PID (for its RSS)]\n\
         \x20                | --codr target/release/codr --plugins target/plugins --logs target/bench\n\
         \x20                  [--server-env KEY=VALUE ...]]\n\
         \x20               [--json FILE] [--markdown FILE]"
    );
    std::process::exit(2)
}

fn progress(msg: impl AsRef<str>) {
    eprintln!("[sessions] {}", msg.as_ref());
}

/// A `codr serve` started by the driver; killed when dropped.
struct Server {
    child: Child,
    url: String,
    key: String,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Is `name` a setting whose value must not reach the report?
fn secret(name: &str) -> bool {
    ["KEY", "SECRET", "TOKEN", "PASSWORD"]
        .iter()
        .any(|s| name.contains(s))
        || name == "CODR_REDIS_URL"
}

/// The environment the server gets beyond the driver's own (for the
/// report): the `CODR_*` variables passed through and `--server-env`.
fn server_env_report(o: &Opts) -> Map<String, Value> {
    let mut env: Map<String, Value> = std::env::vars()
        .filter(|(k, _)| k.starts_with("CODR_"))
        .chain(o.server_env.iter().cloned())
        .map(|(k, v)| {
            let v = if secret(&k) { "(set)".to_string() } else { v };
            (k, json!(v))
        })
        .collect();
    env.remove("CODR_API_KEY");
    env
}

/// Is `name` set for the server (passed through or by `--server-env`)?
fn server_has(o: &Opts, name: &str) -> bool {
    std::env::var_os(name).is_some() || o.server_env.iter().any(|(k, _)| k == name)
}

/// Starts `codr serve` on a free port. Its stderr goes to the log file; the
/// start-up line on stdout gives the URL and, when no key is configured,
/// the key.
fn start_server(o: &Opts) -> Result<Server, String> {
    std::fs::create_dir_all(&o.logs).map_err(|e| format!("{}: {e}", o.logs.display()))?;
    let log_path = o.logs.join("serve-sessions.log");
    let log =
        std::fs::File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
    let mut cmd = Command::new(&o.codr);
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--plugins", &o.plugins]);
    // Rate limits off, unless the environment sets them.
    if !server_has(o, "CODR_RATE_LIMIT_PER_MINUTE") {
        cmd.args(["--rate-limit", "100000000"]);
    }
    if !server_has(o, "CODR_BATCH_RATE_LIMIT_PER_MINUTE") {
        cmd.args(["--batch-rate-limit", "100000000"]);
    }
    let mut child = cmd
        .envs(o.server_env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e} (run `make build` first)", o.codr))?;
    let stdout = child.stdout.take().expect("piped");
    // The line, read on a thread so that a server that hangs cannot hang us.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if !sent && line.contains("listening on http://") {
                let _ = tx.send(line);
                sent = true;
            }
        }
    });
    let line = match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(line) => line,
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "codr serve gave no address within 60 s; see {}",
                log_path.display()
            ));
        }
    };
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_default()
        .to_string();
    let printed = line.split("API key: ").nth(1).map(|k| k.trim().to_string());
    let configured = std::env::var("CODR_API_KEYS")
        .ok()
        .or_else(|| {
            o.server_env
                .iter()
                .find(|(k, _)| k == "CODR_API_KEYS")
                .map(|(_, v)| v.clone())
        })
        .and_then(|keys| keys.split(',').next().map(|k| k.trim().to_string()));
    let key = o.key.clone().or(printed).or(configured).unwrap_or_default();
    Ok(Server {
        child,
        url,
        key,
        log: log_path,
    })
}

/// CPU time this process has used (user + system).
fn own_cpu() -> Duration {
    use nix::sys::resource::{getrusage, UsageWho};
    getrusage(UsageWho::RUSAGE_SELF).map_or(Duration::ZERO, |u| {
        let tv = |t: nix::sys::time::TimeVal| {
            Duration::from_secs(t.tv_sec().max(0) as u64)
                + Duration::from_micros(t.tv_usec().max(0) as u64)
        };
        tv(u.user_time()) + tv(u.system_time())
    })
}

fn raise_fd_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((_, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    }
}

/// Waits for `/health` to answer 200 (the worker registered), at most `limit`.
async fn wait_healthy(t: &Target, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Ok(r) = t.http.get(format!("{}/health", t.url)).send().await {
            if r.status().is_success() {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

fn ms(d: Option<f64>) -> String {
    d.map_or("-".into(), |x| format!("{x:.0} ms"))
}

fn mib(kib: Option<f64>) -> String {
    kib.map_or("-".into(), |k| format!("{:.1} MB", k / 1024.0))
}

fn rate(f: &BatchFigures) -> String {
    f.jobs_per_s()
        .map_or("-".into(), |r| format!("{r:.2} jobs/s"))
}

fn verdict(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "met",
        Some(false) => "**missed**",
        None => "not measured",
    }
}

/// The machine's busy and total CPU time so far, in seconds of one core
/// (from /proc/stat: everything but idle and iowait).
fn machine_cpu() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    let all: u64 = fields.iter().take(8).sum();
    let idle = fields.get(3)? + fields.get(4)?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Some(((all - idle) as f64 / hz, all as f64 / hz))
}

/// CPU the whole machine used over a stretch of time.
#[derive(Debug, Clone, Copy)]
struct MachineCpu {
    /// Busy CPU seconds.
    busy_s: f64,
    /// Wall seconds.
    secs: f64,
}

impl MachineCpu {
    /// Measures from now until [`CpuMeter::stop`].
    fn start() -> CpuMeter {
        CpuMeter {
            busy: machine_cpu().map(|(b, _)| b),
            at: Instant::now(),
        }
    }

    /// Cores busy on average.
    fn cores(&self) -> f64 {
        self.busy_s / self.secs.max(1e-9)
    }
}

/// A running [`MachineCpu`] measurement.
struct CpuMeter {
    busy: Option<f64>,
    at: Instant,
}

impl CpuMeter {
    fn stop(self) -> Option<MachineCpu> {
        let now = machine_cpu()?.0;
        Some(MachineCpu {
            busy_s: now - self.busy?,
            secs: self.at.elapsed().as_secs_f64(),
        })
    }
}

/// The CPU side of the batch figure: what the sessions cost alone and how
/// much batch throughput the machine can keep beside them at best.
#[derive(Debug, Clone, Copy)]
struct CpuBudget {
    cores: f64,
    /// The machine with neither load (other processes).
    idle: MachineCpu,
    /// During the batch-alone phase.
    batch: MachineCpu,
    /// During the same sessions without the batch load.
    sessions: MachineCpu,
    /// How many sessions that was.
    count: usize,
}

impl CpuBudget {
    /// CPU seconds the sessions alone used, the rest of the machine taken out.
    fn sessions_cpu_s(&self) -> f64 {
        (self.sessions.busy_s - self.idle.cores() * self.sessions.secs).max(0.0)
    }

    /// The most batch throughput (a fraction of alone) the machine can keep
    /// during a session phase of `phase_s` seconds if every session is to be
    /// served in it: the cores left after the sessions' CPU and the rest of
    /// the machine, over the cores batch used alone.
    fn best_ratio(&self, phase_s: f64) -> f64 {
        let batch = (self.batch.cores() - self.idle.cores()).max(1e-9);
        let left = self.cores * phase_s - self.sessions_cpu_s() - self.idle.cores() * phase_s;
        (left / (batch * phase_s)).clamp(0.0, 1.0)
    }
}

/// Everything measured, for `--json` and the report.
struct Figures {
    run: SessionsRun,
    cpu: Option<CpuBudget>,
    alone: Option<BatchFigures>,
    under: Option<BatchFigures>,
    warmup: Vec<String>,
    server: Value,
    /// CPU this driver used during the session phase.
    driver_cpu: Duration,
    wall: Duration,
    started_at: SystemTime,
}

impl Figures {
    fn ratio(&self) -> Option<f64> {
        let a = self.alone.as_ref()?.jobs_per_s()?;
        let u = self.under.as_ref()?.jobs_per_s()?;
        (a > 0.0).then(|| u / a)
    }

    fn to_json(&self, o: &Opts) -> Value {
        let run = &self.run;
        let (per_avail, per_rss) = run.per_waiting_session_kib();
        let failures: Vec<Value> = run
            .failures()
            .iter()
            .take(10)
            .map(|f| json!({"session": f.session, "status": f.status, "message": f.message}))
            .collect();
        let counts: Map<String, Value> = run
            .failure_counts()
            .into_iter()
            .map(|(k, v)| (k, json!(v)))
            .collect();
        json!({
            "sessions": o.sessions,
            "over_s": o.over.as_secs_f64(),
            "answer_after_s": o.answer_after.as_secs_f64(),
            "prompt_timeout_s": o.prompt_timeout.as_secs_f64(),
            "finish_timeout_s": o.finish_timeout.as_secs_f64(),
            "batch_concurrency": o.batch_concurrency,
            "batch_secs": o.batch_secs.as_secs_f64(),
            "batch_program": sessions::batch_program(),
            "program": sessions::PROGRAM,
            "server": self.server,
            "warmup_failures": self.warmup,
            "prompt_latency": sessions::latency_json(run.prompt_latencies()),
            "input_required_latency": sessions::latency_json(run.input_required_latencies()),
            "ok": run.ok(),
            "failed": o.sessions - run.ok(),
            "failure_counts": counts,
            "failures": failures,
            "batch": {
                "alone": self.alone.as_ref().map(BatchFigures::to_json),
                "under_sessions": self.under.as_ref().map(BatchFigures::to_json),
                "ratio": self.ratio(),
                "cpu": self.cpu.map(|c| json!({
                    "cores": c.cores,
                    "idle_cores": c.idle.cores(),
                    "batch_alone_cores": c.batch.cores(),
                    "sessions_alone_cpu_s": c.sessions_cpu_s(),
                    "sessions_alone_s": c.sessions.secs,
                    "cpu_ms_per_session": 1000.0 * c.sessions_cpu_s() / c.count.max(1) as f64,
                    "best_ratio": c.best_ratio(run.wall.as_secs_f64()),
                })),
            },
            "memory": {
                "before": run.before.to_json(),
                "waiting": run.waiting.as_ref().map(|w| json!({
                    "memory": w.memory.to_json(),
                    "sessions_waiting": w.waiting,
                    "all_waiting": w.all,
                    "at_s": w.at.as_secs_f64(),
                })),
                "per_waiting_session_kib": {
                    "mem_available": per_avail,
                    "tree_rss": per_rss,
                },
            },
            "sessions_wall_s": run.wall.as_secs_f64(),
            "driver_cpu_s": self.driver_cpu.as_secs_f64(),
            "wall_s": self.wall.as_secs_f64(),
            "started_at": humantime::format_rfc3339_seconds(self.started_at).to_string(),
        })
    }

    fn markdown(&self, o: &Opts) -> String {
        use std::fmt::Write;
        let run = &self.run;
        let j = self.to_json(o);
        let lat = &j["prompt_latency"];
        let ir = &j["input_required_latency"];
        let n = o.sessions;
        let secs = |d: Duration| format!("{}", d.as_secs_f64());
        let mut md = String::new();
        writeln!(md, "## Interactive sessions (issue 18)\n").unwrap();
        let started = humantime::format_rfc3339_seconds(self.started_at).to_string();
        writeln!(
            md,
            "Measured by `target/release/examples/sessions --sessions {n} --over {}s --answer-after {}s --batch-concurrency {}` \
             (host/examples/sessions.rs), started {} UTC, {:.0} s in all. {n} Python sessions \
             (`name = input(\"name? \")`, then `print(\"hello\", name)`) arrive evenly over {} s on one `codr serve` \
             (environment beyond the defaults: {}); each user types an answer of its own (`user17`) {} s after seeing the prompt. \
             {}Timeouts: {} s from `execute` to the prompt, {} s from the answer to `complete`.\n",
            secs(o.over),
            secs(o.answer_after),
            o.batch_concurrency,
            started.replace('T', " ").trim_end_matches('Z'),
            self.wall.as_secs_f64(),
            secs(o.over),
            {
                let env = j["server"]["env"].as_object().cloned().unwrap_or_default();
                if env.is_empty() {
                    "none".to_string()
                } else {
                    env.iter()
                        .map(|(k, v)| format!("`{k}={}`", v.as_str().unwrap_or("")))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            },
            secs(o.answer_after),
            if o.batch_concurrency > 0 {
                format!(
                    "Beside them, {} client loops each post a CPU-bound Python job (a loop summing {} squares, \
                     its output checked) to `/api/v1/execute`, alone for {} s first, then during the whole session phase. ",
                    o.batch_concurrency,
                    sessions::BATCH_N,
                    secs(o.batch_secs)
                )
            } else {
                "No batch load. ".to_string()
            },
            secs(o.prompt_timeout),
            secs(o.finish_timeout),
        )
        .unwrap();

        let f = |k: &str| lat[k].as_f64();
        let within = lat["within_1s"].as_u64().unwrap_or(0) as usize;
        let (per_avail, per_rss) = run.per_waiting_session_kib();
        let ratio = self.ratio();
        writeln!(md, "| target (issue 18) | measured | verdict |").unwrap();
        writeln!(md, "| --- | --- | --- |").unwrap();
        writeln!(
            md,
            "| every prompt within 1 s of `execute` | {within} of {n} within 1 s; p99 {}, max {} | {} |",
            ms(f("p99_ms")),
            ms(f("max_ms")),
            verdict(Some(within == n))
        )
        .unwrap();
        writeln!(
            md,
            "| every session ends `ok` with its answer | {} of {n} | {} |",
            run.ok(),
            verdict(Some(run.ok() == n))
        )
        .unwrap();
        writeln!(
            md,
            "| batch throughput during the sessions within 20 % of alone | {} vs {} alone: {} | {} |",
            self.under.as_ref().map_or("-".into(), rate),
            self.alone.as_ref().map_or("-".into(), rate),
            ratio.map_or("-".into(), |r| format!("{r:.2} x")),
            match (ratio, self.cpu) {
                (Some(r), Some(c)) if r < 0.8 && c.best_ratio(run.wall.as_secs_f64()) < 0.8 =>
                    "**missed**: beyond this machine (below)",
                _ => verdict(ratio.map(|r| r >= 0.8)),
            }
        )
        .unwrap();
        let waiting = run.waiting.as_ref();
        writeln!(
            md,
            "| host memory per waiting session (reported) | {} (MemAvailable), {} (server tree RSS), {} | - |\n",
            mib(per_avail),
            mib(per_rss),
            match waiting {
                Some(w) if w.all => format!("all {} waiting", w.waiting),
                Some(w) => format!("at the peak of {} waiting at once (never all {n})", w.waiting),
                None => "no session waited".into(),
            }
        )
        .unwrap();

        writeln!(md, "| figure | value |").unwrap();
        writeln!(md, "| --- | --- |").unwrap();
        writeln!(
            md,
            "| prompt latency p50 / p95 / p99 / max | {} / {} / {} / {} ({} prompts seen) |",
            ms(f("p50_ms")),
            ms(f("p95_ms")),
            ms(f("p99_ms")),
            ms(f("max_ms")),
            lat["n"]
        )
        .unwrap();
        writeln!(
            md,
            "| `input_required` after `execute` p50 / p99 / max | {} / {} / {} ({} seen) |",
            ms(ir["p50_ms"].as_f64()),
            ms(ir["p99_ms"].as_f64()),
            ms(ir["max_ms"].as_f64()),
            ir["n"]
        )
        .unwrap();
        let counts = run.failure_counts();
        writeln!(
            md,
            "| sessions ok | {} of {n}{} |",
            run.ok(),
            if counts.is_empty() {
                String::new()
            } else {
                format!(
                    "; failed: {}",
                    counts
                        .iter()
                        .map(|(s, c)| format!("{c} `{s}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        )
        .unwrap();
        let batch = |b: &Option<BatchFigures>| match b {
            Some(b) => format!(
                "{} ({} ok in {:.1} s, {} failed)",
                rate(b),
                b.ok,
                b.secs,
                b.failed
            ),
            None => "not run".into(),
        };
        writeln!(md, "| batch alone | {} |", batch(&self.alone)).unwrap();
        writeln!(md, "| batch during the sessions | {} |", batch(&self.under)).unwrap();
        writeln!(
            md,
            "| batch during / alone | {} |",
            ratio.map_or("-".into(), |r| format!("{r:.2} x"))
        )
        .unwrap();
        if let Some(c) = self.cpu {
            let phase = run.wall.as_secs_f64();
            writeln!(
                md,
                "| CPU of the same {} sessions without the batch load | {:.1} CPU-s in {:.1} s: {:.0} ms per session (start, prompt, answer, end; the rest of the machine, {:.2} cores idle-time load, taken out) |",
                c.count,
                c.sessions_cpu_s(),
                c.sessions.secs,
                1000.0 * c.sessions_cpu_s() / c.count.max(1) as f64,
                c.idle.cores()
            )
            .unwrap();
            writeln!(
                md,
                "| cores the batch load used alone | {:.2} of {:.0} |",
                c.batch.cores(),
                c.cores
            )
            .unwrap();
            writeln!(
                md,
                "| best batch ratio this machine allows with every session served in the {phase:.1} s phase | {:.2} x: ({:.0} cores x {phase:.1} s - {:.1} CPU-s of sessions) / ({:.2} cores of batch x {phase:.1} s) |",
                c.best_ratio(phase),
                c.cores,
                c.sessions_cpu_s(),
                c.batch.cores() - c.idle.cores()
            )
            .unwrap();
        }
        let kib = |x: Option<u64>| mib(x.map(|k| k as f64));
        let before = &run.before;
        writeln!(
            md,
            "| MemAvailable before the sessions / with them waiting | {} / {} |",
            kib(before.mem_available_kib),
            kib(waiting.and_then(|w| w.memory.mem_available_kib))
        )
        .unwrap();
        writeln!(
            md,
            "| server process tree RSS before / with them waiting | {} ({} processes) / {} ({} processes) |",
            kib(before.tree_rss_kib),
            before.tree_processes,
            kib(waiting.and_then(|w| w.memory.tree_rss_kib)),
            waiting.map_or(0, |w| w.memory.tree_processes)
        )
        .unwrap();
        writeln!(
            md,
            "| this driver's own CPU during the session phase | {:.2} s ({:.0} % of one core) |",
            self.driver_cpu.as_secs_f64(),
            100.0 * self.driver_cpu.as_secs_f64() / run.wall.as_secs_f64().max(1e-9)
        )
        .unwrap();
        writeln!(
            md,
            "| session phase / whole run | {:.1} s / {:.1} s |\n",
            run.wall.as_secs_f64(),
            self.wall.as_secs_f64()
        )
        .unwrap();
        writeln!(
            md,
            "Memory per session is the drop of MemAvailable (or the growth of the RSS of `codr serve` and all its \
             descendants, shared pages counted in each process) from just before the first session to the moment \
             sampled, divided by the sessions waiting then; the batch load ({} jobs at most) runs at that moment too.\n",
            o.batch_concurrency
        )
        .unwrap();
        let failures = run.failures();
        if !failures.is_empty() {
            writeln!(md, "Failures (first 10 of {}):\n", failures.len()).unwrap();
            for fl in failures.iter().take(10) {
                writeln!(
                    md,
                    "- session {}: `{}`: {}",
                    fl.session,
                    fl.status,
                    fl.message.replace('\n', " ")
                )
                .unwrap();
            }
            writeln!(md).unwrap();
        }
        let batch_failures: Vec<&String> = self
            .alone
            .iter()
            .chain(self.under.iter())
            .flat_map(|b| b.failures.iter())
            .take(5)
            .collect();
        if !batch_failures.is_empty() {
            writeln!(md, "Batch failures (first 5):\n").unwrap();
            for b in batch_failures {
                writeln!(md, "- {}", b.replace('\n', " ")).unwrap();
            }
            writeln!(md).unwrap();
        }
        if !self.warmup.is_empty() {
            writeln!(md, "Warm-up failures: {}\n", self.warmup.join("; ")).unwrap();
        }
        md
    }
}

#[tokio::main]
async fn main() {
    let o = parse_args();
    let started_at = SystemTime::now();
    let begin = Instant::now();
    raise_fd_limit();

    let (server, url, key, server_pid) = match &o.url {
        Some(url) => {
            let key = o
                .key
                .clone()
                .or_else(|| std::env::var("CODR_API_KEY").ok())
                .unwrap_or_default();
            (None, url.clone(), key, o.server_pid)
        }
        None => match start_server(&o) {
            Ok(s) => {
                progress(format!(
                    "codr serve (pid {}) at {}, log in {}",
                    s.child.id(),
                    s.url,
                    s.log.display()
                ));
                let (url, key, pid) = (s.url.clone(), s.key.clone(), s.child.id());
                (Some(s), url, key, Some(pid))
            }
            Err(e) => {
                progress(e);
                std::process::exit(1);
            }
        },
    };
    // Long enough for a batch job queued behind every session.
    let http_limit = o.prompt_timeout + o.answer_after + o.finish_timeout;
    let target = Target::new(&url, &key, http_limit);
    if !wait_healthy(&target, Duration::from_secs(30)).await {
        progress("the server is not healthy after 30 s; measuring anyway");
    }

    // Warm-up: one batch job and one session, so that the pool knows both
    // kinds and a broken server shows at once.
    let mut warmup = Vec::new();
    if let Err(e) = sessions::batch_job(&target).await {
        progress(format!("warm-up batch job failed: {e}"));
        warmup.push(format!("batch job: {e}"));
    }
    // The measured run's plan; the warm-up and the run without batch load
    // are variations of it.
    let plan = Plan {
        sessions: o.sessions,
        over: o.over,
        answer_after: o.answer_after,
        prompt_timeout: o.prompt_timeout,
        finish_timeout: o.finish_timeout,
        server_pid,
    };
    let one = Plan {
        sessions: 1,
        over: Duration::ZERO,
        answer_after: Duration::ZERO,
        server_pid: None,
        ..plan.clone()
    };
    if let Some(f) = sessions::run_sessions(&target, &one)
        .await
        .failures()
        .first()
    {
        progress(format!(
            "warm-up session failed: {}: {}",
            f.status, f.message
        ));
        warmup.push(format!("session: `{}`: {}", f.status, f.message));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;

    let measuring_batch = o.batch_concurrency > 0 && !o.batch_secs.is_zero();
    let idle_cpu = MachineCpu::start();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle_cpu = idle_cpu.stop();
    let mut batch_cpu = None;
    let alone = if measuring_batch {
        progress(format!(
            "batch alone: {} loops for {:.0} s",
            o.batch_concurrency,
            o.batch_secs.as_secs_f64()
        ));
        let meter = MachineCpu::start();
        let load = BatchLoad::start(&target, o.batch_concurrency);
        tokio::time::sleep(o.batch_secs).await;
        let f = load.stop().await;
        batch_cpu = meter.stop();
        progress(format!("  {} ({} failed)", rate(&f), f.failed));
        // Let the pool refill before the sessions.
        tokio::time::sleep(Duration::from_secs(2)).await;
        Some(f)
    } else {
        None
    };
    // The same sessions without the batch load: what they cost the CPU,
    // hence what batch throughput the machine can keep beside them at best.
    let mut cpu_budget = None;
    if measuring_batch {
        progress(format!("{} sessions alone, for their CPU cost", o.sessions));
        let alone = Plan {
            server_pid: None,
            ..plan.clone()
        };
        let meter = MachineCpu::start();
        let alone_run = sessions::run_sessions(&target, &alone).await;
        let sessions_cpu = meter.stop();
        progress(format!("  {} of {} ok", alone_run.ok(), o.sessions));
        if let (Some(idle), Some(batch), Some(sessions)) = (idle_cpu, batch_cpu, sessions_cpu) {
            cpu_budget = Some(CpuBudget {
                cores: std::thread::available_parallelism().map_or(1, |n| n.get()) as f64,
                idle,
                batch,
                sessions,
                count: o.sessions,
            });
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }

    progress(format!(
        "{} sessions over {:.1} s, answering {:.1} s after the prompt{}",
        o.sessions,
        o.over.as_secs_f64(),
        o.answer_after.as_secs_f64(),
        if o.batch_concurrency > 0 {
            format!(", {} batch loops beside them", o.batch_concurrency)
        } else {
            String::new()
        }
    ));
    // Memory before the sessions, and before the batch load of this phase.
    let before = sessions::sample_memory(server_pid);
    let load = (o.batch_concurrency > 0).then(|| BatchLoad::start(&target, o.batch_concurrency));
    let cpu = own_cpu();
    let mut run = sessions::run_sessions(&target, &plan).await;
    let driver_cpu = own_cpu().saturating_sub(cpu);
    run.before = before;
    let under = match load {
        Some(l) => Some(l.stop().await),
        None => None,
    };
    drop(server);

    let figures = Figures {
        run,
        cpu: cpu_budget,
        alone,
        under,
        warmup,
        server: json!({
            "url": url,
            "started_by_driver": o.url.is_none(),
            "pid": server_pid,
            "env": if o.url.is_none() { Value::Object(server_env_report(&o)) } else { Value::Null },
        }),
        driver_cpu,
        wall: begin.elapsed(),
        started_at,
    };
    let report = figures.to_json(&o);
    let md = figures.markdown(&o);
    let lat = &report["prompt_latency"];
    progress(format!(
        "prompt latency p50 {} p95 {} p99 {} max {}; {} of {} ok; batch {} alone, {} during ({}); \
         per waiting session {} (MemAvailable) {} (tree RSS); {:.1} s in all",
        ms(lat["p50_ms"].as_f64()),
        ms(lat["p95_ms"].as_f64()),
        ms(lat["p99_ms"].as_f64()),
        ms(lat["max_ms"].as_f64()),
        report["ok"],
        o.sessions,
        figures.alone.as_ref().map_or("-".into(), rate),
        figures.under.as_ref().map_or("-".into(), rate),
        figures.ratio().map_or("-".into(), |r| format!("{r:.2} x")),
        mib(report["memory"]["per_waiting_session_kib"]["mem_available"].as_f64()),
        mib(report["memory"]["per_waiting_session_kib"]["tree_rss"].as_f64()),
        figures.wall.as_secs_f64()
    ));
    for f in figures.run.failures().iter().take(10) {
        progress(format!(
            "  session {}: {}: {}",
            f.session, f.status, f.message
        ));
    }
    let write = |path: &PathBuf, text: &str| {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = std::fs::create_dir_all(dir);
        }
        match std::fs::write(path, text) {
            Ok(()) => progress(format!("wrote {}", path.display())),
            Err(e) => {
                progress(format!("cannot write {}: {e}", path.display()));
                std::process::exit(1);
            }
        }
    };
    if let Some(path) = &o.json {
        write(path, &serde_json::to_string_pretty(&report).unwrap());
    }
    if let Some(path) = &o.markdown {
        write(path, &md);
    }
    if o.json.is_none() && o.markdown.is_none() {
        print!("{md}");
    }
}
