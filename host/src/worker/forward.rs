//! Sandbox events to the broker, with small output chunks coalesced: a PTY
//! hands out output a few bytes at a time, and one broker write per chunk
//! would flood Redis. Output is held at most [`COALESCE`] or until
//! [`MAX_CHUNK`] bytes, and always flushed before a stage change and at the end.
use std::sync::Arc;
use std::time::Duration;

use codr_broker::{Broker, JobEvent, Outage};
use codr_job::{Event, Stream};
use tokio::sync::mpsc;

use super::utf8::Utf8Streams;

/// Longest time output waits to be coalesced.
pub const COALESCE: Duration = Duration::from_millis(5);
/// Largest coalesced chunk, in bytes.
pub const MAX_CHUNK: usize = 32 * 1024;

/// Output waiting to be published.
struct Pending {
    stream: Stream,
    data: String,
}

/// Publishes every event from `rx` (output decoded to text and coalesced)
/// until `rx` closes.
pub async fn events(broker: Arc<dyn Broker>, job_id: String, mut rx: mpsc::Receiver<Event>) {
    let publish = |event: JobEvent| {
        let broker = broker.clone();
        let job_id = job_id.clone();
        async move { publish_retrying(broker.as_ref(), &job_id, &event).await }
    };
    let mut text = Utf8Streams::default();
    let mut pending: Option<Pending> = None;
    let mut deadline = tokio::time::Instant::now();
    loop {
        let next = match &pending {
            None => rx.recv().await,
            Some(_) => match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(next) => next,
                Err(_) => {
                    flush(&mut pending, &publish).await;
                    continue;
                }
            },
        };
        match next {
            None => {
                flush(&mut pending, &publish).await;
                for (stream, data) in text.finish() {
                    publish(JobEvent::Output { stream, data }).await;
                }
                return;
            }
            Some(Event::Stage(stage)) => {
                flush(&mut pending, &publish).await;
                publish(JobEvent::Stage { stage }).await;
            }
            // After the output it follows: the client sees the prompt first.
            Some(Event::InputRequired) => {
                flush(&mut pending, &publish).await;
                publish(JobEvent::InputRequired).await;
            }
            Some(Event::Output { stream, data }) => {
                let data = text.decode(stream, &data);
                if data.is_empty() {
                    continue;
                }
                match &mut pending {
                    Some(p) if p.stream == stream && p.data.len() + data.len() <= MAX_CHUNK => {
                        p.data.push_str(&data);
                    }
                    _ => {
                        flush(&mut pending, &publish).await;
                        deadline = tokio::time::Instant::now() + COALESCE;
                        pending = Some(Pending { stream, data });
                    }
                }
            }
        }
    }
}

async fn flush<F, Fut>(pending: &mut Option<Pending>, publish: &F)
where
    F: Fn(JobEvent) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    if let Some(Pending { stream, data }) = pending.take() {
        publish(JobEvent::Output { stream, data }).await;
    }
}

/// Publishes one event, riding out a broker outage ([`Outage::DEFAULT`]).
async fn publish_retrying(broker: &dyn Broker, job_id: &str, event: &JobEvent) {
    if let Err(e) = Outage::DEFAULT
        .retry(|| broker.publish(job_id, event))
        .await
    {
        tracing::warn!(job_id, error = %e, "dropping a job event");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use codr_broker::{Cursor, MemoryBroker};

    #[tokio::test]
    async fn small_chunks_are_coalesced_and_order_kept() {
        let broker: Arc<dyn Broker> = Arc::new(MemoryBroker::new(Duration::from_secs(60)));
        let (tx, rx) = mpsc::channel(256);
        let task = tokio::spawn(events(broker.clone(), "j".into(), rx));
        tx.send(Event::Stage(codr_job::Stage::Running))
            .await
            .unwrap();
        for i in 0..100 {
            let data = format!("{i} ").into_bytes();
            tx.send(Event::Output {
                stream: Stream::Stdout,
                data,
            })
            .await
            .unwrap();
        }
        drop(tx);
        task.await.unwrap();
        let got = broker
            .read_events("j", &Cursor::start(), Duration::from_millis(10))
            .await
            .unwrap();
        assert!(matches!(&got[0].1, JobEvent::Stage { stage } if stage.as_str() == "running"));
        assert!(got.len() < 10, "{} events for 100 chunks", got.len());
        let text: String = got[1..]
            .iter()
            .map(|(_, e)| match e {
                JobEvent::Output { data, .. } => data.clone(),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        let want: String = (0..100).map(|i| format!("{i} ")).collect();
        assert_eq!(text, want);
    }
}
