//! Runs a plugin's build plan inside Firejail.
//!
//! # How a job runs
//!
//! Each step (compile, then run) gets a **cell** of its own (`cell.rs`): a
//! sandbox started for that one step, warm from the pool (`pool.rs`) or cold.
//!
//! 1. A **slot** is taken: one unprivileged user `codr-sbx-N` per cell (held
//!    with an `flock`, so several host processes share them). Its passwd home
//!    `/srv/codr/home/codr-sbx-N` is an empty dir owned by it. A slot whose
//!    last holder did not prove it empty (it died mid-job, or its clean-up
//!    failed) is first cleaned (`recover.rs`); one that cannot be cleaned is
//!    quarantined and retried later, never handed out.
//! 2. A fresh **job directory** `<job_root>/codr-sbx-N` is made: a tmpfs of
//!    the job's disk quota (bytes and inodes, [`DiskQuota`]) owned by the
//!    slot user, mode 0700; a **gate** pipe, and a **cgroup** below the
//!    host's own (v1: memory + pids + cpuacct + cpu; v2: one dir) with the
//!    tree's memory and process limits and an equal CPU share (optionally a
//!    cap in cores); without cgroups, RLIMIT_AS and RLIMIT_CPU stand in and
//!    CPU is sampled from /proc.
//! 3. The host starts a child with `clone(CLONE_VM | CLONE_VFORK)` (`vfork.rs`:
//!    no copy of the host's memory); it joins the cgroup (still root), starts a new
//!    process group (pipes) or session with a controlling PTY (interactive),
//!    gets the gate's read end as descriptor 3, drops all groups and becomes
//!    the slot user, then execs the setuid
//!    `firejail`, which sandboxes the *calling* user. The environment is built
//!    from scratch (`PATH`, `HOME`, `LANG`, `TERM`). Inside, a shell waits
//!    on the gate. A warm cell waits there until a job takes it.
//! 4. The step's files go into the job directory (for a run step after a
//!    compile: the artifacts, from the compile cache, `compile_cache.rs`), and
//!    its script (the plan's variables, the program, a sweep) into the gate.
//! 5. From then the host keeps the wall clock, polls the tree's CPU time and
//!    the job directory's free space every 50 ms, counts output bytes, and at
//!    a limit SIGKILLs the whole tree: the
//!    process group and every pid in the job cgroup (repeated until empty),
//!    or every process of the slot uid without a cgroup. After every step the
//!    same sweep runs, so nothing a program left in the background survives
//!    it. Output is read to EOF.
//! 6. The cell is dropped off the job's path: the cgroup is removed, the job
//!    directory's tmpfs unmounted (whatever tree the job built goes at once;
//!    a plain directory is removed without recursion, never following a
//!    symlink), then the slot is free. A cell never serves twice.
//!
//! If the host dies, a watchdog process (`recover.rs`) kills every job of it
//! at once, and the next start of any host cleans the slots and cgroups up.
//!
//! # Firejail flags
//!
//! `--quiet --noprofile` (no profile surprises; everything explicit), `--net=none`
//! (no network, not even loopback of the host), `--private=<job dir>` (home =
//! job dir; /home and /root become empty tmpfs), `--private-tmp`,
//! `--private-dev` (a minimal /dev), `--whitelist=/etc/<entry>` for a short list (only what the
//! toolchains need: alternatives, loader config, passwd/group, nsswitch, localtime),
//! `--caps.drop=all`, `--nonewprivs`, `--seccomp` (default blacklist: mount,
//! ptrace, kexec, ..., plus io_uring unless the kernel refuses it to
//! unprivileged users already), `--restrict-namespaces` (no new namespace of
//! any kind, user namespaces included, and no `setns`), `--nogroups`, `--noroot` (a user namespace where the
//! program cannot even become root of its own namespace), `--ipc-namespace`,
//! `--hostname=codr`, `--disable-mnt`, `--nosound --no3d --nodvd --notv
//! --novideo`, `--keep-fd=3` (the gate), `--blacklist` of the job root (every
//! job directory: a job sees its own only as its home), the checkout, /work,
//! /var/tmp, /run/lock, /dev/shm (writable shared places) and more (see
//! [`SandboxConfig::hidden_paths`]; a path inside another hidden one is left
//! out, as each mount costs Firejail a reread of the mount table),
//! `--rlimit-fsize`, `--rlimit-nproc`
//! (per uid, hence one uid per slot), `--rlimit-cpu` (a backstop one second
//! above the limit), `--rlimit-as` only without a memory cgroup (or when a plan
//! asks). Never `--timeout` (it adds ~2 s per run and exits 1).
//!
//! # Statuses
//!
//! * `ok`: exit code 0.
//! * `runtime_error`: non-zero exit; firejail reports death by signal n as exit
//!   code 128+n, so codes 129..=192 are reported as that signal (`signal`) and
//!   the code is kept in `exit_code`. A run stopped by [`Control::Kill`] or by
//!   the client going away (the control channel closed, or the events receiver
//!   dropped) is `runtime_error` with message `"killed"`.
//! * `time_limit`: wall or CPU limit (message says which; `"compile: ..."` for the
//!   compile step).
//! * `memory_limit`: the cgroup's OOM killer fired. Without cgroups the program
//!   sees allocation failures (RLIMIT_AS) and that is a `runtime_error`.
//! * `output_limit`: more output than allowed (stdout + stderr together; in
//!   interactive mode, bytes sent). Output up to the cap is kept/sent.
//! * `compile_error`: the compile step failed (non-zero exit, its output limit,
//!   or a missing artifact); `exit_code` is the compiler's.
//! * `disk_limit`: the job directory's quota of bytes or files ran out (the
//!   host stops the step when it sees the tmpfs full).
//! * `internal_error`: the host failed (spawn, job directory, cgroup).
//!
//! Compile output is in [`Outcome::compile_output`] in both modes, and in
//! interactive mode it is also streamed as [`Stream::Compile`] events.
mod cell;
pub mod cgroup;
pub mod compile_cache;
pub mod config;
mod exec;
mod firejail;
pub mod jobdir;
pub mod kill;
mod pool;
pub mod recover;
pub mod slots;
mod spawn_lock;
mod vfork;
mod waiting;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;

