//! The messages that travel through the broker.

use std::fmt;

use serde::{Deserialize, Serialize};

use codr_job::{ExtraFile, Stage, Stream};

use crate::BrokerError;

/// A job as queued.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct JobSpec {
    /// Unique id, also the name of the job's streams.
    pub job_id: String,
    /// Language name or alias, as the client sent it.
    pub language: String,
    /// The source code.
    pub code: String,
    /// Command-line arguments for the program.
    pub args: Vec<String>,
    /// Whole standard input (batch runs).
    pub stdin: Option<String>,
    /// Run on a PTY and stream input and output.
    pub interactive: bool,
    /// When the job was created, in ms since the Unix epoch.
    pub created_at_ms: u64,
    /// The client's requested limits (capped by the deployment).
    #[serde(default)]
    pub limits: codr_job::LimitOverrides,
    /// A specific version of the language, where several are installed.
    #[serde(default)]
    pub language_version: Option<String>,
    /// Files written beside the plugin's main file (Piston's `files[1..]`);
    /// empty for single-file jobs, and then left out of the JSON.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<ExtraFile>,
    /// The client's requested limits for the compile step (capped by the
    /// deployment); ignored for languages without one.
    #[serde(default, skip_serializing_if = "is_default")]
    pub compile_limits: codr_job::LimitOverrides,
}

fn is_default(l: &codr_job::LimitOverrides) -> bool {
    *l == codr_job::LimitOverrides::default()
}

/// What the worker tells the client (close to the WebSocket protocol).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum JobEvent {
    /// A step started: `"compiling"`, `"running"`.
    Stage {
        /// The stage (`"queued"` is set by the gateway).
        stage: Stage,
    },
    /// Program output.
    Output {
        /// `"stdout"`, `"stderr"` or `"compile"`.
        stream: Stream,
        /// The text.
        data: String,
    },
    /// The program waits for its user: blocked reading its terminal, with
    /// everything it wrote already sent (interactive jobs, once per wait).
    InputRequired,
    /// The job finished (the last event).
    Complete {
        /// How it ended.
        outcome: codr_job::Outcome,
    },
    /// The job failed outside the program (the last event).
    Error {
        /// What went wrong, for the client.
        message: String,
    },
}

impl JobEvent {
    /// True for the events that end a job's stream (`Complete`, `Error`).
    pub fn is_terminal(&self) -> bool {
        matches!(self, JobEvent::Complete { .. } | JobEvent::Error { .. })
    }
}

/// What the client sends to the running job.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum JobInput {
    /// Bytes for the program's standard input.
    Data {
        /// The text.
        data: String,
    },
    /// The client's terminal changed size.
    Resize {
        /// Rows.
        rows: u16,
        /// Columns.
        cols: u16,
    },
    /// Stop the job now.
    Kill,
}

/// A position in a job's stream: `<u64>-<u64>`, as Redis stream ids are.
/// [`Cursor::start`] reads from the beginning.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cursor(String);

impl Cursor {
    /// Before the first entry.
    pub fn start() -> Self {
        Cursor("0-0".to_owned())
    }

    /// Parses a cursor given back by a client (`"1700000000000-3"`).
    pub fn parse(text: &str) -> Result<Self, BrokerError> {
        split_id(text)
            .map(|_| Cursor(text.to_owned()))
            .ok_or_else(|| BrokerError::Invalid(format!("malformed cursor {text:?}")))
    }

    /// The cursor's text, to hand to a client.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The two numbers of a cursor; `(0, 0)` for a malformed one, which only
    /// `Deserialize` can build.
    pub(crate) fn parts(&self) -> (u64, u64) {
        split_id(&self.0).unwrap_or((0, 0))
    }

    /// A cursor from a Redis stream id (already well-formed).
    pub(crate) fn from_id(id: String) -> Self {
        Cursor(id)
    }
}

impl Default for Cursor {
    fn default() -> Self {
        Cursor::start()
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn split_id(text: &str) -> Option<(u64, u64)> {
    let (ms, seq) = text.split_once('-')?;
    Some((ms.parse().ok()?, seq.parse().ok()?))
}

/// Which queue a job waits in. Interactive sessions and batch jobs wait
/// apart, so that a worker whose CPU is taken by batch jobs still takes
/// sessions (which mostly wait for their user) and the other way round.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Queue {
    /// Batch jobs: all input given, admitted by CPU.
    Batch,
    /// Interactive sessions: a PTY and a person typing.
    Live,
}

impl Queue {
    /// Both queues.
    pub const ALL: [Queue; 2] = [Queue::Batch, Queue::Live];

    /// The queue `job` goes to.
    pub fn of(job: &JobSpec) -> Queue {
        match job.interactive {
            true => Queue::Live,
            false => Queue::Batch,
        }
    }

    /// Its name in logs and keys: `batch`, `live`.
    pub fn as_str(self) -> &'static str {
        match self {
            Queue::Batch => "batch",
            Queue::Live => "live",
        }
    }
}

/// A job handed to one worker; ack it with [`crate::Broker::ack`] when done.
#[derive(Clone, Debug, PartialEq)]
pub struct Lease {
    /// The job.
    pub job: JobSpec,
    /// The queue it was taken from.
    pub queue: Queue,
    /// The queue entry's id (a Redis stream id), used to ack.
    pub delivery_id: String,
    /// The worker that took it.
    pub worker_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_parse_only_stream_ids() {
        assert_eq!(Cursor::parse("12-3").unwrap().parts(), (12, 3));
        assert_eq!(Cursor::start().parts(), (0, 0));
        for bad in ["", "12", "a-1", "1-", "-1", "1-2-3", "$", ">"] {
            assert!(Cursor::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn jobs_queued_before_files_and_compile_limits_still_parse() {
        let old = r#"{"job_id":"j","language":"c","code":"x","args":[],"stdin":null,
            "interactive":false,"created_at_ms":1,"limits":{"wall_time_ms":5}}"#;
        let job: JobSpec = serde_json::from_str(old).unwrap();
        assert!(job.files.is_empty());
        assert_eq!(job.compile_limits, codr_job::LimitOverrides::default());
        // And a single-file job is written as before (older workers read it).
        let json = serde_json::to_string(&job).unwrap();
        assert!(
            !json.contains("files") && !json.contains("compile_limits"),
            "{json}"
        );
    }

    #[test]
    fn files_and_compile_limits_round_trip() {
        let mut job: JobSpec = serde_json::from_str(
            r#"{"job_id":"j","language":"c","code":"x","args":[],"stdin":null,
            "interactive":false,"created_at_ms":1}"#,
        )
        .unwrap();
        job.files = vec![ExtraFile {
            name: "inc/a.h".into(),
            content: "#define A 1\n".into(),
        }];
        job.compile_limits.wall_time_ms = Some(1);
        let back: JobSpec = serde_json::from_str(&serde_json::to_string(&job).unwrap()).unwrap();
        assert_eq!(back, job);
    }

    #[test]
    fn events_use_the_wire_names() {
        let json = serde_json::to_string(&JobEvent::Output {
            stream: Stream::Stdout,
            data: "hi".into(),
        })
        .unwrap();
        assert_eq!(json, r#"{"type":"output","stream":"stdout","data":"hi"}"#);
        let kill: JobInput = serde_json::from_str(r#"{"type":"kill"}"#).unwrap();
        assert_eq!(kill, JobInput::Kill);
    }
}
