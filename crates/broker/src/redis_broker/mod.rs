//! The Redis broker: many gateways and workers sharing one Redis.
//!
//! Shape (with the default prefix `codr:`):
//! - `codr:jobs` (batch jobs) and `codr:jobs:live` (interactive sessions):
//!   Streams, each with consumer group `workers`. XADD to enqueue,
//!   XREADGROUP to take, XACK + XDEL to ack (so a stream only holds queued
//!   and running jobs), XCLAIM to itself to say a long session is still
//!   running, XPENDING to find orphans.
//! - `codr:job:{id}:events`, `codr:job:{id}:input`: Streams read with XREAD
//!   from the start, so nothing written before a reader arrives is lost.
//! - `codr:token:{jti}` (SET NX PX), `codr:worker:{id}` (heartbeat, SET PX),
//!   `codr:result:{id}` (SET PX).
//!
//! Every key written gets a TTL, refreshed on each write. Blocking reads run
//! on their own connections (a small pool) whose response timeout is longer
//! than the block; everything else goes through a [`ConnectionManager`],
//! which reconnects by itself. If the queue or its group disappears (Redis
//! restarted without persistence, or the key expired) it is recreated.

mod connection;
mod keys;

use std::collections::HashSet;

use connection::{map_err, BlockingPool};
use keys::Keys;
use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use codr_job::Outcome;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::streams::{
    StreamId, StreamInfoConsumersReply, StreamPendingCountReply, StreamPendingReply,
    StreamRangeReply, StreamReadReply,
};
use redis::{cmd, pipe};
use redis::{Client, Cmd, FromRedisValue};
use serde::de::DeserializeOwned;

use crate::{
    Broker, BrokerError, Cursor, JobEvent, JobInput, JobSpec, Lease, Queue, ORPHAN_GRACE,
    ORPHAN_MESSAGE, READ_BATCH,
};

/// The consumer group of the job queue.
const GROUP: &str = "workers";
/// The field that holds the JSON payload of every stream entry.
const FIELD: &str = "p";
/// How much longer than the block a blocking connection waits for an answer.
const BLOCK_MARGIN: Duration = Duration::from_secs(5);
/// Most pending jobs examined by one `reap_orphans`.
const REAP_BATCH: usize = 1000;

/// How the Redis broker behaves.
#[derive(Clone, Debug)]
pub struct RedisOptions {
    /// Lifetime of every key, refreshed on each write (default 1 h).
    pub ttl: Duration,
    /// Prefix of every key (default `codr:`).
    pub key_prefix: String,
    /// Longest single blocking read (XREAD / XREADGROUP BLOCK); longer waits
    /// return empty after this (default 5 s).
    pub block: Duration,
    /// Approximate cap on the events kept per job (XADD MAXLEN ~). The
    /// worker should coalesce output into chunks (it is capped at 1 MB), so
    /// a running job never comes near it (default 100 000).
    pub events_maxlen: usize,
    /// Approximate cap on the input messages kept per job (default 10 000).
    pub input_maxlen: usize,
    /// Timeout of one connection attempt (default 2 s).
    pub connect_timeout: Duration,
    /// Timeout of one non-blocking command (default 3 s).
    pub command_timeout: Duration,
    /// Idle blocking connections kept for reuse (default 512: a live session
    /// keeps a blocking read of its input and one of its events open).
    pub max_idle_blocking: usize,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            ttl: Duration::from_secs(3600),
            key_prefix: "codr:".to_owned(),
            block: Duration::from_secs(5),
            events_maxlen: 100_000,
            input_maxlen: 10_000,
            connect_timeout: Duration::from_secs(2),
            command_timeout: Duration::from_secs(3),
            max_idle_blocking: 512,
        }
    }
}

/// The Redis broker. Cheap to share behind an `Arc`.
pub struct RedisBroker {
    options: RedisOptions,
    keys: Keys,
    manager: ConnectionManager,
    blocking: BlockingPool,
}

