//! One behavioural suite, run against both brokers: in process, and Redis
//! (a real `redis-server` per test, from `codr_broker::testing`).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use codr_broker::testing::RedisServer;
use codr_broker::{
    Broker, BrokerError, Cursor, JobEvent, JobInput, JobSpec, MemoryBroker, Queue, RedisBroker,
    RedisOptions, ORPHAN_MESSAGE,
};
use codr_job::{Outcome, Status};

const TTL: Duration = Duration::from_secs(3600);
const SHORT: Duration = Duration::from_millis(200);

fn job(id: &str) -> JobSpec {
    JobSpec {
        job_id: id.to_owned(),
        language: "python".to_owned(),
        code: format!("print('{id}')"),
        args: vec!["a b".to_owned()],
        stdin: Some("x\n".to_owned()),
        interactive: true,
        created_at_ms: 1_700_000_000_000,
        limits: Default::default(),
        language_version: None,
        files: Vec::new(),
        compile_limits: Default::default(),
    }
}

fn outcome() -> Outcome {
    Outcome {
        status: Status::Ok,
        exit_code: Some(0),
        signal: None,
        stdout: "hi\n".to_owned(),
        stderr: String::new(),
        compile_output: None,
        wall_time_ms: 41,
        cpu_time_ms: 12,
        memory_bytes: 9_000_000,
        message: None,
    }
}

fn output(data: &str) -> JobEvent {
    JobEvent::Output {
        stream: codr_job::Stream::Stdout,
        data: data.to_owned(),
    }
}

fn redis_options() -> RedisOptions {
    RedisOptions {
        block: Duration::from_secs(2),
        ..RedisOptions::default()
    }
}

async fn redis_broker(server: &RedisServer) -> RedisBroker {
    RedisBroker::connect(&server.url(), redis_options())
        .await
        .expect("connect to the test redis")
}

/// Runs one behaviour against both brokers.
macro_rules! both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn memory() {
                super::$name(Arc::new(MemoryBroker::new(TTL))).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn redis() {
                let server = RedisServer::start();
                super::$name(Arc::new(redis_broker(&server).await)).await;
            }
        }
    )*};
}

both!(
    enqueue_take_ack,
    take_waits_for_a_job,
    two_workers_never_get_the_same_job,
    late_reader_gets_every_event,
    input_sent_before_the_reader_arrives,
    blocking_read_wakes_on_publish,
    token_burns_once,
    orphan_of_a_dead_worker_is_failed_once,
    job_pending_too_long_is_failed,
    a_kept_session_is_not_stuck,
    batch_and_live_queues_are_apart,
    results_are_stored,
    records_are_kept_apart_from_results,
    liveness_and_ping,
    a_megabyte_of_output_arrives_whole,
);

async fn enqueue_take_ack(broker: Arc<dyn Broker>) {
    assert_eq!(broker.queue_depth().await.unwrap(), 0);
    assert!(broker
        .take("w", Queue::Live, Duration::ZERO)
        .await
        .unwrap()
        .is_none());
    broker.enqueue(&job("a")).await.unwrap();
    broker.enqueue(&job("b")).await.unwrap();
    assert_eq!(broker.queue_depth().await.unwrap(), 2);

    let a = broker
        .take("w", Queue::Live, SHORT)
        .await
        .unwrap()
        .expect("job a");
    assert_eq!(a.job, job("a"), "the job comes back as queued");
    assert_eq!(a.worker_id, "w");
    assert_eq!(
        broker.queue_depth().await.unwrap(),
        1,
        "taken is not queued"
    );
    let b = broker
        .take("w", Queue::Live, Duration::ZERO)
        .await
        .unwrap()
        .expect("job b");
    assert_eq!(b.job.job_id, "b", "first in, first out");
    assert_ne!(a.delivery_id, b.delivery_id);

    broker.ack(&a).await.unwrap();
    broker.ack(&b).await.unwrap();
    broker.ack(&b).await.unwrap();
    assert!(broker
        .take("w", Queue::Live, SHORT)
        .await
        .unwrap()
        .is_none());
    assert_eq!(broker.queue_depth().await.unwrap(), 0);
    assert!(
        broker
            .reap_orphans(Duration::ZERO)
            .await
            .unwrap()
            .is_empty(),
        "acked is done"
    );
}

