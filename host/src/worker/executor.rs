//! What runs a plan: the sandbox, behind a small trait so the worker's logic
//! (streams, input, retries) does not depend on how a plan is executed.
use async_trait::async_trait;
use codr_sandbox::{Outcome, Plan};
use tokio::sync::mpsc;

/// Something the sandbox reports while a plan runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunEvent {
    /// A step started: `compiling`, `running`.
    Stage(String),
    /// Program output.
    Output {
        /// `stdout` or `stderr`.
        stream: String,
        /// The text.
        data: String,
    },
}

/// Something the client asks of a running plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunControl {
    /// Bytes for stdin.
    Input(String),
    /// Terminal size.
    Resize {
        /// Rows.
        rows: u16,
        /// Columns.
        cols: u16,
    },
    /// Stop now.
    Kill,
}

/// How a plan runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunMode {
    /// On a PTY, streaming output and taking input as it comes.
    Interactive,
    /// On pipes with the whole stdin given up front.
    Batch {
        /// Standard input.
        stdin: String,
    },
}

/// Runs plans.
#[async_trait]
pub trait Executor: Send + Sync + 'static {
    /// Runs `plan` to its end. Events go to `events` (dropped when done);
    /// `control` carries input, resizes and kills.
    async fn run(
        &self,
        plan: Plan,
        mode: RunMode,
        events: mpsc::Sender<RunEvent>,
        control: mpsc::Receiver<RunControl>,
    ) -> Outcome;
}
