//! Per-job cgroups: memory and process limits for the whole tree, an equal
//! CPU share per job (not per process), CPU and memory accounting, and a
//! reliable way to kill every process of a job.
//!
//! Job cgroups are made *below the host's own cgroup* of each controller (read
//! from /proc/self/cgroup), which is where a delegated or nested host may write.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::CgroupMode;

/// What the machine offers, found once at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CgroupSupport {
    /// cgroup v1: parent directories (our own cgroup) per controller.
    V1 {
        /// `.../memory/<our path>`
        memory: PathBuf,
        /// `.../pids/<our path>`, if mounted and writable.
        pids: Option<PathBuf>,
        /// `.../cpuacct/<our path>`, if mounted and writable.
        cpuacct: Option<PathBuf>,
        /// `.../cpu/<our path>` (CPU shares and quota), if mounted and writable.
        cpu: Option<PathBuf>,
    },
    /// cgroup v2: the parent directory (where subtree control has memory, pids, cpu).
    V2 {
        /// `/sys/fs/cgroup/<our path>`
        parent: PathBuf,
    },
    /// No usable cgroup: rlimits only. The reason is reported by `codr doctor`.
    Off {
        /// Why cgroups are not used.
        reason: String,
    },
}

impl CgroupSupport {
    /// Short name: "v1", "v2" or "off".
    pub fn name(&self) -> &'static str {
        match self {
            CgroupSupport::V1 { .. } => "v1",
            CgroupSupport::V2 { .. } => "v2",
            CgroupSupport::Off { .. } => "off",
        }
    }

    /// Human-readable detail for `codr doctor`.
    pub fn describe(&self) -> String {
        match self {
            CgroupSupport::V1 {
                memory,
                pids,
                cpuacct,
                cpu,
            } => {
                let shown = |d: &Option<PathBuf>| {
                    d.as_ref()
                        .map_or("missing".into(), |p| p.display().to_string())
                };
                format!(
                    "cgroup v1: memory at {}, pids {}, cpuacct {}, cpu {}",
                    memory.display(),
                    shown(pids),
                    shown(cpuacct),
                    shown(cpu),
                )
            }
            CgroupSupport::V2 { parent } => format!("cgroup v2 at {}", parent.display()),
            CgroupSupport::Off { reason } => format!("no cgroups ({reason}); rlimits only"),
        }
    }

    /// Finds what the machine offers, honouring the configured mode.
    pub fn detect(mode: CgroupMode) -> CgroupSupport {
        let own = fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
        let try_v2 = || detect_v2(&own);
        let try_v1 = || detect_v1(&own);
        let result = match mode {
            CgroupMode::Off => Err("disabled by configuration".to_string()),
            CgroupMode::V1 => try_v1(),
            CgroupMode::V2 => try_v2(),
            CgroupMode::Auto => {
                if Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
                    try_v2().or_else(|e2| try_v1().map_err(|e1| format!("{e2}; {e1}")))
                } else {
                    try_v1().or_else(|e1| try_v2().map_err(|e2| format!("{e1}; {e2}")))
                }
            }
        };
        result.unwrap_or_else(|reason| CgroupSupport::Off { reason })
    }

    /// How jobs share the CPU, for `codr doctor`: each job its own cpu
    /// cgroup with an equal weight, or `None` (shared per process).
    pub fn cpu_controller(&self) -> Option<String> {
        match self {
            CgroupSupport::V1 { cpu: Some(d), .. } => {
                Some(format!("cgroup v1 cpu at {} (cpu.shares)", d.display()))
            }
            CgroupSupport::V2 { parent } => {
                let have =
                    fs::read_to_string(parent.join("cgroup.subtree_control")).unwrap_or_default();
                have.split_whitespace()
                    .any(|c| c == "cpu")
                    .then(|| format!("cgroup v2 cpu at {} (cpu.weight)", parent.display()))
            }
            _ => None,
        }
    }

    /// The parent directories of the job cgroups, one per controller
    /// hierarchy (for the start-up sweep and the watchdog).
    pub fn parents(&self) -> Vec<PathBuf> {
        let mut all = match self {
            CgroupSupport::Off { .. } => vec![],
            CgroupSupport::V1 {
                memory,
                pids,
                cpuacct,
                cpu,
            } => std::iter::once(memory)
                .chain([pids, cpuacct, cpu].into_iter().flatten())
                .cloned()
                .collect(),
            CgroupSupport::V2 { parent } => vec![parent.clone()],
        };
        // Co-mounted controllers (cpu,cpuacct) are one directory.
        let mut seen = Vec::new();
        all.retain(|p| {
            let real = fs::canonicalize(p).unwrap_or_else(|_| p.clone());
            let new = !seen.contains(&real);
            seen.push(real);
            new
        });
        all
    }

    /// Makes the cgroup of one job, with its limits set: memory and
    /// processes of the tree, an equal CPU share, and at most `cpus` cores
    /// when given.
    pub fn create_job(
        &self,
        name: &str,
        memory_bytes: u64,
        processes: u32,
        cpus: Option<f64>,
    ) -> io::Result<Option<JobCgroup>> {
        let mut dirs = Vec::new();
        let (memory, pids, cpu, share, v2) = match self {
            CgroupSupport::Off { .. } => return Ok(None),
            CgroupSupport::V1 {
                memory,
                pids,
                cpuacct,
                cpu,
            } => {
                let m = make_dir(memory, name, &mut dirs)?;
                // The controllers that may be missing.
                let mut optional = |parent: &Option<PathBuf>| {
                    parent
                        .as_ref()
                        .map(|p| make_dir(p, name, &mut dirs))
                        .transpose()
                };
                (
                    m,
                    optional(pids)?,
                    optional(cpuacct)?,
                    optional(cpu)?,
                    false,
                )
            }
            CgroupSupport::V2 { parent } => {
                let d = make_dir(parent, name, &mut dirs)?;
                (d.clone(), Some(d.clone()), Some(d.clone()), Some(d), true)
            }
        };
        let job = JobCgroup {
            dirs,
            memory,
            pids,
            cpu,
            v2,
        };
        job.set_limits(memory_bytes, processes)?;
        if let Some(dir) = &share {
            // Without it the job still runs, sharing the CPU per process.
            if let Err(e) = set_cpu_share(dir, v2, cpus) {
                tracing::warn!(dir = %dir.display(), "no CPU share for this job: {e}");
            }
        }
        Ok(Some(job))
    }
}

