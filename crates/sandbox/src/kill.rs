//! Killing a job's whole process tree, and proving nothing is left.
//!
//! Two nets: the job's cgroup (every process of the tree, whatever namespace it
//! sits in), and the slot's uid (every sandboxed process runs as the slot user,
//! which nothing else uses while the slot is held). The uid sweep also works
//! without cgroups, and catches processes a crashed host left behind.

use std::fs;
use std::time::Duration;

use crate::cgroup::JobCgroup;

/// Pids of every process whose real uid is `uid`.
pub fn pids_of_uid(uid: u32) -> Vec<i32> {
    live_pids()
        .filter(|pid| real_uid(*pid) == Some(uid))
        .collect()
}

/// The live processes of every uid, from one pass over /proc (for checking
/// hundreds of sandbox users at once).
pub fn pids_by_uid() -> std::collections::HashMap<u32, Vec<i32>> {
    let mut by_uid = std::collections::HashMap::<u32, Vec<i32>>::new();
    for pid in live_pids() {
        if let Some(uid) = real_uid(pid) {
            by_uid.entry(uid).or_default().push(pid);
        }
    }
    by_uid
}

/// The pids in /proc.
fn live_pids() -> impl Iterator<Item = i32> {
    fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
}

/// The real uid of a live process; `None` for zombies (dead, waiting to be
/// reaped by their parent: they hold nothing and cannot be killed again).
fn real_uid(pid: i32) -> Option<u32> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let state = status.lines().find(|l| l.starts_with("State:"))?;
    if state.contains("Z (zombie)") || state.contains("X (dead)") {
        return None;
    }
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU time (user + system, ms) of the live processes of `uid`: the CPU
/// measure when there is no cgroup.
pub fn cpu_ms_of_uid(uid: u32) -> u64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    pids_of_uid(uid)
        .into_iter()
        .filter_map(|pid| {
            let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // Fields after the command (which may hold spaces) in parentheses.
            let rest = &stat[stat.rfind(')')? + 2..];
            let f: Vec<&str> = rest.split_whitespace().collect();
            let utime: u64 = f.get(11)?.parse().ok()?;
            let stime: u64 = f.get(12)?.parse().ok()?;
            Some((utime + stime) * 1000 / ticks)
        })
        .sum()
}

/// SIGKILLs every process of the uid until none is left (bounded tries).
pub fn kill_uid(uid: u32) -> bool {
    kill_until_gone(400, || pids_of_uid(uid))
}

/// SIGKILLs the processes `list` names, again and again while it names any
/// (a fork bomb keeps forking while we kill; its pids limit bounds it), at
/// most `tries` rounds 5 ms apart. Returns whether none was left.
pub fn kill_until_gone(tries: usize, list: impl Fn() -> Vec<i32>) -> bool {
    for _ in 0..tries {
        let pids = list();
        if pids.is_empty() {
            return true;
        }
        for pid in pids {
            // SAFETY: kill(2) of a process of a sandbox slot or job cgroup.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    list().is_empty()
}

/// Kills the whole tree of a job: its process group, then its cgroup or,
/// without one, every process of its uid.
pub fn kill_tree(pgid: Option<i32>, cgroup: Option<&JobCgroup>, uid: u32) -> bool {
    if let Some(pgid) = pgid.filter(|p| *p > 1) {
        // SAFETY: kill(2) of the process group we created for this step.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
    }
    match cgroup {
        // Every process of the job is in its cgroup (joined before exec, and
        // the sandbox user cannot move out of it): the cgroup is the tree.
        // Scanning /proc for the uid as well cost a third of the host's CPU
        // at ten concurrent jobs.
        Some(c) => c.kill_all(),
        None => kill_uid(uid),
    }
}
