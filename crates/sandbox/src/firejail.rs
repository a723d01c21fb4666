//! The Firejail command line of one step, and the from-scratch environment.

use std::ffi::OsString;
use std::path::Path;

use crate::config::{Limits, SandboxConfig};
use crate::plan::Step;

/// The shell that runs the program and reaps what it leaves behind.
const REAPER_SH: &str = "/bin/sh";
/// Its script: run the program with its arguments, kill the rest, keep the status.
const REAPER_SCRIPT: &str = r#""$@"; s=$?; kill -9 -1 2>/dev/null; exit $s"#;

/// Everything needed to build one step's command line.
pub struct StepContext<'a> {
    /// Deployment settings.
    pub config: &'a SandboxConfig,
    /// The job directory (mounted as the private home).
    pub job_dir: &'a Path,
    /// Resolved limits.
    pub limits: &'a Limits,
    /// Whether a cgroup holds the tree's memory (else RLIMIT_AS stands in).
    pub cgroup_memory: bool,
}

/// Firejail's arguments for one step, the program and its arguments last.
///
/// Why each flag: see the crate documentation (lib.rs), "Firejail flags".
pub fn args(ctx: &StepContext<'_>, step: &Step) -> Vec<OsString> {
    let l = ctx.limits;
    let mut a: Vec<OsString> = [
        "--quiet",
        "--noprofile",
        // Exit with the first child's status (default: the last child's).
        "--deterministic-exit-code",
        "--net=none",
        "--private-tmp",
        "--private-dev",
        "--caps.drop=all",
        "--nonewprivs",
        "--seccomp",
        "--nogroups",
        "--noroot",
        "--ipc-namespace",
        "--hostname=codr",
        "--disable-mnt",
        "--nosound",
        "--no3d",
        "--nodvd",
        "--notv",
        "--novideo",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    let mut private = OsString::from("--private=");
    private.push(ctx.job_dir);
    a.push(private);
    // Only these entries of /etc are visible. `--whitelist` bind-mounts them
    // over an empty /etc (read-only to the sandbox user: root owns them);
    // `--private-etc` copies them instead and costs ~35 ms per start here.
    for entry in &ctx.config.visible_etc {
        let path = Path::new("/etc").join(entry);
        if path.exists() {
            let mut w = OsString::from("--whitelist=");
            w.push(path);
            a.push(w);
        }
    }
    let mut hidden = vec![ctx.config.job_root.as_path()];
    hidden.extend(ctx.config.hidden_paths.iter().map(|p| p.as_path()));
    for p in hidden {
        // Firejail complains about paths that do not exist; skip them.
        if p.exists() && !ctx.job_dir.starts_with(p) {
            let mut b = OsString::from("--blacklist=");
            b.push(p);
            a.push(b);
        }
    }
    a.push(format!("--rlimit-fsize={}", l.file_size_bytes).into());
    a.push(format!("--rlimit-nproc={}", l.processes).into());
    // Backstop only: the host measures CPU of the whole tree and stops it first.
    a.push(format!("--rlimit-cpu={}", l.cpu_time_ms.div_ceil(1000) + 1).into());
    let address_space = l
        .address_space_bytes
        .or((!ctx.cgroup_memory).then_some(l.memory_bytes));
    if let Some(bytes) = address_space {
        a.push(format!("--rlimit-as={bytes}").into());
    }
    // Firejail keeps the sandbox alive while any process is left in it, so a
    // daemon left behind would hold the job until the wall limit. A shell runs
    // the program and then SIGKILLs everything else of the user in the
    // sandbox's PID namespace (the namespace's init is immune), keeping the
    // program's status (128+n for signal n, as firejail reports it).
    // `--deterministic-shutdown` does the same but costs ~100 ms per run here.
    // dash prints e.g. "Segmentation fault" on stderr when the program dies of
    // a signal, as a terminal shell would.
    a.extend(
        [REAPER_SH, "-c", REAPER_SCRIPT, "codr"]
            .iter()
            .map(OsString::from),
    );
    a.push(step.program.clone().into());
    a.extend(step.args.iter().map(OsString::from));
    a
}

/// The environment of a sandboxed step, built from scratch.
pub fn env(config: &SandboxConfig, home: &Path, step: &Step) -> Vec<(OsString, OsString)> {
    let mut path = OsString::new();
    for dir in &config.extra_path {
        path.push(dir);
        path.push(":");
    }
    path.push("/usr/local/bin:/usr/bin:/bin");
    let mut env: Vec<(OsString, OsString)> = vec![
        ("PATH".into(), path),
        ("HOME".into(), home.into()),
        ("LANG".into(), "C.UTF-8".into()),
        ("TERM".into(), "xterm-256color".into()),
    ];
    for (k, v) in &step.env {
        env.retain(|(ek, _)| ek != k.as_str());
        env.push((k.into(), v.into()));
    }
    env
}
