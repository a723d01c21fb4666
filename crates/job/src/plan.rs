//! What to run: a plugin's build plan, in the host's own types.
//!
//! The plugin host converts the WIT `plan` record into these; the sandbox never
//! sees WebAssembly types.

use serde::{Deserialize, Serialize};

/// How to build and run one source: files to write, an optional compile step,
/// and the run step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Files written into the job directory before any step.
    pub files: Vec<SourceFile>,
    /// The compile step, for compiled languages.
    pub compile: Option<Step>,
    /// The run step.
    pub run: Step,
    /// Files (relative to the job directory) the compile step produces and the
    /// run step needs: the run step has a fresh sandbox of its own with the
    /// plan's files and these (kept in the compile cache). Empty: every
    /// regular file and directory the compile step left beside the sources.
    pub artifacts: Vec<String>,
}

/// A file written into the job directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceFile {
    /// Path relative to the job directory: no `..`, not absolute.
    pub path: String,
    /// The file's text.
    pub content: String,
    /// Written with the execute bit (a script the plan runs).
    pub executable: bool,
}

/// One process to start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// Absolute path, or a name looked up in the sandbox's PATH.
    pub program: String,
    /// Its arguments, after the program name.
    pub args: Vec<String>,
    /// Variables added to the from-scratch environment (PATH, HOME, LANG, TERM).
    pub env: Vec<(String, String)>,
    /// The plugin's adjustments to the deployment's default limits.
    pub limits: LimitOverrides,
}

/// Per-language adjustments; `None` keeps the deployment default. Every value
/// is capped at the deployment's maximum.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitOverrides {
    /// Wall-clock time of the step, in ms.
    pub wall_time_ms: Option<u64>,
    /// CPU time of the step's whole process tree, in ms.
    pub cpu_time_ms: Option<u64>,
    /// Memory of the process tree (the cgroup's limit), in bytes.
    pub memory_bytes: Option<u64>,
    /// Processes and threads of the sandbox user.
    pub processes: Option<u32>,
    /// Largest file the step may write, in bytes.
    pub file_size_bytes: Option<u64>,
    /// Output kept or sent (stdout and stderr together), in bytes.
    pub output_bytes: Option<u64>,
    /// Address space of each process (RLIMIT_AS), in bytes: for runtimes
    /// that need it even with a memory cgroup.
    pub address_space_bytes: Option<u64>,
}
