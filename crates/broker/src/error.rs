//! What can go wrong talking to the broker.

/// A broker failure.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// The backing store cannot be reached right now (Redis down, timeout).
    /// Retry later: the broker reconnects by itself.
    #[error("broker unavailable: {0}")]
    Unavailable(String),
    /// The backing store answered something unexpected, or an entry could not
    /// be decoded.
    #[error("broker protocol error: {0}")]
    Protocol(String),
    /// The caller passed something unusable (a malformed cursor).
    #[error("invalid broker request: {0}")]
    Invalid(String),
}

impl From<serde_json::Error> for BrokerError {
    fn from(e: serde_json::Error) -> Self {
        BrokerError::Protocol(format!("bad JSON: {e}"))
    }
}