pub use cgroup::CgroupSupport;
pub use codr_job::{
    Control, Event, LimitOverrides, Outcome, Plan, SourceFile, Stage, Status, Step, Stream,
};
pub use config::{CgroupMode, CompileCacheConfig, DiskQuota, Limits, PoolConfig, SandboxConfig};
pub use firejail::io_uring_refused_by_kernel;
pub use pool::PoolStats;

use cell::{Cell, CellKey};
use compile_cache::{BuildKey, CachedBuild, CompileCache};
use exec::{Ended, Feed, StepResult};
use pool::{Machine, Pool};

/// Why the sandbox cannot start.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The host must be root to hand jobs to the sandbox users.
    #[error("the sandbox needs root (to run jobs as the sandbox users); run codr as root")]
    NotRoot,
    /// Firejail is not installed.
    #[error("firejail not found at {0} (fix: apt-get install -y firejail, or make setup)")]
    FirejailMissing(PathBuf),
    /// No sandbox users.
    #[error("no sandbox users {0}0.. (fix: make setup, which runs scripts/setup-sandbox.sh)")]
    NoUsers(String),
    /// The job root cannot be made.
    #[error("job root {path}: {source} (fix: make setup)")]
    JobRoot {
        /// The directory.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The compile cache cannot be opened.
    #[error("compile cache: {0}")]
    Cache(#[from] compile_cache::CacheError),
}

/// The sandbox: configuration, slots, cgroup support, the warm pool and the
/// compile cache. Share it with an `Arc`.
pub struct Sandbox {
    machine: Arc<Machine>,
    pool: Arc<Pool>,
    cache: CompileCache,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("machine", &self.machine)
            .field("pool", &self.pool.stats())
            .finish()
    }
}

/// The firejail version string (`"0.9.72"`), if it runs.
pub fn firejail_version(firejail: &Path) -> Option<String> {
    let out = std::process::Command::new(firejail)
        .arg("--version")
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().next()?;
    line.rsplit(' ').next().map(|s| s.to_string())
}

