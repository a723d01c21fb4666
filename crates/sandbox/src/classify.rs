//! From what a step did to what the user is told: the [`Outcome`] of a run
//! step or of a failed compile step, its status and message (limits first,
//! then the exit), and signal names.

use std::path::Path;

use crate::config::Limits;
use crate::exec::{Ended, StepResult};
use crate::{Outcome, Plan, Status};

/// The outcome of a job the host failed (spawn, job directory, cgroup,
/// cache): `internal_error` with `message`, which is logged.
pub(crate) fn internal(message: String) -> Outcome {
    tracing::error!("{message}");
    Outcome::unmeasured(Status::InternalError, Some(message))
}

/// The name of signal `n`: `"SIGKILL"`.
pub fn signal_name(n: i32) -> String {
    const NAMES: [&str; 32] = [
        "",
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    match NAMES.get(n as usize) {
        Some(name) if n > 0 => name.to_string(),
        _ => format!("SIG{n}"),
    }
}

/// Exit code and signal as the user sees them (firejail: 128+n = signal n).
fn exit_and_signal(r: &StepResult) -> (Option<i32>, Option<String>) {
    match (r.exit_code, r.signal) {
        (Some(code), _) if (129..=192).contains(&code) => {
            (Some(code), Some(signal_name(code - 128)))
        }
        (Some(code), _) => (Some(code), None),
        (None, Some(sig)) => (None, Some(signal_name(sig))),
        (None, None) => (None, None),
    }
}

/// The outcome of step `r` with `status` and `message`: its exit, signal and
/// measurements, without output.
fn base_outcome(r: &StepResult, status: Status, message: Option<String>) -> Outcome {
    let (exit_code, signal) = exit_and_signal(r);
    Outcome {
        exit_code,
        signal,
        wall_time_ms: r.wall_ms,
        cpu_time_ms: r.cpu_ms,
        memory_bytes: r.memory_peak,
        ..Outcome::unmeasured(status, message)
    }
}

/// Status and message of a finished step (limits first, then the exit).
fn classify(r: &StepResult, l: &Limits) -> (Status, Option<String>) {
    let cpu_hit = r.cpu_ms >= l.cpu_time_ms;
    let cpu_limit = || {
        (
            Status::TimeLimit,
            Some(format!("cpu time limit ({} ms)", l.cpu_time_ms)),
        )
    };
    match r.ended {
        Ended::WallLimit if r.waited_ms > 0 => (
            Status::TimeLimit,
            Some(format!(
                "wall time limit ({} ms, not counting {} ms waiting for input)",
                l.wall_time_ms, r.waited_ms
            )),
        ),
        Ended::WallLimit => (
            Status::TimeLimit,
            Some(format!("wall time limit ({} ms)", l.wall_time_ms)),
        ),
        Ended::SessionLimit(ms) => (
            Status::TimeLimit,
            Some(format!(
                "session time limit ({ms} ms, waits for input included)"
            )),
        ),
        Ended::IdleTimeout(ms) => (
            Status::IdleTimeout,
            Some(format!(
                "no input for {} s while the program waited for it: the session ended",
                ms / 1000
            )),
        ),
        Ended::CpuLimit => cpu_limit(),
        Ended::OutputLimit => (
            Status::OutputLimit,
            Some(format!("output limit ({} bytes)", l.output_bytes)),
        ),
        Ended::DiskLimit => (
            Status::DiskLimit,
            Some("disk quota of the job directory (bytes or files) used up".into()),
        ),
        Ended::Killed => (Status::RuntimeError, Some("killed".into())),
        Ended::Exited if r.oom => (
            Status::MemoryLimit,
            Some(format!("memory limit ({} bytes)", l.memory_bytes)),
        ),
        // RLIMIT_CPU backstop (SIGKILL/SIGXCPU) fired before our poll.
        Ended::Exited if cpu_hit && r.exit_code != Some(0) => cpu_limit(),
        Ended::Exited if r.exit_code == Some(0) => (Status::Ok, None),
        Ended::Exited => (Status::RuntimeError, None),
    }
}

/// The outcome of a finished run step; batch runs (not `interactive`) carry
/// its stdout and stderr.
pub(crate) fn run_outcome(r: &StepResult, l: &Limits, interactive: bool) -> Outcome {
    let (status, message) = classify(r, l);
    let mut o = base_outcome(r, status, message);
    if !interactive {
        o.stdout = String::from_utf8_lossy(&r.stdout).into_owned();
        o.stderr = String::from_utf8_lossy(&r.stderr).into_owned();
    }
    if !r.clean {
        tracing::error!("processes of the job survived the kill");
    }
    o
}

/// The Outcome of a failed compile step, or `None` if the run may go ahead.
pub(crate) fn compile_failure(
    r: &StepResult,
    l: &Limits,
    job_dir: &Path,
    plan: &Plan,
) -> Option<Outcome> {
    let (status, message) = classify(r, l);
    let prefixed = |m: Option<String>| m.map(|m| format!("compile: {m}"));
    match status {
        Status::Ok => {
            let missing = plan
                .artifacts
                .iter()
                .find(|a| std::fs::symlink_metadata(job_dir.join(a)).is_err());
            missing.map(|a| {
                base_outcome(
                    r,
                    Status::CompileError,
                    Some(format!("compile: artifact {a} missing")),
                )
            })
        }
        Status::TimeLimit | Status::MemoryLimit | Status::DiskLimit => {
            Some(base_outcome(r, status, prefixed(message)))
        }
        // A non-zero exit, its output limit, a kill.
        _ => Some(base_outcome(r, Status::CompileError, prefixed(message))),
    }
}
