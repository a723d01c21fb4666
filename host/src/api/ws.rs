//! `GET /ws/execute`: one job per WebSocket session.
//!
//! 1. The first message, within the configured time, is `execute`: the token
//!    is checked (signature, expiry, job id) and burnt, the code validated by
//!    the language's plugin, and the job queued.
//! 2. Then events from the job's stream (read from its start) go to the
//!    client, and the client's `input`, `resize` and `kill` go to the job's
//!    input stream, until the job completes or fails.
//!
//! Any protocol violation gets one `error` message and a clean close; a
//! client that leaves gets its job killed.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use codr_broker::{Cursor, JobEvent, JobInput, JobSpec, Outage};
use tokio::sync::mpsc;

use super::auth::{unix_now, TokenError};
use super::protocol::{rejection, ClientMsg, Complete, Execute, ParseError, ServerMsg};
use super::{ApiError, AppState};
use crate::metrics as m;

/// How long one blocking read of the event stream waits.
const EVENT_WAIT: Duration = Duration::from_secs(5);
/// Frames larger than this are refused by the WebSocket layer itself; smaller
/// oversized messages get a precise error from the session.
const MAX_FRAME: usize = 1024 * 1024;

/// Sessions open right now (for the connection cap).
static OPEN_SESSIONS: AtomicUsize = AtomicUsize::new(0);

/// WebSocket sessions open in this process.
pub fn open_sessions() -> usize {
    OPEN_SESSIONS.load(Ordering::Relaxed)
}

/// Upgrades to a WebSocket session.
#[utoipa::path(
    get,
    path = "/ws/execute",
    tag = "jobs",
    description = "WebSocket. First message `{type: execute, job_id, job_token, code, language}` within 5 s; \
then `input`, `resize`, `kill` (other types are ignored). The server sends `stage`, `output`, `input_required` (the program waits for input: blocked reading its terminal, its output all sent; once per wait), `notice` (an input or message refused, the job goes on), then `complete` or `error`. See the README.\n\n\
One JSON text frame per message, each with a schema in `components.schemas`: \
client to server `#/components/schemas/WsExecute`, `#/components/schemas/WsInput`, `#/components/schemas/WsResize`, `#/components/schemas/WsKill` (any of them: `#/components/schemas/WsClientMessage`); \
server to client `#/components/schemas/WsStage`, `#/components/schemas/WsOutput`, `#/components/schemas/WsInputRequired`, `#/components/schemas/WsNotice`, `#/components/schemas/WsComplete`, `#/components/schemas/WsError` (any of them: `#/components/schemas/WsServerMessage`).",
    responses(
        (status = 101, description = "Switching to the WebSocket protocol"),
        (status = 503, description = "Too many connections")
    )
)]
pub async fn upgrade(
    State(state): State<Arc<AppState>>,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    if OPEN_SESSIONS.load(Ordering::Relaxed) >= state.cfg.max_connections {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many connections",
        ));
    }
    let max = MAX_FRAME.max(state.cfg.max_code_bytes + 64 * 1024);
    Ok(ws
        .read_buffer_size(8 * 1024)
        .write_buffer_size(8 * 1024)
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| session(state, socket))
        .into_response())
}

/// Counts a session while it lives.
struct SessionGuard;

impl SessionGuard {
    fn new() -> Self {
        OPEN_SESSIONS.fetch_add(1, Ordering::Relaxed);
        ::metrics::gauge!(m::WS_ACTIVE).increment(1.0);
        SessionGuard
    }
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        OPEN_SESSIONS.fetch_sub(1, Ordering::Relaxed);
        ::metrics::gauge!(m::WS_ACTIVE).decrement(1.0);
    }
}

/// A refusal: the message for the client and a short reason for metrics.
struct Refusal {
    msg: ServerMsg,
    reason: &'static str,
}

impl Refusal {
    fn new(reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            msg: ServerMsg::error(message),
            reason,
        }
    }
}

