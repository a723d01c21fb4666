//! Where Judge0 submissions live: in the broker, beside codr's job results,
//! for as long (`--job-ttl`), and on Redis shared by every gateway. The
//! token is the codr job id: the worker stores the job's outcome under it,
//! and the gateway the submission itself (what was asked, when) as the
//! job's record (`Broker::store_record`).
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use codr_broker::{BrokerError, Cursor, JobEvent};
use codr_job::{Outcome, Stage, Status};

use super::callback;
use super::status::{self, Judging, Verdict};
use super::wire::{render, Progress, Submission, DEFAULT_FIELDS};
use crate::api::batch;
use crate::api::AppState;

/// Longest a submission is waited for (queue, compile and run).
pub const WAIT_LIMIT: Duration = Duration::from_secs(120);

/// Now, as Judge0 writes times (`2024-04-18T12:34:56.789Z`).
pub fn now() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

/// Keeps (or replaces) a submission's record.
pub async fn save(state: &AppState, sub: &Submission) -> Result<(), BrokerError> {
    let json = serde_json::to_string(sub)?;
    state.broker.store_record(&sub.token, &json).await
}

/// A submission's record; `None` for an unknown or expired token.
pub async fn load(state: &AppState, token: &str) -> Result<Option<Submission>, BrokerError> {
    match state.broker.get_record(token).await? {
        Some(json) => Ok(Some(serde_json::from_str(&json)?)),
        None => Ok(None),
    }
}

/// Stores the outcome of a submission codr's rules refused before it ran
/// (it never reaches a worker): a Compilation Error with the refusal.
pub async fn refused(state: &AppState, token: &str, message: String) -> Result<(), BrokerError> {
    let outcome = Outcome::unmeasured(Status::Rejected, Some(message));
    state.broker.store_result(token, &outcome).await
}

/// The verdict of an outcome for this submission.
pub fn judge(sub: &Submission, outcome: &Outcome) -> Verdict {
    let judging = Judging {
        expected_output: sub.expected_output.as_deref(),
        redirect_stderr_to_stdout: sub.redirect_stderr_to_stdout,
        cpu_time_limit_ms: sub.judged_cpu_ms,
    };
    status::verdict(outcome, judging)
}

/// Where the job of a submission is: its stored outcome, else its events.
pub async fn progress(state: &AppState, sub: &Submission) -> Result<Progress, BrokerError> {
    if let Some(outcome) = state.broker.get_result(&sub.token).await? {
        return Ok(Progress::Done(judge(sub, &outcome)));
    }
    let events = state
        .broker
        .read_events(&sub.token, &Cursor::start(), Duration::ZERO)
        .await?;
    let mut progress = Progress::Queued;
    for (_, event) in events {
        match event {
            JobEvent::Stage {
                stage: Stage::Queued,
            } => {}
            JobEvent::Stage { .. } | JobEvent::Output { .. } | JobEvent::InputRequired => {
                progress = Progress::Running
            }
            JobEvent::Complete { outcome } => return Ok(Progress::Done(judge(sub, &outcome))),
            JobEvent::Error { message } => {
                return Ok(Progress::Done(status::internal_error(&message)))
            }
        }
    }
    Ok(progress)
}

/// Waits for a submission's job to end, then dates its end
/// (`finished_at`) and sends its callback (in the background). Answers its
/// progress then: still running when the wait ran out.
pub async fn wait_and_finish(state: &AppState, mut sub: Submission) -> (Submission, Progress) {
    let progress = match batch::wait_for_end(state, &sub.token, &sub.language, WAIT_LIMIT).await {
        Ok(outcome) => Progress::Done(judge(&sub, &outcome)),
        Err(e) if e.status == axum::http::StatusCode::GATEWAY_TIMEOUT => Progress::Running,
        Err(e) => Progress::Done(status::internal_error(&e.message)),
    };
    if matches!(progress, Progress::Done(_)) {
        sub.finished_at = Some(now());
        if let Err(e) = save(state, &sub).await {
            tracing::warn!(token = %sub.token, error = %e, "judge0: cannot record the end of a submission");
        }
        if let Some(url) = &sub.callback_url {
            let body = render(&sub, &progress, &DEFAULT_FIELDS, sub.base64_encoded);
            callback::send_later(url.clone(), body, sub.token.clone());
        }
    }
    (sub, progress)
}

/// [`wait_and_finish`] in the background, for submissions answered before
/// they end (`wait=false`, batches).
pub fn finish_later(state: Arc<AppState>, sub: Submission) {
    tokio::spawn(async move {
        wait_and_finish(&state, sub).await;
    });
}

/// A finished submission read before its end was dated (the gateway that
/// waited for it stopped): dated now, once.
pub async fn date_end(state: &AppState, sub: &mut Submission) {
    if sub.finished_at.is_none() {
        sub.finished_at = Some(now());
        if let Err(e) = save(state, sub).await {
            tracing::debug!(token = %sub.token, error = %e, "judge0: cannot date a submission's end");
        }
    }
}
