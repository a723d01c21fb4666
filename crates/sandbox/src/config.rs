//! Deployment settings of the sandbox and the limits they resolve to.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::LimitOverrides;

/// Most sandbox users looked for (`<prefix>0 ..`, up to the first missing).
pub const MAX_SLOTS: usize = 4096;

/// Which cgroup hierarchy to use for per-job limits and accounting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CgroupMode {
    /// v2 if the machine has a unified hierarchy we can write, else v1, else off.
    #[default]
    Auto,
    /// cgroup v1 (`memory`, `pids`, `cpuacct` controllers).
    V1,
    /// cgroup v2 (unified hierarchy).
    V2,
    /// No cgroups: rlimits only (RLIMIT_AS for memory, RLIMIT_CPU for CPU).
    Off,
}

/// Resolved limits of one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Limits {
    /// Wall-clock time, kept by the host.
    pub wall_time_ms: u64,
    /// CPU time of the whole tree (cgroup accounting; RLIMIT_CPU as backstop).
    pub cpu_time_ms: u64,
    /// Memory of the whole tree (cgroup), or address space per process without cgroups.
    pub memory_bytes: u64,
    /// Processes (and threads) of the tree.
    pub processes: u32,
    /// Largest file the program may write (RLIMIT_FSIZE).
    pub file_size_bytes: u64,
    /// Bytes of output (stdout + stderr, or the PTY stream) before the host stops the run.
    pub output_bytes: u64,
    /// RLIMIT_AS per process; `None` = no address-space limit (cgroup holds memory).
    pub address_space_bytes: Option<u64>,
}

impl Limits {
    /// The policy defaults for the run step (DESIGN.md).
    pub fn run_defaults() -> Self {
        Limits {
            wall_time_ms: 7_000,
            cpu_time_ms: 7_000,
            memory_bytes: 300 << 20,
            processes: 64,
            file_size_bytes: 1 << 20,
            output_bytes: 1 << 20,
            address_space_bytes: None,
        }
    }

    /// The policy defaults for the compile step: more wall time and memory
    /// (rustc and g++ need more than 300 MB on template-heavy code), larger files
    /// (binaries), the same output cap.
    pub fn compile_defaults() -> Self {
        Limits {
            wall_time_ms: 10_000,
            cpu_time_ms: 10_000,
            memory_bytes: 1 << 30,
            processes: 64,
            file_size_bytes: 64 << 20,
            output_bytes: 1 << 20,
            address_space_bytes: None,
        }
    }

    /// The largest values a plan may ask for.
    pub fn maximum_defaults() -> Self {
        Limits {
            wall_time_ms: 30_000,
            cpu_time_ms: 30_000,
            memory_bytes: 2 << 30,
            processes: 256,
            file_size_bytes: 64 << 20,
            output_bytes: 8 << 20,
            address_space_bytes: Some(16 << 30),
        }
    }

    /// `self` adjusted by a plan's overrides, each capped at `max`.
    pub fn with_overrides(self, o: &LimitOverrides, max: &Limits) -> Limits {
        let cap = |v: Option<u64>, default: u64, max: u64| v.unwrap_or(default).min(max);
        Limits {
            wall_time_ms: cap(o.wall_time_ms, self.wall_time_ms, max.wall_time_ms),
            cpu_time_ms: cap(o.cpu_time_ms, self.cpu_time_ms, max.cpu_time_ms),
            memory_bytes: cap(o.memory_bytes, self.memory_bytes, max.memory_bytes),
            processes: o.processes.unwrap_or(self.processes).min(max.processes),
            file_size_bytes: cap(o.file_size_bytes, self.file_size_bytes, max.file_size_bytes),
            output_bytes: cap(o.output_bytes, self.output_bytes, max.output_bytes),
            address_space_bytes: match (
                o.address_space_bytes.or(self.address_space_bytes),
                max.address_space_bytes,
            ) {
                (Some(v), Some(m)) => Some(v.min(m)),
                (v, _) => v,
            },
        }
    }
}

