//! Keeps `fork` away from files being written (the `ETXTBSY` race).
//!
//! A child forked while another thread has a file open for writing holds that
//! descriptor until its `exec` closes it (`O_CLOEXEC` only closes at exec).
//! Executing the file in that window fails with "Text file busy" (exit 126):
//! a compiled program installed into a job directory while the warm pool
//! spawns a sandbox did exactly that. Spawns share this lock; writing files
//! that may be executed (the plan's files, compiled artifacts) takes it alone.
//! A spawn (see `vfork`) returns only once the child has exec'd, so it holds
//! the lock for the whole window.

use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

static LOCK: RwLock<()> = RwLock::new(());

/// Held while forking and exec'ing a child.
pub fn spawning() -> RwLockReadGuard<'static, ()> {
    LOCK.read().unwrap_or_else(|e| e.into_inner())
}

/// Held while files that may be executed are open for writing.
pub fn writing() -> RwLockWriteGuard<'static, ()> {
    LOCK.write().unwrap_or_else(|e| e.into_inner())
}