/// Every job gets the same CPU weight, whatever its number of processes (the
/// scheduler shares between groups first, then within a group); `cpus` caps
/// the cores one job may use.
fn set_cpu_share(dir: &Path, v2: bool, cpus: Option<f64>) -> io::Result<()> {
    const PERIOD_US: u64 = 100_000;
    let quota = cpus
        .filter(|c| *c > 0.0)
        .map(|c| (c * PERIOD_US as f64) as u64);
    if v2 {
        fs::write(dir.join("cpu.weight"), "100")?;
        if let Some(q) = quota {
            fs::write(dir.join("cpu.max"), format!("{} {PERIOD_US}", q.max(1000)))?;
        }
    } else {
        fs::write(dir.join("cpu.shares"), "1024")?;
        if let Some(q) = quota {
            fs::write(dir.join("cpu.cfs_period_us"), PERIOD_US.to_string())?;
            fs::write(dir.join("cpu.cfs_quota_us"), q.max(1000).to_string())?;
        }
    }
    Ok(())
}

fn make_dir(parent: &Path, name: &str, made: &mut Vec<PathBuf>) -> io::Result<PathBuf> {
    let dir = parent.join(name);
    match fs::create_dir(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    if !made.contains(&dir) {
        made.push(dir.clone());
    }
    Ok(dir)
}

/// The path of our own cgroup for a v1 controller (or "" for v2), from /proc/self/cgroup.
fn own_path<'a>(own: &'a str, controller: &str) -> Option<&'a str> {
    own.lines().find_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (_id, ctrls, path) = (parts.next()?, parts.next()?, parts.next()?);
        let hit = if controller.is_empty() {
            ctrls.is_empty()
        } else {
            ctrls.split(',').any(|c| c == controller)
        };
        hit.then_some(path)
    })
}

/// A directory where we may create a child cgroup: probe by creating one.
fn writable(dir: &Path) -> Result<(), String> {
    let probe = dir.join(format!("codr-probe-{}", std::process::id()));
    fs::create_dir(&probe)
        .and_then(|()| fs::remove_dir(&probe))
        .map_err(|e| format!("cannot create a cgroup under {}: {e}", dir.display()))
}

