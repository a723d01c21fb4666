//! Getting a cell for a step: a warm one from the pool with the step's files
//! written, or one started cold on a free slot (cleaning up after a holder
//! that died, taking a warm cell's slot, or waiting for one).

use crate::cell::{self, Cell, CellKey};
use crate::{jobdir, slots, Sandbox, SourceFile};

impl Sandbox {
    /// A cell of `key` with `files` written: a warm one from the pool, or one
    /// started now. A warm cell that fails to take the files is dropped and a
    /// cold one tried.
    pub(crate) async fn cell(&self, key: &CellKey, files: &[SourceFile]) -> std::io::Result<Cell> {
        if let Some(cell) = self.pool.take(key) {
            let (uid, gid) = cell.owner();
            match jobdir::write_files(cell.job_dir(), files, uid, gid) {
                Ok(()) => return Ok(cell),
                Err(e) => {
                    tracing::warn!("warm sandbox refused the files ({e}); starting cold");
                    cell::dispose(vec![cell]);
                }
            }
        }
        let lease = self.cold_lease().await?;
        let cell = Cell::start(&self.machine.config, &self.machine.cgroups, lease, key)?;
        let (uid, gid) = cell.owner();
        jobdir::write_files(cell.job_dir(), files, uid, gid)?;
        Ok(cell)
    }

    /// A slot for a cold start: a free one, else one a warm sandbox held,
    /// else wait for one.
    async fn cold_lease(&self) -> std::io::Result<slots::SlotLease> {
        loop {
            // Taking a slot's lock does not block; cleaning up after a holder
            // that died does, so only that goes to a blocking thread.
            if let Some(lease) = self.machine.take_free() {
                if lease.was_clean {
                    return Ok(lease);
                }
                let machine = self.machine.clone();
                let ready = tokio::task::spawn_blocking(move || machine.ready(lease))
                    .await
                    .map_err(std::io::Error::other)?;
                if let Some(lease) = ready {
                    return Ok(lease);
                }
                continue;
            }
            match self.pool.evict_one() {
                // Its slot is free once it is dropped.
                Some(cell) => {
                    let _ = tokio::task::spawn_blocking(move || drop(cell)).await;
                }
                // Every slot is busy (here or in another process): poll.
                None => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
            }
        }
    }
}
