//! The job queue and the per-job event and input streams.
//!
//! One trait, [`Broker`], with two implementations: [`MemoryBroker`] (in
//! process, the embedded default of `codr serve`) and [`RedisBroker`] (many
//! gateways and workers sharing one Redis). Both keep the same promises:
//!
//! - batch jobs and interactive sessions wait in two queues ([`Queue`]),
//!   taken apart, so a worker full of one kind still takes the other;
//! - a job is handed to exactly one worker and stays "pending" until acked
//!   (a long session is kept with [`Broker::keep`]);
//!   a job whose worker stopped is failed loudly by [`Broker::reap_orphans`],
//!   never re-run silently;
//! - each job has an event stream (worker to client) and an input stream
//!   (client to worker), both read from the beginning, so nothing written
//!   before a reader arrives is lost;
//! - everything expires after a TTL (1 h by default), refreshed on write.

#![deny(missing_docs)]

mod error;
mod memory;
mod outage;
mod redis_broker;
#[cfg(feature = "testing")]
pub mod testing;
mod types;

use std::time::Duration;

use async_trait::async_trait;

pub use codr_job::ExtraFile;
pub use error::BrokerError;
pub use memory::MemoryBroker;
pub use outage::{Backoff, Outage};
pub use redis_broker::{RedisBroker, RedisOptions};
pub use types::{Cursor, JobEvent, JobInput, JobSpec, Lease, Queue};

/// The message published to a job whose worker stopped (see
/// [`Broker::reap_orphans`]).
pub const ORPHAN_MESSAGE: &str = "the worker running this job stopped; it was not re-run";

/// A pending job whose worker has no live heartbeat is left alone this long
/// after delivery, so a worker that takes a job just before its first
/// heartbeat lands is not reaped by mistake.
pub const ORPHAN_GRACE: Duration = Duration::from_secs(1);

/// Most entries returned by one `read_events` / `read_input` call.
pub const READ_BATCH: usize = 1000;

/// The queue and the per-job streams. Cheap to share: `Arc<dyn Broker>`.
#[async_trait]
pub trait Broker: Send + Sync + 'static {
    /// Adds a job at the end of its queue ([`Queue::of`]).
    async fn enqueue(&self, job: &JobSpec) -> Result<(), BrokerError>;

    /// Next job of `queue` for this worker, waiting at most `wait`. `None`
    /// on timeout.
    ///
    /// Call [`Broker::heartbeat`] before the first `take`: a job held by a
    /// worker without a live heartbeat is an orphan.
    async fn take(
        &self,
        worker_id: &str,
        queue: Queue,
        wait: Duration,
    ) -> Result<Option<Lease>, BrokerError>;

    /// Says the taken job is still being worked on: its idle time starts
    /// again, so a session longer than the reaper's `max_idle` is not failed
    /// as stuck. Call it well within `max_idle` for as long as the job runs.
    async fn keep(&self, lease: &Lease) -> Result<(), BrokerError>;

    /// Marks a taken job done; it is never handed out again.
    async fn ack(&self, lease: &Lease) -> Result<(), BrokerError>;

    /// Appends an event to the job's event stream.
    async fn publish(&self, job_id: &str, event: &JobEvent) -> Result<(), BrokerError>;

    /// Events after `after` (from the beginning with [`Cursor::start`]),
    /// waiting at most `wait` for the first one. Empty on timeout. At most
    /// [`READ_BATCH`] per call; each comes with the cursor to resume after it.
    async fn read_events(
        &self,
        job_id: &str,
        after: &Cursor,
        wait: Duration,
    ) -> Result<Vec<(Cursor, JobEvent)>, BrokerError>;

    /// Appends a message to the job's input stream.
    async fn send_input(&self, job_id: &str, input: &JobInput) -> Result<(), BrokerError>;

    /// Input after `after`, like [`Broker::read_events`].
    async fn read_input(
        &self,
        job_id: &str,
        after: &Cursor,
        wait: Duration,
    ) -> Result<Vec<(Cursor, JobInput)>, BrokerError>;

    /// Single-use token burn: true the first time for this id, false after
    /// (until `ttl` has passed).
    async fn burn_token(&self, jti: &str, ttl: Duration) -> Result<bool, BrokerError>;

    /// Marks the worker alive for `ttl`.
    async fn heartbeat(&self, worker_id: &str, ttl: Duration) -> Result<(), BrokerError>;

    /// Workers whose heartbeat has not expired.
    async fn live_workers(&self) -> Result<Vec<String>, BrokerError>;

    /// Jobs queued and not yet taken.
    async fn queue_depth(&self) -> Result<u64, BrokerError>;

    /// Jobs taken by a worker whose heartbeat has expired (after
    /// [`ORPHAN_GRACE`]), or pending longer than `max_idle`: publishes a
    /// [`JobEvent::Error`] ([`ORPHAN_MESSAGE`]) to each and acks them, so they
    /// are never run twice silently. Returns their job ids. Safe to call from
    /// several processes at once: each orphan is reported once.
    async fn reap_orphans(&self, max_idle: Duration) -> Result<Vec<String>, BrokerError>;

    /// Stores a finished job's outcome (batch API polling), for the TTL.
    async fn store_result(
        &self,
        job_id: &str,
        outcome: &codr_job::Outcome,
    ) -> Result<(), BrokerError>;

    /// A stored outcome, if any.
    async fn get_result(&self, job_id: &str) -> Result<Option<codr_job::Outcome>, BrokerError>;

    /// Keeps a gateway's own record of a job (JSON, e.g. a Judge0
    /// submission: what was asked and when) under `job_id`, for the TTL,
    /// shared by every gateway; replaces an earlier one. Apart from
    /// outcomes: nothing else reads it.
    async fn store_record(&self, job_id: &str, json: &str) -> Result<(), BrokerError>;

    /// A stored record, if any.
    async fn get_record(&self, job_id: &str) -> Result<Option<String>, BrokerError>;

    /// Checks that the backing store answers.
    async fn ping(&self) -> Result<(), BrokerError>;
}