fn v1_dir(own: &str, controller: &str) -> Result<PathBuf, String> {
    let path = own_path(own, controller).ok_or_else(|| format!("no v1 {controller} controller"))?;
    let mount = Path::new("/sys/fs/cgroup").join(controller);
    let dir = mount.join(path.trim_start_matches('/'));
    if !dir.join("cgroup.procs").exists() {
        return Err(format!("{} is not a cgroup", dir.display()));
    }
    writable(&dir)?;
    Ok(dir)
}

fn detect_v1(own: &str) -> Result<CgroupSupport, String> {
    let memory = v1_dir(own, "memory")?;
    let pids = v1_dir(own, "pids").ok();
    let cpuacct = v1_dir(own, "cpuacct").ok();
    let cpu = v1_dir(own, "cpu").ok();
    Ok(CgroupSupport::V1 {
        memory,
        pids,
        cpuacct,
        cpu,
    })
}

fn detect_v2(own: &str) -> Result<CgroupSupport, String> {
    let root = if Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        PathBuf::from("/sys/fs/cgroup")
    } else {
        return Err("no cgroup v2 unified hierarchy at /sys/fs/cgroup".into());
    };
    let path = own_path(own, "").ok_or("no v2 entry in /proc/self/cgroup")?;
    let parent = root.join(path.trim_start_matches('/'));
    // Controllers must be enabled for children; this fails when our own cgroup
    // holds processes and is not the root (the "no internal processes" rule):
    // the operator then runs the host in a delegated leaf's parent.
    let subtree = parent.join("cgroup.subtree_control");
    let have = fs::read_to_string(&subtree).unwrap_or_default();
    if !(have.contains("memory") && have.contains("pids")) {
        fs::write(&subtree, "+memory +pids")
            .map_err(|e| format!("cannot enable memory/pids in {}: {e}", subtree.display()))?;
    }
    if !have.split_whitespace().any(|c| c == "cpu") {
        // Optional: `codr doctor` says when jobs share the CPU per process.
        let _ = fs::write(&subtree, "+cpu");
    }
    writable(&parent)?;
    Ok(CgroupSupport::V2 { parent })
}

/// The cgroup(s) of one job.
#[derive(Debug)]
pub struct JobCgroup {
    dirs: Vec<PathBuf>,
    memory: PathBuf,
    pids: Option<PathBuf>,
    cpu: Option<PathBuf>,
    v2: bool,
}

/// What the cgroup measured.
#[derive(Debug, Clone, Copy, Default)]
pub struct CgroupStats {
    /// CPU time of the tree, ms.
    pub cpu_ms: u64,
    /// Peak memory of the tree, bytes.
    pub memory_peak: u64,
    /// The kernel's OOM killer fired (or the limit was hit) in this cgroup.
    pub oom: bool,
}

impl JobCgroup {
    /// The files a new process writes "0" to, to join, as C strings for use
    /// between fork and exec.
    ///
    /// v1: `tasks`, not `cgroup.procs`. The forked child is single-threaded,
    /// so moving the thread moves the process, and the kernel moves the
    /// current thread without the global threadgroup lock, whose RCU grace
    /// period made each start 15-30 ms slower here.
    pub fn procs_files(&self) -> Vec<std::ffi::CString> {
        let file = if self.v2 { "cgroup.procs" } else { "tasks" };
        self.dirs
            .iter()
            .filter_map(|d| {
                std::ffi::CString::new(d.join(file).into_os_string().into_encoded_bytes()).ok()
            })
            .collect()
    }

    fn set_limits(&self, memory_bytes: u64, processes: u32) -> io::Result<()> {
        if self.v2 {
            fs::write(self.memory.join("memory.max"), memory_bytes.to_string())?;
            let _ = fs::write(self.memory.join("memory.swap.max"), "0");
            fs::write(self.memory.join("pids.max"), processes.to_string())?;
        } else {
            fs::write(
                self.memory.join("memory.limit_in_bytes"),
                memory_bytes.to_string(),
            )?;
            // No swap beyond the limit, where swap accounting exists.
            let _ = fs::write(
                self.memory.join("memory.memsw.limit_in_bytes"),
                memory_bytes.to_string(),
            );
            if let Some(p) = &self.pids {
                fs::write(p.join("pids.max"), processes.to_string())?;
            }
        }
        Ok(())
    }

