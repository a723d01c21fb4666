//! The Firejail command line of one step, and the from-scratch environment.

use std::ffi::OsString;
use std::path::Path;

use crate::config::{Limits, SandboxConfig};
use crate::Step;

/// The shell inside the sandbox: it waits at the gate, then runs the step.
const SH: &str = "/bin/sh";
/// Its script for a direct run (benchmarks): run the program with its
/// arguments, kill the rest, keep the status.
const REAPER_SCRIPT: &str = r#""$@"; s=$?; kill -9 -1 2>/dev/null; exit $s"#;
/// Its script in a cell: read and run commands from the gate, a pipe the
/// sandbox inherits as descriptor 3 (reopened through /proc: `.` takes a
/// path). The shell blocks on the empty pipe until the host writes the step
/// script (see [`step_script`]) and closes its end.
const GATE_SCRIPT: &str = ". /proc/self/fd/3";

/// System calls refused inside besides Firejail's default list: io_uring (a
/// large, often-patched kernel surface no toolchain here needs), when the
/// kernel does not already refuse it to unprivileged users (see
/// [`io_uring_refused_by_kernel`]). A custom list makes Firejail build its
/// filter at each start (about 3 ms here), hence the kernel switch first.
/// New namespaces of any kind, and `setns`, are refused by
/// `--restrict-namespaces` (a user namespace would give the program
/// network-admin rights in it: nf_tables, raw sockets).
const SECCOMP_NO_IO_URING: &str = "--seccomp=io_uring_setup,io_uring_enter,io_uring_register";

/// Whether the kernel refuses io_uring to unprivileged processes
/// (`kernel.io_uring_disabled` 1 or 2, which `make setup` sets), read once.
pub fn io_uring_refused_by_kernel() -> bool {
    static REFUSED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *REFUSED.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled")
            .is_ok_and(|v| matches!(v.trim(), "1" | "2"))
    })
}

/// The firejail version string (`"0.9.72"`), if it runs.
pub fn firejail_version(firejail: &Path) -> Option<String> {
    let out = std::process::Command::new(firejail)
        .arg("--version")
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().next()?;
    line.rsplit(' ').next().map(|s| s.to_string())
}

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

/// Firejail's arguments for a cell: the flags, then a shell waiting at the
/// gate (its descriptor 3, kept open through Firejail).
pub fn cell_args(ctx: &StepContext<'_>) -> Vec<OsString> {
    let mut a = flags(ctx);
    a.push("--keep-fd=3".into());
    a.extend([SH, "-c", GATE_SCRIPT, "codr"].iter().map(OsString::from));
    a
}

/// Firejail's arguments running `step` at once (no gate), as a cold start
/// without the host would: for benchmarks comparing against firejail alone.
pub fn direct_args(ctx: &StepContext<'_>, step: &Step) -> Vec<OsString> {
    let mut a = flags(ctx);
    a.extend([SH, "-c", REAPER_SCRIPT, "codr"].iter().map(OsString::from));
    a.push(step.program.clone().into());
    a.extend(step.args.iter().map(OsString::from));
    a
}

/// The sandboxing flags of one step.
///
/// Why each flag: see the crate documentation (lib.rs), "Firejail flags".
fn flags(ctx: &StepContext<'_>) -> Vec<OsString> {
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
        if io_uring_refused_by_kernel() {
            "--seccomp"
        } else {
            SECCOMP_NO_IO_URING
        },
        "--restrict-namespaces",
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
    for p in hidden_mounts(ctx) {
        let mut b = OsString::from("--blacklist=");
        b.push(p);
        a.push(b);
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
    a
}

/// The paths to `--blacklist`: the job root (every job directory, this one's
/// too: the job sees its own as its home, which `--private` mounted first)
/// and the configured hidden paths that exist (Firejail complains about the
/// others). A path inside another one on the list is hidden with it and left
/// out: each mount costs Firejail a reread of the mount table.
fn hidden_mounts<'a>(ctx: &StepContext<'a>) -> Vec<&'a Path> {
    let mut hidden = vec![ctx.config.job_root.as_path()];
    hidden.extend(ctx.config.hidden_paths.iter().map(|p| p.as_path()));
    hidden.retain(|p| p.exists());
    let all = hidden.clone();
    hidden.retain(|p| !all.iter().any(|q| q != p && p.starts_with(q)));
    hidden
}

