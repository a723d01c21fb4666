//! Why a [`Sandbox`](crate::Sandbox) cannot start.

use std::path::PathBuf;

use crate::compile_cache;

/// Why the sandbox cannot start.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The host must be root to hand jobs to the sandbox users.
    #[error("the sandbox needs root (to run jobs as the sandbox users); run codr as root")]
    NotRoot,
    /// Firejail is not installed.
    #[error("firejail not found at {0} (fix: apt-get install -y firejail, or make setup)")]
    FirejailMissing(PathBuf),
    /// No sandbox users.
    #[error("no sandbox users {0}0.. (fix: make setup, which runs scripts/setup-sandbox.sh)")]
    NoUsers(String),
    /// The job root cannot be made.
    #[error("job root {path}: {source} (fix: make setup)")]
    JobRoot {
        /// The directory.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The compile cache cannot be opened.
    #[error("compile cache: {0}")]
    Cache(#[from] compile_cache::CacheError),
}
