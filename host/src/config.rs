//! One typed configuration for the service roles, from flags and `CODR_*`
//! environment variables (a `.env` file in the working directory is read first,
//! see `main.rs`).
//!
//! The flag groups are shared: `codr serve` takes all of them, `codr gateway`
//! the API and broker groups, `codr worker` the worker and broker groups.
use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;

/// Where jobs, events and inputs travel.
#[derive(Debug, Clone, Args)]
pub struct BrokerArgs {
    /// Redis URL (`redis://host:6379/0`). Required by `gateway` and `worker`;
    /// `serve` uses an in-process broker when it is unset.
    #[arg(
        long = "redis",
        env = "CODR_REDIS_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub redis_url: Option<String>,
    /// Lifetime of every job key in the broker (events, input, result).
    #[arg(long, env = "CODR_JOB_TTL", default_value = "1h", value_parser = parse_duration)]
    pub job_ttl: Duration,
}

/// The HTTP + WebSocket front door.
#[derive(Debug, Clone, Args)]
pub struct ApiArgs {
    /// Address to listen on; port 0 picks a free port (the bound address is printed).
    #[arg(long, env = "CODR_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// API keys accepted in `X-API-Key` (comma separated). `serve` makes one
    /// and prints it when none is given; `gateway` requires at least one.
    #[arg(
        long = "api-keys",
        env = "CODR_API_KEYS",
        hide_env_values = true,
        value_delimiter = ',',
        value_name = "KEY,..."
    )]
    pub api_keys: Vec<String>,
    /// Secret that signs job tokens (HS256). `serve` makes a random one per
    /// process when unset; `gateway` requires it, so that several gateways agree.
    #[arg(long = "jwt-secret", env = "CODR_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// How long a job token stays valid.
    #[arg(long, env = "CODR_TOKEN_TTL", default_value = "15m", value_parser = parse_duration)]
    pub token_ttl: Duration,
    /// Interactive job creations (`POST /api/jobs/create`) allowed per
    /// minute, per API key and per client address.
    #[arg(
        long = "rate-limit",
        env = "CODR_RATE_LIMIT_PER_MINUTE",
        default_value_t = 300
    )]
    pub rate_limit_per_minute: u32,
    /// Batch runs (`/api/v1/execute`, `/api/v2/execute`) allowed per minute,
    /// per API key and per client address: a budget of their own, so that a
    /// test suite run through a Piston client does not eat the interactive one.
    #[arg(
        long = "batch-rate-limit",
        env = "CODR_BATCH_RATE_LIMIT_PER_MINUTE",
        default_value_t = 600
    )]
    pub batch_rate_limit_per_minute: u32,
    /// Opens the Piston routes (`/api/v2/...`) to requests without an API
    /// key, for Piston clients that cannot send one (a self-hosted Piston has
    /// no authentication). Such requests share one anonymous key budget and
    /// each client address has its own (`--batch-rate-limit`). Off by default;
    /// said in the start-up line and in `/health`.
    #[arg(long = "piston-open", env = "CODR_PISTON_OPEN")]
    pub piston_open: bool,
    /// Turns off the playground, the page at `/` (and its assets under
    /// `/playground/`): the API alone is served.
    #[arg(long = "no-playground", env = "CODR_NO_PLAYGROUND")]
    pub no_playground: bool,
    /// Browser origins allowed by CORS (comma separated; `*` for any). None: no CORS headers.
    #[arg(
        long = "cors-origins",
        env = "CODR_CORS_ORIGINS",
        value_delimiter = ',',
        value_name = "ORIGIN,..."
    )]
    pub cors_origins: Vec<String>,
    /// Largest source accepted, in bytes.
    #[arg(long, env = "CODR_MAX_CODE_BYTES", default_value_t = 10 * 1024)]
    pub max_code_bytes: usize,
    /// Largest single `input` message, in bytes.
    #[arg(long, env = "CODR_MAX_INPUT_BYTES", default_value_t = 10 * 1024)]
    pub max_input_bytes: usize,
    /// Total input accepted for one job, in bytes.
    #[arg(long, env = "CODR_MAX_TOTAL_INPUT_BYTES", default_value_t = 1024 * 1024)]
    pub max_total_input_bytes: usize,
    /// Time a client has to send its first (`execute`) message.
    #[arg(long, env = "CODR_FIRST_MESSAGE_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub first_message_timeout: Duration,
    /// How often the gateway fails the jobs of dead workers.
    #[arg(long, env = "CODR_REAP_INTERVAL", default_value = "5s", value_parser = parse_duration)]
    pub reap_interval: Duration,
    /// A taken job still unfinished after this long is failed as stuck
    /// (its worker hung); well above the sandbox's compile + run limits.
    /// Workers refresh the jobs they run every 15 s (a live session lasts
    /// minutes), so keep it above 30 s.
    #[arg(long, env = "CODR_JOB_STUCK_AFTER", default_value = "120s", value_parser = parse_duration)]
    pub job_stuck_after: Duration,
    /// Reverse proxies whose `X-Forwarded-For` is believed (comma separated
    /// IP addresses): behind them, the per-address rate limit counts the
    /// client's address instead of the proxy's. None: the peer's address.
    #[arg(
        long = "trusted-proxies",
        env = "CODR_TRUSTED_PROXIES",
        value_delimiter = ',',
        value_name = "IP,..."
    )]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// WebSocket sessions accepted at once (more get HTTP 503).
    #[arg(long, env = "CODR_MAX_CONNECTIONS", default_value_t = 10_000)]
    pub max_connections: usize,
    /// Hosts a Judge0 submission's `callback_url` may name (comma
    /// separated; `HOST` for any port, `HOST:PORT` for one, `[::1]` for
    /// IPv6). The gateway PUTs the finished submission there, from inside
    /// your network: allow only hosts meant to receive it. Plain http://
    /// only, no redirects. None (the default): callbacks are refused.
    #[arg(
        long = "judge0-callback-hosts",
        env = "CODR_JUDGE0_CALLBACK_HOSTS",
        value_delimiter = ',',
        value_name = "HOST[:PORT],..."
    )]
    pub judge0_callback_hosts: Vec<String>,
}