/// The commands a cell's shell reads from its gate: the step's variables,
/// then the program.
///
/// Firejail keeps the sandbox alive while any process is left in it, so a
/// daemon left behind would hold the job until the wall limit. The shell runs
/// the program and then SIGKILLs everything else of the user in the sandbox's
/// PID namespace (the namespace's init is immune), keeping the program's
/// status (128+n for signal n, as firejail reports it).
/// `--deterministic-shutdown` does the same but costs ~100 ms per run here.
/// dash prints e.g. "Segmentation fault" on stderr when the program dies of a
/// signal, as a terminal shell would.
pub fn step_script(step: &Step) -> std::io::Result<String> {
    // The gate is closed first: the program inherits nothing of it.
    let mut script = String::from("exec 3<&-\n");
    for (k, v) in &step.env {
        if !is_variable_name(k) {
            return Err(bad(format!("bad environment variable name {k:?}")));
        }
        script.push_str(&format!("export {k}={}\n", quote(v)?));
    }
    script.push_str(&quote(&step.program)?);
    for arg in &step.args {
        script.push(' ');
        script.push_str(&quote(arg)?);
    }
    script.push_str("; s=$?; kill -9 -1 2>/dev/null; exit $s\n");
    Ok(script)
}

/// `v` in single quotes, for the shell (a `'` becomes `'\''`).
fn quote(v: &str) -> std::io::Result<String> {
    if v.contains('\0') {
        return Err(bad("a NUL byte in a program argument or variable".into()));
    }
    Ok(format!("'{}'", v.replace('\'', r"'\''")))
}

fn is_variable_name(k: &str) -> bool {
    let mut chars = k.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn bad(message: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, message)
}

/// The environment a sandbox starts with, built from scratch: `PATH`, `HOME`,
/// `LANG`, `TERM`. A step's own variables come through its script.
pub fn base_env(config: &SandboxConfig, home: &Path) -> Vec<(OsString, OsString)> {
    let mut path = OsString::new();
    for dir in &config.extra_path {
        path.push(dir);
        path.push(":");
    }
    path.push("/usr/local/bin:/usr/bin:/bin");
    vec![
        ("PATH".into(), path),
        ("HOME".into(), home.into()),
        ("LANG".into(), "C.UTF-8".into()),
        ("TERM".into(), "xterm-256color".into()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LimitOverrides;

    fn step(program: &str, args: &[&str], env: &[(&str, &str)]) -> Step {
        Step {
            program: program.into(),
            args: args.iter().map(|s| s.to_string()).collect(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            limits: LimitOverrides::default(),
        }
    }

    #[test]
    fn step_script_quotes_everything_and_reaps() {
        let s = step_script(&step(
            "python3",
            &["it's", "$HOME `x`"],
            &[("A_1", "a'b\nc")],
        ))
        .unwrap();
        assert_eq!(
            s,
            "exec 3<&-\nexport A_1='a'\\''b\nc'\n'python3' 'it'\\''s' '$HOME `x`'; s=$?; kill -9 -1 2>/dev/null; exit $s\n"
        );
    }

    #[test]
    fn step_script_refuses_bad_names_and_nul() {
        assert!(step_script(&step("p", &[], &[("A-B", "x")])).is_err());
        assert!(step_script(&step("p", &[], &[("1A", "x")])).is_err());
        assert!(step_script(&step("p", &["a\0b"], &[])).is_err());
    }

    #[test]
    fn step_script_runs_as_written_in_a_real_shell() {
        let s = step_script(&step(
            "printf",
            &["%s|", "it's", "$HOME", "a b"],
            &[("X", "1 2")],
        ))
        .unwrap();
        let out = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(s.replace("kill -9 -1", "true"))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "it's|$HOME|a b|");
    }
}