    /// CPU time so far, ms.
    pub fn cpu_ms(&self) -> Option<u64> {
        let dir = self.cpu.as_ref()?;
        if self.v2 {
            let stat = fs::read_to_string(dir.join("cpu.stat")).ok()?;
            let usec = stat
                .lines()
                .find_map(|l| l.strip_prefix("usage_usec "))?
                .trim()
                .parse::<u64>()
                .ok()?;
            Some(usec / 1000)
        } else {
            let ns = fs::read_to_string(dir.join("cpuacct.usage"))
                .ok()?
                .trim()
                .parse::<u64>()
                .ok()?;
            Some(ns / 1_000_000)
        }
    }

    /// Starts the peak-memory count afresh, so that a warm sandbox's set-up
    /// is not reported as the program's peak (v1 takes a write of 0; v2's
    /// `memory.peak` keeps the set-up, a few MB at most).
    pub fn reset_peak(&self) {
        if !self.v2 {
            let _ = fs::write(self.memory.join("memory.max_usage_in_bytes"), "0");
        }
    }

    /// Everything measured, read after the run.
    pub fn stats(&self) -> CgroupStats {
        let read_u64 = |p: PathBuf| {
            fs::read_to_string(p)
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
        };
        let (peak, oom) = if self.v2 {
            let events = fs::read_to_string(self.memory.join("memory.events")).unwrap_or_default();
            let count = |key: &str| {
                events
                    .lines()
                    .find_map(|l| l.strip_prefix(key))
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .unwrap_or(0)
            };
            (
                read_u64(self.memory.join("memory.peak")).unwrap_or(0),
                count("oom_kill ") > 0 || count("max ") > 0 && count("oom ") > 0,
            )
        } else {
            let control =
                fs::read_to_string(self.memory.join("memory.oom_control")).unwrap_or_default();
            let kills = control
                .lines()
                .find_map(|l| l.strip_prefix("oom_kill "))
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(0);
            let failcnt = read_u64(self.memory.join("memory.failcnt")).unwrap_or(0);
            let peak = read_u64(self.memory.join("memory.max_usage_in_bytes")).unwrap_or(0);
            (
                peak,
                kills > 0 || (failcnt > 0 && !control.contains("oom_kill ")),
            )
        };
        CgroupStats {
            cpu_ms: self.cpu_ms().unwrap_or(0),
            memory_peak: peak,
            oom,
        }
    }

    /// Pids of every process in the job (host pid namespace).
    pub fn pids(&self) -> Vec<i32> {
        procs_in(&self.dirs)
    }

    /// SIGKILLs every process of the job until none is left (a fork bomb keeps
    /// forking while we kill; the pids limit bounds it). Returns whether it emptied.
    pub fn kill_all(&self) -> bool {
        if self.v2 {
            // cgroup.kill (5.14+) kills the whole subtree atomically.
            let _ = fs::write(self.memory.join("cgroup.kill"), "1");
        }
        kill_procs(&self.dirs)
    }

    /// Removes the job's cgroup directories (they must be empty of processes).
    pub fn remove(&self) {
        for d in &self.dirs {
            for _ in 0..50 {
                match fs::remove_dir(d) {
                    Ok(()) => break,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => break,
                    // Busy for a moment while the last killed processes are reaped.
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        }
    }
}

/// Pids listed in the `cgroup.procs` of `dirs` (host pid namespace).
fn procs_in(dirs: &[PathBuf]) -> Vec<i32> {
    let mut all = Vec::new();
    for d in dirs {
        if let Ok(s) = fs::read_to_string(d.join("cgroup.procs")) {
            all.extend(s.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
        }
    }
    all.sort_unstable();
    all.dedup();
    all
}

/// SIGKILLs every process in the cgroups `dirs` until none is left. Used
/// for a job's own cgroup and for those a dead host left behind.
pub fn kill_procs(dirs: &[PathBuf]) -> bool {
    crate::kill::kill_until_gone(200, || procs_in(dirs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_path_parses_v1_and_v2() {
        let own = "4:memory:/process_api/abc\n2:cpuacct:/\n1:cpu,cpuacct:/x\n0::/user.slice\n";
        assert_eq!(own_path(own, "memory"), Some("/process_api/abc"));
        assert_eq!(own_path(own, "cpuacct"), Some("/"));
        assert_eq!(own_path(own, ""), Some("/user.slice"));
        assert_eq!(own_path(own, "pids"), None);
    }
}
