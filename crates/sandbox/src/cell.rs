//! A cell: one sandbox started for exactly one step, waiting at its gate.
//!
//! Starting Firejail (namespaces, mounts, seccomp) is most of a short job's
//! time, and none of it depends on the job. So a cell is started first, with
//! everything but the program: the slot user, a fresh job directory, the
//! step's cgroup and limits, and inside the sandbox a shell reading commands
//! from a pipe (the gate) that the host holds open. To run a step the host
//! writes the files into the job directory and the step's commands into the
//! gate; the shell runs them and exits. A cold start is a cell let go at
//! once; a warm one (see [`crate::pool`]) was started ahead of demand. Either
//! way the program gets the same sandbox, and a cell serves one step only:
//! dropping it kills everything in it and removes its directories.
//!
//! The gate is a pipe whose read end the sandbox inherits as descriptor 3
//! (Firejail's `--keep-fd=3`), owned by the slot user so that the shell can
//! open it again as `/proc/self/fd/3`; the step's script closes it before
//! the program starts. No path leads to it: nothing of the gate is on any
//! file system another job could see. If the host dies, its end of the gate
//! closes, the shell reads end-of-file and the sandbox exits by itself.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::cgroup::{CgroupSupport, JobCgroup};
use crate::config::{Limits, SandboxConfig};
use crate::exec::{self, Feed, Sink, Spawn, Started, StepResult, Watch};
use crate::slots::SlotLease;
use crate::Step;
use crate::{firejail, jobdir, kill, vfork};

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
    job_dir: PathBuf,
    /// Whether the job directory is a quota-bound tmpfs.
    quota: bool,
    limits: Limits,
    born: Instant,
    // Last: the slot is released only after the cell is cleaned up (Drop).
    lease: SlotLease,
}

impl Cell {
    /// Starts a cell on the slot of `lease` (a clean one: see
    /// [`crate::recover::clean_slot`]). Returns as soon as Firejail is
    /// spawned; it finishes setting up while the cell waits.
    pub fn start(
        config: &SandboxConfig,
        cgroups: &CgroupSupport,
        lease: SlotLease,
        key: &CellKey,
    ) -> io::Result<Cell> {
        let user = lease.user.clone();
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
            job_dir: config.job_root.join(&user.name),
            quota: config.job_disk.is_some(),
            limits: key.limits,
            born: Instant::now(),
            lease,
        };
        jobdir::create(&cell.job_dir, user.uid, user.gid, config.job_disk.as_ref())?;
        let (gate_r, gate_w) = open_gate(user.uid, user.gid)?;
        cell.gate = Some(File::from(gate_w));
        let cg_name = crate::recover::cgroup_name(user.index);
        let (memory, processes) = (key.limits.memory_bytes, key.limits.processes);
        cell.cgroup = cgroups
            .create_job(&cg_name, memory, processes, config.job_cpus)
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
            args: firejail::cell_args(&ctx),
            env: firejail::base_env(config, &user.home),
            user: &user,
            cgroup: cell.cgroup.as_ref(),
            gate: gate_r.as_raw_fd(),
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
            disk: self.quota.then_some(self.job_dir.as_path()),
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
        // The whole script is in the pipe: end-of-file tells the shell so.
        drop(self.gate.take());
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
        let killed = kill::kill_tree(pid, self.cgroup.as_ref(), self.lease.user.uid);
        if !killed {
            tracing::error!(user = %self.lease.user.name, "processes of a cell survived the kill");
        }
        if let Some(cg) = &self.cgroup {
            cg.remove();
        }
        drop(self.gate.take());
        let removed = jobdir::remove(&self.job_dir)
            .inspect_err(|e| {
                tracing::error!(dir = %self.job_dir.display(), "cannot remove the job directory: {e}")
            })
            .is_ok();
        // Otherwise the next holder cleans the slot up first, and the slot
        // is quarantined while that fails (see `recover`).
        if killed && removed {
            self.lease.mark_clean();
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

/// The gate: a pipe whose read end (for the sandbox, owned by the slot user
/// and read-only to it, so its shell may reopen it through /proc) and write
/// end (the host's) are both close-on-exec in the host.
fn open_gate(uid: u32, gid: u32) -> io::Result<(OwnedFd, OwnedFd)> {
    let (r, w) = vfork::pipe()?;
    rustix::fs::fchown(
        &r,
        Some(rustix::fs::Uid::from_raw(uid)),
        Some(rustix::fs::Gid::from_raw(gid)),
    )?;
    rustix::fs::fchmod(&r, rustix::fs::Mode::RUSR)?;
    Ok((r, w))
}
