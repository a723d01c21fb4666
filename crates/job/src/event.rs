//! What a running job reports, and what its client may send it.

use serde::{Deserialize, Serialize};

/// Which stream a chunk of output came from. Its wire name is
/// `"stdout"`, `"stderr"` or `"compile"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    /// The program's output (on a PTY, stdout and stderr are one stream).
    Stdout,
    /// Standard error (pipes only).
    Stderr,
    /// The compiler's output (stdout and stderr of the compile step).
    Compile,
}

impl Stream {
    /// The wire name: `"stdout"`, `"stderr"`, `"compile"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
            Stream::Compile => "compile",
        }
    }
}

/// The stage a job has reached. Its wire name is `"compiling"` or
/// `"running"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Accepted and waiting for a worker (set by gateways, never by the
    /// sandbox).
    Queued,
    /// The compile step started.
    Compiling,
    /// The run step started.
    Running,
}

impl Stage {
    /// The wire name: `"queued"`, `"compiling"`, `"running"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Queued => "queued",
            Stage::Compiling => "compiling",
            Stage::Running => "running",
        }
    }
}

/// What an interactive run reports as it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A stage started.
    Stage(Stage),
    /// A chunk of output, as it came.
    Output {
        /// Where it came from.
        stream: Stream,
        /// The bytes (not necessarily valid UTF-8 on its own).
        data: Vec<u8>,
    },
    /// The program is blocked reading its terminal, and everything it wrote
    /// has been sent: it waits for its user (once per wait).
    InputRequired,
}

/// What the client may send to an interactive run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// Bytes typed into the terminal.
    Input(Vec<u8>),
    /// A new window size.
    Resize {
        /// Rows.
        rows: u16,
        /// Columns.
        cols: u16,
    },
    /// Stop the job now (the Outcome is `runtime_error`, message `"killed"`).
    Kill,
}
