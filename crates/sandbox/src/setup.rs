//! Starting a [`Sandbox`]: the machine checked (root, Firejail, the sandbox
//! users, the job root), cgroups detected, the watchdog started, leftovers of
//! a dead host cleaned and the compile cache opened; and what a sandbox tells
//! about itself (limits, slots, the pool, the cache, leftovers).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cell::CellKey;
use crate::compile_cache::CompileCache;
use crate::pool::{Machine, Pool, PoolStats};
use crate::{firejail, recover, slots};
use crate::{CgroupSupport, Limits, Plan, Sandbox, SandboxConfig, SandboxError, Step};

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
    pub(crate) fn compile_limits(&self, step: &Step) -> Limits {
        let c = self.config();
        c.compile_limits.with_overrides(&step.limits, &c.max_limits)
    }

    /// The limits of a run step: the deployment's, as the plan adjusts them.
    pub(crate) fn run_limits(&self, step: &Step) -> Limits {
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

    /// Processes of sandbox users whose slot is free; empty when every
    /// finished job left nothing behind (see [`slots::idle_leftovers`]).
    pub fn idle_leftovers(&self) -> Vec<(String, Vec<i32>)> {
        slots::idle_leftovers(&self.config().job_root, &self.machine.users)
    }

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

/// Opens the compile cache; switched off, a small one still hands artifacts
/// from the compile cell to the run cell (never hit: see `Sandbox::build_tag`).
fn open_cache(config: &SandboxConfig) -> Result<CompileCache, SandboxError> {
    let (dir, max_bytes) = match &config.compile_cache {
        Some(c) => (c.dir.clone(), c.max_bytes),
        None => (PathBuf::from("/srv/codr/handover"), 256 << 20),
    };
    Ok(CompileCache::open(&dir, max_bytes)?)
}

/// Makes the job root (0711: the slot users may pass, not list) if it is missing.
fn ensure_root(root: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if !root.is_dir() {
        std::fs::create_dir_all(root)?;
        std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o711))?;
    }
    Ok(())
}