impl RedisBroker {
    /// Connects to `url` (`redis://host:port/db`) and makes sure the job
    /// queue and its consumer group exist. Fails if Redis does not answer;
    /// once connected, the broker survives Redis going away and coming back.
    pub async fn connect(url: &str, options: RedisOptions) -> Result<Self, BrokerError> {
        let client = Client::open(url).map_err(|e| BrokerError::Invalid(e.to_string()))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.connect_timeout))
            .set_response_timeout(Some(options.command_timeout))
            // Fail fast while Redis is down (callers see Unavailable); the
            // next call after a failure tries again.
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(200));
        let manager =
            ConnectionManager::new_lazy_with_config(client.clone(), config).map_err(map_err)?;
        let blocking = BlockingPool::new(client, &options);
        let broker = RedisBroker {
            keys: Keys::new(&options.key_prefix),
            options,
            manager,
            blocking,
        };
        broker.ensure_groups().await?;
        Ok(broker)
    }

    /// The options in use.
    pub fn options(&self) -> &RedisOptions {
        &self.options
    }

    fn ttl_ms(&self) -> u64 {
        millis(self.options.ttl)
    }

    /// `SET key value PX <ttl>`.
    async fn set_expiring(&self, key: String, value: &str) -> Result<(), BrokerError> {
        let mut set = cmd("SET");
        set.arg(key).arg(value).arg("PX").arg(self.ttl_ms());
        self.query(set).await
    }

    /// `GET key`.
    async fn get(&self, key: String) -> Result<Option<String>, BrokerError> {
        let mut get = cmd("GET");
        get.arg(key);
        self.query(get).await
    }

    /// Runs a non-blocking command (or pipeline) on the shared connection.
    async fn run<T, F, Fut>(&self, f: F) -> Result<T, BrokerError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let limit = self.options.command_timeout + self.options.connect_timeout;
        match tokio::time::timeout(limit, f(self.manager.clone())).await {
            Ok(result) => result.map_err(map_err),
            Err(_) => Err(BrokerError::Unavailable(
                "redis did not answer in time".into(),
            )),
        }
    }

    /// Runs one command on the shared connection.
    async fn query<T: FromRedisValue + Send>(&self, command: Cmd) -> Result<T, BrokerError> {
        self.run(|mut conn| async move { command.query_async(&mut conn).await })
            .await
    }

    /// Creates both queues and their groups if missing.
    async fn ensure_groups(&self) -> Result<(), BrokerError> {
        for queue in Queue::ALL {
            self.ensure_group(queue).await?;
        }
        Ok(())
    }

    /// Creates a queue and its group if missing (BUSYGROUP means it exists).
    async fn ensure_group(&self, queue: Queue) -> Result<(), BrokerError> {
        let stream = self.keys.queue(queue);
        let mut create = cmd("XGROUP");
        create
            .arg("CREATE")
            .arg(stream)
            .arg(GROUP)
            .arg("0")
            .arg("MKSTREAM");
        match self.query::<()>(create).await {
            Ok(()) => tracing::info!(stream, "created the job queue"),
            Err(BrokerError::Protocol(e)) if e.contains("BUSYGROUP") => {}
            Err(e) => return Err(e),
        }
        let mut expire = cmd("PEXPIRE");
        expire.arg(stream).arg(self.ttl_ms());
        self.query::<()>(expire).await
    }

    /// Appends a JSON entry to a stream, trims it, refreshes its TTL.
    async fn append(&self, key: &str, maxlen: usize, json: String) -> Result<(), BrokerError> {
        let mut p = pipe();
        p.cmd("XADD")
            .arg(key)
            .arg("MAXLEN")
            .arg("~")
            .arg(maxlen)
            .arg("*")
            .arg(FIELD)
            .arg(json);
        p.cmd("PEXPIRE").arg(key).arg(self.ttl_ms()).ignore();
        self.run(|mut conn| async move { p.query_async::<(String,)>(&mut conn).await })
            .await
            .map(|_| ())
    }

    /// XREAD of one stream after `after`, blocking at most `wait`.
    async fn read_stream<T: DeserializeOwned>(
        &self,
        key: String,
        after: &Cursor,
        wait: Duration,
    ) -> Result<Vec<(Cursor, T)>, BrokerError> {
        let mut xread = cmd("XREAD");
        xread.arg("COUNT").arg(READ_BATCH);
        let wait = wait.min(self.options.block);
        if !wait.is_zero() {
            xread.arg("BLOCK").arg(millis(wait).max(1));
        }
        xread.arg("STREAMS").arg(key).arg(after.as_str());
        let reply: Option<StreamReadReply> = if wait.is_zero() {
            self.query(xread).await?
        } else {
            self.blocking.query(&xread).await.map_err(map_err)?
        };
        let entries = reply.into_iter().flat_map(|r| r.keys).flat_map(|k| k.ids);
        entries
            .map(|entry| Ok((Cursor::from_id(entry.id.clone()), decode(&entry)?)))
            .collect()
    }

    /// Acks a queue entry and deletes it; true if this call acked it (false
    /// if it was already acked, by its worker or by another reaper).
    async fn ack_entry(&self, queue: Queue, delivery_id: &str) -> Result<bool, BrokerError> {
        let stream = self.keys.queue(queue);
        let mut p = pipe();
        p.cmd("XACK").arg(stream).arg(GROUP).arg(delivery_id);
        p.cmd("XDEL").arg(stream).arg(delivery_id).ignore();
        let (acked,): (u64,) = self
            .run(|mut conn| async move { p.query_async(&mut conn).await })
            .await?;
        Ok(acked > 0)
    }

    /// One XREADGROUP of `queue` for `worker_id`.
    async fn read_group(
        &self,
        worker_id: &str,
        queue: Queue,
        wait: Duration,
    ) -> Result<Option<StreamReadReply>, BrokerError> {
        let mut read = cmd("XREADGROUP");
        read.arg("GROUP")
            .arg(GROUP)
            .arg(worker_id)
            .arg("COUNT")
            .arg(1);
        if !wait.is_zero() {
            read.arg("BLOCK").arg(millis(wait).max(1));
        }
        read.arg("STREAMS").arg(self.keys.queue(queue)).arg(">");
        if wait.is_zero() {
            self.query(read).await
        } else {
            self.blocking.query(&read).await.map_err(map_err)
        }
    }

    /// The job id of a pending queue entry, if the entry still exists.
    async fn pending_job_id(
        &self,
        queue: Queue,
        delivery_id: &str,
    ) -> Result<Option<String>, BrokerError> {
        let mut range = cmd("XRANGE");
        range
            .arg(self.keys.queue(queue))
            .arg(delivery_id)
            .arg(delivery_id);
        let reply: StreamRangeReply = self.query(range).await?;
        match reply.ids.first() {
            Some(entry) => Ok(Some(decode::<JobSpec>(entry)?.job_id)),
            None => Ok(None),
        }
    }

    /// Forgets consumers that hold nothing and have no heartbeat, so dead
    /// workers do not pile up in the group.
    async fn prune_consumers(
        &self,
        queue: Queue,
        live: &HashSet<String>,
    ) -> Result<(), BrokerError> {
        let stream = self.keys.queue(queue);
        let mut info = cmd("XINFO");
        info.arg("CONSUMERS").arg(stream).arg(GROUP);
        let reply: StreamInfoConsumersReply = self.query(info).await?;
        let grace = millis(ORPHAN_GRACE) as usize;
        for c in reply.consumers {
            if c.pending == 0 && c.idle > grace && !live.contains(&c.name) {
                let mut del = cmd("XGROUP");
                del.arg("DELCONSUMER").arg(stream).arg(GROUP).arg(&c.name);
                self.query::<()>(del).await?;
            }
        }
        Ok(())
    }

    /// Jobs waiting in `queue`, not yet taken.
    async fn depth_of(&self, queue: Queue) -> Result<u64, BrokerError> {
        let mut xlen = cmd("XLEN");
        xlen.arg(self.keys.queue(queue));
        let len: u64 = self.query(xlen).await?;
        let mut xpending = cmd("XPENDING");
        xpending.arg(self.keys.queue(queue)).arg(GROUP);
        let pending = match self.query::<StreamPendingReply>(xpending).await {
            Ok(reply) => reply.count() as u64,
            Err(BrokerError::Protocol(e)) if is_missing_group(&e) => 0,
            Err(e) => return Err(e),
        };
        // Acked entries are deleted, so the stream holds queued + running.
        Ok(len.saturating_sub(pending))
    }

    /// [`Broker::reap_orphans`] of one queue.
    async fn reap_queue(
        &self,
        queue: Queue,
        max_idle: Duration,
        live: &HashSet<String>,
    ) -> Result<Vec<String>, BrokerError> {
        let mut xpending = cmd("XPENDING");
        xpending
            .arg(self.keys.queue(queue))
            .arg(GROUP)
            .arg("-")
            .arg("+")
            .arg(REAP_BATCH);
        let pending: StreamPendingCountReply = match self.query(xpending).await {
            Err(BrokerError::Protocol(e)) if is_missing_group(&e) => {
                self.ensure_group(queue).await?;
                return Ok(Vec::new());
            }
            other => other?,
        };
        let (grace, max_idle) = (millis(ORPHAN_GRACE) as usize, millis(max_idle) as usize);
        let mut orphans = Vec::new();
        for p in pending.ids {
            let idle = p.last_delivered_ms;
            if idle < max_idle && (idle < grace || live.contains(&p.consumer)) {
                continue;
            }
            let job_id = self.pending_job_id(queue, &p.id).await?;
            // XACK decides which reaper reports it: only one gets a 1.
            if !self.ack_entry(queue, &p.id).await? {
                continue;
            }
            let Some(job_id) = job_id else { continue };
            tracing::warn!(job_id, worker = %p.consumer, idle_ms = idle, "job orphaned");
            let message = ORPHAN_MESSAGE.to_owned();
            self.publish(&job_id, &JobEvent::Error { message }).await?;
            orphans.push(job_id);
        }
        self.prune_consumers(queue, live).await?;
        Ok(orphans)
    }
}

