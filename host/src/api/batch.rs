//! The batch API: one request, one answer. `POST /api/v1/execute` runs a
//! program to its end through the same validation, queue, workers and
//! sandbox as the WebSocket path; `GET /api/v1/jobs/{id}` reads a result.
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use codr_broker::{Cursor, JobEvent, JobSpec, Outage};
use codr_job::ExtraFile;
use codr_job::{LimitOverrides, Outcome, Stage, Status};
use serde::{Deserialize, Serialize};

use super::auth::unix_now;
use super::extract::{ApiKey, BatchRun, Body};
use super::protocol::rejection;
use super::{ApiError, AppState};
use crate::languages::LanguageInfo;
use codr_plugin_host::Diagnostic;

#[cfg(test)]
use super::checks::{check_caps, check_file_names};
use super::checks::{check_caps_of, check_sizes};

/// Longest a waiting request waits for its job (queue + compile + run).
const WAIT_LIMIT: Duration = Duration::from_secs(120);
/// The stage published when a batch job is queued (so `GET` can tell a
/// queued job from an unknown one).
pub const QUEUED: &str = "queued";
/// Most extra files a job may carry (each is written and validated).
pub const MAX_EXTRA_FILES: usize = 64;

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
    /// Limits for the compile step (compiled languages only; ignored
    /// otherwise), each capped by the deployment's maximum. Unset values keep
    /// the language's compile limits.
    #[serde(default)]
    pub compile_limits: Option<RequestedLimits>,
    /// Wait for the end (default) or answer at once with the job id.
    #[serde(default = "yes")]
    pub wait: bool,
}

fn yes() -> bool {
    true
}

/// Limits a caller may ask for (of the run for `limits`, of the compile
/// step for `compile_limits`).
#[derive(Debug, Default, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestedLimits {
    /// Wall time, ms.
    pub wall_time_ms: Option<u64>,
    /// CPU time, ms.
    pub cpu_time_ms: Option<u64>,
    /// Memory of the step's process tree, bytes.
    pub memory_bytes: Option<u64>,
    /// Output, bytes.
    pub output_bytes: Option<u64>,
}

impl RequestedLimits {
    /// As the sandbox's overrides.
    pub fn overrides(&self) -> LimitOverrides {
        LimitOverrides {
            wall_time_ms: self.wall_time_ms,
            cpu_time_ms: self.cpu_time_ms,
            memory_bytes: self.memory_bytes,
            output_bytes: self.output_bytes,
            ..Default::default()
        }
    }
}

/// What a finished batch job answers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExecuteResult {
    /// The job's id (for `GET /api/v1/jobs/{id}`).
    pub job_id: String,
    /// `ok`, `runtime_error`, `time_limit`, `memory_limit`, `output_limit`, `disk_limit`,
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
    pub diagnostics: Option<Vec<Diagnostic>>,
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
        // Nothing measured; the status is the caller's word (`queued`, ...).
        let empty = Outcome::unmeasured(Status::InternalError, message);
        Self {
            status: status.to_string(),
            ..Self::from_outcome(job_id, empty)
        }
    }
}

/// A batch job, ready for the checks of [`super::checks`] and [`submit`].
pub struct BatchJob {
    /// Source.
    pub code: String,
    /// Standard input.
    pub stdin: String,
    /// Arguments.
    pub args: Vec<String>,
    /// Run limits.
    pub limits: LimitOverrides,
    /// Compile limits.
    pub compile_limits: LimitOverrides,
    /// Files written beside the main file.
    pub files: Vec<ExtraFile>,
}

/// Why a batch request cannot run: an HTTP refusal, or validation findings
/// (a `rejected` result, not an HTTP error).
pub enum Refused {
    /// 4xx/5xx with a message.
    Http(ApiError),
    /// The plugin refused the code: the message and the findings.
    Rejected(String, Vec<Diagnostic>),
}

impl From<ApiError> for Refused {
    fn from(e: ApiError) -> Self {
        Self::Http(e)
    }
}

