//! How a run ended.

use serde::{Deserialize, Serialize};

/// The status of a run. Exactly one per job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Exited with code 0.
    Ok,
    /// Non-zero exit, or killed by a signal the host did not send.
    RuntimeError,
    /// Wall-time or CPU-time limit reached.
    TimeLimit,
    /// Memory limit reached.
    MemoryLimit,
    /// Output limit reached.
    OutputLimit,
    /// The job directory's quota (bytes or files) ran out.
    DiskLimit,
    /// The compile step failed.
    CompileError,
    /// Validation rejected the source (set by callers, never by the sandbox).
    Rejected,
    /// The host failed (not the user's program).
    InternalError,
    /// An interactive session whose program waited for its user longer than
    /// the input timeout (the user went away). Batch jobs never end so.
    IdleTimeout,
}

impl Status {
    /// The wire name: `"ok"`, `"runtime_error"`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::RuntimeError => "runtime_error",
            Status::TimeLimit => "time_limit",
            Status::MemoryLimit => "memory_limit",
            Status::OutputLimit => "output_limit",
            Status::DiskLimit => "disk_limit",
            Status::CompileError => "compile_error",
            Status::Rejected => "rejected",
            Status::InternalError => "internal_error",
            Status::IdleTimeout => "idle_timeout",
        }
    }
}

impl Outcome {
    /// An outcome of `status` with nothing measured and no output: a job
    /// refused or failed before (or outside) its run.
    pub fn unmeasured(status: Status, message: Option<String>) -> Outcome {
        Outcome {
            status,
            exit_code: None,
            signal: None,
            stdout: String::new(),
            stderr: String::new(),
            compile_output: None,
            wall_time_ms: 0,
            cpu_time_ms: 0,
            memory_bytes: 0,
            message,
        }
    }
}

/// Everything known about a finished job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// How it ended.
    pub status: Status,
    /// Exit code of the run step (or of the compile step on `compile_error`).
    pub exit_code: Option<i32>,
    /// Name of the signal that ended the process: `"SIGKILL"`.
    pub signal: Option<String>,
    /// Standard output (batch runs; empty for interactive runs, which stream).
    pub stdout: String,
    /// Standard error (batch runs).
    pub stderr: String,
    /// The compiler's output, where there was a compile step.
    pub compile_output: Option<String>,
    /// Wall-clock time of the run step (of the compile step on
    /// `compile_error`), in ms.
    pub wall_time_ms: u64,
    /// CPU time of that step's process tree, in ms.
    pub cpu_time_ms: u64,
    /// Peak memory of the process tree, where measurable.
    pub memory_bytes: u64,
    /// Human-readable detail for `internal_error` and limits: which limit.
    pub message: Option<String>,
}