#[async_trait]
impl Broker for RedisBroker {
    async fn enqueue(&self, job: &JobSpec) -> Result<(), BrokerError> {
        let json = serde_json::to_string(job)?;
        let stream = self.keys.queue(Queue::of(job));
        let mut p = pipe();
        p.cmd("XADD")
            .arg(stream)
            .arg("*")
            .arg(FIELD)
            .arg(json)
            .ignore();
        p.cmd("PEXPIRE").arg(stream).arg(self.ttl_ms()).ignore();
        self.run(|mut conn| async move { p.query_async::<()>(&mut conn).await })
            .await
    }

    async fn take(
        &self,
        worker_id: &str,
        queue: Queue,
        wait: Duration,
    ) -> Result<Option<Lease>, BrokerError> {
        let wait = wait.min(self.options.block);
        let reply = match self.read_group(worker_id, queue, wait).await {
            Err(BrokerError::Protocol(e)) if is_missing_group(&e) => {
                tracing::warn!("job queue or group missing (redis restarted?): recreating");
                self.ensure_group(queue).await?;
                self.read_group(worker_id, queue, wait).await?
            }
            other => other?,
        };
        let Some(entry) = reply
            .into_iter()
            .flat_map(|r| r.keys)
            .flat_map(|k| k.ids)
            .next()
        else {
            return Ok(None);
        };
        match decode::<JobSpec>(&entry) {
            Ok(job) => Ok(Some(Lease {
                job,
                queue,
                delivery_id: entry.id,
                worker_id: worker_id.to_owned(),
            })),
            Err(e) => {
                // Never hand it out again: it would fail the same way.
                tracing::error!(id = %entry.id, error = %e, "undecodable job dropped");
                self.ack_entry(queue, &entry.id).await?;
                Err(e)
            }
        }
    }

