//! The worker: takes jobs from the broker (a bounded number at a time), asks
//! the language's plugin for the plan, runs it in the sandbox and streams the
//! events back; the client's input flows the other way.
//!
//! Admission: batch jobs and interactive sessions come from two queues,
//! each taken by its own loop with its own bound. Batch jobs use the CPU
//! from start to end, so they run at most one per core (`--max-jobs`); the
//! rest wait in the queue, where any worker can take them. A session is
//! mostly a program waiting for its user, using no CPU: sessions are bounded
//! by what they really hold, a sandbox user each (`--max-sessions`) and the
//! machine's memory (none is taken while less than `--min-free-memory-mb` is
//! available). The CPU they do use is shared fairly with batch jobs by the
//! sandbox (an equal cgroup share per job).
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use codr_broker::{Broker, Cursor, JobEvent, JobInput, JobSpec, Lease, Outage, Queue};
use codr_job::{paths_clash, Control, ExtraFile, LimitOverrides, Outcome, Plan, SourceFile};
use codr_sandbox::Sandbox;
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use crate::config::WorkerArgs;
use crate::languages::SharedLanguages;
use crate::metrics as m;

mod forward;
mod utf8;

/// How long one `take` waits (also the worst-case shutdown latency).
const TAKE_WAIT: Duration = Duration::from_secs(2);
/// How long one blocking read of the input stream waits.
const INPUT_WAIT: Duration = Duration::from_secs(2);
/// How often a running job's lease is kept (see [`Broker::keep`]): well
/// within the gateway's `--job-stuck-after` (120 s by default).
const KEEP_EVERY: Duration = Duration::from_secs(15);
/// How long to wait before looking again when memory is short.
const MEMORY_WAIT: Duration = Duration::from_millis(200);

/// One worker process's job runner.
pub struct Worker {
    id: String,
    cfg: WorkerArgs,
    broker: Arc<dyn Broker>,
    languages: SharedLanguages,
    sandbox: Arc<Sandbox>,
    /// Control channels of running jobs, to kill them when draining times out.
    running: Mutex<HashMap<String, mpsc::Sender<Control>>>,
}

impl Worker {
    /// A worker named `cfg.id()`.
    pub fn new(
        cfg: WorkerArgs,
        broker: Arc<dyn Broker>,
        languages: SharedLanguages,
        sandbox: Arc<Sandbox>,
    ) -> Arc<Self> {
        let mut cfg = cfg;
        // More jobs than sandbox slots would only wait inside the worker,
        // where no other worker can take them.
        cfg.max_jobs = Some(cfg.concurrency().min(sandbox.slots().max(1)));
        // Sessions get the sandbox users that batch jobs and the warm pool
        // leave (the pool gives its users back when jobs need them).
        let spare = sandbox.slots().saturating_sub(cfg.concurrency());
        cfg.max_sessions = Some(cfg.max_sessions.unwrap_or(spare).min(spare).max(1));
        Arc::new(Self {
            id: cfg.id(),
            cfg,
            broker,
            languages,
            sandbox,
            running: Mutex::new(HashMap::new()),
        })
    }

    /// The worker's name in the broker.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The languages this worker can run.
    pub fn languages(&self) -> &SharedLanguages {
        &self.languages
    }

    /// Sessions run at the same time by this worker at most.
    pub fn max_sessions(&self) -> usize {
        self.cfg.max_sessions.unwrap_or(1)
    }

    /// Takes and runs jobs until `shutdown` turns true; then stops taking,
    /// lets running jobs finish (at most the drain timeout, after which they
    /// are killed) and returns.
    pub async fn run(self: Arc<Self>, shutdown: watch::Receiver<bool>) {
        let (beat_stop, beat_rx) = watch::channel(false);
        let beat = tokio::spawn(self.clone().heartbeat(beat_rx));
        tracing::info!(
            worker = %self.id,
            batch_jobs = self.cfg.concurrency(),
            sessions = self.max_sessions(),
            "worker started"
        );
        let batch = self.clone().take_loop(Queue::Batch, shutdown.clone());
        let live = self.clone().take_loop(Queue::Live, shutdown);
        tokio::join!(batch, live);
        // Warm sandboxes waiting for jobs that will not come: gone with us
        // (left to the end of the process they would outlive it as zombies).
        self.sandbox.clear_pool();
        let _ = beat_stop.send(true);
        let _ = beat.await;
        tracing::info!(worker = %self.id, "worker stopped");
    }