impl Sandbox {
    /// Checks the machine (root, firejail, users, job root) and detects cgroups.
    pub fn new(config: SandboxConfig) -> Result<Sandbox, SandboxError> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return Err(SandboxError::NotRoot);
        }
        if !config.firejail.exists() {
            return Err(SandboxError::FirejailMissing(config.firejail.clone()));
        }
        let users = slots::find_users(&config.user_prefix, config.slots);
        if users.is_empty() {
            return Err(SandboxError::NoUsers(config.user_prefix.clone()));
        }
        ensure_root(&config.job_root).map_err(|source| SandboxError::JobRoot {
            path: config.job_root.clone(),
            source,
        })?;
        let cache = open_cache(&config)?;
        let cgroups = CgroupSupport::detect(config.cgroup_mode);
        if let Err(e) = recover::start_watchdog(&cgroups) {
            tracing::warn!(
                "cannot start the watchdog ({e}): jobs would outlive a crash of the host"
            );
        }
        let quarantine = recover::Quarantine::default();
        let recovered = recover::at_start(&config, &users, &cgroups, &quarantine);
        tracing::info!(
            slots = users.len(),
            cgroups = %cgroups.describe(),
            disk = ?config.job_disk,
            ?recovered,
            "sandbox ready"
        );
        let machine = Arc::new(Machine {
            config,
            users,
            cgroups,
            quarantine,
        });
        Ok(Sandbox {
            pool: Pool::new(machine.clone()),
            machine,
            cache,
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &SandboxConfig {
        &self.machine.config
    }

    /// The cgroup support found.
    pub fn cgroups(&self) -> &CgroupSupport {
        &self.machine.cgroups
    }

    /// Number of concurrent jobs (sandbox users found).
    pub fn slots(&self) -> usize {
        self.machine.users.len()
    }

    /// The uids of the sandbox users (tests check nothing of theirs is left).
    pub fn uids(&self) -> Vec<u32> {
        self.machine.users.iter().map(|u| u.uid).collect()
    }

    /// Counts of the warm pool.
    pub fn pool_stats(&self) -> PoolStats {
        self.pool.stats()
    }

    /// Starts warm sandboxes for the steps of `plan` (its compile step, and
    /// its run step on a PTY if `interactive`, else on pipes) before any job
    /// asks. Needs a tokio runtime; does nothing with the pool off.
    pub fn prewarm(&self, plan: &Plan, interactive: bool) {
        if let Some(step) = &plan.compile {
            let limits = self.compile_limits(step);
            self.pool.warm(&CellKey { limits, pty: false });
        }
        self.pool.warm(&CellKey {
            limits: self.run_limits(&plan.run),
            pty: interactive,
        });
    }

    /// The limits of a compile step: the deployment's, as the plan adjusts them.
    fn compile_limits(&self, step: &Step) -> Limits {
        let c = self.config();
        c.compile_limits.with_overrides(&step.limits, &c.max_limits)
    }

    /// The limits of a run step: the deployment's, as the plan adjusts them.
    fn run_limits(&self, step: &Step) -> Limits {
        let c = self.config();
        c.run_limits.with_overrides(&step.limits, &c.max_limits)
    }

    /// Drops every warm sandbox (before shutting down, or in tests).
    pub fn clear_pool(&self) {
        self.pool.clear();
    }

    /// Bytes and entries in the compile cache.
    pub fn cache_usage(&self) -> (u64, usize) {
        self.cache.usage()
    }

    /// Where a step's program would be found inside the sandbox (same PATH),
    /// or `None`. For `codr doctor`.
    pub fn resolve_program(&self, program: &str) -> Option<PathBuf> {
        if program.contains('/') {
            let p = PathBuf::from(program);
            return p.is_file().then_some(p);
        }
        let mut dirs: Vec<PathBuf> = self.config().extra_path.clone();
        dirs.extend(
            ["/usr/local/bin", "/usr/bin", "/bin"]
                .iter()
                .map(PathBuf::from),
        );
        dirs.into_iter()
            .map(|d| d.join(program))
            .find(|p| p.is_file())
    }

    /// Runs a plan on pipes: `stdin` is the program's input; stdout and stderr
    /// are kept apart; `compile_output` is filled where there was a compile step.
    pub async fn run_batch(&self, plan: &Plan, stdin: &[u8]) -> Outcome {
        let mut sink = |_: Stream, _: &[u8]| true;
        self.run_job(plan, Mode::Batch { stdin }, &mut sink).await
    }

    /// Runs a plan on a 24x80 PTY; see [`Sandbox::run_interactive_sized`].
    pub async fn run_interactive(
        &self,
        plan: &Plan,
        events: mpsc::Sender<Event>,
        control: mpsc::Receiver<Control>,
    ) -> Outcome {
        self.run_interactive_sized(plan, (24, 80), events, control)
            .await
    }

    /// Runs a plan on a PTY of `size` (rows, cols): stage changes and output go
    /// to `events` as they come (compile output as [`Stream::Compile`]); input,
    /// resizes and kill come from `control`. Closing `control` (or dropping the
    /// events receiver) kills the job: the client is gone.
    pub async fn run_interactive_sized(
        &self,
        plan: &Plan,
        size: (u16, u16),
        events: mpsc::Sender<Event>,
        mut control: mpsc::Receiver<Control>,
    ) -> Outcome {
        let ev = events.clone();
        let mut sink = move |stream: Stream, data: &[u8]| {
            // Blocking send would stall the clock; a full channel means a slow
            // client, and we wait for it briefly by retrying on the runtime.
            match ev.try_send(Event::Output {
                stream,
                data: data.to_vec(),
            }) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(e)) => send_blocking_short(&ev, e),
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            }
        };
        self.run_job(
            plan,
            Mode::Interactive {
                size,
                events,
                control: &mut control,
            },
            &mut sink,
        )
        .await
    }

    async fn run_job(&self, plan: &Plan, mut mode: Mode<'_>, sink: exec::Sink<'_>) -> Outcome {
        let started = Instant::now();
        // A cached build can be evicted between the lookup and its install
        // (the cache is shared and bounded): then it is compiled again, once.
        let mut attempts = 0;
        let outcome = loop {
            attempts += 1;
            let mut compile_output = None;
            let mut build = None;
            if let Some(step) = &plan.compile {
                mode.stage(Stage::Compiling);
                match self.build(plan, step, mode.is_interactive(), sink).await {
                    Ok((b, output)) => {
                        compile_output = Some(output);
                        build = Some(b);
                    }
                    Err(failed) => return *failed,
                }
            }
            mode.stage(Stage::Running);
            match self.run_step(plan, build.as_ref(), &mut mode, sink).await {
                Some(mut outcome) => {
                    outcome.compile_output = compile_output;
                    break outcome;
                }
                None if attempts < 2 => {
                    tracing::info!(
                        "the compiled program left the cache before its run; compiling again"
                    );
                }
                None => {
                    break internal("run step: the compiled program left the cache twice".into())
                }
            }
        };
        tracing::debug!(
            status = outcome.status.as_str(),
            ms = started.elapsed().as_millis() as u64,
            "job done"
        );
        outcome
    }

    /// The compiled artifacts of `plan` and the compiler's output: from the
    /// cache, or by running the compile step in a cell of its own. Interactive
    /// jobs see the compiler's output as [`Stream::Compile`] events either way.
    async fn build(
        &self,
        plan: &Plan,
        step: &Step,
        interactive: bool,
        sink: exec::Sink<'_>,
    ) -> Result<((BuildKey, CachedBuild), String), Box<Outcome>> {
        let limits = self.compile_limits(step);
        let key = BuildKey::new(plan, &limits, &self.build_tag(step));
        if let Some(hit) = self.cache.get(&key) {
            if interactive && !hit.compile_output.is_empty() {
                sink(Stream::Compile, hit.compile_output.as_bytes());
            }
            let output = hit.compile_output.clone();
            return Ok(((key, hit), output));
        }
        let mut text = Vec::new();
        let mut compile_sink = |_: Stream, data: &[u8]| {
            text.extend_from_slice(data);
            !interactive || sink(Stream::Compile, data)
        };
        let key_cell = CellKey { limits, pty: false };
        let mut cell = match self.cell(&key_cell, &plan.files).await {
            Ok(c) => c,
            Err(e) => return Err(Box::new(internal(format!("compile step: {e}")))),
        };
        let res = cell
            .run(step, Feed::Stdin(b""), &mut compile_sink)
            .await
            .map_err(|e| Box::new(internal(format!("compile step: {e}"))))?;
        let output = String::from_utf8_lossy(&text).into_owned();
        if let Some(mut o) = compile_failure(&res, &limits, cell.job_dir(), plan) {
            o.compile_output = Some(output);
            return Err(Box::new(o));
        }
        let artifacts = match plan.artifacts.is_empty() {
            false => plan.artifacts.clone(),
            true => compiled_outputs(cell.job_dir(), &plan.files),
        };
        let stored = self.cache.put(&key, cell.job_dir(), &artifacts, &output);
        cell::dispose(vec![cell]);
        let hit = stored.map_err(|e| e.to_string()).and_then(|()| {
            self.cache
                .get(&key)
                .ok_or_else(|| "the entry was evicted at once".to_string())
        });
        match hit {
            Ok(hit) => Ok(((key, hit), output)),
            Err(e) => {
                let mut o = internal(format!("compile step: keeping its artifacts: {e}"));
                o.compile_output = Some(output);
                Err(Box::new(o))
            }
        }
    }

    /// What the cache key adds to the plan: the compiler's identity (its path
    /// and modification time, so an upgraded compiler is a miss), or a fresh
    /// nonce when the cache is switched off (every build a miss; the store
    /// still hands the artifacts from the compile cell to the run cell).
    fn build_tag(&self, step: &Step) -> String {
        if self.config().compile_cache.is_none() {
            static NONCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let n = NONCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return format!("uncached-{}-{n}-{:?}", std::process::id(), Instant::now());
        }
        let program = self.resolve_program(&step.program);
        let modified = program
            .as_ref()
            .and_then(|p| std::fs::metadata(p).ok())
            .and_then(|m| m.modified().ok());
        format!("{program:?}@{modified:?}")
    }

    /// Runs the run step in a cell of its own, with the plan's files and the
    /// compiled artifacts. `None`: the artifacts were evicted from the cache
    /// before they could be installed (compile again).
    async fn run_step(
        &self,
        plan: &Plan,
        build: Option<&(BuildKey, CachedBuild)>,
        mode: &mut Mode<'_>,
        sink: exec::Sink<'_>,
    ) -> Option<Outcome> {
        let limits = self.run_limits(&plan.run);
        let key = CellKey {
            limits,
            pty: mode.is_interactive(),
        };
        let mut cell = match self.cell(&key, &plan.files).await {
            Ok(c) => c,
            Err(e) => return Some(internal(format!("run step: {e}"))),
        };
        if let Some((key, build)) = build {
            let (uid, gid) = cell.owner();
            match self.cache.install(build, cell.job_dir(), uid, gid) {
                Ok(()) => {}
                Err(compile_cache::CacheError::Evicted(_)) => {
                    cell::dispose(vec![cell]);
                    return None;
                }
                Err(e) => {
                    cell::dispose(vec![cell]);
                    return Some(internal(format!(
                        "run step: installing the compiled program: {e}"
                    )));
                }
            }
            if self.config().compile_cache.is_none() {
                // Handed over; nobody will ask for it again.
                self.cache.remove(key);
            }
        }
        let (feed, interactive) = match mode {
            Mode::Batch { stdin } => (Feed::Stdin(stdin), false),
            Mode::Interactive {
                size,
                control,
                events,
            } => {
                cell.resize(size.0, size.1);
                (Feed::Control(control, events.clone()), true)
            }
        };
        let outcome = match cell.run(&plan.run, feed, sink).await {
            Ok(r) => run_outcome(&r, &limits, interactive),
            Err(e) => internal(format!("run step: {e}")),
        };
        cell::dispose(vec![cell]);
        Some(outcome)
    }

    /// A cell of `key` with `files` written: a warm one from the pool, or one
    /// started now. A warm cell that fails to take the files is dropped and a
    /// cold one tried.
    async fn cell(&self, key: &CellKey, files: &[SourceFile]) -> std::io::Result<Cell> {
        if let Some(cell) = self.pool.take(key) {
            let (uid, gid) = cell.owner();
            match jobdir::write_files(cell.job_dir(), files, uid, gid) {
                Ok(()) => return Ok(cell),
                Err(e) => {
                    tracing::warn!("warm sandbox refused the files ({e}); starting cold");
                    cell::dispose(vec![cell]);
                }
            }
        }
        let lease = self.cold_lease().await?;
        let cell = Cell::start(&self.machine.config, &self.machine.cgroups, lease, key)?;
        let (uid, gid) = cell.owner();
        jobdir::write_files(cell.job_dir(), files, uid, gid)?;
        Ok(cell)
    }

    /// A slot for a cold start: a free one, else one a warm sandbox held,
    /// else wait for one.
    async fn cold_lease(&self) -> std::io::Result<slots::SlotLease> {
        loop {
            // Taking a slot's lock does not block; cleaning up after a holder
            // that died does, so only that goes to a blocking thread.
            if let Some(lease) = self.machine.take_free() {
                if lease.was_clean {
                    return Ok(lease);
                }
                let machine = self.machine.clone();
                let ready = tokio::task::spawn_blocking(move || machine.ready(lease))
                    .await
                    .map_err(std::io::Error::other)?;
                if let Some(lease) = ready {
                    return Ok(lease);
                }
                continue;
            }
            match self.pool.evict_one() {
                // Its slot is free once it is dropped.
                Some(cell) => {
                    let _ = tokio::task::spawn_blocking(move || drop(cell)).await;
                }
                // Every slot is busy (here or in another process): poll.
                None => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
            }
        }
    }
}