async fn take_waits_for_a_job(broker: Arc<dyn Broker>) {
    let started = Instant::now();
    assert!(broker
        .take("w", Queue::Live, SHORT)
        .await
        .unwrap()
        .is_none());
    assert!(
        started.elapsed() >= SHORT - Duration::from_millis(20),
        "take waited"
    );

    let waiter = {
        let broker = broker.clone();
        tokio::spawn(async move { broker.take("w", Queue::Live, Duration::from_secs(10)).await })
    };
    tokio::time::sleep(SHORT).await;
    let enqueued = Instant::now();
    broker.enqueue(&job("late")).await.unwrap();
    let lease = waiter
        .await
        .unwrap()
        .unwrap()
        .expect("the waiting worker gets it");
    assert_eq!(lease.job.job_id, "late");
    assert!(
        enqueued.elapsed() < Duration::from_secs(1),
        "woken at once, not polled"
    );
}

async fn two_workers_never_get_the_same_job(broker: Arc<dyn Broker>) {
    const JOBS: usize = 60;
    let workers: Vec<_> = ["w1", "w2", "w3"]
        .into_iter()
        .map(|w| {
            let broker = broker.clone();
            tokio::spawn(async move {
                let mut got = Vec::new();
                while let Some(lease) = broker
                    .take(w, Queue::Live, Duration::from_millis(700))
                    .await
                    .unwrap()
                {
                    got.push(lease.job.job_id.clone());
                    broker.ack(&lease).await.unwrap();
                }
                got
            })
        })
        .collect();
    for i in 0..JOBS {
        broker.enqueue(&job(&format!("j{i}"))).await.unwrap();
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap());
    }
    let unique: HashSet<_> = all.iter().cloned().collect();
    assert_eq!(all.len(), JOBS, "every job taken exactly once: {all:?}");
    assert_eq!(unique.len(), JOBS);
}

async fn late_reader_gets_every_event(broker: Arc<dyn Broker>) {
    let events = vec![
        JobEvent::Stage {
            stage: codr_job::Stage::Running,
        },
        output("hello\r\n"),
        output("ünïcode ✓\n"),
        JobEvent::Complete { outcome: outcome() },
    ];
    for e in &events {
        broker.publish("j1", e).await.unwrap();
    }
    let read = broker
        .read_events("j1", &Cursor::start(), SHORT)
        .await
        .unwrap();
    let got: Vec<_> = read.iter().map(|(_, e)| e.clone()).collect();
    assert_eq!(got, events, "all, in order, from the start");
    assert!(got.last().unwrap().is_terminal());

    // Resume after any cursor: the rest, and nothing after the last one.
    let (second, _) = &read[1];
    let rest = broker.read_events("j1", second, SHORT).await.unwrap();
    assert_eq!(rest.len(), 2);
    assert_eq!(rest[0].1, events[2]);
    let resumed = Cursor::parse(read[3].0.as_str()).unwrap();
    assert!(broker
        .read_events("j1", &resumed, SHORT)
        .await
        .unwrap()
        .is_empty());
    // Streams are per job.
    assert!(broker
        .read_events("j2", &Cursor::start(), Duration::ZERO)
        .await
        .unwrap()
        .is_empty());
    assert!(broker
        .read_input("j1", &Cursor::start(), Duration::ZERO)
        .await
        .unwrap()
        .is_empty());
}

