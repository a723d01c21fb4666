//! `codr doctor`: what this machine offers the sandbox, and how to fix what
//! is missing. Exit 0 when everything needed is there, 1 otherwise.
use std::path::Path;
use std::process::ExitCode;

use codr_sandbox::{firejail_version, slots, CgroupSupport, Sandbox, SandboxConfig};

/// Arguments of `codr doctor`.
#[derive(Debug, clap::Args)]
pub struct DoctorArgs {
    /// Where the language plugins are.
    #[command(flatten)]
    pub plugins: super::PluginArgs,
}

struct Report {
    failed: bool,
}

impl Report {
    fn ok(&self, what: &str, detail: &str) {
        println!("ok       {what}: {detail}");
    }

    fn missing(&mut self, what: &str, detail: &str, fix: &str) {
        self.failed = true;
        println!("MISSING  {what}: {detail}\n         fix: {fix}");
    }

    fn warn(&self, what: &str, detail: &str, fix: &str) {
        println!("warning  {what}: {detail}\n         fix: {fix}");
    }
}

/// Runs `codr doctor`.
pub async fn run(args: DoctorArgs) -> anyhow::Result<ExitCode> {
    let config = SandboxConfig::default();
    let mut r = Report { failed: false };
    if crate::cli::term::is_root() {
        r.ok("root", "the host can hand jobs to the sandbox users");
    } else {
        r.missing(
            "root",
            "not running as root",
            "run codr as root (it drops to the sandbox users per job)",
        );
    }
    match firejail_version(&config.firejail) {
        Some(v) => r.ok("firejail", &format!("{v} at {}", config.firejail.display())),
        None => r.missing(
            "firejail",
            "not installed",
            "apt-get install -y firejail (or make setup)",
        ),
    }
    let cg = CgroupSupport::detect(config.cgroup_mode);
    match &cg {
        CgroupSupport::Off { .. } => r.warn(
            "cgroups",
            &cg.describe(),
            "run on a host with writable cgroup v1 memory/pids or a delegated cgroup v2 (memory then limited per process by RLIMIT_AS)",
        ),
        _ => r.ok("cgroups", &cg.describe()),
    }
    match cg.cpu_controller() {
        Some(d) => r.ok("cpu share", &format!("each job its own cpu cgroup, equal weight: {d}")),
        None => r.warn(
            "cpu share",
            "no cpu controller: the CPU is shared per process, so a job with many processes slows the others",
            "mount the cgroup v1 cpu controller, or enable cpu in the cgroup v2 subtree",
        ),
    }
    check_disk_quota(&mut r, &config);
    if codr_sandbox::io_uring_refused_by_kernel() {
        r.ok(
            "io_uring",
            "refused to unprivileged processes by the kernel (kernel.io_uring_disabled)",
        );
    } else {
        r.warn(
            "io_uring",
            "refused by a seccomp filter Firejail builds at each sandbox start (about 3 ms each)",
            "sysctl -w kernel.io_uring_disabled=1 (make setup does it, kernel 6.6+)",
        );
    }
    let users = slots::find_users(&config.user_prefix, config.slots);
    if users.is_empty() {
        r.missing(
            "sandbox users",
            &format!("no {}0..", config.user_prefix),
            "make setup (scripts/setup-sandbox.sh)",
        );
    } else {
        let homes_ok = users.iter().all(|u| u.home.is_dir());
        let detail = format!(
            "{} ({}0..{}{}): one per batch job, live session or warm sandbox",
            users.len(),
            config.user_prefix,
            config.user_prefix,
            users.len() - 1
        );
        if homes_ok {
            r.ok("sandbox users", &detail);
        } else {
            r.missing(
                "sandbox user homes",
                &detail,
                "make setup (creates /srv/codr/home/<user>)",
            );
        }
    }
    check_job_root(&mut r, &config.job_root);
    let sandbox = Sandbox::new(config.clone()).ok();
    check_plugins(&mut r, &args, sandbox.as_ref(), &config);
    Ok(if r.failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn check_job_root(r: &mut Report, root: &Path) {
    let probe = root.join(".codr-doctor-probe");
    match std::fs::create_dir(&probe).and_then(|()| std::fs::remove_dir(&probe)) {
        Ok(()) => r.ok("job root", &format!("{} writable", root.display())),
        Err(e) => r.missing(
            "job root",
            &format!("{}: {e}", root.display()),
            "make setup (creates it, root 0711)",
        ),
    }
}

/// The job directory's quota: a size-limited tmpfs per job, mounted by the host.
fn check_disk_quota(r: &mut Report, config: &SandboxConfig) {
    let Some(quota) = &config.job_disk else {
        r.warn(
            "disk quota",
            "off: a job may fill the host's disk",
            "leave CODR_JOB_DISK_MB at its default (128)",
        );
        return;
    };
    let probe = config.job_root.join(".codr-doctor-quota");
    let tiny = codr_sandbox::DiskQuota {
        bytes: 1 << 20,
        inodes: 16,
    };
    let made = codr_sandbox::jobdir::create(&probe, 0, 0, Some(&tiny));
    let removed = codr_sandbox::jobdir::remove(&probe);
    match made.and(removed) {
        Ok(()) => r.ok(
            "disk quota",
            &format!(
                "a tmpfs per job directory: {} MiB, {} files",
                quota.bytes >> 20,
                quota.inodes
            ),
        ),
        Err(e) => r.missing(
            "disk quota",
            &format!(
                "cannot mount a tmpfs under {}: {e}",
                config.job_root.display()
            ),
            "run codr as root on a host that allows mounts (or CODR_JOB_DISK_MB=0: no quota)",
        ),
    }
}

/// Each plugin's compile and run programs, from the plan of a sample.
fn check_plugins(
    r: &mut Report,
    args: &DoctorArgs,
    sandbox: Option<&Sandbox>,
    config: &SandboxConfig,
) {
    let registry = match super::languages::load_registry(&args.plugins) {
        Ok((registry, _)) => registry,
        Err(e) => {
            r.missing(
                "plugins",
                &format!("{e:#}"),
                "make plugins (builds target/plugins/*.wasm)",
            );
            return;
        }
    };
    let plugins = registry.list();
    if plugins.is_empty() {
        r.missing(
            "plugins",
            &format!("none in {}", args.plugins.plugin_dir.display()),
            "make plugins",
        );
    }
    for plugin in plugins {
        let source = plugin
            .samples()
            .ok()
            .and_then(|s| s.into_iter().next())
            .map(|s| s.source)
            .unwrap_or_default();
        let plan = match plugin.plan(&source, &[], &[]) {
            Ok(p) => p,
            Err(e) => {
                r.missing(
                    plugin.name(),
                    &format!("cannot plan a sample: {e}"),
                    "check the plugin",
                );
                continue;
            }
        };
        let steps = plan.compile.iter().chain(std::iter::once(&plan.run));
        for step in steps {
            if step.program.starts_with("./") {
                continue; // the compiled artifact
            }
            let found = match sandbox {
                Some(sb) => sb.resolve_program(&step.program),
                None => which(&step.program, config),
            };
            let what = format!("{} needs {}", plugin.name(), step.program);
            match found {
                Some(path) => r.ok(&what, &path.display().to_string()),
                None => r.missing(
                    &what,
                    "not found in the sandbox PATH",
                    &fix_for(&step.program),
                ),
            }
        }
    }
}

fn which(program: &str, config: &SandboxConfig) -> Option<std::path::PathBuf> {
    let mut dirs = config.extra_path.clone();
    dirs.extend(
        ["/usr/local/bin", "/usr/bin", "/bin"]
            .iter()
            .map(std::path::PathBuf::from),
    );
    dirs.into_iter()
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

fn fix_for(program: &str) -> String {
    let name = Path::new(program)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(program);
    match name {
        "python3" => "apt-get install -y python3".into(),
        "node" | "nodejs" => "apt-get install -y nodejs".into(),
        "gcc" | "cc" => "apt-get install -y gcc".into(),
        "g++" | "c++" => "apt-get install -y g++".into(),
        "rustc" => {
            "install rust (rustup), then make setup (links the toolchain into /opt/codr/rust)"
                .into()
        }
        "javac" | "java" => "apt-get install -y default-jdk-headless".into(),
        other => format!("install {other} under /usr/bin or /usr/local/bin"),
    }
}
