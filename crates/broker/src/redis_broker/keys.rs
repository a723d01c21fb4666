//! The names of every key the Redis broker writes, under one prefix.

use crate::Queue;

/// Key names.
pub(super) struct Keys {
    prefix: String,
    jobs: String,
    live_jobs: String,
}

impl Keys {
    pub(super) fn new(prefix: &str) -> Self {
        Keys {
            prefix: prefix.to_owned(),
            jobs: format!("{prefix}jobs"),
            live_jobs: format!("{prefix}jobs:live"),
        }
    }
    /// The stream of a queue.
    pub(super) fn queue(&self, queue: Queue) -> &str {
        match queue {
            Queue::Batch => &self.jobs,
            Queue::Live => &self.live_jobs,
        }
    }
    pub(super) fn events(&self, job_id: &str) -> String {
        format!("{}job:{job_id}:events", self.prefix)
    }
    pub(super) fn input(&self, job_id: &str) -> String {
        format!("{}job:{job_id}:input", self.prefix)
    }
    pub(super) fn token(&self, jti: &str) -> String {
        format!("{}token:{jti}", self.prefix)
    }
    pub(super) fn worker(&self, worker_id: &str) -> String {
        format!("{}worker:{worker_id}", self.prefix)
    }
    pub(super) fn result(&self, job_id: &str) -> String {
        format!("{}result:{job_id}", self.prefix)
    }

    pub(super) fn record(&self, job_id: &str) -> String {
        format!("{}record:{job_id}", self.prefix)
    }
}
