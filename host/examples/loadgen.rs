//! Load driver for `make bench`: N jobs at concurrency C over the WebSocket
//! API, beside bare Firejail launches timed in the same run, plus the server's
//! RSS with many idle WebSocket connections.
//!
//! ```text
//! cargo run --release -p codr --example loadgen -- --jobs 200 --concurrency 10
//! cargo run --release -p codr --example loadgen -- --url http://HOST:8080 --key KEY
//! ```
//! Without `--url` it starts `target/release/codr serve` itself (so it can
//! read the server's RSS).
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

struct Opts {
    url: Option<String>,
    key: String,
    codr: String,
    plugins: String,
    jobs: usize,
    concurrency: usize,
    language: String,
    code: String,
    bare: usize,
    idle: usize,
}

fn parse_args() -> Opts {
    let mut o = Opts {
        url: None,
        key: std::env::var("CODR_API_KEY").unwrap_or_default(),
        codr: "target/release/codr".into(),
        plugins: "target/plugins".into(),
        jobs: 100,
        concurrency: 10,
        language: "python".into(),
        code: "print(1)\n".into(),
        bare: 30,
        idle: 1000,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut val = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{flag} needs a value")))
        };
        match flag.as_str() {
            "--url" => o.url = Some(val()),
            "--key" => o.key = val(),
            "--codr" => o.codr = val(),
            "--plugins" => o.plugins = val(),
            "--jobs" | "-n" => o.jobs = val().parse().unwrap_or_else(|_| usage("--jobs N")),
            "--concurrency" | "-c" => {
                o.concurrency = val().parse().unwrap_or_else(|_| usage("--concurrency C"))
            }
            "--language" => o.language = val(),
            "--code" => o.code = val(),
            "--bare" => o.bare = val().parse().unwrap_or_else(|_| usage("--bare N")),
            "--idle" => o.idle = val().parse().unwrap_or_else(|_| usage("--idle N")),
            "--help" | "-h" => usage(""),
            other => usage(&format!("unknown flag {other}")),
        }
    }
    o
}

fn usage(problem: &str) -> ! {
    if !problem.is_empty() {
        eprintln!("loadgen: {problem}");
    }
    eprintln!(
        "usage: loadgen [--url http://HOST:PORT --key KEY | --codr target/release/codr --plugins target/plugins]\n\
         \x20              [--jobs N] [--concurrency C] [--language python] [--code 'print(1)']\n\
         \x20              [--bare N (bare firejail runs)] [--idle N (idle WebSockets, 0 = skip)]"
    );
    std::process::exit(2)
}

/// A `codr serve` started by the load driver.
struct Server {
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(o: &Opts) -> (Server, String, String) {
    let mut child = Command::new(&o.codr)
        .args(["serve", "--listen", "127.0.0.1:0", "--plugins", &o.plugins])
        .args([
            "--rate-limit",
            "100000000",
            "--first-message-timeout",
            "300s",
        ])
        .env_remove("CODR_API_KEYS")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e} (run `make build` first)", o.codr));
    let stdout = child.stdout.take().expect("piped");
    let mut lines = BufReader::new(stdout).lines();
    let line = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|l| l.contains("listening on http://"))
        .expect("codr serve printed its address");
    std::thread::spawn(move || for _ in lines {});
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .to_string();
    let key = line
        .split("API key: ")
        .nth(1)
        .unwrap_or_default()
        .trim()
        .to_string();
    (Server { child }, url, key)
}

fn raise_fd_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((_, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    }
}

async fn one_job(
    http: &reqwest::Client,
    url: &str,
    key: &str,
    lang: &str,
    code: &str,
) -> Result<Duration, String> {
    let start = Instant::now();
    let r = http
        .post(format!("{url}/api/jobs/create"))
        .header("X-API-Key", key)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !r.status().is_success() {
        return Err(format!("create: HTTP {}", r.status()));
    }
    let body: Value = r.json().await.map_err(|e| e.to_string())?;
    let ws_url = format!("{}/ws/execute", url.replacen("http", "ws", 1));
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url)
        .await
        .map_err(|e| e.to_string())?;
    let exec = json!({"type": "execute", "job_id": body["job_id"], "job_token": body["job_token"], "code": code, "language": lang});
    ws.send(Message::text(exec.to_string()))
        .await
        .map_err(|e| e.to_string())?;
    while let Some(frame) = ws.next().await {
        let Ok(Message::Text(text)) = frame else {
            continue;
        };
        let v: Value = serde_json::from_str(text.as_str()).map_err(|e| e.to_string())?;
        match v["type"].as_str() {
            Some("complete") if v["status"] == "ok" => return Ok(start.elapsed()),
            Some("complete") => return Err(format!("status {}", v["status"])),
            Some("error") => return Err(format!("error {}", v["message"])),
            _ => {}
        }
    }
    Err("closed without complete".into())
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn report(label: &str, mut lat: Vec<Duration>, wall: Duration, failed: usize) -> (f64, f64) {
    lat.sort();
    let n = lat.len();
    let thr = n as f64 / wall.as_secs_f64();
    println!(
        "{label:<34} n={n:<5} fail={failed:<3} p50={:>7.1} ms  p90={:>7.1} ms  p99={:>7.1} ms  {thr:>7.1} jobs/s",
        pct(&lat, 0.5),
        pct(&lat, 0.9),
        pct(&lat, 0.99)
    );
    (pct(&lat, 0.5), thr)
}

