//! Load driver for `make bench`: hello-world jobs in every language over the
//! WebSocket API, each beside the same interpreter (or the same already
//! compiled binary) in a bare Firejail timed in the same run; throughput at
//! several concurrencies beside bare parallel Firejail launches; compile-cache
//! hits and misses beside the run-only floor; 1 MB of output; and the server's
//! RSS idle and with many idle WebSocket connections.
//!
//! ```text
//! cargo run --release -p codr --example loadgen -- --jobs 40 --json target/bench/loadgen.json
//! cargo run --release -p codr --example loadgen -- --url http://HOST:8080 --key KEY
//! ```
//!
//! Without `--url` it starts `target/release/codr serve` twice, one after the
//! other: "cold" with `CODR_POOL_SIZE=0 CODR_COMPILE_CACHE_MB=0` and "warm"
//! with the pool and the compile cache on (given as environment variables, so
//! a `codr` that does not know them yet simply ignores them). Progress goes to
//! stderr; `--json` writes every figure for `bench_report`.
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{json, Map, Value};
use tokio_tungstenite::tungstenite::Message;

/// The sandbox's PATH: floors resolve their programs here, as the plans do.
const SANDBOX_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// What `print` in the 1 MB job and its floor writes: 1000 lines of 1000 bytes.
const MB_PROGRAM: &str = "print(('x' * 999 + '\\n') * 1000, end='')\n";
/// Bytes [`MB_PROGRAM`] writes.
const MB_BYTES: usize = 1_000_000;

struct Opts {
    url: Option<String>,
    key: String,
    codr: String,
    plugins: String,
    jobs: usize,
    concurrency: Vec<usize>,
    languages: Vec<String>,
    idle: usize,
    json: Option<PathBuf>,
    pool_size: String,
    cache_mb: String,
    max_jobs: String,
    logs: PathBuf,
    /// `--soak`: only Python hello world at the first concurrency, `jobs`
    /// of them (codr only; the bare floor with `--soak bare`; the same-flags
    /// floor with `--soak flags`), for profiling with perf or /proc/stat.
    soak: Option<String>,
}

fn parse_args() -> Opts {
    let mut o = Opts {
        url: None,
        key: std::env::var("CODR_API_KEY").unwrap_or_default(),
        codr: "target/release/codr".into(),
        plugins: "target/plugins".into(),
        jobs: 40,
        concurrency: vec![1, 10, 50],
        languages: ["python", "javascript", "c", "cpp", "rust", "java"]
            .map(String::from)
            .to_vec(),
        idle: 1000,
        json: None,
        pool_size: "2".into(),
        cache_mb: "256".into(),
        max_jobs: "16".into(),
        logs: "target/bench".into(),
        soak: None,
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
            "--jobs" | "-n" => o.jobs = number(&val(), "--jobs N"),
            "--concurrency" | "-c" => {
                o.concurrency = val()
                    .split(',')
                    .map(|c| number(c, "--concurrency C[,C...]"))
                    .collect()
            }
            "--languages" => o.languages = val().split(',').map(String::from).collect(),
            "--idle" => o.idle = number(&val(), "--idle N"),
            "--json" => o.json = Some(val().into()),
            "--pool-size" => o.pool_size = val(),
            "--compile-cache-mb" => o.cache_mb = val(),
            "--max-jobs" => o.max_jobs = val(),
            "--logs" => o.logs = val().into(),
            "--soak" => o.soak = Some(val()),
            "--help" | "-h" => usage(""),
            other => usage(&format!("unknown flag {other}")),
        }
    }
    o.jobs = o.jobs.max(3);
    o
}

fn number(s: &str, what: &str) -> usize {
    s.trim().parse().unwrap_or_else(|_| usage(what))
}

fn usage(problem: &str) -> ! {
    if !problem.is_empty() {
        eprintln!("loadgen: {problem}");
    }
    eprintln!(
        "usage: loadgen [--url http://HOST:PORT --key KEY | --codr target/release/codr --plugins target/plugins]\n\
         \x20              [--jobs N (per latency point, default 40)] [--concurrency 1,10,50]\n\
         \x20              [--languages python,javascript,c,cpp,rust,java] [--idle N (idle WebSockets, 0 = skip)]\n\
         \x20              [--pool-size 2] [--compile-cache-mb 256] [--max-jobs 16] (for the \"warm\" server)\n\
         \x20              [--json FILE] [--logs DIR (server logs)]\n\
         \x20              [--soak codr|bare|flags (only N Python jobs at the first concurrency, for profiling)]"
    );
    std::process::exit(2)
}