/// One session from upgrade to close.
async fn session(state: Arc<AppState>, mut socket: WebSocket) {
    let _guard = SessionGuard::new();
    let started = Instant::now();
    let exec = match first_message(&state, &mut socket).await {
        Ok(Some(exec)) => exec,
        Ok(None) => return, // the client left before saying anything
        Err(refusal) => return refuse(&mut socket, refusal).await,
    };
    let job = match admit(&state, exec).await {
        Ok(job) => job,
        Err(refusal) => return refuse(&mut socket, refusal).await,
    };
    if let Err(e) = state.broker.enqueue(&job).await {
        tracing::error!(job_id = %job.job_id, error = %e, "cannot queue job");
        let refusal = Refusal::new("broker", format!("cannot queue the job: {e}"));
        return refuse(&mut socket, refusal).await;
    }
    tracing::info!(job_id = %job.job_id, language = %job.language, "job queued");
    let status = relay(&state, &mut socket, &job).await;
    ::metrics::histogram!(m::JOB_DURATION, "language" => job.language.clone())
        .record(started.elapsed().as_secs_f64());
    ::metrics::counter!(m::JOBS_TOTAL, "language" => job.language.clone(), "status" => status)
        .increment(1);
}

/// Waits for the `execute` message.
async fn first_message(
    state: &AppState,
    socket: &mut WebSocket,
) -> Result<Option<Execute>, Refusal> {
    let limit = state.cfg.first_message_timeout;
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let frame = match tokio::time::timeout_at(deadline, socket.recv()).await {
            Err(_) => {
                return Err(Refusal::new(
                    "timeout",
                    format!(
                        "no execute message within {} s",
                        limit.as_secs_f64().round() as u64
                    ),
                ))
            }
            Ok(None) | Ok(Some(Err(_))) => return Ok(None),
            Ok(Some(Ok(frame))) => frame,
        };
        match frame {
            Message::Text(text) => {
                return match ClientMsg::parse(text.as_str()) {
                    Ok(ClientMsg::Execute(exec)) => Ok(Some(exec)),
                    Ok(_) => Err(Refusal::new(
                        "protocol",
                        "the first message must be {\"type\":\"execute\",...}",
                    )),
                    Err(e) => Err(Refusal::new("protocol", e.to_string())),
                }
            }
            Message::Binary(_) => return Err(binary_refusal()),
            Message::Close(_) => return Ok(None),
            Message::Ping(_) | Message::Pong(_) => continue,
        }
    }
}

fn binary_refusal() -> Refusal {
    Refusal::new(
        "protocol",
        "binary frames are not supported: send JSON text messages",
    )
}

/// Checks the token, the size and the code; builds the job.
async fn admit(state: &AppState, exec: Execute) -> Result<JobSpec, Refusal> {
    let claims = state
        .tokens
        .verify(&exec.job_token, &exec.job_id)
        .map_err(|e| {
            let reason = match e {
                TokenError::Expired => "token_expired",
                TokenError::Invalid => "token_invalid",
                TokenError::WrongJob => "token_wrong_job",
            };
            Refusal::new(reason, e.to_string())
        })?;
    let ttl = Duration::from_secs(claims.exp.saturating_sub(unix_now()).max(1));
    match state.broker.burn_token(&claims.jti, ttl).await {
        Ok(true) => {}
        Ok(false) => return Err(Refusal::new("token_reused", "job token already used")),
        Err(e) => {
            return Err(Refusal::new(
                "broker",
                format!("cannot check the job token: {e}"),
            ))
        }
    }
    if exec.code.len() > state.cfg.max_code_bytes {
        return Err(Refusal::new(
            "too_large",
            format!(
                "code is {} bytes; the limit is {} bytes",
                exec.code.len(),
                state.cfg.max_code_bytes
            ),
        ));
    }
    let Some(lang) = state.languages.resolve(&exec.language) else {
        let known: Vec<String> = state.languages.list().into_iter().map(|l| l.name).collect();
        return Err(Refusal::new(
            "unknown_language",
            format!(
                "unknown language \"{}\" (available: {})",
                exec.language,
                known.join(", ")
            ),
        ));
    };
    let diagnostics = state
        .languages
        .validate(&lang.name, &exec.code)
        .await
        .map_err(|e| Refusal::new("plugin", format!("validation failed: {e}")))?;
    if let Some((message, diagnostics)) = rejection("", diagnostics) {
        return Err(Refusal {
            msg: ServerMsg::Error {
                message,
                diagnostics: Some(diagnostics),
            },
            reason: "rejected",
        });
    }
    Ok(JobSpec {
        job_id: exec.job_id,
        language: lang.name,
        code: exec.code,
        args: exec.args,
        stdin: None,
        interactive: true,
        created_at_ms: unix_now() * 1000,
        limits: Default::default(),
        language_version: Some(lang.version),
        files: Vec::new(),
        compile_limits: Default::default(),
    })
}