/// What a compile step left in the job directory besides the plan's files,
/// for plans that do not list their artifacts.
fn compiled_outputs(job_dir: &Path, files: &[SourceFile]) -> Vec<String> {
    let sources: Vec<&str> = files
        .iter()
        .filter_map(|f| f.path.split('/').next())
        .collect();
    let Ok(entries) = std::fs::read_dir(job_dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        // Dotfiles are firejail's (`.bashrc` and the like in a private home).
        .filter(|name| !name.starts_with('.') && !sources.contains(&name.as_str()))
        .filter(|name| {
            std::fs::symlink_metadata(job_dir.join(name)).is_ok_and(|m| m.is_file() || m.is_dir())
        })
        .collect()
}

/// Opens the compile cache; switched off, a small one still hands artifacts
/// from the compile cell to the run cell (never hit: see `build_tag`).
fn open_cache(config: &SandboxConfig) -> Result<CompileCache, SandboxError> {
    let (dir, max_bytes) = match &config.compile_cache {
        Some(c) => (c.dir.clone(), c.max_bytes),
        None => (PathBuf::from("/srv/codr/handover"), 256 << 20),
    };
    Ok(CompileCache::open(&dir, max_bytes)?)
}

/// Sends an event when the channel is full, waiting up to a second.
fn send_blocking_short(ev: &mpsc::Sender<Event>, mut e: Event) -> bool {
    for _ in 0..100 {
        match ev.try_send(e) {
            Ok(()) => return true,
            Err(mpsc::error::TrySendError::Full(back)) => e = back,
            Err(mpsc::error::TrySendError::Closed(_)) => return false,
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // A client that reads nothing for a second loses this chunk, not the job.
    true
}

enum Mode<'a> {
    Batch {
        stdin: &'a [u8],
    },
    Interactive {
        size: (u16, u16),
        events: mpsc::Sender<Event>,
        control: &'a mut mpsc::Receiver<Control>,
    },
}

impl Mode<'_> {
    fn is_interactive(&self) -> bool {
        matches!(self, Mode::Interactive { .. })
    }

    fn stage(&self, stage: Stage) {
        if let Mode::Interactive { events, .. } = self {
            let _ = events.try_send(Event::Stage(stage));
        }
    }
}

fn ensure_root(root: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if !root.is_dir() {
        std::fs::create_dir_all(root)?;
        std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o711))?;
    }
    Ok(())
}

