//! The batch API: one request, one answer. `POST /api/v1/execute` runs a
//! program to its end through the same validation, queue, workers and
//! sandbox as the WebSocket path; `GET /api/v1/jobs/{id}` reads a result.
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use codr_broker::{Cursor, JobEvent, JobSpec};
use codr_sandbox::{LimitOverrides, Limits, Outcome, Status};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::auth::unix_now;
use super::protocol::WireDiagnostic;
use super::{check_api_key, error_response, AppState};

/// Longest a waiting request waits for its job (queue + compile + run).
const WAIT_LIMIT: Duration = Duration::from_secs(120);
/// The stage published when a batch job is queued (so `GET` can tell a
/// queued job from an unknown one).
pub const QUEUED: &str = "queued";

/// `POST /api/v1/execute` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecuteRequest {
    /// Language name or alias.
    pub language: String,
    /// Source code.
    pub code: String,
    /// Standard input.
    #[serde(default)]
    pub stdin: Option<String>,
    /// Program arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// Limits for the run, each capped by the deployment's maximum.
    #[serde(default)]
    pub limits: Option<RequestedLimits>,
    /// Wait for the end (default) or answer at once with the job id.
    #[serde(default = "yes")]
    pub wait: bool,
}

fn yes() -> bool {
    true
}

/// Limits a caller may ask for.
#[derive(Debug, Default, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestedLimits {
    /// Wall time of the run.
    pub wall_time_ms: Option<u64>,
    /// CPU time of the run.
    pub cpu_time_ms: Option<u64>,
    /// Memory of the run's process tree.
    pub memory_bytes: Option<u64>,
    /// Output bytes of the run.
    pub output_bytes: Option<u64>,
}

/// What a finished batch job answers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExecuteResult {
    /// The job's id (for `GET /api/v1/jobs/{id}`).
    pub job_id: String,
    /// `ok`, `runtime_error`, `time_limit`, `memory_limit`, `output_limit`,
    /// `compile_error`, `rejected`, `internal_error`; `queued` or `running`
    /// while not finished.
    pub status: String,
    /// Exit code of the program (or compiler).
    pub exit_code: Option<i32>,
    /// Signal that ended the program.
    pub signal: Option<String>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// The compiler's output.
    pub compile_output: Option<String>,
    /// Wall time in ms.
    pub wall_time_ms: u64,
    /// CPU time in ms.
    pub cpu_time_ms: u64,
    /// Peak memory in bytes.
    pub memory_bytes: u64,
    /// Detail on limits and errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Validation findings when `rejected`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnostics: Option<Vec<WireDiagnostic>>,
}

impl ExecuteResult {
    /// The result of a finished job.
    pub fn from_outcome(job_id: &str, o: Outcome) -> Self {
        Self {
            job_id: job_id.to_string(),
            status: o.status.as_str().to_string(),
            exit_code: o.exit_code,
            signal: o.signal,
            stdout: o.stdout,
            stderr: o.stderr,
            compile_output: o.compile_output,
            wall_time_ms: o.wall_time_ms,
            cpu_time_ms: o.cpu_time_ms,
            memory_bytes: o.memory_bytes,
            message: o.message,
            diagnostics: None,
        }
    }

    /// A result without a run (`queued`, `running`, `rejected`, errors).
    pub fn without_run(job_id: &str, status: &str, message: Option<String>) -> Self {
        Self {
            job_id: job_id.to_string(),
            status: status.to_string(),
            exit_code: None,
            signal: None,
            stdout: String::new(),
            stderr: String::new(),
            compile_output: None,
            wall_time_ms: 0,
            cpu_time_ms: 0,
            memory_bytes: 0,
            message,
            diagnostics: None,
        }
    }
}

/// A batch job, checked and ready to queue.
pub struct BatchJob {
    /// Canonical language name.
    pub language: String,
    /// Source.
    pub code: String,
    /// Standard input.
    pub stdin: String,
    /// Arguments.
    pub args: Vec<String>,
    /// Run limits (already checked against the caps).
    pub limits: LimitOverrides,
}

/// Why a batch request cannot run: an HTTP refusal, or validation findings
/// (a `rejected` result, not an HTTP error).
pub enum Refused {
    /// 4xx/5xx with a message.
    Http(StatusCode, String),
    /// The plugin refused the code.
    Rejected(String, Vec<WireDiagnostic>),
}

