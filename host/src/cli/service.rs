//! What `serve`, `gateway` and `worker` share: connecting the broker,
//! starting a gateway or a worker, and the shutdown signal.
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use codr_broker::{Broker, MemoryBroker, RedisBroker, RedisOptions};
use tokio::sync::watch;

use crate::api::{self, AppState};
use crate::config::{ApiArgs, BrokerArgs, WorkerArgs};
use crate::languages::SharedLanguages;
use crate::worker::Worker;

/// The broker: Redis when a URL is given, else in process (only where
/// `allow_memory`; gateway and worker need a shared Redis).
pub async fn connect_broker(
    args: &BrokerArgs,
    allow_memory: bool,
) -> anyhow::Result<Arc<dyn Broker>> {
    match &args.redis_url {
        Some(url) => {
            let options = RedisOptions {
                ttl: args.job_ttl,
                ..RedisOptions::default()
            };
            let broker = RedisBroker::connect(url, options)
                .await
                .with_context(|| format!("cannot connect to Redis at {}", redact(url)))?;
            tracing::info!(url = %redact(url), "using the Redis broker");
            Ok(Arc::new(broker))
        }
        None if allow_memory => Ok(Arc::new(MemoryBroker::new(args.job_ttl))),
        None => anyhow::bail!(
            "a Redis URL is required here: pass --redis redis://HOST:6379 or set CODR_REDIS_URL"
        ),
    }
}

/// A Redis URL without its password, for logs.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***{}", &url[..scheme], &url[at..])
        }
        _ => url.to_string(),
    }
}

/// A gateway ready to serve: listening, with its state built and the
/// orphan reaper started.
pub struct Gateway {
    /// The bound listener.
    pub listener: tokio::net::TcpListener,
    /// Where it listens (the port resolved when `--listen` asked for 0).
    pub addr: SocketAddr,
    /// The API's shared state.
    pub state: Arc<AppState>,
}

/// Binds `api.listen` and builds the API over `broker` and `languages`,
/// accepting `keys` and signing job tokens with `secret`; starts the reaper
/// that fails jobs whose worker died.
pub async fn gateway(
    api: &ApiArgs,
    keys: &[String],
    secret: &str,
    broker: Arc<dyn Broker>,
    languages: SharedLanguages,
) -> anyhow::Result<Gateway> {
    let listener = tokio::net::TcpListener::bind(api.listen)
        .await
        .with_context(|| format!("cannot listen on {}", api.listen))?;
    let addr = listener.local_addr()?;
    let state = Arc::new(AppState::new(
        api.clone(),
        keys,
        secret,
        broker.clone(),
        languages,
    ));
    tokio::spawn(api::reaper(broker, api.reap_interval, api.job_stuck_after));
    Ok(Gateway {
        listener,
        addr,
        state,
    })
}

impl Gateway {
    /// Says the gateway is up (as `role`, with the generated `key` if any,
    /// and the playground's address unless it is off), then serves the API
    /// until `shutdown` turns true.
    pub async fn serve(
        self,
        role: &str,
        args: &ApiArgs,
        key: Option<&str>,
        shutdown: watch::Receiver<bool>,
    ) -> std::io::Result<()> {
        super::serve::announce(role, self.addr, key, args.piston_open);
        if !args.no_playground {
            api::playground::announce(self.addr, key);
        }
        api::serve(self.listener, self.state, until_true(shutdown)).await
    }
}

/// A worker over `broker`, running jobs in the Firejail sandbox its
/// arguments configure (the machine is checked here).
pub fn worker(
    args: WorkerArgs,
    broker: Arc<dyn Broker>,
    languages: SharedLanguages,
) -> anyhow::Result<Arc<Worker>> {
    let sandbox = Arc::new(codr_sandbox::Sandbox::new(args.sandbox.config())?);
    Ok(Worker::new(args, broker, languages, sandbox))
}

/// A channel that turns true on SIGTERM or ctrl-c.
pub fn shutdown_signal() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down: no new jobs, draining running ones");
        let _ = tx.send(true);
    });
    rx
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Resolves when `rx` turns true.
pub async fn until_true(mut rx: watch::Receiver<bool>) {
    while !*rx.borrow() {
        if rx.changed().await.is_err() {
            // The sender is gone: nobody will ever ask us to stop.
            std::future::pending::<()>().await;
        }
    }
}

/// Waits (bounded) for open WebSocket sessions to finish.
pub async fn wait_for_sessions(limit: Duration) {
    let start = tokio::time::Instant::now();
    while crate::api::ws::open_sessions() > 0 && start.elapsed() < limit {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_stay_out_of_logs() {
        assert_eq!(redact("redis://:pw@host:6379/0"), "redis://***@host:6379/0");
        assert_eq!(redact("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
    }
}
