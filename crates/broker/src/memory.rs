//! The in-process broker: the embedded default of `codr serve`.
//!
//! Same semantics as Redis, kept in one mutex-guarded state. Waiters park on
//! a [`Notify`] and re-check the state when woken (the "enable, check, wait"
//! pattern, so no wake-up is lost between the check and the wait).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use codr_job::Outcome;
use tokio::sync::Notify;

use crate::{
    Broker, BrokerError, Cursor, JobEvent, JobInput, JobSpec, Lease, Queue, ORPHAN_GRACE,
    ORPHAN_MESSAGE, READ_BATCH,
};

/// How often expired entries are swept (lazily, on the next call).
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// The in-process broker. Cheap to share behind an `Arc`.
pub struct MemoryBroker {
    ttl: Duration,
    state: Mutex<State>,
    /// Woken on every enqueue.
    queued: Notify,
}

#[derive(Default)]
struct State {
    next_delivery: u64,
    /// The batch queue and the live one (by [`queue_index`]).
    queues: [VecDeque<(u64, JobSpec)>; 2],
    /// Taken, not yet acked, by delivery number.
    pending: BTreeMap<u64, Pending>,
    jobs: HashMap<String, JobStreams>,
    tokens: HashMap<String, Instant>,
    workers: HashMap<String, Instant>,
    results: Expiring<Outcome>,
    /// Gateways' records of jobs.
    records: Expiring<String>,
    last_sweep: Option<Instant>,
}

/// Values by job id, each until its expiry.
struct Expiring<T>(HashMap<String, (T, Instant)>);

impl<T> Default for Expiring<T> {
    fn default() -> Self {
        Expiring(HashMap::new())
    }
}

impl<T: Clone> Expiring<T> {
    fn insert(&mut self, key: &str, value: T, ttl: Duration) {
        self.0.insert(key.to_owned(), (value, Instant::now() + ttl));
    }

    fn get(&self, key: &str) -> Option<T> {
        let now = Instant::now();
        self.0
            .get(key)
            .filter(|(_, t)| *t > now)
            .map(|(v, _)| v.clone())
    }

    fn sweep(&mut self, now: Instant) {
        self.0.retain(|_, (_, t)| *t > now);
    }
}

struct Pending {
    job_id: String,
    worker_id: String,
    since: Instant,
}

/// One job's two streams; entry `i` has cursor `0-(i+1)`.
struct JobStreams {
    events: Vec<JobEvent>,
    input: Vec<JobInput>,
    /// Woken on every append to either stream.
    notify: Arc<Notify>,
    expires: Instant,
}

impl MemoryBroker {
    /// A broker whose job streams, tokens and results live `ttl` after their
    /// last write.
    pub fn new(ttl: Duration) -> Self {
        MemoryBroker {
            ttl,
            state: Mutex::new(State::default()),
            queued: Notify::new(),
        }
    }

    /// Locks the state, sweeping expired entries now and then.
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps half-updated
        // in a way that matters more than stopping the service would.
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if state.last_sweep.is_none_or(|t| now - t >= SWEEP_EVERY) {
            state.sweep(now);
            state.last_sweep = Some(now);
        }
        state
    }

    /// Appends to one of a job's streams, refreshes its TTL, wakes readers.
    fn append(&self, job_id: &str, push: impl FnOnce(&mut JobStreams)) {
        let mut state = self.lock();
        let streams = state.streams(job_id, self.ttl);
        push(streams);
        streams.notify.notify_waiters();
    }

    /// Reads one of a job's streams after `after`, waiting at most `wait`.
    async fn read<T: Clone>(
        &self,
        job_id: &str,
        after: &Cursor,
        wait: Duration,
        pick: impl Fn(&JobStreams) -> &Vec<T>,
    ) -> Result<Vec<(Cursor, T)>, BrokerError> {
        let (ms, seq) = after.parts();
        if ms != 0 {
            return Err(BrokerError::Invalid(format!(
                "not a cursor of this broker: {after}"
            )));
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let notify = {
                let mut state = self.lock();
                let streams = state.streams(job_id, self.ttl);
                let found = slice_after(pick(streams), seq);
                if !found.is_empty() {
                    return Ok(found);
                }
                streams.notify.clone()
            };
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            // Re-check: an append may have landed between unlock and enable.
            if !slice_after(pick(self.lock().streams(job_id, self.ttl)), seq).is_empty() {
                continue;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Ok(Vec::new());
            }
        }
    }
}