    async fn keep(&self, lease: &Lease) -> Result<(), BrokerError> {
        // Claiming it again for the same consumer resets its idle time;
        // JUSTID leaves the delivery count alone. An entry already acked or
        // reaped is not claimed (nothing to keep).
        let mut claim = cmd("XCLAIM");
        claim
            .arg(self.keys.queue(lease.queue))
            .arg(GROUP)
            .arg(&lease.worker_id)
            .arg(0)
            .arg(&lease.delivery_id)
            .arg("JUSTID");
        self.query::<Vec<String>>(claim).await.map(|_| ())
    }

    async fn ack(&self, lease: &Lease) -> Result<(), BrokerError> {
        self.ack_entry(lease.queue, &lease.delivery_id)
            .await
            .map(|_| ())
    }

    async fn publish(&self, job_id: &str, event: &JobEvent) -> Result<(), BrokerError> {
        let json = serde_json::to_string(event)?;
        self.append(&self.keys.events(job_id), self.options.events_maxlen, json)
            .await
    }

    async fn read_events(
        &self,
        job_id: &str,
        after: &Cursor,
        wait: Duration,
    ) -> Result<Vec<(Cursor, JobEvent)>, BrokerError> {
        self.read_stream(self.keys.events(job_id), after, wait)
            .await
    }