/// The cold floor: the interpreter the Python plugin runs (`/usr/bin/python3`,
/// not whatever `python3` is first in PATH: a pyenv shim there costs ~200 ms
/// and would flatter codr) in a bare Firejail.
fn bare_firejail() -> Result<Duration, String> {
    let start = Instant::now();
    let out = Command::new("firejail")
        .args([
            "--quiet",
            "--noprofile",
            "--net=none",
            "/usr/bin/python3",
            "-c",
            "print(1)",
        ])
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() || String::from_utf8_lossy(&out.stdout).trim() != "1" {
        return Err(format!(
            "firejail failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(start.elapsed())
}

async fn bare_parallel(n: usize, c: usize) -> (Vec<Duration>, Duration, usize) {
    let sem = Arc::new(tokio::sync::Semaphore::new(c));
    let start = Instant::now();
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let sem = sem.clone();
            tokio::spawn(async move {
                let _p = sem.acquire_owned().await;
                tokio::task::spawn_blocking(bare_firejail).await.unwrap()
            })
        })
        .collect();
    let mut lat = Vec::new();
    let mut failed = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(d) => lat.push(d),
            Err(_) => failed += 1,
        }
    }
    (lat, start.elapsed(), failed)
}

async fn api_run(
    o: &Opts,
    url: &str,
    key: &str,
    n: usize,
    c: usize,
) -> (Vec<Duration>, Duration, usize) {
    let http = reqwest::Client::new();
    let sem = Arc::new(tokio::sync::Semaphore::new(c));
    let start = Instant::now();
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (sem, http) = (sem.clone(), http.clone());
            let (url, key, lang, code) = (
                url.to_string(),
                key.to_string(),
                o.language.clone(),
                o.code.clone(),
            );
            tokio::spawn(async move {
                let _p = sem.acquire_owned().await;
                one_job(&http, &url, &key, &lang, &code).await
            })
        })
        .collect();
    let mut lat = Vec::new();
    let mut failed = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(d) => lat.push(d),
            Err(e) => {
                failed += 1;
                if failed <= 3 {
                    eprintln!("job failed: {e}");
                }
            }
        }
    }
    (lat, start.elapsed(), failed)
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

async fn idle_connections(url: &str, n: usize, pid: u32) {
    let before = rss_kib(pid).unwrap_or(0);
    let ws_url = format!("{}/ws/execute", url.replacen("http", "ws", 1));
    let mut sockets = Vec::with_capacity(n);
    for i in 0..n {
        match tokio_tungstenite::connect_async(&ws_url).await {
            Ok((ws, _)) => sockets.push(ws),
            Err(e) => {
                eprintln!("idle connection {i} failed: {e}");
                break;
            }
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_kib(pid).unwrap_or(0);
    println!(
        "idle WebSockets: {} open; server RSS {:.1} MB before, {:.1} MB with them ({:.1} KB each); target < 200 MB",
        sockets.len(),
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        (after.saturating_sub(before)) as f64 / sockets.len().max(1) as f64
    );
    drop(sockets);
}

#[tokio::main]
async fn main() {
    let o = parse_args();
    raise_fd_limit();
    let (server, url, key) = match &o.url {
        Some(url) => (None, url.clone(), o.key.clone()),
        None => {
            let (s, url, key) = start_server(&o);
            (Some(s), url, key)
        }
    };
    println!(
        "codr bench: {} jobs of {} at concurrency {} against {url}",
        o.jobs, o.language, o.concurrency
    );
    // Warm up: plugin caches, page cache of the interpreter, firejail.
    let _ = api_run(&o, &url, &key, 3, 1).await;
    let _ = bare_parallel(3, 1).await;

    let (lat, wall, f) = bare_parallel(o.bare, 1).await;
    let (bare_p50, _) = report("bare firejail python3, sequential", lat, wall, f);
    let (lat, wall, f) = api_run(&o, &url, &key, o.bare, 1).await;
    let (api_p50, _) = report("codr API, sequential", lat, wall, f);
    let (lat, wall, f) = bare_parallel(o.jobs, o.concurrency).await;
    let (_, bare_thr) = report(
        &format!("bare firejail, concurrency {}", o.concurrency),
        lat,
        wall,
        f,
    );
    let (lat, wall, f) = api_run(&o, &url, &key, o.jobs, o.concurrency).await;
    let (_, api_thr) = report(
        &format!("codr API, concurrency {}", o.concurrency),
        lat,
        wall,
        f,
    );
    println!(
        "median latency ratio codr/bare = {:.2} (target <= 1.25); throughput ratio = {:.2} (target >= 0.8)",
        api_p50 / bare_p50,
        api_thr / bare_thr
    );
    match (&server, o.idle) {
        (Some(s), n) if n > 0 => idle_connections(&url, n, s.child.id()).await,
        (None, n) if n > 0 => {
            println!("idle WebSockets: skipped (RSS needs a server started by loadgen)")
        }
        _ => {}
    }
}
