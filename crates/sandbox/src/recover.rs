//! Recovery: what a host that died (or a clean-up that failed) left behind
//! never reaches the next job, and no job outlives its host.
//!
//! * [`clean_slot`]: a slot whose last holder did not prove it empty (the
//!   holder died mid-job, or its clean-up failed) is swept before use: the
//!   slot user's processes are killed and its job directory removed. A slot
//!   that cannot be cleaned is quarantined ([`Quarantine`]) and tried again
//!   later; it is never handed to a job.
//! * [`at_start`]: every host start cleans every free slot that needs it and
//!   removes the job cgroups of hosts that are gone, before taking jobs.
//! * [`start_watchdog`]: a small shell process, started once per host
//!   process, waits on a pipe whose other end only the host holds. When the
//!   host dies, however it dies (SIGKILL included), the kernel closes that
//!   end; the watchdog then kills every process in the host's job cgroups
//!   and removes them. It does not depend on the host being alive, so a job
//!   of a crashed host is dead within a fraction of a second.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::cgroup::CgroupSupport;
use crate::config::SandboxConfig;
use crate::slots::{self, SlotLease, SlotUser};
use crate::{jobdir, kill};

/// How long a slot whose clean-up failed is left alone before another try.
const QUARANTINE: Duration = Duration::from_secs(30);

/// The name of this host's cgroup for slot `index`: `codr-<host pid>-<slot>`.
/// The pid tells the start-up sweep and the watchdog whose it is.
pub fn cgroup_name(index: usize) -> String {
    format!("codr-{}-{index}", std::process::id())
}

/// Kills what is left of the slot's user and removes its job directory (and
/// the gate directory of hosts before the gate became a pipe). Returns
/// whether the slot is clean now.
pub fn clean_slot(config: &SandboxConfig, lease: &SlotLease) -> bool {
    let user = &lease.user;
    if !kill::kill_uid(user.uid) {
        tracing::error!(user = %user.name, "processes survive SIGKILL");
        return false;
    }
    let legacy_gate = config.job_root.with_file_name("gates").join(&user.name);
    for dir in [config.job_root.join(&user.name), legacy_gate] {
        if let Err(e) = jobdir::remove(&dir) {
            tracing::error!(dir = %dir.display(), "cannot remove a leftover: {e}");
            return false;
        }
    }
    true
}

/// Slots taken out of use because their clean-up failed, with when they may
/// be tried again.
#[derive(Debug, Default)]
pub struct Quarantine {
    until: Mutex<HashMap<usize, Instant>>,
}

impl Quarantine {
    /// Whether slot `index` is held back now.
    pub fn holds(&self, index: usize) -> bool {
        let mut until = self.until.lock().unwrap_or_else(|e| e.into_inner());
        match until.get(&index) {
            Some(t) if Instant::now() < *t => true,
            Some(_) => {
                until.remove(&index);
                false
            }
            None => false,
        }
    }

    /// Holds slot `index` back for a while.
    pub fn add(&self, index: usize) {
        let mut until = self.until.lock().unwrap_or_else(|e| e.into_inner());
        until.insert(index, Instant::now() + QUARANTINE);
    }
}

/// A free slot that is not held back, taken without waiting (a lock, no
/// more); it may still need cleaning: see [`ready`].
pub fn take_free(
    config: &SandboxConfig,
    users: &[SlotUser],
    quarantine: &Quarantine,
) -> Option<SlotLease> {
    slots::try_acquire_where(&config.job_root, users, |u| !quarantine.holds(u.index))
}

/// `lease` ready for a cell: as it is when its last holder left it clean,
/// else once [`clean_slot`] has cleaned it (blocking: call it off the async
/// threads). `None` when that fails: the slot is then quarantined.
pub fn ready(
    config: &SandboxConfig,
    lease: SlotLease,
    quarantine: &Quarantine,
) -> Option<SlotLease> {
    if lease.was_clean {
        return Some(lease);
    }
    if clean_slot(config, &lease) {
        lease.mark_clean();
        return Some(lease);
    }
    tracing::error!(user = %lease.user.name, "slot quarantined: its clean-up failed");
    quarantine.add(lease.user.index);
    None
}

/// A free, clean slot, or `None` when every slot is held or held back
/// (blocking: see [`ready`]).
pub fn try_lease(
    config: &SandboxConfig,
    users: &[SlotUser],
    quarantine: &Quarantine,
) -> Option<SlotLease> {
    // Each slot that fails its clean-up is held back: at most one try each.
    for _ in 0..users.len() {
        let lease = take_free(config, users, quarantine)?;
        if let Some(lease) = ready(config, lease, quarantine) {
            return Some(lease);
        }
    }
    None
}