/// The job runner.
#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    /// Batch jobs run at the same time by this worker (default: the number
    /// of cores); the rest wait in the queue.
    #[arg(long = "max-jobs", env = "CODR_MAX_JOBS")]
    pub max_jobs: Option<usize>,
    /// Interactive sessions run at the same time by this worker, besides
    /// its batch jobs. A session waiting for its user uses no CPU and about
    /// 5 MB; each holds a sandbox user. Default (and most): the sandbox
    /// users batch jobs leave (`make setup` creates 512).
    #[arg(long = "max-sessions", env = "CODR_MAX_SESSIONS")]
    pub max_sessions: Option<usize>,
    /// The worker takes no new job while the machine has less memory than
    /// this available (MemAvailable), in MiB; 0: no check.
    #[arg(
        long = "min-free-memory-mb",
        env = "CODR_MIN_FREE_MEMORY_MB",
        default_value_t = 1024
    )]
    pub min_free_memory_mb: u64,
    /// How often the worker says it is alive.
    #[arg(long, env = "CODR_HEARTBEAT_INTERVAL", default_value = "2s", value_parser = parse_duration)]
    pub heartbeat_interval: Duration,
    /// After how long without a heartbeat a worker counts as dead.
    #[arg(long, env = "CODR_HEARTBEAT_TTL", default_value = "6s", value_parser = parse_duration)]
    pub heartbeat_ttl: Duration,
    /// On SIGTERM, how long running jobs may take to finish before they are killed.
    #[arg(long, env = "CODR_DRAIN_TIMEOUT", default_value = "20s", value_parser = parse_duration)]
    pub drain_timeout: Duration,
    /// Name of this worker in the broker (default: host name and process id).
    #[arg(long = "worker-id", env = "CODR_WORKER_ID")]
    pub worker_id: Option<String>,
    /// The sandbox the worker runs jobs in.
    #[command(flatten)]
    pub sandbox: SandboxArgs,
}

