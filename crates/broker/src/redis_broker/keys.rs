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
}

/// One method per key that names one thing (`{}` is its id), under the
/// prefix: `keys.events("j1")` is `codr:job:j1:events`.
macro_rules! named_keys {
    ($($(#[$doc:meta])* $name:ident => $pattern:literal;)*) => {
        impl Keys {
            $(
                $(#[$doc])*
                pub(super) fn $name(&self, id: &str) -> String {
                    format!(concat!("{}", $pattern), self.prefix, id)
                }
            )*
        }
    };
}

named_keys! {
    /// A job's events (stream).
    events => "job:{}:events";
    /// A job's input (stream).
    input => "job:{}:input";
    /// A used job token (SET NX PX).
    token => "token:{}";
    /// A worker's heartbeat.
    worker => "worker:{}";
    /// A job's outcome.
    result => "result:{}";
    /// A gateway's own record of a job (a Judge0 submission).
    record => "record:{}";
}
