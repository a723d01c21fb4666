//! The one way codr rides out a broker outage.
//!
//! Redis restarts, fails over or drops a connection now and then; the
//! broker reconnects by itself and callers see [`BrokerError::Unavailable`]
//! meanwhile. Every caller retries the same way: a pause of 100 ms that
//! doubles up to 2 s, for as long as its [`Outage`] policy allows. Any other
//! error is not an outage and is returned at once.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::BrokerError;

/// The first pause after a failed call.
const FIRST_PAUSE: Duration = Duration::from_millis(100);
/// The longest pause between two calls.
const MAX_PAUSE: Duration = Duration::from_secs(2);

/// How long a caller waits for the broker to come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outage {
    deadline: Option<Duration>,
}

impl Outage {
    /// The policy of every caller that serves a job: an outage of up to
    /// 30 s is ridden out (a Redis restart or failover takes a few seconds);
    /// a longer one fails the call.
    pub const DEFAULT: Outage = Outage::within(std::time::Duration::from_secs(30));

    /// Retries for at most `deadline` from the first failure.
    pub const fn within(deadline: Duration) -> Self {
        Outage {
            deadline: Some(deadline),
        }
    }

    /// Retries as long as it takes (loops that live as long as the process,
    /// or are cancelled from outside).
    pub const fn forever() -> Self {
        Outage { deadline: None }
    }

    /// A fresh [`Backoff`] under this policy, for a loop that calls the
    /// broker again and again.
    pub fn backoff(self) -> Backoff {
        Backoff {
            policy: self,
            since: None,
            pause: FIRST_PAUSE,
        }
    }

    /// Calls `op` until it succeeds, fails with something other than an
    /// outage, or the outage outlasts the policy (then its last error).
    pub async fn retry<T, F, Fut>(self, mut op: F) -> Result<T, BrokerError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, BrokerError>>,
    {
        let mut backoff = self.backoff();
        loop {
            match op().await {
                Ok(v) => return Ok(v),
                Err(e) => backoff.after(e).await?,
            }
        }
    }
}

/// The state of one caller's retries: when the outage began, and the next
/// pause.
#[derive(Debug)]
pub struct Backoff {
    policy: Outage,
    since: Option<Instant>,
    pause: Duration,
}

impl Backoff {
    /// A call succeeded: the outage, if any, is over.
    pub fn ok(&mut self) {
        self.since = None;
        self.pause = FIRST_PAUSE;
    }

    /// After a failed call: pauses and returns `Ok` when the caller should
    /// try again; gives `e` back when it is not an outage, or the outage has
    /// lasted longer than the policy allows.
    pub async fn after(&mut self, e: BrokerError) -> Result<(), BrokerError> {
        let since = *self.since.get_or_insert_with(Instant::now);
        let over = self.policy.deadline.is_some_and(|d| since.elapsed() >= d);
        if !matches!(e, BrokerError::Unavailable(_)) || over {
            return Err(e);
        }
        tracing::debug!(error = %e, pause_ms = self.pause.as_millis() as u64, "broker unavailable; retrying");
        self.pause().await;
        Ok(())
    }

    /// Waits the current pause and doubles the next (up to 2 s), whatever
    /// the error was: for loops that never give up.
    pub async fn pause(&mut self) {
        tokio::time::sleep(self.pause).await;
        self.pause = (self.pause * 2).min(MAX_PAUSE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn down() -> BrokerError {
        BrokerError::Unavailable("down".into())
    }

    #[tokio::test(start_paused = true)]
    async fn an_outage_is_ridden_out_until_the_broker_answers() {
        let calls = AtomicU32::new(0);
        let got = Outage::within(Duration::from_secs(30))
            .retry(|| async {
                match calls.fetch_add(1, Ordering::SeqCst) {
                    0..=4 => Err(down()),
                    _ => Ok(7),
                }
            })
            .await;
        assert_eq!(got.unwrap(), 7);
        assert_eq!(calls.load(Ordering::SeqCst), 6);
    }

    #[tokio::test(start_paused = true)]
    async fn other_errors_are_not_retried() {
        let calls = AtomicU32::new(0);
        let got: Result<(), _> = Outage::forever()
            .retry(|| async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(BrokerError::Invalid("bad".into()))
            })
            .await;
        assert!(matches!(got, Err(BrokerError::Invalid(_))));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn the_deadline_ends_a_long_outage_with_backoff() {
        let start = tokio::time::Instant::now();
        let calls = AtomicU32::new(0);
        let got: Result<(), _> = Outage::within(Duration::from_secs(10))
            .retry(|| async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(down())
            })
            .await;
        assert!(matches!(got, Err(BrokerError::Unavailable(_))));
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_secs(10) && waited < Duration::from_secs(13),
            "{waited:?}"
        );
        // 0.1 + 0.2 + 0.4 + 0.8 + 1.6 + 2 + 2 + 2 + 2 > 10: ten calls, not a hundred.
        assert_eq!(calls.load(Ordering::SeqCst), 10);
    }
}