/// Entries after sequence number `seq` (1-based), at most [`READ_BATCH`].
fn slice_after<T: Clone>(items: &[T], seq: u64) -> Vec<(Cursor, T)> {
    let start = usize::try_from(seq).unwrap_or(usize::MAX).min(items.len());
    items[start..]
        .iter()
        .take(READ_BATCH)
        .enumerate()
        .map(|(i, item)| {
            (
                Cursor::from_id(format!("0-{}", start + i + 1)),
                item.clone(),
            )
        })
        .collect()
}

impl State {
    /// The job's streams, created empty on first use; refreshes the TTL.
    fn streams(&mut self, job_id: &str, ttl: Duration) -> &mut JobStreams {
        let expires = Instant::now() + ttl;
        let streams = self
            .jobs
            .entry(job_id.to_owned())
            .or_insert_with(|| JobStreams {
                events: Vec::new(),
                input: Vec::new(),
                notify: Arc::new(Notify::new()),
                expires,
            });
        streams.expires = expires;
        streams
    }

    fn sweep(&mut self, now: Instant) {
        self.jobs.retain(|_, s| s.expires > now);
        self.tokens.retain(|_, t| *t > now);
        self.workers.retain(|_, t| *t > now);
        self.results.sweep(now);
        self.records.sweep(now);
    }

    fn is_live(&self, worker_id: &str, now: Instant) -> bool {
        self.workers.get(worker_id).is_some_and(|t| *t > now)
    }

    /// Removes and returns the pending jobs that are orphans now.
    fn take_orphans(&mut self, max_idle: Duration, now: Instant) -> Vec<String> {
        let orphans: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, p)| {
                let idle = now - p.since;
                idle >= max_idle || (idle >= ORPHAN_GRACE && !self.is_live(&p.worker_id, now))
            })
            .map(|(n, _)| *n)
            .collect();
        orphans
            .into_iter()
            .filter_map(|n| self.pending.remove(&n))
            .map(|p| p.job_id)
            .collect()
    }
}

/// Where `queue` is in [`State::queues`].
fn queue_index(queue: Queue) -> usize {
    match queue {
        Queue::Batch => 0,
        Queue::Live => 1,
    }
}

/// The delivery number in a lease of this broker.
fn delivery_number(lease: &Lease) -> Result<u64, BrokerError> {
    let bad = || BrokerError::Invalid(format!("bad delivery id {}", lease.delivery_id));
    let (ms, seq) = Cursor::parse(&lease.delivery_id)
        .map_err(|_| bad())?
        .parts();
    if ms != 0 {
        return Err(bad());
    }
    Ok(seq)
}

#[async_trait]
impl Broker for MemoryBroker {
    async fn enqueue(&self, job: &JobSpec) -> Result<(), BrokerError> {
        {
            let mut state = self.lock();
            state.next_delivery += 1;
            let n = state.next_delivery;
            state.queues[queue_index(Queue::of(job))].push_back((n, job.clone()));
        }
        self.queued.notify_waiters();
        Ok(())
    }