fn internal(message: String) -> Outcome {
    tracing::error!("{message}");
    Outcome {
        status: Status::InternalError,
        exit_code: None,
        signal: None,
        stdout: String::new(),
        stderr: String::new(),
        compile_output: None,
        wall_time_ms: 0,
        cpu_time_ms: 0,
        memory_bytes: 0,
        message: Some(message),
    }
}

/// The name of signal `n`: `"SIGKILL"`.
pub fn signal_name(n: i32) -> String {
    const NAMES: [&str; 32] = [
        "",
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    match NAMES.get(n as usize) {
        Some(name) if n > 0 => name.to_string(),
        _ => format!("SIG{n}"),
    }
}

/// Exit code and signal as the user sees them (firejail: 128+n = signal n).
fn exit_and_signal(r: &StepResult) -> (Option<i32>, Option<String>) {
    match (r.exit_code, r.signal) {
        (Some(code), _) if (129..=192).contains(&code) => {
            (Some(code), Some(signal_name(code - 128)))
        }
        (Some(code), _) => (Some(code), None),
        (None, Some(sig)) => (None, Some(signal_name(sig))),
        (None, None) => (None, None),
    }
}

fn base_outcome(r: &StepResult, status: Status, message: Option<String>) -> Outcome {
    let (exit_code, signal) = exit_and_signal(r);
    Outcome {
        status,
        exit_code,
        signal,
        stdout: String::new(),
        stderr: String::new(),
        compile_output: None,
        wall_time_ms: r.wall_ms,
        cpu_time_ms: r.cpu_ms,
        memory_bytes: r.memory_peak,
        message,
    }
}

/// Status and message of a finished step (limits first, then the exit).
fn classify(r: &StepResult, l: &Limits) -> (Status, Option<String>) {
    let cpu_hit = r.cpu_ms >= l.cpu_time_ms;
    match r.ended {
        Ended::WallLimit => (
            Status::TimeLimit,
            Some(format!("wall time limit ({} ms)", l.wall_time_ms)),
        ),
        Ended::CpuLimit => (
            Status::TimeLimit,
            Some(format!("cpu time limit ({} ms)", l.cpu_time_ms)),
        ),
        Ended::OutputLimit => (
            Status::OutputLimit,
            Some(format!("output limit ({} bytes)", l.output_bytes)),
        ),
        Ended::DiskLimit => (
            Status::DiskLimit,
            Some("disk quota of the job directory (bytes or files) used up".into()),
        ),
        Ended::Killed => (Status::RuntimeError, Some("killed".into())),
        Ended::Exited if r.oom => (
            Status::MemoryLimit,
            Some(format!("memory limit ({} bytes)", l.memory_bytes)),
        ),
        // RLIMIT_CPU backstop (SIGKILL/SIGXCPU) fired before our poll.
        Ended::Exited if cpu_hit && r.exit_code != Some(0) => (
            Status::TimeLimit,
            Some(format!("cpu time limit ({} ms)", l.cpu_time_ms)),
        ),
        Ended::Exited if r.exit_code == Some(0) => (Status::Ok, None),
        Ended::Exited => (Status::RuntimeError, None),
    }
}

fn run_outcome(r: &StepResult, l: &Limits, interactive: bool) -> Outcome {
    let (status, message) = classify(r, l);
    let mut o = base_outcome(r, status, message);
    if !interactive {
        o.stdout = String::from_utf8_lossy(&r.stdout).into_owned();
        o.stderr = String::from_utf8_lossy(&r.stderr).into_owned();
    }
    if !r.clean {
        tracing::error!("processes of the job survived the kill");
    }
    o
}

/// The Outcome of a failed compile step, or `None` if the run may go ahead.
fn compile_failure(r: &StepResult, l: &Limits, job_dir: &Path, plan: &Plan) -> Option<Outcome> {
    let (status, message) = classify(r, l);
    let prefixed = |m: Option<String>| m.map(|m| format!("compile: {m}"));
    match status {
        Status::Ok => {
            let missing = plan
                .artifacts
                .iter()
                .find(|a| std::fs::symlink_metadata(job_dir.join(a)).is_err());
            missing.map(|a| {
                base_outcome(
                    r,
                    Status::CompileError,
                    Some(format!("compile: artifact {a} missing")),
                )
            })
        }
        Status::TimeLimit | Status::MemoryLimit | Status::DiskLimit => {
            Some(base_outcome(r, status, prefixed(message)))
        }
        Status::OutputLimit => Some(base_outcome(r, Status::CompileError, prefixed(message))),
        _ => Some(base_outcome(r, Status::CompileError, prefixed(message))),
    }
}

impl Sandbox {
    /// Processes of sandbox users whose slot is free; empty when every
    /// finished job left nothing behind (see [`slots::idle_leftovers`]).
    pub fn idle_leftovers(&self) -> Vec<(String, Vec<i32>)> {
        slots::idle_leftovers(&self.config().job_root, &self.machine.users)
    }
}

impl Sandbox {
    /// The firejail arguments this sandbox would use for `step` as a run step
    /// in `job_dir`, run at once without a gate (for benchmarks comparing
    /// against firejail alone).
    #[doc(hidden)]
    pub fn firejail_args_for(&self, step: &Step, job_dir: &Path) -> Vec<std::ffi::OsString> {
        let limits = self.run_limits(step);
        let ctx = firejail::StepContext {
            config: self.config(),
            job_dir,
            limits: &limits,
            cgroup_memory: !matches!(self.cgroups(), CgroupSupport::Off { .. }),
        };
        firejail::direct_args(&ctx, step)
    }
}