/// Sends the refusal, closes cleanly.
async fn refuse(socket: &mut WebSocket, refusal: Refusal) {
    ::metrics::counter!(m::WS_REFUSED, "reason" => refusal.reason).increment(1);
    tracing::debug!(reason = refusal.reason, "refusing a session");
    let _ = socket
        .send(Message::Text(refusal.msg.to_text().into()))
        .await;
    close(socket, 1008, "").await;
}

/// Sends a close frame and waits (briefly) for the client's answer, so the
/// close is clean on both sides.
async fn close(socket: &mut WebSocket, code: u16, reason: &str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    if socket.send(Message::Close(Some(frame))).await.is_err() {
        return;
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while let Some(Ok(msg)) = socket.recv().await {
            if matches!(msg, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}

/// What a client frame asks the relay to do.
enum Step {
    Continue,
    /// A message refused without ending the job: tell the client, go on.
    Notice(String),
    /// Protocol violation: tell the client, kill the job, close.
    Violation(Refusal),
    /// The client left.
    Gone,
}

/// Relays events to the client and the client's input to the job, until the
/// job ends. Returns the final status (for metrics).
async fn relay(state: &AppState, socket: &mut WebSocket, job: &JobSpec) -> &'static str {
    let (tx, mut events) = mpsc::channel::<JobEvent>(64);
    let reader = tokio::spawn(read_events(state.broker.clone(), job.job_id.clone(), tx));
    let mut input_total = 0usize;
    let status = loop {
        tokio::select! {
            event = events.recv() => {
                let Some(event) = event else { break "internal_error" };
                let terminal = event.is_terminal();
                let status = status_of(&event);
                if socket.send(Message::Text(to_server(event).to_text().into())).await.is_err() {
                    kill(state, job).await;
                    break "disconnected";
                }
                if terminal {
                    close(socket, 1000, "job finished").await;
                    break status;
                }
            }
            frame = socket.recv() => {
                match on_client_frame(state, job, frame, &mut input_total).await {
                    Step::Continue => {}
                    Step::Notice(message) => {
                        ::metrics::counter!(crate::metrics::WS_NOTICES).increment(1);
                        let notice = ServerMsg::Notice { message }.to_text();
                        if socket.send(Message::Text(notice.into())).await.is_err() {
                            kill(state, job).await;
                            break "disconnected";
                        }
                    }
                    Step::Gone => {
                        kill(state, job).await;
                        break "disconnected";
                    }
                    Step::Violation(refusal) => {
                        kill(state, job).await;
                        refuse(socket, refusal).await;
                        break "protocol_error";
                    }
                }
            }
        }
    };
    reader.abort();
    status
}

/// Handles one client frame during a job. As Codr's server was, it is
/// forgiving: an unknown message type is ignored, and a message it cannot
/// take (an oversized input, malformed JSON, a second `execute`, a binary
/// frame) gets a `notice` while the job goes on.
async fn on_client_frame(
    state: &AppState,
    job: &JobSpec,
    frame: Option<Result<Message, axum::Error>>,
    input_total: &mut usize,
) -> Step {
    let text = match frame {
        None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return Step::Gone,
        Some(Ok(Message::Ping(_) | Message::Pong(_))) => return Step::Continue,
        Some(Ok(Message::Binary(_))) => {
            return Step::Notice("binary frames are not part of the protocol; ignored".into())
        }
        Some(Ok(Message::Text(text))) => text,
    };
    let input = match ClientMsg::parse(text.as_str()) {
        Err(ParseError::UnknownType(kind)) => {
            // A client's `ping` or a newer client's message: not ours to judge.
            tracing::debug!(job_id = %job.job_id, kind, "ignored a message of unknown type");
            ::metrics::counter!(crate::metrics::WS_IGNORED).increment(1);
            return Step::Continue;
        }
        Err(e) => return Step::Notice(format!("{e}; ignored")),
        Ok(ClientMsg::Execute(_)) => {
            return Step::Notice("this session already runs a job; execute ignored".into())
        }
        Ok(ClientMsg::Input(data)) => {
            if data.len() > state.cfg.max_input_bytes {
                return Step::Notice(format!(
                    "Input too large: this input message is {} bytes; the limit is {} bytes. It was not sent to the program.",
                    data.len(),
                    state.cfg.max_input_bytes
                ));
            }
            if *input_total + data.len() > state.cfg.max_total_input_bytes {
                return Step::Notice(format!(
                    "Input too large: the input of a job is limited to {} bytes in all. It was not sent to the program.",
                    state.cfg.max_total_input_bytes
                ));
            }
            *input_total += data.len();
            JobInput::Data { data }
        }
        Ok(ClientMsg::Resize { rows, cols }) => JobInput::Resize { rows, cols },
        Ok(ClientMsg::Kill) => JobInput::Kill,
    };
    if let Err(e) = state.broker.send_input(&job.job_id, &input).await {
        tracing::warn!(job_id = %job.job_id, error = %e, "cannot forward input");
        return Step::Violation(Refusal::new("broker", format!("cannot forward input: {e}")));
    }
    Step::Continue
}

/// Asks the worker to stop the job (the client left or broke the protocol).
async fn kill(state: &AppState, job: &JobSpec) {
    if let Err(e) = state.broker.send_input(&job.job_id, &JobInput::Kill).await {
        tracing::warn!(job_id = %job.job_id, error = %e, "cannot send kill");
    }
}

/// Reads the job's event stream from its start into `tx` until a terminal
/// event; rides out a broker outage as [`Outage::DEFAULT`] says.
async fn read_events(
    broker: Arc<dyn codr_broker::Broker>,
    job_id: String,
    tx: mpsc::Sender<JobEvent>,
) {
    let mut cursor = Cursor::start();
    let mut backoff = Outage::DEFAULT.backoff();
    loop {
        match broker.read_events(&job_id, &cursor, EVENT_WAIT).await {
            Ok(batch) => {
                backoff.ok();
                for (next, event) in batch {
                    cursor = next;
                    let terminal = event.is_terminal();
                    if tx.send(event).await.is_err() || terminal {
                        return;
                    }
                }
            }
            Err(e) => {
                tracing::warn!(job_id = %job_id, error = %e, "reading job events");
                if let Err(e) = backoff.after(e).await {
                    let message = format!("lost contact with the job queue: {e}");
                    let _ = tx.send(JobEvent::Error { message }).await;
                    return;
                }
            }
        }
    }
}

/// The wire message for a job event.
fn to_server(event: JobEvent) -> ServerMsg {
    match event {
        JobEvent::Stage { stage } => ServerMsg::Stage { stage },
        JobEvent::Output { stream, data } => ServerMsg::Output { stream, data },
        JobEvent::InputRequired => ServerMsg::InputRequired,
        JobEvent::Complete { outcome } => ServerMsg::Complete(Complete::from(&outcome)),
        JobEvent::Error { message } => ServerMsg::error(message),
    }
}

/// The status label of a terminal event.
fn status_of(event: &JobEvent) -> &'static str {
    match event {
        JobEvent::Complete { outcome } => outcome.status.as_str(),
        JobEvent::Error { .. } => "error",
        _ => "running",
    }
}