fn progress(msg: impl AsRef<str>) {
    eprintln!("[loadgen] {}", msg.as_ref());
}

/// A `codr serve` started by the load driver; killed when dropped.
struct Server {
    child: Child,
    url: String,
    key: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `codr serve` on a free port with `env` added to its environment.
/// Its stderr (the logs) goes to `<logs>/serve-<name>.log`.
fn start_server(o: &Opts, name: &str, env: &[(&str, &str)]) -> Server {
    std::fs::create_dir_all(&o.logs).expect("log dir");
    let log_path = o.logs.join(format!("serve-{name}.log"));
    let log = std::fs::File::create(&log_path).expect("server log file");
    let mut child = Command::new(&o.codr)
        .args(["serve", "--listen", "127.0.0.1:0", "--plugins", &o.plugins])
        .args([
            "--rate-limit",
            "100000000",
            "--first-message-timeout",
            "300s",
        ])
        .args(["--max-jobs", &o.max_jobs])
        .env_remove("CODR_API_KEYS")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e} (run `make build` first)", o.codr));
    let stdout = child.stdout.take().expect("piped");
    let mut lines = BufReader::new(stdout).lines();
    let Some(line) = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|l| l.contains("listening on http://"))
    else {
        panic!(
            "codr serve exited without its address; see {}",
            log_path.display()
        )
    };
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
    Server { child, url, key }
}

fn raise_fd_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((_, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    }
}

/// Where the jobs go.
#[derive(Clone)]
struct Target {
    http: reqwest::Client,
    url: String,
    key: String,
}

/// One finished job as the client saw it.
struct Done {
    total: Duration,
    bytes: usize,
}

/// Creates a job, runs `code` over the WebSocket, and waits for `complete`
/// with status ok. The time runs from the create request to `complete`.
async fn one_job(t: &Target, lang: &str, code: &str) -> Result<Done, String> {
    let start = Instant::now();
    let r = t
        .http
        .post(format!("{}/api/jobs/create", t.url))
        .header("X-API-Key", &t.key)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !r.status().is_success() {
        return Err(format!("create: HTTP {}", r.status()));
    }
    let body: Value = r.json().await.map_err(|e| e.to_string())?;
    let ws_url = format!("{}/ws/execute", t.url.replacen("http", "ws", 1));
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url)
        .await
        .map_err(|e| e.to_string())?;
    let exec = json!({"type": "execute", "job_id": body["job_id"], "job_token": body["job_token"], "code": code, "language": lang});
    ws.send(Message::text(exec.to_string()))
        .await
        .map_err(|e| e.to_string())?;
    let mut bytes = 0;
    while let Some(frame) = ws.next().await {
        let Ok(Message::Text(text)) = frame else {
            continue;
        };
        let v: Value = serde_json::from_str(text.as_str()).map_err(|e| e.to_string())?;
        match v["type"].as_str() {
            Some("output") if v["stream"] == "stdout" => {
                bytes += v["data"].as_str().map_or(0, str::len)
            }
            Some("complete") if v["status"] == "ok" => {
                return Ok(Done {
                    total: start.elapsed(),
                    bytes,
                })
            }
            Some("complete") => {
                return Err(format!(
                    "status {} (compile output {})",
                    v["status"], v["compile_output"]
                ))
            }
            Some("error") => return Err(format!("error {}", v["message"])),
            _ => {}
        }
    }
    Err("closed without complete".into())
}

/// Latency percentiles (ms) of what succeeded, with the number of failures.
fn stats(mut lat: Vec<Duration>, failed: usize) -> Value {
    lat.sort();
    let pct = |p: f64| -> Value {
        if lat.is_empty() {
            return Value::Null;
        }
        let i = ((lat.len() as f64 - 1.0) * p).round() as usize;
        json!(lat[i].as_secs_f64() * 1000.0)
    };
    json!({"n": lat.len(), "fail": failed, "p50": pct(0.5), "p90": pct(0.9), "p99": pct(0.99)})
}