    async fn take(
        &self,
        worker_id: &str,
        queue: Queue,
        wait: Duration,
    ) -> Result<Option<Lease>, BrokerError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let notified = self.queued.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut state = self.lock();
                if let Some((n, job)) = state.queues[queue_index(queue)].pop_front() {
                    let pending = Pending {
                        job_id: job.job_id.clone(),
                        worker_id: worker_id.to_owned(),
                        since: Instant::now(),
                    };
                    state.pending.insert(n, pending);
                    return Ok(Some(Lease {
                        job,
                        queue,
                        delivery_id: format!("0-{n}"),
                        worker_id: worker_id.to_owned(),
                    }));
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Ok(None);
            }
        }
    }

    async fn keep(&self, lease: &Lease) -> Result<(), BrokerError> {
        let n = delivery_number(lease)?;
        if let Some(p) = self.lock().pending.get_mut(&n) {
            p.since = Instant::now();
        }
        Ok(())
    }

    async fn ack(&self, lease: &Lease) -> Result<(), BrokerError> {
        let n = delivery_number(lease)?;
        self.lock().pending.remove(&n);
        Ok(())
    }

    async fn publish(&self, job_id: &str, event: &JobEvent) -> Result<(), BrokerError> {
        self.append(job_id, |s| s.events.push(event.clone()));
        Ok(())
    }

    async fn read_events(
        &self,
        job_id: &str,
        after: &Cursor,
        wait: Duration,
    ) -> Result<Vec<(Cursor, JobEvent)>, BrokerError> {
        self.read(job_id, after, wait, |s| &s.events).await
    }

    async fn send_input(&self, job_id: &str, input: &JobInput) -> Result<(), BrokerError> {
        self.append(job_id, |s| s.input.push(input.clone()));
        Ok(())
    }

    async fn read_input(
        &self,
        job_id: &str,
        after: &Cursor,
        wait: Duration,
    ) -> Result<Vec<(Cursor, JobInput)>, BrokerError> {
        self.read(job_id, after, wait, |s| &s.input).await
    }

    async fn burn_token(&self, jti: &str, ttl: Duration) -> Result<bool, BrokerError> {
        let now = Instant::now();
        let mut state = self.lock();
        if state.tokens.get(jti).is_some_and(|t| *t > now) {
            return Ok(false);
        }
        state.tokens.insert(jti.to_owned(), now + ttl);
        Ok(true)
    }

    async fn heartbeat(&self, worker_id: &str, ttl: Duration) -> Result<(), BrokerError> {
        let expires = Instant::now() + ttl;
        self.lock().workers.insert(worker_id.to_owned(), expires);
        Ok(())
    }

    async fn live_workers(&self) -> Result<Vec<String>, BrokerError> {
        let now = Instant::now();
        let state = self.lock();
        let mut live: Vec<String> = state
            .workers
            .iter()
            .filter(|(_, t)| **t > now)
            .map(|(id, _)| id.clone())
            .collect();
        live.sort();
        Ok(live)
    }

    async fn queue_depth(&self) -> Result<u64, BrokerError> {
        Ok(self.lock().queues.iter().map(|q| q.len() as u64).sum())
    }

    async fn reap_orphans(&self, max_idle: Duration) -> Result<Vec<String>, BrokerError> {
        let orphans = self.lock().take_orphans(max_idle, Instant::now());
        for job_id in &orphans {
            tracing::warn!(job_id, "job orphaned: its worker stopped");
            let message = ORPHAN_MESSAGE.to_owned();
            self.publish(job_id, &JobEvent::Error { message }).await?;
        }
        Ok(orphans)
    }

    async fn store_result(&self, job_id: &str, outcome: &Outcome) -> Result<(), BrokerError> {
        let ttl = self.ttl;
        self.lock().results.insert(job_id, outcome.clone(), ttl);
        Ok(())
    }

    async fn get_result(&self, job_id: &str) -> Result<Option<Outcome>, BrokerError> {
        Ok(self.lock().results.get(job_id))
    }

    async fn store_record(&self, job_id: &str, json: &str) -> Result<(), BrokerError> {
        let ttl = self.ttl;
        self.lock().records.insert(job_id, json.to_owned(), ttl);
        Ok(())
    }

    async fn get_record(&self, job_id: &str) -> Result<Option<String>, BrokerError> {
        Ok(self.lock().records.get(job_id))
    }

    async fn ping(&self) -> Result<(), BrokerError> {
        Ok(())
    }
}
