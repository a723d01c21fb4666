//! A cell: one sandbox started for exactly one step, waiting at its gate.
//!
//! Starting Firejail (namespaces, mounts, seccomp) is most of a short job's
//! time, and none of it depends on the job. So a cell is started first, with
//! everything but the program: the slot user, a fresh job directory, the
//! step's cgroup and limits, and inside the sandbox a shell reading commands
//! from a FIFO (the gate) that the host holds open. To run a step the host
//! writes the files into the job directory and the step's commands into the
//! gate; the shell runs them and exits. A cold start is a cell let go at
//! once; a warm one (see [`crate::pool`]) was started ahead of demand. Either
//! way the program gets the same sandbox, and a cell serves one step only:
//! dropping it kills everything in it and removes its directories.
//!
//! The gate lives outside the job directory (`<gate_root>/<slot user>/gate`,
//! mode 0700, owned by the slot user) so the program does not find it among
//! its files. If the host dies, its end of the gate closes, the shell reads
//! end-of-file and the sandbox exits by itself.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::cgroup::{CgroupSupport, JobCgroup};
use crate::config::{Limits, SandboxConfig};
use crate::exec::{self, Feed, Sink, Spawn, Started, StepResult, Watch};
use crate::plan::Step;
use crate::slots::SlotLease;
use crate::{firejail, jobdir, kill};

/// The longest step script the gate takes (a pipe holds 64 KiB, so the write
/// never waits for the sandbox).
const MAX_SCRIPT_BYTES: usize = 60 * 1024;

/// How long a cell dropped before its step may take to end by itself once
/// its gate is closed (its shell may not have opened the gate yet: then it is
/// killed).
const GATE_CLOSE_GRACE: std::time::Duration = std::time::Duration::from_millis(100);

/// What a cell is started for: cells with equal keys are interchangeable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CellKey {
    /// The step's resolved limits (they are in Firejail's flags and the cgroup).
    pub limits: Limits,
    /// On a PTY (interactive) or on pipes (batch, compile).
    pub pty: bool,
}

/// A started sandbox waiting for its one step.
pub struct Cell {
    started: Option<Started>,
    cgroup: Option<JobCgroup>,
    gate: Option<File>,
    gate_dir: PathBuf,
    job_dir: PathBuf,
    limits: Limits,
    born: Instant,
    // Last: the slot is released only after the cell is cleaned up (Drop).
    lease: SlotLease,
}

impl Cell {
    /// Starts a cell on the slot of `lease`. Returns as soon as Firejail is
    /// spawned; it finishes setting up while the cell waits.
    pub fn start(
        config: &SandboxConfig,
        cgroups: &CgroupSupport,
        lease: SlotLease,
        key: &CellKey,
    ) -> io::Result<Cell> {
        let user = lease.user.clone();
        // Leftovers of a host that died while holding this slot.
        if !lease.was_clean && !kill::kill_uid(user.uid) {
            return Err(io::Error::other(format!(
                "processes of {} survive SIGKILL",
                user.name
            )));
        }
        if !user.home.is_dir() {
            return Err(io::Error::other(format!(
                "home {} of {} is missing (fix: make setup)",
                user.home.display(),
                user.name
            )));
        }
        let mut cell = Cell {
            started: None,
            cgroup: None,
            gate: None,
            gate_dir: config.gate_root.join(&user.name),
            job_dir: config.job_root.join(&user.name),
            limits: key.limits,
            born: Instant::now(),
            lease,
        };
        jobdir::create(&cell.job_dir, user.uid, user.gid)?;
        jobdir::create(&cell.gate_dir, user.uid, user.gid)?;
        let gate_path = cell.gate_dir.join("gate");
        cell.gate = Some(open_gate(&gate_path, user.uid, user.gid)?);
        let cg_name = format!("codr-{}-{}", std::process::id(), user.index);
        cell.cgroup = cgroups
            .create_job(&cg_name, key.limits.memory_bytes, key.limits.processes)
            .unwrap_or_else(|e| {
                tracing::warn!("cgroup {cg_name}: {e}; rlimits only for this step");
                None
            });
        let ctx = firejail::StepContext {
            config,
            job_dir: &cell.job_dir,
            limits: &key.limits,
            cgroup_memory: cell.cgroup.is_some(),
        };
        let spawn = Spawn {
            firejail: &config.firejail,
            args: firejail::cell_args(&ctx, &gate_path),
            env: firejail::base_env(config, &user.home),
            user: &user,
            cgroup: cell.cgroup.as_ref(),
        };
        tracing::trace!(args = ?spawn.args, "starting a cell");
        cell.started = Some(exec::spawn(&spawn, key.pty.then_some((24, 80)))?);
        tracing::trace!(ms = cell.born.elapsed().as_millis() as u64, "cell spawned");
        Ok(cell)
    }