/// `POST /api/v1/execute`.
#[utoipa::path(
    post,
    path = "/api/v1/execute",
    tag = "batch",
    request_body = ExecuteRequest,
    params(("X-API-Key" = String, Header, description = "API key")),
    responses(
        (status = 200, description = "The job ran (or was rejected: status `rejected`)", body = ExecuteResult),
        (status = 202, description = "Queued (`wait: false`); poll GET /api/v1/jobs/{id}", body = ExecuteResult),
        (status = 400, description = "Bad request: oversized, over a cap, unknown language"),
        (status = 401, description = "Missing or wrong API key"),
        (status = 429, description = "Rate limited; see Retry-After"),
        (status = 504, description = "The job did not finish in time", body = ExecuteResult)
    )
)]
pub async fn execute(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<ExecuteRequest>, axum::extract::rejection::JsonRejection>,
) -> Response {
    if let Err(e) = admit_request(&state, &headers, addr) {
        return e.into_response();
    }
    let Json(req) = match body {
        Ok(b) => b,
        Err(e) => return error_response(StatusCode::BAD_REQUEST, e.body_text()),
    };
    let limits = req.limits.clone().unwrap_or_default();
    let job = BatchJob {
        language: req.language,
        code: req.code,
        stdin: req.stdin.unwrap_or_default(),
        args: req.args,
        limits: LimitOverrides {
            wall_time_ms: limits.wall_time_ms,
            cpu_time_ms: limits.cpu_time_ms,
            memory_bytes: limits.memory_bytes,
            output_bytes: limits.output_bytes,
            ..Default::default()
        },
    };
    let job_id = uuid::Uuid::new_v4().to_string();
    let language = match submit(&state, &job_id, job).await {
        Ok(language) => language,
        Err(Refused::Http(status, message)) => return error_response(status, message),
        Err(Refused::Rejected(message, diagnostics)) => {
            let mut r =
                ExecuteResult::without_run(&job_id, Status::Rejected.as_str(), Some(message));
            r.diagnostics = Some(diagnostics);
            return Json(r).into_response();
        }
    };
    if !req.wait {
        let queued = ExecuteResult::without_run(&job_id, QUEUED, None);
        return (StatusCode::ACCEPTED, Json(queued)).into_response();
    }
    match wait_for_end(&state, &job_id, &language, WAIT_LIMIT).await {
        Ok(outcome) => Json(ExecuteResult::from_outcome(&job_id, outcome)).into_response(),
        Err((status, message)) => {
            let r =
                ExecuteResult::without_run(&job_id, Status::InternalError.as_str(), Some(message));
            (status, Json(r)).into_response()
        }
    }
}

/// API key and rate limit of a job-creating request.
pub fn admit_request(
    state: &AppState,
    headers: &HeaderMap,
    addr: SocketAddr,
) -> Result<(), super::ApiError> {
    let key = check_api_key(state, headers)?;
    super::rate_check(state, key, addr)
}

/// Checks sizes, caps, language and code; queues the job. Returns the
/// language's canonical name.
pub async fn submit(state: &AppState, job_id: &str, job: BatchJob) -> Result<String, Refused> {
    let bad = |m: String| Refused::Http(StatusCode::BAD_REQUEST, m);
    if job.code.len() > state.cfg.max_code_bytes {
        return Err(bad(format!(
            "code is {} bytes; the limit is {} bytes",
            job.code.len(),
            state.cfg.max_code_bytes
        )));
    }
    if job.stdin.len() > state.cfg.max_total_input_bytes {
        return Err(bad(format!(
            "stdin is {} bytes; the limit is {} bytes",
            job.stdin.len(),
            state.cfg.max_total_input_bytes
        )));
    }
    check_caps(&job.limits).map_err(bad)?;
    let Some(lang) = state.languages.resolve(&job.language) else {
        return Err(bad(format!("unknown language \"{}\"", job.language)));
    };
    let diagnostics = state
        .languages
        .validate(&lang.name, &job.code)
        .await
        .map_err(|e| {
            Refused::Http(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("validation failed: {e}"),
            )
        })?;
    if let Some(first) = diagnostics.first() {
        let message = format!(
            "code rejected: {} (line {}, column {})",
            first.message, first.line, first.column
        );
        return Err(Refused::Rejected(message, diagnostics));
    }
    let spec = JobSpec {
        job_id: job_id.to_string(),
        language: lang.name.clone(),
        code: job.code,
        args: job.args,
        stdin: Some(job.stdin),
        interactive: false,
        created_at_ms: unix_now() * 1000,
        limits: job.limits,
        language_version: Some(lang.version.clone()),
    };
    let unavailable = |e: codr_broker::BrokerError| {
        Refused::Http(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("cannot queue the job: {e}"),
        )
    };
    let queued = JobEvent::Stage {
        stage: QUEUED.to_string(),
    };
    state
        .broker
        .publish(job_id, &queued)
        .await
        .map_err(unavailable)?;
    state.broker.enqueue(&spec).await.map_err(unavailable)?;
    ::metrics::counter!(super::metrics::JOBS_CREATED).increment(1);
    Ok(lang.name)
}