async fn input_sent_before_the_reader_arrives(broker: Arc<dyn Broker>) {
    let inputs = vec![
        JobInput::Data {
            data: "42\n".to_owned(),
        },
        JobInput::Resize {
            rows: 40,
            cols: 120,
        },
        JobInput::Kill,
    ];
    for i in &inputs {
        broker.send_input("j", i).await.unwrap();
    }
    let read = broker
        .read_input("j", &Cursor::start(), SHORT)
        .await
        .unwrap();
    let got: Vec<_> = read.into_iter().map(|(_, i)| i).collect();
    assert_eq!(got, inputs);
}

async fn blocking_read_wakes_on_publish(broker: Arc<dyn Broker>) {
    broker.publish("j", &output("first")).await.unwrap();
    let first = broker
        .read_events("j", &Cursor::start(), SHORT)
        .await
        .unwrap();
    let after = first[0].0.clone();

    let started = Instant::now();
    assert!(broker
        .read_events("j", &after, SHORT)
        .await
        .unwrap()
        .is_empty());
    assert!(
        started.elapsed() >= SHORT - Duration::from_millis(20),
        "the read waited"
    );

    let events = {
        let (broker, after) = (broker.clone(), after.clone());
        tokio::spawn(async move {
            broker
                .read_events("j", &after, Duration::from_secs(10))
                .await
        })
    };
    let input = {
        let broker = broker.clone();
        tokio::spawn(async move {
            broker
                .read_input("j", &Cursor::start(), Duration::from_secs(10))
                .await
        })
    };
    tokio::time::sleep(SHORT).await;
    let sent = Instant::now();
    broker.publish("j", &output("second")).await.unwrap();
    broker.send_input("j", &JobInput::Kill).await.unwrap();
    let got = events.await.unwrap().unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1, output("second"));
    assert_eq!(input.await.unwrap().unwrap()[0].1, JobInput::Kill);
    assert!(
        sent.elapsed() < Duration::from_secs(1),
        "woken at once, not polled"
    );
}

async fn token_burns_once(broker: Arc<dyn Broker>) {
    let ttl = Duration::from_millis(600);
    assert!(broker.burn_token("jti-1", ttl).await.unwrap());
    assert!(
        !broker.burn_token("jti-1", ttl).await.unwrap(),
        "second use refused"
    );
    assert!(
        broker.burn_token("jti-2", ttl).await.unwrap(),
        "tokens are independent"
    );

    // Concurrent burns of one token: exactly one wins.
    let burns: Vec<_> = (0..8)
        .map(|_| {
            let broker = broker.clone();
            tokio::spawn(async move { broker.burn_token("jti-3", TTL).await.unwrap() })
        })
        .collect();
    let mut wins = 0;
    for b in burns {
        wins += usize::from(b.await.unwrap());
    }
    assert_eq!(wins, 1);

    tokio::time::sleep(ttl + Duration::from_millis(500)).await;
    assert!(
        broker.burn_token("jti-1", ttl).await.unwrap(),
        "forgotten after its TTL"
    );
}