    /// Takes the jobs of one queue, as many at a time as its bound allows,
    /// until `shutdown`; then drains them.
    async fn take_loop(self: Arc<Self>, queue: Queue, mut shutdown: watch::Receiver<bool>) {
        let bound = match queue {
            Queue::Batch => self.cfg.concurrency(),
            Queue::Live => self.max_sessions(),
        };
        let slots = Arc::new(Semaphore::new(bound));
        let mut jobs = JoinSet::new();
        let mut backoff = Outage::forever().backoff();
        while !*shutdown.borrow() {
            let permit = tokio::select! {
                p = slots.clone().acquire_owned() => p.expect("semaphore never closes"),
                _ = shutdown.changed() => break,
            };
            if !self.memory_to_spare() {
                drop(permit);
                tokio::select! {
                    _ = tokio::time::sleep(MEMORY_WAIT) => continue,
                    _ = shutdown.changed() => break,
                }
            }
            // `take` is not cancelled on shutdown: a job handed to us while
            // we stopped listening would be lost. It waits at most TAKE_WAIT.
            match self.broker.take(&self.id, queue, TAKE_WAIT).await {
                Ok(Some(lease)) => {
                    backoff.ok();
                    jobs.spawn(self.clone().run_lease(lease, permit));
                }
                Ok(None) => backoff.ok(),
                Err(e) => {
                    tracing::warn!(error = %e, "take failed; retrying");
                    backoff.pause().await;
                }
            }
            while jobs.try_join_next().is_some() {}
        }
        self.drain(jobs).await;
    }

    /// Whether the machine has the memory a new job may need: at least
    /// `--min-free-memory-mb` available (MemAvailable). Unknown counts as yes.
    fn memory_to_spare(&self) -> bool {
        let floor = self.cfg.min_free_memory_mb;
        floor == 0 || available_memory_mb().is_none_or(|mb| mb >= floor)
    }

    /// Waits for running jobs, killing them after the drain timeout.
    async fn drain(&self, mut jobs: JoinSet<()>) {
        if jobs.is_empty() {
            return;
        }
        tracing::info!(running = jobs.len(), "draining running jobs");
        let all = async { while jobs.join_next().await.is_some() {} };
        if tokio::time::timeout(self.cfg.drain_timeout, all)
            .await
            .is_ok()
        {
            return;
        }
        let controls: Vec<_> = self.lock_running().values().cloned().collect();
        tracing::warn!(
            count = controls.len(),
            "drain timeout: killing running jobs"
        );
        for control in controls {
            let _ = control.send(Control::Kill).await;
        }
        let rest = async { while jobs.join_next().await.is_some() {} };
        let _ = tokio::time::timeout(Duration::from_secs(5), rest).await;
    }