/// Refuses limits above the deployment's maximum, naming the cap.
pub fn check_caps(l: &LimitOverrides) -> Result<(), String> {
    let max = Limits::maximum_defaults();
    let checks = [
        ("wall_time_ms", l.wall_time_ms, max.wall_time_ms),
        ("cpu_time_ms", l.cpu_time_ms, max.cpu_time_ms),
        ("memory_bytes", l.memory_bytes, max.memory_bytes),
        ("output_bytes", l.output_bytes, max.output_bytes),
    ];
    for (name, asked, cap) in checks {
        match asked {
            Some(0) => return Err(format!("limits.{name} must be positive")),
            Some(v) if v > cap => {
                return Err(format!(
                    "limits.{name} = {v} is above this deployment's cap of {cap}"
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

/// Reads the job's events until it ends.
pub async fn wait_for_end(
    state: &AppState,
    job_id: &str,
    language: &str,
    limit: Duration,
) -> Result<Outcome, (StatusCode, String)> {
    let started = std::time::Instant::now();
    let result = wait_events(state, job_id, limit).await;
    let status = match &result {
        Ok(outcome) => outcome.status.as_str(),
        Err(_) => "error",
    };
    ::metrics::histogram!(super::metrics::JOB_DURATION, "language" => language.to_string())
        .record(started.elapsed().as_secs_f64());
    ::metrics::counter!(super::metrics::JOBS_TOTAL, "language" => language.to_string(), "status" => status)
        .increment(1);
    result
}

async fn wait_events(
    state: &AppState,
    job_id: &str,
    limit: Duration,
) -> Result<Outcome, (StatusCode, String)> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut cursor = Cursor::start();
    let mut outage = 0u32;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return Err((
                StatusCode::GATEWAY_TIMEOUT,
                format!("the job did not finish within {} s", limit.as_secs()),
            ));
        }
        let batch = match state
            .broker
            .read_events(job_id, &cursor, left.min(Duration::from_secs(5)))
            .await
        {
            Ok(b) => b,
            Err(e) => {
                outage += 1;
                if outage > 120 {
                    return Err((
                        StatusCode::SERVICE_UNAVAILABLE,
                        format!("lost the job queue: {e}"),
                    ));
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
                continue;
            }
        };
        outage = 0;
        for (next, event) in batch {
            cursor = next;
            match event {
                JobEvent::Complete { outcome } => return Ok(outcome),
                JobEvent::Error { message } => {
                    return Err((StatusCode::INTERNAL_SERVER_ERROR, message))
                }
                _ => {}
            }
        }
    }
}

/// `GET /api/v1/jobs/{id}`: the result, or `queued` / `running`; 404 for an
/// unknown or expired id.
#[utoipa::path(
    get,
    path = "/api/v1/jobs/{id}",
    tag = "batch",
    params(
        ("id" = String, Path, description = "Job id from POST /api/v1/execute"),
        ("X-API-Key" = String, Header, description = "API key")
    ),
    responses(
        (status = 200, description = "Result, or status `queued` / `running`", body = ExecuteResult),
        (status = 401, description = "Missing or wrong API key"),
        (status = 404, description = "Unknown or expired job")
    )
)]
pub async fn get_job(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(job_id): Path<String>,
) -> Response {
    if let Err(e) = check_api_key(&state, &headers) {
        return e.into_response();
    }
    match state.broker.get_result(&job_id).await {
        Ok(Some(outcome)) => {
            return Json(ExecuteResult::from_outcome(&job_id, outcome)).into_response()
        }
        Ok(None) => {}
        Err(e) => return error_response(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
    let events = match state
        .broker
        .read_events(&job_id, &Cursor::start(), Duration::ZERO)
        .await
    {
        Ok(events) => events,
        Err(e) => return error_response(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    };
    let mut status = None;
    for (_, event) in events {
        match event {
            JobEvent::Stage { stage } if stage == QUEUED => status = Some(QUEUED),
            JobEvent::Stage { .. } | JobEvent::Output { .. } => status = Some("running"),
            JobEvent::Error { message } => {
                let r = ExecuteResult::without_run(
                    &job_id,
                    Status::InternalError.as_str(),
                    Some(message),
                );
                return Json(r).into_response();
            }
            JobEvent::Complete { outcome } => {
                return Json(ExecuteResult::from_outcome(&job_id, outcome)).into_response()
            }
        }
    }
    match status {
        Some(s) => Json(ExecuteResult::without_run(&job_id, s, None)).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "unknown or expired job", "message": "unknown or expired job", "job_id": job_id})),
        )
            .into_response(),
    }
}