/// Deployment settings of the sandbox. `Default` is the policy of DESIGN.md on
/// a machine prepared by `scripts/setup-sandbox.sh`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SandboxConfig {
    /// The firejail binary.
    pub firejail: PathBuf,
    /// Where job directories are made. Not under /tmp (hidden by --private-tmp)
    /// and not under /var (firejail remounts it read-only, which --private inherits).
    pub job_root: PathBuf,
    /// The quota of each job directory (bytes and files), enforced by making
    /// it a size-limited tmpfs; `None`: a plain directory on the host's disk
    /// with no quota (only RLIMIT_FSIZE per file).
    pub job_disk: Option<DiskQuota>,
    /// CPU cores one job may use at most (cgroup CFS quota); `None`: no cap,
    /// only the equal share every job gets.
    pub job_cpus: Option<f64>,
    /// Sandbox users are `<user_prefix><slot>`, slot = 0..slots.
    pub user_prefix: String,
    /// Concurrent jobs (one sandbox user each). Capped by the users that
    /// exist (`scripts/setup-sandbox.sh` makes 512 by default).
    pub slots: usize,
    /// Which cgroup hierarchy to use.
    pub cgroup_mode: CgroupMode,
    /// Defaults of the run step.
    pub run_limits: Limits,
    /// Defaults of the compile step.
    pub compile_limits: Limits,
    /// Caps on what a plan may ask for.
    pub max_limits: Limits,
    /// Entries of /etc visible inside (`--whitelist`), what the toolchains need;
    /// the rest of /etc (shadow, ssh keys, the host's config) is not there.
    /// `ssl` and `ca-certificates` are left out: there is no network.
    pub visible_etc: Vec<String>,
    /// Paths made invisible inside (`--blacklist`), besides the job root.
    pub hidden_paths: Vec<PathBuf>,
    /// Directories put in front of the sandbox PATH (e.g. the rust toolchain).
    pub extra_path: Vec<PathBuf>,
    /// The warm pool: sandboxes started ahead of demand.
    pub pool: PoolConfig,
    /// Where compiled artifacts are kept between identical jobs; `None`: no
    /// compile cache.
    pub compile_cache: Option<CompileCacheConfig>,
    /// The clock of interactive runs (a PTY and a person at the other end).
    pub session: SessionClock,
}

/// The clock of an interactive run. Its wall-time limit counts only the time
/// the program is not waiting for its user: while it is blocked reading its
/// terminal and the user has not answered, the clock stands still (CPU time
/// never does). These two bound what the user's thinking may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionClock {
    /// One wait for the user longer than this ends the run with status
    /// `idle_timeout`.
    pub input_timeout_ms: u64,
    /// The whole run, waits included, never lasts longer than this
    /// (`time_limit`, "session time limit").
    pub max_ms: u64,
}

impl Default for SessionClock {
    /// Two minutes to answer one prompt, ten minutes in all.
    fn default() -> Self {
        SessionClock {
            input_timeout_ms: 120_000,
            max_ms: 600_000,
        }
    }
}

impl SandboxConfig {
    /// The default policy for a process that runs one job and exits (the
    /// CLI): no warm pool, whose sandboxes would only be thrown away.
    pub fn for_one_job() -> SandboxConfig {
        let mut c = SandboxConfig::default();
        c.pool.per_kind = 0;
        c
    }
}

/// What a job may keep in its job directory. The directory is a tmpfs of
/// this size, whose pages the job's memory cgroup pays for as well.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskQuota {
    /// Bytes of files.
    pub bytes: u64,
    /// Files, directories and other entries (inodes).
    pub inodes: u64,
}