    fn lock_running(&self) -> std::sync::MutexGuard<'_, HashMap<String, mpsc::Sender<Control>>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Says "alive" every interval until told to stop.
    async fn heartbeat(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(self.cfg.heartbeat_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => return,
            }
            if let Err(e) = self
                .broker
                .heartbeat(&self.id, self.cfg.heartbeat_ttl)
                .await
            {
                tracing::warn!(error = %e, "heartbeat failed");
            }
        }
    }

    /// Runs one taken job to its end, reports it and acks it.
    async fn run_lease(self: Arc<Self>, lease: Lease, _permit: OwnedSemaphorePermit) {
        let job = &lease.job;
        ::metrics::gauge!(m::WORKER_RUNNING).increment(1.0);
        tracing::info!(job_id = %job.job_id, language = %job.language, "job started");
        let keeper = tokio::spawn(keep_lease(self.broker.clone(), lease.clone()));
        let final_event = match self.execute(job).await {
            Ok(outcome) => {
                ::metrics::histogram!(m::RUN_DURATION, "language" => job.language.clone())
                    .record(outcome.wall_time_ms as f64 / 1000.0);
                if let Err(e) = self.broker.store_result(&job.job_id, &outcome).await {
                    tracing::warn!(job_id = %job.job_id, error = %e, "cannot store result");
                }
                JobEvent::Complete { outcome }
            }
            Err(message) => JobEvent::Error { message },
        };
        keeper.abort();
        if let JobEvent::Error { message } = &final_event {
            tracing::warn!(job_id = %job.job_id, %message, "job failed");
        }
        let publish = Outage::DEFAULT
            .retry(|| self.broker.publish(&job.job_id, &final_event))
            .await;
        if let Err(e) = publish {
            tracing::error!(job_id = %job.job_id, error = %e, "cannot publish the job's end");
        }
        if let Err(e) = Outage::DEFAULT.retry(|| self.broker.ack(&lease)).await {
            tracing::error!(job_id = %job.job_id, error = %e, "cannot ack the job");
        }
        ::metrics::gauge!(m::WORKER_RUNNING).decrement(1.0);
        tracing::info!(job_id = %job.job_id, "job done");
    }

    /// Plans and runs the job; `Err` is a message for the client.
    async fn execute(&self, job: &JobSpec) -> Result<Outcome, String> {
        let plan = self.plan(job).await?;
        let (event_tx, event_rx) = mpsc::channel(256);
        let (control_tx, control_rx) = mpsc::channel(64);
        self.lock_running()
            .insert(job.job_id.clone(), control_tx.clone());
        let forwarder = tokio::spawn(forward::events(
            self.broker.clone(),
            job.job_id.clone(),
            event_rx,
        ));
        let input = tokio::spawn(forward_input(
            self.broker.clone(),
            job.job_id.clone(),
            control_tx,
        ));
        let outcome = match job.interactive {
            true => {
                self.sandbox
                    .run_interactive(&plan, event_tx, control_rx)
                    .await
            }
            false => {
                drop((event_tx, control_rx));
                let stdin = job.stdin.as_deref().unwrap_or_default();
                self.sandbox.run_batch(&plan, stdin.as_bytes()).await
            }
        };
        input.abort();
        // The sandbox dropped its sender: the forwarder flushes and ends.
        let _ = forwarder.await;
        self.lock_running().remove(&job.job_id);
        Ok(outcome)
    }

    /// The plan from the job's language plugin.
    async fn plan(&self, job: &JobSpec) -> Result<Plan, String> {
        let Some(lang) = self.languages.resolve(&job.language) else {
            return Err(format!(
                "worker {} has no plugin for language \"{}\"",
                self.id, job.language
            ));
        };
        // The gateway validated with its own plugin: a worker whose folder has
        // another version of it refuses rather than run under other rules.
        if let Some(wanted) = job.language_version.as_deref() {
            if wanted != lang.version {
                return Err(format!(
                    "worker {} has {} {}, not the version {wanted} this job was accepted for (keep the plugin folders of gateways and workers the same)",
                    self.id, lang.name, lang.version
                ));
            }
        }
        let files: Vec<String> = job.files.iter().map(|f| f.name.clone()).collect();
        let mut plan = self
            .languages
            .plan(&lang.name, &job.code, &job.args, &files)
            .await
            .map_err(|e| format!("the {} plugin cannot plan this job: {e}", lang.name))?;
        apply_requested_limits(&mut plan.run.limits, &job.limits);
        if let Some(compile) = plan.compile.as_mut() {
            apply_requested_limits(&mut compile.limits, &job.compile_limits);
        }
        add_extra_files(&mut plan, &job.files, &lang.name)?;
        Ok(plan)
    }
}

/// A caller's requested limits override the plugin's for a step (the sandbox
/// caps every value at the deployment's maximum). Run and compile limits are
/// asked for separately: a caller's run budget says nothing about rustc's
/// needs.
fn apply_requested_limits(l: &mut LimitOverrides, requested: &LimitOverrides) {
    l.wall_time_ms = requested.wall_time_ms.or(l.wall_time_ms);
    l.cpu_time_ms = requested.cpu_time_ms.or(l.cpu_time_ms);
    l.memory_bytes = requested.memory_bytes.or(l.memory_bytes);
    l.output_bytes = requested.output_bytes.or(l.output_bytes);
}

/// Adds the client's extra files to the plugin's. Names are checked again
/// (the queue is another process's input); a name that is, contains or sits
/// inside one of the plan's own files or artifacts fails the job: the
/// plugin's files win, and silently dropping the client's would run
/// something else than was sent.
fn add_extra_files(plan: &mut Plan, files: &[ExtraFile], language: &str) -> Result<(), String> {
    let mut taken: Vec<String> = plan.files.iter().map(|f| f.path.clone()).collect();
    taken.extend(plan.artifacts.iter().cloned());
    let own = taken.len();
    for file in files {
        ExtraFile::check_name(&file.name)?;
        if let Some(i) = taken.iter().position(|t| paths_clash(t, &file.name)) {
            let whose = if i < own {
                format!("a file of the {language} plugin's build")
            } else {
                "another file of the request".to_string()
            };
            return Err(format!(
                "file name {:?} clashes with {:?}, {whose}: rename it",
                file.name, taken[i]
            ));
        }
        taken.push(file.name.clone());
        plan.files.push(SourceFile {
            path: file.name.clone(),
            content: file.content.clone(),
            executable: false,
        });
    }
    Ok(())
}