/// What [`at_start`] found and removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// Slots that needed cleaning and were cleaned.
    pub slots: usize,
    /// Slots that needed cleaning and could not be (quarantined).
    pub failed: usize,
    /// Job cgroups of hosts that are gone, removed.
    pub cgroups: usize,
}

/// Cleans every free slot that needs it and removes the cgroups of dead
/// hosts. Slots held by a live host (this one's other sandboxes, a parallel
/// `codr run`) are left alone: their holder cleans them.
pub fn at_start(
    config: &SandboxConfig,
    users: &[SlotUser],
    cgroups: &CgroupSupport,
    quarantine: &Quarantine,
) -> Recovered {
    let mut found = Recovered {
        cgroups: sweep_cgroups(cgroups),
        ..Default::default()
    };
    for user in users {
        let Some(lease) = slots::try_lock(&config.job_root, user) else {
            continue;
        };
        let leftover = config.job_root.join(&user.name).exists();
        if lease.was_clean && !leftover {
            lease.mark_clean();
            continue;
        }
        if clean_slot(config, &lease) {
            lease.mark_clean();
            found.slots += 1;
        } else {
            quarantine.add(user.index);
            found.failed += 1;
        }
    }
    if found != Recovered::default() {
        tracing::warn!(
            slots = found.slots,
            failed = found.failed,
            cgroups = found.cgroups,
            "cleaned up after a host that died"
        );
    }
    found
}

/// Removes the job cgroups (`codr-<pid>-<slot>`, `codr-probe-<pid>`) whose
/// host process is gone, killing whatever still runs in them.
fn sweep_cgroups(cgroups: &CgroupSupport) -> usize {
    let mut removed = 0;
    for parent in cgroups.parents() {
        let Ok(entries) = std::fs::read_dir(&parent) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(pid) = name.to_str().and_then(host_pid) else {
                continue;
            };
            if Path::new("/proc").join(pid.to_string()).exists() {
                continue;
            }
            let dir = entry.path();
            crate::cgroup::kill_procs(std::slice::from_ref(&dir));
            if std::fs::remove_dir(&dir).is_ok() {
                removed += 1;
            }
        }
    }
    removed
}

/// The host pid in a job cgroup's name.
fn host_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix("codr-")?;
    let rest = rest.strip_prefix("probe-").unwrap_or(rest);
    rest.split('-').next()?.parse().ok()
}

/// The watchdog's script: `$1` the host's pid, then the cgroup parents.
/// `cat` returns when the host's end of stdin closes (the host is gone);
/// then every process in the host's job cgroups is killed, repeatedly (a
/// fork bomb is bounded by its pids limit), and the cgroups are removed.
const WATCHDOG_SCRIPT: &str = r#"pid=$1; shift
cat >/dev/null 2>&1
i=0
while [ $i -lt 200 ]; do
  left=
  for d in "$@"; do
    for g in "$d"/codr-"$pid"-*; do
      [ -d "$g" ] || continue
      for p in $(cat "$g/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; left=1; done
      rmdir "$g" 2>/dev/null || left=1
    done
  done
  [ -z "$left" ] && exit 0
  i=$((i+1)); sleep 0.05
done
"#;

/// Starts the watchdog of this host process (once; later calls do nothing).
/// Without cgroups there is nothing for it to find: the per-process
/// RLIMIT_CPU is then the only backstop.
pub fn start_watchdog(cgroups: &CgroupSupport) -> io::Result<()> {
    static HOST_END: Mutex<Option<std::process::ChildStdin>> = Mutex::new(None);
    let parents: Vec<PathBuf> = cgroups.parents();
    let mut host_end = HOST_END.lock().unwrap_or_else(|e| e.into_inner());
    if parents.is_empty() || host_end.is_some() {
        return Ok(());
    }
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(WATCHDOG_SCRIPT)
        .arg("codr-watchdog")
        .arg(std::process::id().to_string())
        .args(&parents)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .env_clear()
        .env("PATH", "/usr/bin:/bin");
    // Its own process group: a Ctrl-C meant for the host does not reach it.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn()?;
    // Held until the process ends: the kernel closes it then, not us.
    *host_end = child.stdin.take();
    tracing::debug!(pid = child.id(), "watchdog started");
    // Reaped by init once the host is gone (it outlives the host by design).
    drop(child);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_pids_from_cgroup_names() {
        assert_eq!(host_pid("codr-1234-5"), Some(1234));
        assert_eq!(host_pid("codr-probe-77"), Some(77));
        assert_eq!(host_pid("codr-x-1"), None);
        assert_eq!(host_pid("other-1-2"), None);
    }

    #[test]
    fn quarantine_holds_for_a_while() {
        let q = Quarantine::default();
        assert!(!q.holds(3));
        q.add(3);
        assert!(q.holds(3) && !q.holds(4));
    }
}