async fn orphan_of_a_dead_worker_is_failed_once(broker: Arc<dyn Broker>) {
    broker
        .heartbeat("dying", Duration::from_millis(500))
        .await
        .unwrap();
    broker
        .heartbeat("alive", Duration::from_secs(60))
        .await
        .unwrap();
    broker.enqueue(&job("j-dying")).await.unwrap();
    broker.enqueue(&job("j-alive")).await.unwrap();
    let dying = broker
        .take("dying", Queue::Live, SHORT)
        .await
        .unwrap()
        .unwrap();
    let alive = broker
        .take("alive", Queue::Live, SHORT)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(dying.job.job_id, "j-dying");
    let max_idle = Duration::from_secs(60);
    assert!(
        broker.reap_orphans(max_idle).await.unwrap().is_empty(),
        "both workers alive"
    );

    // The heartbeat expires; two reapers (two gateways) run at once.
    tokio::time::sleep(Duration::from_millis(1700)).await;
    assert_eq!(
        broker.live_workers().await.unwrap(),
        vec!["alive".to_owned()]
    );
    let (r1, r2) = tokio::join!(broker.reap_orphans(max_idle), broker.reap_orphans(max_idle));
    let mut reaped = r1.unwrap();
    reaped.extend(r2.unwrap());
    assert_eq!(reaped, vec!["j-dying".to_owned()], "reported exactly once");

    let events = broker
        .read_events("j-dying", &Cursor::start(), SHORT)
        .await
        .unwrap();
    let messages: Vec<_> = events.into_iter().map(|(_, e)| e).collect();
    let expected = JobEvent::Error {
        message: ORPHAN_MESSAGE.to_owned(),
    };
    assert_eq!(messages, vec![expected], "the client hears of it once");

    assert!(
        broker
            .take("alive", Queue::Live, SHORT)
            .await
            .unwrap()
            .is_none(),
        "never handed out again"
    );
    assert!(broker.reap_orphans(max_idle).await.unwrap().is_empty());
    broker.ack(&dying).await.unwrap(); // a late ack is harmless
    broker.ack(&alive).await.unwrap();
    assert!(broker
        .read_events("j-alive", &Cursor::start(), Duration::ZERO)
        .await
        .unwrap()
        .is_empty());
}

async fn job_pending_too_long_is_failed(broker: Arc<dyn Broker>) {
    broker
        .heartbeat("stuck", Duration::from_secs(60))
        .await
        .unwrap();
    broker.enqueue(&job("j")).await.unwrap();
    let _lease = broker
        .take("stuck", Queue::Live, SHORT)
        .await
        .unwrap()
        .unwrap();
    let max_idle = Duration::from_millis(500);
    assert!(broker.reap_orphans(max_idle).await.unwrap().is_empty());
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        broker.reap_orphans(max_idle).await.unwrap(),
        vec!["j".to_owned()]
    );
    assert_eq!(broker.queue_depth().await.unwrap(), 0);
}

async fn a_kept_session_is_not_stuck(broker: Arc<dyn Broker>) {
    broker
        .heartbeat("slow", Duration::from_secs(60))
        .await
        .unwrap();
    broker.enqueue(&job("s")).await.unwrap();
    let lease = broker
        .take("slow", Queue::Live, SHORT)
        .await
        .unwrap()
        .unwrap();
    let max_idle = Duration::from_millis(600);
    // Kept every 300 ms for 1.5 s: never idle for max_idle.
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        broker.keep(&lease).await.unwrap();
        assert!(broker.reap_orphans(max_idle).await.unwrap().is_empty());
    }
    // No longer kept: stuck.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        broker.reap_orphans(max_idle).await.unwrap(),
        vec!["s".to_owned()]
    );
    // Keeping what was reaped is harmless.
    broker.keep(&lease).await.unwrap();
}

async fn batch_and_live_queues_are_apart(broker: Arc<dyn Broker>) {
    let mut batch = job("batch");
    batch.interactive = false;
    broker.enqueue(&batch).await.unwrap();
    broker.enqueue(&job("live")).await.unwrap();
    assert_eq!(broker.queue_depth().await.unwrap(), 2);
    // A worker with no room for batch jobs still gets the session, which
    // was queued after the batch job.
    let live = broker.take("w", Queue::Live, SHORT).await.unwrap().unwrap();
    assert_eq!(
        (live.job.job_id.as_str(), live.queue),
        ("live", Queue::Live)
    );
    assert!(broker
        .take("w", Queue::Live, SHORT)
        .await
        .unwrap()
        .is_none());
    let b = broker
        .take("w", Queue::Batch, SHORT)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((b.job.job_id.as_str(), b.queue), ("batch", Queue::Batch));
    broker.ack(&live).await.unwrap();
    broker.ack(&b).await.unwrap();
    assert_eq!(broker.queue_depth().await.unwrap(), 0);
    assert!(broker
        .reap_orphans(Duration::ZERO)
        .await
        .unwrap()
        .is_empty());
}

