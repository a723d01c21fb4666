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
    /// The program waits for its user (blocked reading its terminal).
    InputRequired,
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

    /// Runs it can hold at once, if bounded (the sandbox has one user per slot).
    fn capacity(&self) -> Option<usize> {
        None
    }

    /// Called once no more runs will come: releases what was kept ready.
    fn shutdown(&self) {}
}

/// The Firejail sandbox of `codr-sandbox`.
pub struct SandboxExecutor {
    sandbox: std::sync::Arc<codr_sandbox::Sandbox>,
}

impl SandboxExecutor {
    /// Checks the machine and prepares the sandbox with `config`.
    pub fn with_config(config: codr_sandbox::SandboxConfig) -> anyhow::Result<Self> {
        let sandbox = codr_sandbox::Sandbox::new(config)?;
        Ok(Self {
            sandbox: std::sync::Arc::new(sandbox),
        })
    }

    /// Jobs the sandbox can run at once (one sandbox user each).
    pub fn slots(&self) -> usize {
        self.sandbox.slots()
    }
}

#[async_trait]
impl Executor for SandboxExecutor {
    async fn run(
        &self,
        plan: Plan,
        mode: RunMode,
        events: mpsc::Sender<RunEvent>,
        control: mpsc::Receiver<RunControl>,
    ) -> Outcome {
        match mode {
            RunMode::Batch { stdin } => self.sandbox.run_batch(&plan, stdin.as_bytes()).await,
            RunMode::Interactive => self.interactive(&plan, events, control).await,
        }
    }

    fn capacity(&self) -> Option<usize> {
        Some(self.slots())
    }

    /// Kills the warm pool's waiting sandboxes and reaps them: left to the
    /// end of the process they would outlive it as zombies.
    fn shutdown(&self) {
        self.sandbox.clear_pool();
    }
}

impl SandboxExecutor {
    async fn interactive(
        &self,
        plan: &Plan,
        events: mpsc::Sender<RunEvent>,
        mut control: mpsc::Receiver<RunControl>,
    ) -> Outcome {
        use codr_sandbox::{Control, Event, Stage};
        let (ev_tx, mut ev_rx) = mpsc::channel::<Event>(256);
        let (ctl_tx, ctl_rx) = mpsc::channel::<Control>(64);
        let run = self.sandbox.run_interactive(plan, ev_tx, ctl_rx);
        tokio::pin!(run);
        // Our control channel closing means "stop": dropping `ctl_tx` tells
        // the sandbox the same.
        let controls = async move {
            while let Some(c) = control.recv().await {
                let c = match c {
                    RunControl::Input(data) => Control::Input(data.into_bytes()),
                    RunControl::Resize { rows, cols } => Control::Resize { rows, cols },
                    RunControl::Kill => Control::Kill,
                };
                if ctl_tx.send(c).await.is_err() {
                    break;
                }
            }
        };
        let translate = async move {
            let mut text = Utf8Streams::default();
            while let Some(event) = ev_rx.recv().await {
                let out = match event {
                    Event::Stage(Stage::Compiling) => RunEvent::Stage("compiling".into()),
                    Event::Stage(Stage::Running) => RunEvent::Stage("running".into()),
                    Event::InputRequired => RunEvent::InputRequired,
                    Event::Output { stream, data } => {
                        let (name, data) = text.decode(stream, &data);
                        if data.is_empty() {
                            continue;
                        }
                        RunEvent::Output {
                            stream: name.into(),
                            data,
                        }
                    }
                };
                if events.send(out).await.is_err() {
                    return;
                }
            }
            for (name, data) in text.finish() {
                let _ = events
                    .send(RunEvent::Output {
                        stream: name.into(),
                        data,
                    })
                    .await;
            }
        };
        let run_all = async {
            tokio::select! {
                outcome = &mut run => outcome,
                _ = controls => run.await,
            }
        };
        let (outcome, ()) = tokio::join!(run_all, translate);
        outcome
    }
}

/// Turns byte chunks into text without splitting a UTF-8 sequence across
/// two messages (a PTY cuts anywhere); invalid bytes become U+FFFD.
#[derive(Default)]
struct Utf8Streams {
    pending: std::collections::HashMap<&'static str, Vec<u8>>,
}

impl Utf8Streams {
    fn name(stream: codr_sandbox::Stream) -> &'static str {
        match stream {
            codr_sandbox::Stream::Stdout => "stdout",
            codr_sandbox::Stream::Stderr => "stderr",
            codr_sandbox::Stream::Compile => "compile",
        }
    }

    /// The text of `data` that is complete so far, for its stream.
    fn decode(&mut self, stream: codr_sandbox::Stream, data: &[u8]) -> (&'static str, String) {
        let name = Self::name(stream);
        let buf = self.pending.entry(name).or_default();
        buf.extend_from_slice(data);
        (name, take_complete(buf))
    }

    /// What is left at the end (an incomplete sequence becomes U+FFFD).
    fn finish(self) -> Vec<(&'static str, String)> {
        self.pending
            .into_iter()
            .filter(|(_, b)| !b.is_empty())
            .map(|(n, b)| (n, String::from_utf8_lossy(&b).into_owned()))
            .collect()
    }
}

/// Removes and returns the longest decodable prefix of `buf`, keeping an
/// incomplete trailing sequence for the next chunk.
fn take_complete(buf: &mut Vec<u8>) -> String {
    let mut out = String::new();
    loop {
        match std::str::from_utf8(buf) {
            Ok(s) => {
                out.push_str(s);
                buf.clear();
                return out;
            }
            Err(e) => {
                let valid = e.valid_up_to();
                out.push_str(std::str::from_utf8(&buf[..valid]).unwrap_or_default());
                match e.error_len() {
                    // Incomplete at the end: wait for more bytes.
                    None => {
                        buf.drain(..valid);
                        return out;
                    }
                    Some(bad) => {
                        out.push('\u{FFFD}');
                        buf.drain(..valid + bad);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_split_across_chunks_is_kept_whole() {
        let text = "héllo ✓";
        let bytes = text.as_bytes();
        let mut buf = Vec::new();
        let mut got = String::new();
        for b in bytes {
            buf.push(*b);
            got.push_str(&take_complete(&mut buf));
        }
        assert_eq!(got, text);
        assert!(buf.is_empty());
    }

    #[test]
    fn invalid_bytes_become_replacement_characters() {
        let mut buf = b"a\xffb".to_vec();
        assert_eq!(take_complete(&mut buf), "a\u{FFFD}b");
    }
}