/// `POST /api/v1/execute`.
#[utoipa::path(
    post,
    path = "/api/v1/execute",
    tag = "batch",
    request_body = ExecuteRequest,
    params(BatchRun),
    responses(
        (status = 200, description = "The job ran (or was rejected: status `rejected`)", body = ExecuteResult),
        (status = 202, description = "Queued (`wait: false`); poll GET /api/v1/jobs/{id}", body = ExecuteResult),
        (status = 400, description = "Bad request: oversized, over a cap, unknown language"),
        (status = 504, description = "The job did not finish in time", body = ExecuteResult),
        BatchRun
    )
)]
pub async fn execute(
    State(state): State<Arc<AppState>>,
    _: BatchRun,
    Body(req, _): Body<ExecuteRequest>,
) -> Result<(StatusCode, Json<ExecuteResult>), ApiError> {
    let job = BatchJob {
        code: req.code,
        stdin: req.stdin.unwrap_or_default(),
        args: req.args,
        limits: req.limits.unwrap_or_default().overrides(),
        compile_limits: req.compile_limits.unwrap_or_default().overrides(),
        files: Vec::new(),
    };
    check_sizes(&state.cfg, &job).map_err(ApiError::bad_request)?;
    check_caps_of(&job.limits, "limits").map_err(ApiError::bad_request)?;
    check_caps_of(&job.compile_limits, "compile_limits").map_err(ApiError::bad_request)?;
    let lang = state
        .languages
        .resolve(&req.language)
        .ok_or_else(|| ApiError::bad_request(format!("unknown language \"{}\"", req.language)))?;
    let job_id = uuid::Uuid::new_v4().to_string();
    let answer = |status, r| Ok((status, Json(r)));
    match submit(&state, &job_id, &lang, job).await {
        Ok(()) => {}
        Err(Refused::Http(e)) => return Err(e),
        Err(Refused::Rejected(message, diagnostics)) => {
            let mut r =
                ExecuteResult::without_run(&job_id, Status::Rejected.as_str(), Some(message));
            r.diagnostics = Some(diagnostics);
            return answer(StatusCode::OK, r);
        }
    }
    if !req.wait {
        return answer(
            StatusCode::ACCEPTED,
            ExecuteResult::without_run(&job_id, QUEUED, None),
        );
    }
    match wait_for_end(&state, &job_id, &lang.name, WAIT_LIMIT).await {
        Ok(outcome) => answer(
            StatusCode::OK,
            ExecuteResult::from_outcome(&job_id, outcome),
        ),
        Err(e) => {
            let status = Status::InternalError.as_str();
            answer(
                e.status,
                ExecuteResult::without_run(&job_id, status, Some(e.message)),
            )
        }
    }
}

/// Validates the code and every extra file with the language's plugin, then
/// queues the job. The sizes, file names and limits are the caller's to
/// check first (see [`super::checks`]), each API naming its own fields.
pub async fn submit(
    state: &AppState,
    job_id: &str,
    lang: &LanguageInfo,
    job: BatchJob,
) -> Result<(), Refused> {
    validate(state, &lang.name, None, &job.code).await?;
    // The program can import or include any file it is sent: each one gets
    // the language's rules, or the rules would be a file name away. A data
    // file (input.txt) need not parse as the language, though: its parse
    // errors are not held against it, while the rules still run on what does
    // parse. (The rules are a courtesy; the sandbox is the defence.)
    for file in &job.files {
        let data = !is_source_name(&file.name, &lang.extension);
        validate(state, &lang.name, Some((&file.name, data)), &file.content).await?;
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
        files: job.files,
        compile_limits: job.compile_limits,
    };
    let unavailable = |e: codr_broker::BrokerError| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("cannot queue the job: {e}"),
        )
    };
    let queued = JobEvent::Stage {
        stage: Stage::Queued,
    };
    state
        .broker
        .publish(job_id, &queued)
        .await
        .map_err(unavailable)?;
    state.broker.enqueue(&spec).await.map_err(unavailable)?;
    ::metrics::counter!(crate::metrics::JOBS_CREATED).increment(1);
    Ok(())
}

/// The rule plugins report code they cannot parse under (PLUGINS.md, section 3).
const SYNTAX_ERROR_RULE: &str = "syntax-error";

/// Extensions of headers, which are source whatever the main file's is.
const HEADER_EXTENSIONS: [&str; 4] = ["h", "hh", "hpp", "hxx"];

/// Whether an extra file is source of the language (by its extension: the
/// language's own or a header's) rather than data.
fn is_source_name(name: &str, language_extension: &str) -> bool {
    let Some((_, ext)) = name.rsplit_once('.') else {
        return false;
    };
    ext.eq_ignore_ascii_case(language_extension)
        || HEADER_EXTENSIONS
            .iter()
            .any(|h| ext.eq_ignore_ascii_case(h))
}

/// The plugin's findings for one file, as a refusal; `file` is `None` for
/// the main source, else its name and whether it is data (its parse errors
/// are then ignored).
async fn validate(
    state: &AppState,
    language: &str,
    file: Option<(&str, bool)>,
    code: &str,
) -> Result<(), Refused> {
    let mut diagnostics = state
        .languages
        .validate(language, code)
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("validation failed: {e}"),
            )
        })?;
    if matches!(file, Some((_, true))) {
        diagnostics.retain(|d| d.rule != SYNTAX_ERROR_RULE);
    }
    let place = match file {
        Some((name, _)) => format!(" in file {name:?}"),
        None => String::new(),
    };
    match rejection(&place, diagnostics) {
        Some((message, diagnostics)) => Err(Refused::Rejected(message, diagnostics)),
        None => Ok(()),
    }
}