/// Keeps a running job's lease every [`KEEP_EVERY`] until aborted, so that
/// a session longer than the reaper's limit is not failed as stuck.
async fn keep_lease(broker: Arc<dyn Broker>, lease: Lease) {
    let mut tick = tokio::time::interval(KEEP_EVERY);
    tick.tick().await;
    loop {
        tick.tick().await;
        if let Err(e) = broker.keep(&lease).await {
            tracing::debug!(job_id = %lease.job.job_id, error = %e, "keeping the lease");
        }
    }
}

/// The machine's available memory (MemAvailable of /proc/meminfo), MiB.
fn available_memory_mb() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}

/// Reads the job's input stream from its start and hands each message to
/// the sandbox, until the sandbox stops listening (the job's end aborts it).
async fn forward_input(broker: Arc<dyn Broker>, job_id: String, control: mpsc::Sender<Control>) {
    let mut cursor = Cursor::start();
    let mut backoff = Outage::forever().backoff();
    loop {
        let batch = match broker.read_input(&job_id, &cursor, INPUT_WAIT).await {
            Ok(batch) => batch,
            Err(e) => {
                tracing::debug!(job_id = %job_id, error = %e, "reading input");
                backoff.pause().await;
                continue;
            }
        };
        backoff.ok();
        for (next, input) in batch {
            cursor = next;
            let msg = match input {
                JobInput::Data { data } => Control::Input(data.into_bytes()),
                JobInput::Resize { rows, cols } => Control::Resize { rows, cols },
                JobInput::Kill => Control::Kill,
            };
            if control.send(msg).await.is_err() {
                return;
            }
        }
        if control.is_closed() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use codr_job::Step;

    fn step(wall: Option<u64>) -> Step {
        Step {
            program: "x".into(),
            args: Vec::new(),
            env: Vec::new(),
            limits: LimitOverrides {
                wall_time_ms: wall,
                ..Default::default()
            },
        }
    }

    fn plan() -> Plan {
        Plan {
            files: vec![SourceFile {
                path: "main.c".into(),
                content: "int main(){}".into(),
                executable: false,
            }],
            compile: Some(step(Some(20_000))),
            run: step(None),
            artifacts: vec!["main".into()],
        }
    }

    fn extra(name: &str) -> ExtraFile {
        ExtraFile {
            name: name.into(),
            content: "x".into(),
        }
    }

    #[test]
    fn extra_files_go_beside_the_plugins() {
        let mut p = plan();
        add_extra_files(&mut p, &[extra("a.h"), extra("inc/b.h")], "c").unwrap();
        let paths: Vec<_> = p.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["main.c", "a.h", "inc/b.h"]);
    }

    #[test]
    fn the_plugins_files_win() {
        for (name, clash) in [
            ("main.c", "main.c"),
            ("main", "main"),
            ("main.c/x", "main.c"),
        ] {
            let mut p = plan();
            let m = add_extra_files(&mut p, &[extra(name)], "c").unwrap_err();
            assert!(
                m.contains(&format!("{clash:?}")) && m.contains("c plugin"),
                "{m}"
            );
            assert_eq!(p.files.len(), 1);
        }
        let m = add_extra_files(&mut plan(), &[extra("a"), extra("a/b")], "c").unwrap_err();
        assert!(m.contains("another file"), "{m}");
        let m = add_extra_files(&mut plan(), &[extra("../x")], "c").unwrap_err();
        assert!(m.contains("not allowed"), "{m}");
    }

    #[test]
    fn run_and_compile_limits_are_asked_apart() {
        let mut p = plan();
        let asked = LimitOverrides {
            wall_time_ms: Some(5),
            ..Default::default()
        };
        apply_requested_limits(&mut p.compile.as_mut().unwrap().limits, &asked);
        assert_eq!(p.compile.unwrap().limits.wall_time_ms, Some(5));
        let mut p = plan();
        apply_requested_limits(&mut p.run.limits, &LimitOverrides::default());
        assert_eq!(
            p.run.limits.wall_time_ms, None,
            "nothing asked: the plugin's"
        );
    }
}
