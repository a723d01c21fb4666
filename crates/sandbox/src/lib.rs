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
//!    compile: the artifacts, from the compile cache, `compile_cache/`), and
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
//!   compile step). In interactive mode the wall clock stands still while the
//!   program waits for its user (blocked reading its terminal, see
//!   [`SessionClock`]); the session's ceiling counts everything.
//! * `idle_timeout`: interactive mode only: the program waited for its user
//!   longer than the input timeout.
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

#![deny(missing_docs)]

mod cell;
mod cells;
pub mod cgroup;
mod classify;
pub mod compile_cache;
pub mod config;
mod error;
mod events;
mod exec;
mod firejail;
pub mod jobdir;
pub mod kill;
mod pool;
pub mod recover;
mod setup;
pub mod slots;
mod spawn_lock;
mod vfork;
mod waiting;

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;

pub use cgroup::CgroupSupport;
pub use classify::signal_name;
pub use codr_job::{
    Control, Event, LimitOverrides, Outcome, Plan, SourceFile, Stage, Status, Step, Stream,
};
pub use config::{
    CgroupMode, CompileCacheConfig, DiskQuota, Limits, PoolConfig, SandboxConfig, SessionClock,
};
pub use error::SandboxError;
pub use firejail::{firejail_version, io_uring_refused_by_kernel};
pub use pool::PoolStats;

use cell::CellKey;
use classify::{compile_failure, internal, run_outcome};
use compile_cache::{BuildKey, CacheError, CachedBuild, CompileCache};
use exec::Feed;
use pool::{Machine, Pool};

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

impl Sandbox {
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
        let mut sink = events::sink(events.clone());
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

    /// Runs `plan`: the compile step (or its cached build), then the run
    /// step; compiles once more if the build leaves the cache before the run.
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
            true => jobdir::compiled_outputs(cell.job_dir(), &plan.files),
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
                Err(CacheError::Evicted(_)) => {
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
                (
                    Feed::Control(control, events.clone(), self.config().session),
                    true,
                )
            }
        };
        let outcome = match cell.run(&plan.run, feed, sink).await {
            Ok(r) => run_outcome(&r, &limits, interactive),
            Err(e) => internal(format!("run step: {e}")),
        };
        cell::dispose(vec![cell]);
        Some(outcome)
    }
}

/// How a job talks to its client: on pipes with all its input at once, or on
/// a PTY with events out and controls in.
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
    /// On a PTY.
    fn is_interactive(&self) -> bool {
        matches!(self, Mode::Interactive { .. })
    }

    /// Tells an interactive client the job entered `stage`.
    fn stage(&self, stage: Stage) {
        if let Mode::Interactive { events, .. } = self {
            let _ = events.try_send(Event::Stage(stage));
        }
    }
}
