//! Redis-specific promises: a TTL on every key, and surviving Redis going
//! away and coming back (empty) without a restart of the broker.

use std::time::{Duration, Instant};

use codr_broker::testing::RedisServer;
use codr_broker::{
    Broker, BrokerError, Cursor, JobEvent, JobInput, JobSpec, Queue, RedisBroker, RedisOptions,
};
use codr_job::{Outcome, Status};

fn job(id: &str) -> JobSpec {
    JobSpec {
        job_id: id.to_owned(),
        language: "c".to_owned(),
        code: "int main(){}".to_owned(),
        args: Vec::new(),
        stdin: None,
        interactive: false,
        created_at_ms: 0,
        limits: Default::default(),
        language_version: Some("c11".to_owned()),
        files: Vec::new(),
        compile_limits: Default::default(),
    }
}

fn options() -> RedisOptions {
    RedisOptions {
        block: Duration::from_secs(2),
        ..RedisOptions::default()
    }
}

fn output(data: &str) -> JobEvent {
    JobEvent::Output {
        stream: codr_job::Stream::Stdout,
        data: data.to_owned(),
    }
}

async fn raw(server: &RedisServer) -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(server.url()).unwrap();
    client.get_multiplexed_async_connection().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_key_has_a_ttl() {
    let server = RedisServer::start();
    let broker = RedisBroker::connect(&server.url(), options())
        .await
        .unwrap();
    broker
        .heartbeat("w", Duration::from_secs(30))
        .await
        .unwrap();
    broker
        .heartbeat("gone", Duration::from_millis(300))
        .await
        .unwrap();
    broker.enqueue(&job("j1")).await.unwrap();
    broker.enqueue(&job("j2")).await.unwrap();
    let lease = broker
        .take("w", Queue::Batch, Duration::from_millis(100))
        .await
        .unwrap()
        .unwrap();
    let _orphan = broker
        .take("gone", Queue::Batch, Duration::from_millis(100))
        .await
        .unwrap()
        .unwrap();
    broker.publish("j1", &output("x")).await.unwrap();
    broker.send_input("j1", &JobInput::Kill).await.unwrap();
    broker
        .burn_token("t", Duration::from_secs(900))
        .await
        .unwrap();
    let outcome = Outcome {
        status: Status::Ok,
        exit_code: Some(0),
        signal: None,
        stdout: String::new(),
        stderr: String::new(),
        compile_output: None,
        wall_time_ms: 1,
        cpu_time_ms: 1,
        memory_bytes: 1,
        message: None,
    };
    broker.store_result("j1", &outcome).await.unwrap();
    broker.ack(&lease).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        broker.reap_orphans(Duration::from_secs(60)).await.unwrap(),
        vec!["j2"]
    );

    let mut conn = raw(&server).await;
    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut conn)
        .await
        .unwrap();
    keys.sort();
    let expected = [
        "codr:job:j1:events",
        "codr:job:j1:input",
        "codr:job:j2:events",
        "codr:jobs",
        "codr:jobs:live",
        "codr:result:j1",
        "codr:token:t",
        "codr:worker:w",
    ];
    assert_eq!(keys, expected, "every key is namespaced and known");
    for key in keys {
        let ttl: i64 = redis::cmd("PTTL")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!(ttl > 0, "{key} has no TTL ({ttl})");
        let limit = if key == "codr:worker:w" {
            30_000
        } else {
            3_600_000
        };
        assert!(ttl <= limit, "{key}: TTL {ttl} ms");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_fails_fast_without_redis() {
    let mut server = RedisServer::start();
    let url = server.url();
    server.stop();
    let started = Instant::now();
    let result = RedisBroker::connect(&url, options()).await;
    assert!(
        matches!(result, Err(BrokerError::Unavailable(_))),
        "{:?}",
        result.err()
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

/// Polls `ping` until Redis answers again; the time it took.
async fn until_back(broker: &RedisBroker) -> Duration {
    let started = Instant::now();
    while broker.ping().await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "never reconnected"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_a_redis_restart() {
    let mut server = RedisServer::start();
    let broker = std::sync::Arc::new(
        RedisBroker::connect(&server.url(), options())
            .await
            .unwrap(),
    );
    broker.enqueue(&job("before")).await.unwrap();
    let lease = broker
        .take("w", Queue::Batch, Duration::from_millis(200))
        .await
        .unwrap()
        .unwrap();
    broker.ack(&lease).await.unwrap();
    broker.publish("before", &output("x")).await.unwrap();
    // A blocking read in flight when Redis dies; pooled blocking connections.
    let reader = {
        let broker = broker.clone();
        tokio::spawn(async move {
            broker
                .read_events("nothing", &Cursor::start(), Duration::from_secs(2))
                .await
        })
    };
    let taker = {
        let broker = broker.clone();
        tokio::spawn(async move { broker.take("w", Queue::Batch, Duration::from_secs(2)).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;

    server.stop();
    let down = Instant::now();
    let read = reader.await.unwrap();
    assert!(matches!(read, Err(BrokerError::Unavailable(_))), "{read:?}");
    let take = taker.await.unwrap();
    assert!(matches!(take, Err(BrokerError::Unavailable(_))), "{take:?}");
    assert!(matches!(
        broker.ping().await,
        Err(BrokerError::Unavailable(_))
    ));
    assert!(matches!(
        broker.enqueue(&job("lost")).await,
        Err(BrokerError::Unavailable(_))
    ));
    let take = broker
        .take("w", Queue::Batch, Duration::from_millis(200))
        .await;
    assert!(matches!(take, Err(BrokerError::Unavailable(_))), "{take:?}");
    let read = broker
        .read_events("before", &Cursor::start(), Duration::from_millis(200))
        .await;
    assert!(matches!(read, Err(BrokerError::Unavailable(_))), "{read:?}");
    assert!(
        down.elapsed() < Duration::from_secs(10),
        "calls fail fast: {:?}",
        down.elapsed()
    );

    server.restart(); // empty: no queue, no group, no streams
    let took = until_back(&broker).await;
    eprintln!("reconnected {took:?} after restart");
    broker.enqueue(&job("after")).await.unwrap();
    assert_eq!(broker.queue_depth().await.unwrap(), 1);
    let lease = broker
        .take("w", Queue::Batch, Duration::from_secs(1))
        .await
        .unwrap()
        .expect("group recreated");
    assert_eq!(lease.job.job_id, "after");
    broker.ack(&lease).await.unwrap();
    broker.publish("after", &output("y")).await.unwrap();
    let events = broker
        .read_events("after", &Cursor::start(), Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert!(broker
        .burn_token("t", Duration::from_secs(60))
        .await
        .unwrap());
    assert!(broker
        .reap_orphans(Duration::from_secs(60))
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocked_worker_recovers_when_the_queue_vanishes() {
    let server = RedisServer::start();
    let broker = std::sync::Arc::new(
        RedisBroker::connect(&server.url(), options())
            .await
            .unwrap(),
    );
    let worker = {
        let broker = broker.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            loop {
                // Errors (the queue vanished under the block) are retried.
                if let Ok(Some(lease)) =
                    broker.take("w", Queue::Batch, Duration::from_secs(2)).await
                {
                    return lease;
                }
                assert!(
                    started.elapsed() < Duration::from_secs(15),
                    "job never arrived"
                );
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The queue key expires (or is flushed) while the worker is blocked on it.
    let mut conn = raw(&server).await;
    let _: () = redis::cmd("FLUSHALL").query_async(&mut conn).await.unwrap();
    broker.enqueue(&job("j")).await.unwrap();
    let lease = worker.await.unwrap();
    assert_eq!(lease.job.job_id, "j");
}