    async fn send_input(&self, job_id: &str, input: &JobInput) -> Result<(), BrokerError> {
        let json = serde_json::to_string(input)?;
        self.append(&self.keys.input(job_id), self.options.input_maxlen, json)
            .await
    }

    async fn read_input(
        &self,
        job_id: &str,
        after: &Cursor,
        wait: Duration,
    ) -> Result<Vec<(Cursor, JobInput)>, BrokerError> {
        self.read_stream(self.keys.input(job_id), after, wait).await
    }

    async fn burn_token(&self, jti: &str, ttl: Duration) -> Result<bool, BrokerError> {
        let mut set = cmd("SET");
        set.arg(self.keys.token(jti))
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(millis(ttl).max(1));
        let reply: Option<String> = self.query(set).await?;
        Ok(reply.is_some())
    }

    async fn heartbeat(&self, worker_id: &str, ttl: Duration) -> Result<(), BrokerError> {
        let mut set = cmd("SET");
        set.arg(self.keys.worker(worker_id))
            .arg(now_ms())
            .arg("PX")
            .arg(millis(ttl).max(1));
        self.query(set).await
    }

    async fn live_workers(&self) -> Result<Vec<String>, BrokerError> {
        let prefix = self.keys.worker("");
        let pattern = format!("{prefix}*");
        let mut cursor = 0u64;
        let mut live = Vec::new();
        loop {
            let mut scan = cmd("SCAN");
            scan.arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000);
            let (next, keys): (u64, Vec<String>) = self.query(scan).await?;
            live.extend(
                keys.iter()
                    .filter_map(|k| k.strip_prefix(&prefix))
                    .map(str::to_owned),
            );
            if next == 0 {
                break;
            }
            cursor = next;
        }
        live.sort();
        live.dedup();
        Ok(live)
    }

    async fn queue_depth(&self) -> Result<u64, BrokerError> {
        let mut depth = 0;
        for queue in Queue::ALL {
            depth += self.depth_of(queue).await?;
        }
        Ok(depth)
    }

    async fn reap_orphans(&self, max_idle: Duration) -> Result<Vec<String>, BrokerError> {
        let live: HashSet<String> = self.live_workers().await?.into_iter().collect();
        let mut orphans = Vec::new();
        for queue in Queue::ALL {
            orphans.extend(self.reap_queue(queue, max_idle, &live).await?);
        }
        Ok(orphans)
    }

    async fn store_result(&self, job_id: &str, outcome: &Outcome) -> Result<(), BrokerError> {
        let json = serde_json::to_string(outcome)?;
        self.set_expiring(self.keys.result(job_id), &json).await
    }

    async fn get_result(&self, job_id: &str) -> Result<Option<Outcome>, BrokerError> {
        let json = self.get(self.keys.result(job_id)).await?;
        json.map(|j| serde_json::from_str(&j).map_err(BrokerError::from))
            .transpose()
    }

    async fn store_record(&self, job_id: &str, json: &str) -> Result<(), BrokerError> {
        self.set_expiring(self.keys.record(job_id), json).await
    }

    async fn get_record(&self, job_id: &str) -> Result<Option<String>, BrokerError> {
        self.get(self.keys.record(job_id)).await
    }

    async fn ping(&self) -> Result<(), BrokerError> {
        self.query::<String>(cmd("PING")).await.map(|_| ())
    }
}

/// NOGROUP: the stream or its group is gone (Redis lost its data, or the
/// queue expired after an hour without jobs).
fn is_missing_group(message: &str) -> bool {
    message.contains("NOGROUP")
}

fn decode<T: DeserializeOwned>(entry: &StreamId) -> Result<T, BrokerError> {
    let json: String = entry
        .get(FIELD)
        .ok_or_else(|| BrokerError::Protocol(format!("entry {} has no payload", entry.id)))?;
    Ok(serde_json::from_str(&json)?)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(millis)
        .unwrap_or(0)
}