/// Reads the job's events until it ends.
pub async fn wait_for_end(
    state: &AppState,
    job_id: &str,
    language: &str,
    limit: Duration,
) -> Result<Outcome, ApiError> {
    let started = std::time::Instant::now();
    let result = wait_events(state, job_id, limit).await;
    let status = match &result {
        Ok(outcome) => outcome.status.as_str(),
        Err(_) => "error",
    };
    ::metrics::histogram!(crate::metrics::JOB_DURATION, "language" => language.to_string())
        .record(started.elapsed().as_secs_f64());
    ::metrics::counter!(crate::metrics::JOBS_TOTAL, "language" => language.to_string(), "status" => status)
        .increment(1);
    result
}

async fn wait_events(state: &AppState, job_id: &str, limit: Duration) -> Result<Outcome, ApiError> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut cursor = Cursor::start();
    let mut backoff = Outage::DEFAULT.backoff();
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return Err(ApiError::new(
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
            Err(e) => match backoff.after(e).await {
                Ok(()) => continue,
                Err(e) => {
                    return Err(ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        format!("lost the job queue: {e}"),
                    ))
                }
            },
        };
        backoff.ok();
        for (next, event) in batch {
            cursor = next;
            match event {
                JobEvent::Complete { outcome } => return Ok(outcome),
                JobEvent::Error { message } => {
                    return Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message))
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
        ApiKey
    ),
    responses(
        (status = 200, description = "Result, or status `queued` / `running`", body = ExecuteResult),
        (status = 404, description = "Unknown or expired job"),
        ApiKey
    )
)]
pub async fn get_job(
    State(state): State<Arc<AppState>>,
    _: ApiKey,
    Path(job_id): Path<String>,
) -> Result<Json<ExecuteResult>, ApiError> {
    let unavailable =
        |e: codr_broker::BrokerError| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string());
    if let Some(outcome) = state
        .broker
        .get_result(&job_id)
        .await
        .map_err(unavailable)?
    {
        return Ok(Json(ExecuteResult::from_outcome(&job_id, outcome)));
    }
    let events = state
        .broker
        .read_events(&job_id, &Cursor::start(), Duration::ZERO)
        .await
        .map_err(unavailable)?;
    let mut status = None;
    for (_, event) in events {
        match event {
            JobEvent::Stage {
                stage: Stage::Queued,
            } => status = Some(QUEUED),
            JobEvent::Stage { .. } | JobEvent::Output { .. } | JobEvent::InputRequired => {
                status = Some("running")
            }
            JobEvent::Error { message } => {
                let status = Status::InternalError.as_str();
                return Ok(Json(ExecuteResult::without_run(
                    &job_id,
                    status,
                    Some(message),
                )));
            }
            JobEvent::Complete { outcome } => {
                return Ok(Json(ExecuteResult::from_outcome(&job_id, outcome)))
            }
        }
    }
    let Some(status) = status else {
        let unknown = ApiError::new(StatusCode::NOT_FOUND, "unknown or expired job");
        return Err(unknown.about_job(&job_id));
    };
    Ok(Json(ExecuteResult::without_run(&job_id, status, None)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str) -> ExtraFile {
        ExtraFile {
            name: name.into(),
            content: String::new(),
        }
    }

    #[test]
    fn source_or_data_by_extension() {
        assert!(is_source_name("helper.c", "c"));
        assert!(is_source_name("inc/answer.H", "c"));
        assert!(is_source_name("util.hpp", "cpp"));
        assert!(is_source_name("Helper.java", "java"));
        assert!(!is_source_name("input.txt", "c"));
        assert!(!is_source_name("Makefile", "c"));
        assert!(!is_source_name("data.py.txt", "py"));
    }

    #[test]
    fn file_names_are_checked_together() {
        assert!(check_file_names(&[file("a.h"), file("inc/b.h")]).is_ok());
        assert!(check_file_names(&[file("a.h"), file("a.h")]).is_err());
        assert!(check_file_names(&[file("inc"), file("inc/b.h")]).is_err());
        assert!(check_file_names(&[file("../a.h")]).is_err());
    }

    #[test]
    fn caps_name_their_field() {
        let over = LimitOverrides {
            wall_time_ms: Some(u64::MAX),
            ..Default::default()
        };
        let m = check_caps_of(&over, "compile_limits").unwrap_err();
        assert!(m.starts_with("compile_limits.wall_time_ms"), "{m}");
        assert!(check_caps(&LimitOverrides::default()).is_ok());
    }
}