    /// The job directory, where the step's files go before [`Cell::run`].
    pub fn job_dir(&self) -> &Path {
        &self.job_dir
    }

    /// The slot user's uid and gid (owner of the files written for the step).
    pub fn owner(&self) -> (u32, u32) {
        (self.lease.user.uid, self.lease.user.gid)
    }

    /// How long ago the cell was started.
    pub fn age(&self) -> std::time::Duration {
        self.born.elapsed()
    }

    /// Whether the sandbox is still waiting (not failed, not exited).
    pub fn alive(&mut self) -> bool {
        self.started.as_mut().is_some_and(|s| s.alive())
    }

    /// Sets the terminal size (PTY cells).
    pub fn resize(&self, rows: u16, cols: u16) {
        if let Some(s) = &self.started {
            s.resize(rows, cols);
        }
    }

    /// Lets the step go and watches it to its end. The clock, the CPU count
    /// and the peak memory start now, not when the cell was started.
    pub async fn run(
        &mut self,
        step: &Step,
        feed: Feed<'_>,
        sink: Sink<'_>,
    ) -> io::Result<StepResult> {
        if step.program.starts_with('-') || step.program.is_empty() {
            return Err(io::Error::other(format!(
                "bad program name {:?}",
                step.program
            )));
        }
        let script = firejail::step_script(step)?;
        if script.len() > MAX_SCRIPT_BYTES {
            return Err(io::Error::other(format!(
                "program arguments and variables take {} bytes, more than {MAX_SCRIPT_BYTES}",
                script.len()
            )));
        }
        let mut started = self
            .started
            .take()
            .ok_or_else(|| io::Error::other("the cell has already run"))?;
        if !started.alive() {
            return Err(io::Error::other("the sandbox exited before its step"));
        }
        let mut watch = Watch {
            limits: &self.limits,
            cgroup: self.cgroup.as_ref(),
            uid: self.lease.user.uid,
            cpu_base: 0,
        };
        watch.cpu_base = watch.cpu_total();
        if let Some(cg) = &self.cgroup {
            cg.reset_peak();
        }
        let gate = self
            .gate
            .as_mut()
            .ok_or_else(|| io::Error::other("the cell has no gate"))?;
        gate.write_all(script.as_bytes())?;
        let res = exec::supervise(&watch, started, feed, sink).await;
        tracing::trace!(
            age_ms = self.born.elapsed().as_millis() as u64,
            "cell ran its step"
        );
        res
    }
}

impl Drop for Cell {
    fn drop(&mut self) {
        let t = Instant::now();
        let pid = self
            .started
            .as_ref()
            .and_then(|s| s.pid())
            .map(|p| p as i32);
        // A cell that never ran is let go by closing its gate: the shell
        // reads end-of-file and Firejail ends and reaps its own sandbox. Killed
        // instead, Firejail would orphan it, leaving it to init to reap.
        if let Some(started) = self.started.as_mut() {
            drop(self.gate.take());
            let deadline = Instant::now() + GATE_CLOSE_GRACE;
            while started.alive() && Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        }
        // Firejail is killed on drop (if still there); everything of the slot
        // user and the cgroup follows.
        drop(self.started.take());
        if kill::kill_tree(pid, self.cgroup.as_ref(), self.lease.user.uid) {
            self.lease.mark_clean();
        } else {
            tracing::error!(user = %self.lease.user.name, "processes of a cell survived the kill");
        }
        if let Some(cg) = &self.cgroup {
            cg.remove();
        }
        drop(self.gate.take());
        for dir in [&self.job_dir, &self.gate_dir] {
            if let Err(e) = jobdir::remove(dir) {
                tracing::warn!(dir = %dir.display(), "cannot remove: {e}");
            }
        }
        tracing::trace!(ms = t.elapsed().as_millis() as u64, "cell cleaned up");
    }
}

/// Drops cells off the caller's path: killing what is left in them and
/// removing their cgroups and directories takes a few ms of blocking work
/// (their slots are free only once it is done).
pub fn dispose(cells: Vec<Cell>) {
    if cells.is_empty() {
        return;
    }
    match tokio::runtime::Handle::try_current() {
        Ok(rt) => drop(rt.spawn_blocking(move || drop(cells))),
        Err(_) => drop(cells),
    }
}

/// Makes the gate FIFO (owned by the slot user, 0600) and opens it read-write:
/// opening never blocks that way, and the pipe lives while we hold it, even
/// before the shell inside opens its end.
fn open_gate(path: &Path, uid: u32, gid: u32) -> io::Result<File> {
    rustix::fs::mkfifoat(
        rustix::fs::CWD,
        path,
        rustix::fs::Mode::from_raw_mode(0o600),
    )?;
    std::os::unix::fs::chown(path, Some(uid), Some(gid))?;
    OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}