fn show(label: &str, s: &Value) -> String {
    format!(
        "{label}: n={} fail={} p50={:.1} p90={:.1} p99={:.1} ms",
        s["n"],
        s["fail"],
        s["p50"].as_f64().unwrap_or(f64::NAN),
        s["p90"].as_f64().unwrap_or(f64::NAN),
        s["p99"].as_f64().unwrap_or(f64::NAN)
    )
}

/// A program run in a bare `firejail --quiet --noprofile --net=none`: the
/// cold floor of a language.
#[derive(Clone)]
struct Floor {
    /// What the floor runs, for the report.
    describe: String,
    program: String,
    args: Vec<String>,
    dir: PathBuf,
    /// What stdout must hold for the run to count.
    expect: String,
    /// A whole command line run instead of the bare Firejail one (the
    /// same-flags floor: codr's own Firejail flags, see [`SameFlags`]).
    argv: Option<Vec<std::ffi::OsString>>,
}

impl Floor {
    /// One timed run; an error when Firejail or the program failed.
    fn run(&self) -> Result<Duration, String> {
        let start = Instant::now();
        let mut cmd = match &self.argv {
            Some(argv) => {
                let mut c = Command::new(&argv[0]);
                c.args(&argv[1..]);
                c
            }
            None => {
                let mut c = Command::new("firejail");
                c.args(["--quiet", "--noprofile", "--net=none", &self.program])
                    .args(&self.args);
                c
            }
        };
        let out = cmd
            .current_dir(&self.dir)
            // An environment from scratch, as the sandbox gives its jobs
            // (Node starts measurably slower with the whole of ours).
            .env_clear()
            .env("PATH", SANDBOX_PATH)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| e.to_string())?;
        let elapsed = start.elapsed();
        if !out.status.success() || String::from_utf8_lossy(&out.stdout) != self.expect {
            return Err(format!(
                "{}: {} {}",
                self.describe,
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(elapsed)
    }
}

/// `name` found in the sandbox's PATH, as the sandbox would find it.
fn resolve(name: &str) -> String {
    SANDBOX_PATH
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
        .map_or_else(|| name.to_string(), |p| p.display().to_string())
}

/// Hello world in one language: what the job sends, and how to build the
/// floor (source file, compile command run on the host, run command).
struct Hello {
    lang: &'static str,
    code: &'static str,
    file: &'static str,
    compile: &'static [&'static str],
    run: &'static [&'static str],
    /// Start of a comment line, to make a source unique (a cache miss).
    comment: &'static str,
}

const HELLOS: &[Hello] = &[
    Hello {
        lang: "python",
        code: "print(\"Hello, World!\")\n",
        file: "main.py",
        compile: &[],
        run: &["/usr/bin/python3", "-u", "main.py"],
        comment: "#",
    },
    Hello {
        lang: "javascript",
        code: "console.log(\"Hello, World!\");\n",
        file: "main.js",
        compile: &[],
        run: &["node", "main.js"],
        comment: "//",
    },
    Hello {
        lang: "c",
        code: "#include <stdio.h>\n\nint main(void) {\n    printf(\"Hello, World!\\n\");\n    return 0;\n}\n",
        file: "main.c",
        compile: &["gcc", "-std=c11", "-O2", "-pipe", "-o", "main", "main.c", "-lm"],
        run: &["./main"],
        comment: "//",
    },
    Hello {
        lang: "cpp",
        code: "#include <iostream>\n\nint main() {\n    std::cout << \"Hello, World!\\n\";\n    return 0;\n}\n",
        file: "main.cpp",
        compile: &["g++", "-std=c++17", "-O2", "-pipe", "-o", "main", "main.cpp"],
        run: &["./main"],
        comment: "//",
    },
    Hello {
        lang: "rust",
        code: "fn main() {\n    println!(\"Hello, World!\");\n}\n",
        file: "main.rs",
        compile: &["rustc", "--edition", "2021", "-O", "-o", "main", "main.rs"],
        run: &["./main"],
        comment: "//",
    },
    Hello {
        lang: "java",
        code: "public class Main {\n    public static void main(String[] args) {\n        System.out.println(\"Hello, World!\");\n    }\n}\n",
        file: "Main.java",
        compile: &["javac", "-d", ".", "Main.java"],
        run: &["java", "-Xmx256m", "-XX:+UseSerialGC", "-XX:-UsePerfData", "-cp", ".", "Main"],
        comment: "//",
    },
];

