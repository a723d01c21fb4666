//! Connections and errors: the pool of connections for blocking reads, and
//! which Redis errors mean "unavailable, try again" for the broker.

use std::sync::Mutex;

use redis::aio::MultiplexedConnection;
use redis::{
    AsyncConnectionConfig, Client, Cmd, ErrorKind, FromRedisValue, RedisError, ServerErrorKind,
};

use super::{RedisOptions, BLOCK_MARGIN};
use crate::BrokerError;

/// Connections for blocking commands: one per concurrent blocking read, kept
/// for reuse, each with a response timeout longer than the longest block.
pub(super) struct BlockingPool {
    client: Client,
    config: AsyncConnectionConfig,
    idle: Mutex<Vec<MultiplexedConnection>>,
    max_idle: usize,
}

impl BlockingPool {
    pub(super) fn new(client: Client, options: &RedisOptions) -> Self {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(options.connect_timeout))
            .set_response_timeout(Some(options.block + BLOCK_MARGIN));
        BlockingPool {
            client,
            config,
            idle: Mutex::new(Vec::new()),
            max_idle: options.max_idle_blocking,
        }
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<MultiplexedConnection>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn connect(&self) -> redis::RedisResult<MultiplexedConnection> {
        self.client
            .get_multiplexed_async_connection_with_config(&self.config)
            .await
    }

    fn put_back(&self, conn: MultiplexedConnection) {
        let mut idle = self.idle();
        if idle.len() < self.max_idle {
            idle.push(conn);
        }
    }

    /// Runs `command` on a connection of its own. A pooled connection that
    /// turns out dead (Redis restarted) is replaced once by a fresh one.
    pub(super) async fn query<T: FromRedisValue>(&self, command: &Cmd) -> redis::RedisResult<T> {
        let pooled = self.idle().pop();
        if let Some(mut conn) = pooled {
            match command.query_async(&mut conn).await {
                Err(e) if is_connection_error(&e) => self.idle().clear(),
                other => {
                    self.put_back(conn);
                    return other;
                }
            }
        }
        let mut conn = self.connect().await?;
        let result = command.query_async(&mut conn).await;
        if !matches!(&result, Err(e) if is_connection_error(e)) {
            self.put_back(conn);
        }
        result
    }
}

/// Errors after which a connection is not worth keeping.
pub(super) fn is_connection_error(e: &RedisError) -> bool {
    e.is_io_error() || e.is_connection_dropped() || e.is_timeout() || e.is_unrecoverable_error()
}

/// Redis errors as broker errors: connection trouble is `Unavailable`.
pub(super) fn map_err(e: RedisError) -> BrokerError {
    let transient = matches!(
        e.kind(),
        ErrorKind::Server(
            ServerErrorKind::BusyLoading
                | ServerErrorKind::MasterDown
                | ServerErrorKind::TryAgain
                | ServerErrorKind::ClusterDown
                | ServerErrorKind::ReadOnly
        )
    );
    if transient || is_connection_error(&e) || e.is_connection_refusal() {
        BrokerError::Unavailable(e.to_string())
    } else {
        BrokerError::Protocol(e.to_string())
    }
}