/// The sandbox that runs jobs: limits, the warm pool, the compile cache.
#[derive(Debug, Clone, Args)]
pub struct SandboxArgs {
    /// Warm sandboxes kept ready per kind of job asked for recently (language
    /// limits, terminal or batch); each is used for one job, then thrown
    /// away. 0 turns the warm pool off: every job starts its sandbox cold.
    #[arg(long = "pool-size", env = "CODR_POOL_SIZE", default_value_t = 2)]
    pub pool_size: usize,
    /// Warm sandboxes at most, all kinds together: the pool's memory budget
    /// (each holds a sandbox user and a few MB; jobs take the users back
    /// when they need them). Within it, a kind of job arriving faster than
    /// --pool-size a second (a burst of sessions) keeps as many warm as
    /// arrived in the last second.
    #[arg(long = "pool-max", env = "CODR_POOL_MAX", default_value_t = 16)]
    pub pool_max: usize,
    /// Size of the compile cache in MiB (binaries of C, C++, Rust and Java
    /// jobs, reused for an identical job: the compile step is skipped, the run
    /// still happens in a fresh sandbox). 0 turns it off.
    #[arg(
        long = "compile-cache-mb",
        env = "CODR_COMPILE_CACHE_MB",
        default_value_t = 256
    )]
    pub compile_cache_mb: u64,
    /// Directory of the compile cache (made root-only).
    #[arg(
        long = "compile-cache-dir",
        env = "CODR_COMPILE_CACHE_DIR",
        default_value = "/srv/codr/cache"
    )]
    pub compile_cache_dir: std::path::PathBuf,
    /// Wall-clock limit of a program's run (a plugin may ask for more, up to 30 s).
    #[arg(long = "run-time-limit", env = "CODR_RUN_TIME_LIMIT", default_value = "7s", value_parser = parse_duration)]
    pub run_time_limit: Duration,
    /// Interactive sessions: how long the program may wait for its user to
    /// answer one prompt before the session ends (`idle_timeout`). While it
    /// waits, its run's wall clock stands still.
    #[arg(long = "session-input-timeout", env = "CODR_SESSION_INPUT_TIMEOUT", default_value = "2m", value_parser = parse_duration)]
    pub session_input_timeout: Duration,
    /// Interactive sessions: the longest a session may last, waits for its
    /// user included (`time_limit`).
    #[arg(long = "session-time-limit", env = "CODR_SESSION_TIME_LIMIT", default_value = "10m", value_parser = parse_duration)]
    pub session_time_limit: Duration,
    /// Wall-clock limit of a compile step.
    #[arg(long = "compile-time-limit", env = "CODR_COMPILE_TIME_LIMIT", default_value = "10s", value_parser = parse_duration)]
    pub compile_time_limit: Duration,
    /// Memory of a program's whole process tree, in MiB.
    #[arg(
        long = "memory-limit-mb",
        env = "CODR_MEMORY_LIMIT_MB",
        default_value_t = 300
    )]
    pub memory_limit_mb: u64,
    /// Disk quota of a job directory in MiB: it is a tmpfs of this size (its
    /// pages count against the job's memory too), and a job that fills it
    /// ends with status `disk_limit`. 0: a plain directory with no quota.
    #[arg(long = "job-disk-mb", env = "CODR_JOB_DISK_MB", default_value_t = 128)]
    pub job_disk_mb: u64,
    /// Files (and directories) a job directory may hold.
    #[arg(long = "job-files", env = "CODR_JOB_FILES", default_value_t = 16_384)]
    pub job_files: u64,
    /// Cores one job may use at most (e.g. 1.5); 0: no cap. Whatever the
    /// cap, every job gets an equal share of the CPU however many processes
    /// it runs.
    #[arg(long = "job-cpus", env = "CODR_JOB_CPUS", default_value_t = 0.0)]
    pub job_cpus: f64,
}

impl SandboxArgs {
    /// The sandbox configuration these flags describe (the rest: the policy
    /// defaults of `codr_sandbox::SandboxConfig`).
    pub fn config(&self) -> codr_sandbox::SandboxConfig {
        let mut c = codr_sandbox::SandboxConfig::default();
        c.pool.per_kind = self.pool_size;
        c.pool.max_total = self.pool_max;
        c.compile_cache = (self.compile_cache_mb > 0).then(|| codr_sandbox::CompileCacheConfig {
            dir: self.compile_cache_dir.clone(),
            max_bytes: self.compile_cache_mb << 20,
        });
        let ms = |d: Duration| d.as_millis() as u64;
        c.run_limits.wall_time_ms = ms(self.run_time_limit);
        c.run_limits.cpu_time_ms = ms(self.run_time_limit);
        c.compile_limits.wall_time_ms = ms(self.compile_time_limit);
        c.compile_limits.cpu_time_ms = ms(self.compile_time_limit);
        c.run_limits.memory_bytes = self.memory_limit_mb << 20;
        c.session = codr_sandbox::SessionClock {
            input_timeout_ms: ms(self.session_input_timeout),
            max_ms: ms(self.session_time_limit),
        };
        c.job_disk = (self.job_disk_mb > 0).then_some(codr_sandbox::DiskQuota {
            bytes: self.job_disk_mb << 20,
            inodes: self.job_files,
        });
        c.job_cpus = (self.job_cpus > 0.0).then_some(self.job_cpus);
        c
    }
}

impl WorkerArgs {
    /// The concurrency bound: the flag, else the number of cores.
    pub fn concurrency(&self) -> usize {
        self.max_jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
            .max(1)
    }

    /// The worker's name: the flag, else `<hostname>-<pid>-<random>`.
    pub fn id(&self) -> String {
        self.worker_id.clone().unwrap_or_else(|| {
            let host = std::fs::read_to_string("/etc/hostname")
                .map(|h| h.trim().to_string())
                .unwrap_or_else(|_| "worker".into());
            let tag = uuid::Uuid::new_v4().simple().to_string();
            format!("{host}-{}-{}", std::process::id(), &tag[..6])
        })
    }
}

/// Parses `500ms`, `5s`, `15m`, `1h` or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (examples: 500ms, 5s, 15m, 1h)"))?;
    let ms = match unit.trim() {
        "ms" => n,
        "" | "s" => n * 1000,
        "m" | "min" => n * 60_000,
        "h" => n * 3_600_000,
        other => {
            return Err(format!(
                "unknown duration unit `{other}` (use ms, s, m or h)"
            ))
        }
    };
    Ok(Duration::from_millis(ms))
}

/// A random secret of 32 bytes, hex encoded: for the per-process JWT secret
/// and the generated API key of `codr serve`.
pub fn random_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("3d").is_err());
    }

    #[test]
    fn secrets_are_random_and_long() {
        let (a, b) = (random_secret(), random_secret());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
    }
}