impl Default for DiskQuota {
    /// 128 MiB and 16,384 entries: a Rust binary is a few MiB, a Java build a
    /// few hundred classes.
    fn default() -> Self {
        DiskQuota {
            bytes: 128 << 20,
            inodes: 16_384,
        }
    }
}

/// The warm pool (see `pool.rs`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PoolConfig {
    /// Warm sandboxes kept per kind of step (limits, PTY or pipes) that jobs
    /// asked for recently; 0 turns the pool off (every job starts cold).
    pub per_kind: usize,
    /// Warm sandboxes at most, all kinds together (each holds a slot and a
    /// few MB): the pool's memory budget. Within it a kind asked for faster
    /// than `per_kind` a second keeps as many warm as were asked for in the
    /// last second.
    pub max_total: usize,
    /// A warm sandbox older than this is replaced by a fresh one.
    pub max_age_secs: u64,
    /// A kind of step nobody asked for in this long is no longer kept warm.
    pub idle_secs: u64,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            per_kind: 2,
            max_total: 16,
            max_age_secs: 300,
            idle_secs: 600,
        }
    }
}

/// The compile cache (see `compile_cache/mod.rs`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CompileCacheConfig {
    /// Its directory (root only, 0700).
    pub dir: PathBuf,
    /// Bytes it may hold; least recently used entries go first.
    pub max_bytes: u64,
}

impl Default for CompileCacheConfig {
    fn default() -> Self {
        CompileCacheConfig {
            dir: PathBuf::from("/srv/codr/cache"),
            max_bytes: 256 << 20,
        }
    }
}

impl Default for SandboxConfig {
    fn default() -> Self {
        // Not /home and /root: `--private=` already mounts an empty tmpfs
        // over both, and every extra mount makes Firejail's start dearer.
        let mut hidden: Vec<PathBuf> = [
            "/work",
            "/etc/codr",
            "/old_root",
            "/farm",
            "/var/tmp",
            "/run/lock",
            "/dev/shm",
            "/var/lib/codr",
            // The compile cache and the hand-over store (root-only anyway).
            "/srv/codr/cache",
            "/srv/codr/handover",
            "/var/log",
            "/var/backups",
            "/var/mail",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        // The checkout (or wherever the host was started from) is never shown.
        if let Ok(cwd) = std::env::current_dir() {
            if cwd != std::path::Path::new("/") && !cwd.starts_with("/srv/codr") {
                hidden.push(cwd);
            }
        }
        SandboxConfig {
            firejail: PathBuf::from("/usr/bin/firejail"),
            job_root: PathBuf::from("/srv/codr/jobs"),
            job_disk: Some(DiskQuota::default()),
            job_cpus: None,
            user_prefix: "codr-sbx-".into(),
            slots: MAX_SLOTS,
            cgroup_mode: CgroupMode::Auto,
            run_limits: Limits::run_defaults(),
            compile_limits: Limits::compile_defaults(),
            max_limits: Limits::maximum_defaults(),
            visible_etc: [
                "alternatives",
                "ld.so.cache",
                "ld.so.conf",
                "ld.so.conf.d",
                "localtime",
                "passwd",
                "group",
                "nsswitch.conf",
                // Debian's JDK keeps jvm.cfg and java.security here; javac
                // and java die without them (the Java plugin).
                "java-17-openjdk",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            hidden_paths: hidden,
            extra_path: vec![PathBuf::from("/opt/codr/rust/bin")],
            pool: PoolConfig::default(),
            compile_cache: Some(CompileCacheConfig::default()),
            session: SessionClock::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_are_capped() {
        let max = Limits::maximum_defaults();
        let o = LimitOverrides {
            wall_time_ms: Some(1_000_000),
            processes: Some(8),
            ..Default::default()
        };
        let l = Limits::run_defaults().with_overrides(&o, &max);
        assert_eq!(l.wall_time_ms, max.wall_time_ms);
        assert_eq!(l.processes, 8);
        assert_eq!(l.memory_bytes, 300 << 20);
    }
}