async fn results_are_stored(broker: Arc<dyn Broker>) {
    assert_eq!(broker.get_result("r").await.unwrap(), None);
    broker.store_result("r", &outcome()).await.unwrap();
    assert_eq!(broker.get_result("r").await.unwrap(), Some(outcome()));
    assert_eq!(broker.get_result("other").await.unwrap(), None);
}

async fn records_are_kept_apart_from_results(broker: Arc<dyn Broker>) {
    assert_eq!(broker.get_record("r").await.unwrap(), None);
    broker.store_record("r", r#"{"a":1}"#).await.unwrap();
    broker.store_record("r", r#"{"a":2}"#).await.unwrap();
    assert_eq!(
        broker.get_record("r").await.unwrap().as_deref(),
        Some(r#"{"a":2}"#)
    );
    // A record is not an outcome, and an outcome does not replace it.
    assert_eq!(broker.get_result("r").await.unwrap(), None);
    broker.store_result("r", &outcome()).await.unwrap();
    assert_eq!(
        broker.get_record("r").await.unwrap().as_deref(),
        Some(r#"{"a":2}"#)
    );
    assert_eq!(broker.get_record("other").await.unwrap(), None);
}

async fn liveness_and_ping(broker: Arc<dyn Broker>) {
    broker.ping().await.unwrap();
    assert!(broker.live_workers().await.unwrap().is_empty());
    broker
        .heartbeat("b", Duration::from_millis(300))
        .await
        .unwrap();
    broker
        .heartbeat("a", Duration::from_secs(60))
        .await
        .unwrap();
    broker
        .heartbeat("a", Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(broker.live_workers().await.unwrap(), vec!["a", "b"]);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(broker.live_workers().await.unwrap(), vec!["a"]);
}

async fn a_megabyte_of_output_arrives_whole(broker: Arc<dyn Broker>) {
    // The output cap is 1 MB; as 2048 chunks of 512 bytes it spans several
    // read batches and must come back complete and in order.
    const CHUNKS: usize = 2048;
    for i in 0..CHUNKS {
        let chunk = format!("{i:>8}").repeat(64);
        broker.publish("big", &output(&chunk)).await.unwrap();
    }
    let (mut cursor, mut got) = (Cursor::start(), 0usize);
    loop {
        let batch = broker.read_events("big", &cursor, SHORT).await.unwrap();
        let Some((last, _)) = batch.last() else { break };
        cursor = last.clone();
        for (_, event) in batch {
            assert_eq!(
                event,
                output(&format!("{got:>8}").repeat(64)),
                "chunk {got}"
            );
            got += 1;
        }
    }
    assert_eq!(got, CHUNKS);
}

// ---- Memory only ----

#[tokio::test]
async fn memory_forgets_after_the_ttl() {
    let broker = MemoryBroker::new(Duration::from_millis(300));
    broker.publish("j", &output("x")).await.unwrap();
    broker.store_result("j", &outcome()).await.unwrap();
    broker.store_record("j", "{}").await.unwrap();
    tokio::time::sleep(Duration::from_millis(1400)).await;
    assert_eq!(broker.get_record("j").await.unwrap(), None);
    assert!(broker
        .read_events("j", &Cursor::start(), Duration::ZERO)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(broker.get_result("j").await.unwrap(), None);
}

#[tokio::test]
async fn malformed_cursors_are_refused() {
    assert!(matches!(Cursor::parse("$"), Err(BrokerError::Invalid(_))));
    let broker = MemoryBroker::new(TTL);
    let foreign = Cursor::parse("1700000000000-0").unwrap();
    let read = broker.read_events("j", &foreign, Duration::ZERO).await;
    assert!(matches!(read, Err(BrokerError::Invalid(_))));
}