fn hello(lang: &str) -> &'static Hello {
    HELLOS
        .iter()
        .find(|h| h.lang == lang)
        .unwrap_or_else(|| usage(&format!("no hello world for {lang}")))
}

/// Writes the hello source under `work/<lang>`, compiles it there on the host
/// (compiled languages; not timed), and returns its floor.
fn prepare_floor(h: &Hello, work: &Path) -> Result<Floor, String> {
    let dir = work.join(h.lang);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    std::fs::write(dir.join(h.file), h.code).map_err(|e| e.to_string())?;
    if let Some((prog, args)) = h.compile.split_first() {
        // The host's own PATH: rustc lives under ~/.cargo here.
        let out = Command::new(prog)
            .args(args)
            .current_dir(&dir)
            .output()
            .map_err(|e| format!("{prog}: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "{prog}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
    }
    let (prog, args) = h.run.split_first().expect("run command");
    let program = if let Some(local) = prog.strip_prefix("./") {
        dir.join(local).display().to_string()
    } else {
        resolve(prog)
    };
    let run = h.run.join(" ");
    let describe = if h.compile.is_empty() {
        format!("`{program} {}`", args.join(" "))
    } else {
        format!(
            "compiled beforehand on the host with `{}`, then only run: `{run}`",
            h.compile.join(" ")
        )
    };
    Ok(Floor {
        describe,
        program,
        args: args.iter().map(|s| s.to_string()).collect(),
        dir,
        expect: "Hello, World!\n".into(),
        argv: None,
    })
}

/// `n` rounds of one floor run then one job, alternating so that drift in
/// the machine's load hits both alike. Returns (job stats, floor stats).
async fn interleaved(
    t: &Target,
    floor: &Floor,
    lang: &str,
    n: usize,
    code: &(dyn Fn(usize) -> String + Sync),
) -> (Value, Value) {
    let (mut api, mut bare) = (Vec::new(), Vec::new());
    let (mut api_fail, mut bare_fail) = (0, 0);
    for i in 0..n {
        let f = floor.clone();
        match tokio::task::spawn_blocking(move || f.run()).await.unwrap() {
            Ok(d) => bare.push(d),
            Err(e) => {
                bare_fail += 1;
                if bare_fail <= 2 {
                    progress(format!("floor failed: {e}"));
                }
            }
        }
        match one_job(t, lang, &code(i)).await {
            Ok(d) => api.push(d.total),
            Err(e) => {
                api_fail += 1;
                if api_fail <= 2 {
                    progress(format!("{lang} job failed: {e}"));
                }
            }
        }
    }
    (stats(api, api_fail), stats(bare, bare_fail))
}

/// Jobs run at some concurrency, possibly in several rounds.
#[derive(Default)]
struct Batch {
    lat: Vec<Duration>,
    failed: usize,
    wall: Duration,
}

impl Batch {
    fn add(&mut self, other: Batch) {
        self.lat.extend(other.lat);
        self.failed += other.failed;
        self.wall += other.wall;
    }

    /// Latencies, and jobs/s over the summed wall time of the rounds.
    fn figures(self) -> Value {
        let done = self.lat.len();
        let wall = self.wall.as_secs_f64();
        let mut s = stats(self.lat, self.failed);
        s["jobs_per_s"] = json!(done as f64 / wall);
        s["wall_s"] = json!(wall);
        s
    }
}

/// `n` floor runs at concurrency `c`.
async fn bare_parallel(floor: &Floor, n: usize, c: usize) -> Batch {
    in_parallel(n, c, "floor run", || {
        let f = floor.clone();
        async move { tokio::task::spawn_blocking(move || f.run()).await.unwrap() }
    })
    .await
}

/// `n` jobs of `code` at concurrency `c`.
async fn api_parallel(t: &Target, lang: &str, code: &str, n: usize, c: usize) -> Batch {
    in_parallel(n, c, "job", || {
        let (t, lang, code) = (t.clone(), lang.to_string(), code.to_string());
        async move { one_job(&t, &lang, &code).await.map(|d| d.total) }
    })
    .await
}

/// `n` runs of what `one` makes, `c` at a time: their latencies, the
/// failures (the first three shown) and the wall time of all.
async fn in_parallel<F, Fut>(n: usize, c: usize, what: &str, one: F) -> Batch
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<Duration, String>> + Send + 'static,
{
    let sem = Arc::new(tokio::sync::Semaphore::new(c));
    let start = Instant::now();
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (sem, run) = (sem.clone(), one());
            tokio::spawn(async move {
                let _p = sem.acquire_owned().await;
                run.await
            })
        })
        .collect();
    let mut batch = Batch::default();
    for task in tasks {
        match task.await.unwrap() {
            Ok(d) => batch.lat.push(d),
            Err(e) => {
                batch.failed += 1;
                if batch.failed <= 3 {
                    progress(format!("{what} failed: {e}"));
                }
            }
        }
    }
    batch.wall = start.elapsed();
    batch
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Opens `n` WebSockets that never send anything and reads the server's RSS
/// before and with them.
async fn idle_connections(url: &str, n: usize, pid: u32) -> Value {
    let before = rss_kib(pid);
    let ws_url = format!("{}/ws/execute", url.replacen("http", "ws", 1));
    let mut sockets = Vec::with_capacity(n);
    for i in 0..n {
        match tokio_tungstenite::connect_async(&ws_url).await {
            Ok((ws, _)) => sockets.push(ws),
            Err(e) => {
                progress(format!("idle connection {i} failed: {e}"));
                break;
            }
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let with = rss_kib(pid);
    let open = sockets.len();
    drop(sockets);
    json!({"open": open, "rss_before_kib": before, "rss_with_kib": with})
}

/// Hello world per language, each interleaved with its floor.
async fn hello_per_language(
    o: &Opts,
    t: &Target,
    floors: &[(String, Floor)],
    server: &str,
) -> Value {
    let mut out = Map::new();
    for (lang, floor) in floors {
        // The JVM takes seconds per job: fewer rounds.
        let n = match lang.as_str() {
            "python" => o.jobs,
            "java" => (o.jobs / 5).max(3),
            _ => (o.jobs / 2).max(3),
        };
        progress(format!(
            "{server}: {lang} hello world, {n} jobs interleaved with its floor"
        ));
        let code = hello(lang).code;
        let (api, bare) = interleaved(t, floor, lang, n, &|_| code.to_string()).await;
        progress(format!("  {}", show("codr", &api)));
        progress(format!("  {}", show("floor", &bare)));
        out.insert(
            lang.clone(),
            json!({"codr": api, "floor": bare, "floor_what": floor.describe}),
        );
    }
    Value::Object(out)
}

/// Rounds of each throughput point (bare, codr, bare, codr, ...).
const ROUNDS: usize = 2;

/// Python hello world at each concurrency, each beside bare parallel
/// Firejail python3 at the same concurrency.
/// The same-flags floor: Python hello world in Firejail with exactly the
/// flags codr gives a run step (its defaults), started as a sandbox slot user
/// the way the sandbox starts it, but without the host: no cell, no cgroup,
/// no gate, no WebSocket. codr's throughput over this one is what the host
/// itself costs; this one's over the bare floor is what the sandbox policy
/// (the flags, an unprivileged user) costs. Its job directory goes on drop.
struct SameFlags {
    sandbox: codr_sandbox::Sandbox,
    py: Floor,
    dir: PathBuf,
}

impl SameFlags {
    fn new(py: &Floor) -> Result<SameFlags, String> {
        use codr_sandbox::{Sandbox, SandboxConfig};
        let sandbox = Sandbox::new(SandboxConfig::for_one_job()).map_err(|e| e.to_string())?;
        let dir = sandbox
            .config()
            .job_root
            .join(format!("bench-same-flags-{}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::copy(py.dir.join("main.py"), dir.join("main.py")))
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(SameFlags {
            sandbox,
            py: py.clone(),
            dir,
        })
    }

    /// The floor as the user of a free slot (held, so that no server's
    /// sandbox shares the uid meanwhile): `n` runs at concurrency `c`.
    async fn run(&self, n: usize, c: usize) -> Batch {
        use codr_sandbox::{slots, LimitOverrides, Step};
        let cfg = self.sandbox.config();
        let users = slots::find_users(&cfg.user_prefix, cfg.slots);
        let lease = loop {
            match slots::try_acquire(&cfg.job_root, &users) {
                Some(lease) => break lease,
                None => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
            }
        };
        let (uid, gid) = (lease.user.uid, lease.user.gid);
        let own = |p: &Path| std::os::unix::fs::chown(p, Some(uid), Some(gid));
        if let Err(e) = own(&self.dir).and_then(|()| own(&self.dir.join("main.py"))) {
            progress(format!("same-flags floor: {}: {e}", self.dir.display()));
            return Batch {
                failed: n,
                ..Batch::default()
            };
        }
        let step = Step {
            program: self.py.program.clone(),
            args: self.py.args.clone(),
            env: Vec::new(),
            limits: LimitOverrides::default(),
        };
        let (uid, gid) = (uid.to_string(), gid.to_string());
        let mut argv: Vec<std::ffi::OsString> = [
            "setpriv",
            "--reuid",
            &uid,
            "--regid",
            &gid,
            "--clear-groups",
            "firejail",
        ]
        .map(Into::into)
        .to_vec();
        argv.extend(self.sandbox.firejail_args_for(&step, &self.dir));
        let floor = Floor {
            dir: self.dir.clone(),
            argv: Some(argv),
            ..self.py.clone()
        };
        let batch = bare_parallel(&floor, n, c).await;
        drop(lease);
        batch
    }
}

impl Drop for SameFlags {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn throughput_points(o: &Opts, t: &Target, py: &Floor, server: &str) -> Value {
    let same_flags = SameFlags::new(py)
        .inspect_err(|e| progress(format!("no same-flags floor: {e}")))
        .ok();
    let mut points = Vec::new();
    for &c in &o.concurrency {
        // Enough jobs for several waves: a batch of one second is noise.
        let n = (2 * o.jobs).max(4 * c);
        progress(format!(
            "{server}: throughput at concurrency {c}, {n} jobs in {ROUNDS} rounds alternating bare and codr"
        ));
        // Alternating rounds, so that a change in the machine's load
        // during the point hits both sides.
        // One slot user runs every same-flags sandbox, and `--rlimit-nproc`
        // counts per user: past 10 at a time it would fail on that limit.
        let flags_floor = same_flags.as_ref().filter(|_| c <= 10);
        let (mut bare, mut flags, mut api) = (Batch::default(), Batch::default(), Batch::default());
        for _ in 0..ROUNDS {
            bare.add(bare_parallel(py, n / ROUNDS, c).await);
            if let Some(f) = flags_floor {
                flags.add(f.run(n / ROUNDS, c).await);
            }
            api.add(api_parallel(t, "python", hello("python").code, n / ROUNDS, c).await);
        }
        let flags = flags_floor.map(|_| flags.figures());
        let (bare, api) = (bare.figures(), api.figures());
        let rate = |v: &Value| v["jobs_per_s"].as_f64().unwrap_or(f64::NAN);
        progress(format!(
            "  bare {:.1} jobs/s, same flags {:.1} jobs/s, codr {:.1} jobs/s",
            rate(&bare),
            flags.as_ref().map_or(f64::NAN, rate),
            rate(&api)
        ));
        points.push(json!({"concurrency": c, "codr": api, "bare": bare, "same_flags": flags}));
    }
    Value::Array(points)
}

/// 1 MB of Python output to the client, beside the same program in a bare
/// Firejail read through a pipe.
async fn one_megabyte(t: &Target, work: &Path, server: &str) -> Value {
    let dir = work.join("output-1mb");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join("main.py"), MB_PROGRAM);
    let floor = Floor {
        describe: "`/usr/bin/python3 -u main.py` (same program), stdout read through a pipe".into(),
        program: "/usr/bin/python3".into(),
        args: vec!["-u".into(), "main.py".into()],
        dir,
        expect: ("x".repeat(999) + "\n").repeat(1000),
        argv: None,
    };
    let n = 7;
    progress(format!(
        "{server}: 1 MB of output, {n} jobs interleaved with the floor"
    ));
    let (mut api, mut bare, mut bytes) = (Vec::new(), Vec::new(), 0);
    let (mut api_fail, mut bare_fail) = (0, 0);
    for _ in 0..n {
        let f = floor.clone();
        match tokio::task::spawn_blocking(move || f.run()).await.unwrap() {
            Ok(d) => bare.push(d),
            Err(e) => {
                bare_fail += 1;
                progress(format!("floor failed: {e}"));
            }
        }
        match one_job(t, "python", MB_PROGRAM).await {
            // The PTY turns each \n into \r\n: count at least the bytes sent.
            Ok(d) if d.bytes >= MB_BYTES => {
                bytes = d.bytes;
                api.push(d.total)
            }
            Ok(d) => {
                api_fail += 1;
                progress(format!("1 MB job delivered only {} bytes", d.bytes));
            }
            Err(e) => {
                api_fail += 1;
                progress(format!("1 MB job failed: {e}"));
            }
        }
    }
    let (api, bare) = (stats(api, api_fail), stats(bare, bare_fail));
    progress(format!("  {}", show("codr", &api)));
    progress(format!("  {}", show("floor", &bare)));
    json!({"codr": api, "floor": bare, "bytes_received": bytes, "bytes_written": MB_BYTES, "floor_what": floor.describe})
}

/// Compile cache: the same source again (hit) and a source made unique by a
/// comment (miss), beside the compiled binary run in a bare Firejail.
async fn compile_cache(o: &Opts, t: &Target, floors: &[(String, Floor)], server: &str) -> Value {
    let mut out = Map::new();
    for (lang, floor) in floors {
        let h = hello(lang);
        if h.compile.is_empty() || lang == "java" {
            continue;
        }
        let n = (o.jobs / 4).max(3);
        progress(format!("{server}: {lang} compile cache, {n} misses, {n} hits, interleaved with the run-only floor"));
        let run_id = std::process::id();
        let miss_code = move |i: usize| {
            format!(
                "{}{} codr bench miss {run_id}-{i}-{}\n",
                h.code,
                h.comment,
                unique_tag()
            )
        };
        let (miss, _) = interleaved(t, floor, lang, n, &miss_code).await;
        // Once to fill the cache, then the same source n times.
        let _ = one_job(t, lang, h.code).await;
        let (hit, bare) = interleaved(t, floor, lang, n, &|_| h.code.to_string()).await;
        progress(format!("  {}", show("miss", &miss)));
        progress(format!("  {}", show("hit", &hit)));
        progress(format!("  {}", show("run-only floor", &bare)));
        out.insert(
            lang.clone(),
            json!({"miss": miss, "hit": hit, "run_only": bare, "floor_what": floor.describe}),
        );
    }
    Value::Object(out)
}

fn unique_tag() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{nanos:x}")
}

/// Every measurement against one server.
async fn measure_server(
    o: &Opts,
    name: &str,
    target: &Target,
    pid: Option<u32>,
    floors: &[(String, Floor)],
    work: &Path,
) -> Value {
    let mut out = Map::new();
    // Let a pool fill before anything is timed.
    tokio::time::sleep(Duration::from_secs(3)).await;
    out.insert("rss_start_kib".into(), json!(pid.and_then(rss_kib)));
    progress(format!("{name}: warm-up (one job per language)"));
    for (lang, _) in floors {
        if let Err(e) = one_job(target, lang, hello(lang).code).await {
            progress(format!("{name}: warm-up {lang} failed: {e}"));
        }
    }
    out.insert(
        "hello".into(),
        hello_per_language(o, target, floors, name).await,
    );
    if let Some((_, py)) = floors.iter().find(|(l, _)| l == "python") {
        out.insert(
            "throughput".into(),
            throughput_points(o, target, py, name).await,
        );
        out.insert("output_1mb".into(), one_megabyte(target, work, name).await);
    }
    out.insert(
        "compile_cache".into(),
        compile_cache(o, target, floors, name).await,
    );
    match pid {
        Some(pid) if o.idle > 0 => {
            progress(format!("{name}: {} idle WebSockets", o.idle));
            let idle = idle_connections(&target.url, o.idle, pid).await;
            progress(format!("  {idle}"));
            out.insert("idle".into(), idle);
        }
        _ => {}
    }
    Value::Object(out)
}

/// `--soak`: one batch of Python hello world, codr's (at `--url`), the bare
/// floor's or the same-flags floor's, and its rate; nothing else runs.
async fn soak(o: &Opts, what: &str, http: reqwest::Client, floors: &[(String, Floor)]) {
    let c = o.concurrency.first().copied().unwrap_or(10);
    let Some((_, py)) = floors.iter().find(|(l, _)| l == "python") else {
        usage("--soak needs python among --languages");
    };
    let batch = match (what, &o.url) {
        ("bare", _) => bare_parallel(py, o.jobs, c).await,
        ("flags", _) => match SameFlags::new(py) {
            Ok(f) => f.run(o.jobs, c).await,
            Err(e) => usage(&format!("no same-flags floor: {e}")),
        },
        ("codr", Some(url)) => {
            let t = Target {
                http,
                url: url.clone(),
                key: o.key.clone(),
            };
            api_parallel(&t, "python", hello("python").code, o.jobs, c).await
        }
        _ => usage("--soak codr needs --url and --key; or --soak bare|flags"),
    };
    let f = batch.figures();
    let num = |k: &str| f[k].as_f64().unwrap_or(f64::NAN);
    println!(
        "{what}: {} jobs ({} failed) at concurrency {c} in {:.2} s: {:.1} jobs/s",
        f["n"],
        f["fail"],
        num("wall_s"),
        num("jobs_per_s")
    );
}

#[tokio::main]
async fn main() {
    let o = parse_args();
    raise_fd_limit();
    let work = std::env::temp_dir().join(format!("codr-bench-{}", std::process::id()));
    let mut floors = Vec::new();
    for lang in &o.languages {
        match prepare_floor(hello(lang), &work) {
            Ok(f) => floors.push((lang.clone(), f)),
            Err(e) => progress(format!("{lang}: no floor, skipped: {e}")),
        }
    }
    let http = reqwest::Client::new();
    if let Some(what) = &o.soak {
        soak(&o, what, http, &floors).await;
        return;
    }
    let mut servers = Map::new();
    let mut configs = Map::new();
    if let Some(url) = &o.url {
        let target = Target {
            http,
            url: url.clone(),
            key: o.key.clone(),
        };
        let m = measure_server(&o, "external", &target, None, &floors, &work).await;
        servers.insert("external".into(), m);
    } else {
        let plans: [(&str, [(&str, &str); 2]); 2] = [
            (
                "cold",
                [("CODR_POOL_SIZE", "0"), ("CODR_COMPILE_CACHE_MB", "0")],
            ),
            (
                "warm",
                [
                    ("CODR_POOL_SIZE", &o.pool_size),
                    ("CODR_COMPILE_CACHE_MB", &o.cache_mb),
                ],
            ),
        ];
        for (name, env) in plans {
            progress(format!("starting codr serve ({name}: {env:?})"));
            let server = start_server(&o, name, &env);
            let target = Target {
                http: http.clone(),
                url: server.url.clone(),
                key: server.key.clone(),
            };
            let m =
                measure_server(&o, name, &target, Some(server.child.id()), &floors, &work).await;
            servers.insert(name.into(), m);
            let env: Map<String, Value> =
                env.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
            configs.insert(name.into(), Value::Object(env));
            drop(server);
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    let report = json!({
        "servers": servers,
        "server_env": configs,
        "max_jobs": o.max_jobs,
        "jobs": o.jobs,
    });
    match &o.json {
        Some(path) => {
            std::fs::write(path, serde_json::to_string_pretty(&report).unwrap())
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
            progress(format!("figures in {}", path.display()));
        }
        None => println!("{}", serde_json::to_string_pretty(&report).unwrap()),
    }
}
