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
use codr_broker::{Cursor, JobEvent, JobSpec, Outage};
use codr_job::ExtraFile;
use codr_job::{LimitOverrides, Outcome, Stage, Status};
use codr_sandbox::Limits;
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
    /// Run limits (checked against the caps by [`submit`]).
    pub limits: LimitOverrides,
    /// Compile limits (checked against the caps by [`submit`]).
    pub compile_limits: LimitOverrides,
    /// Files written beside the main file (names and sizes checked by
    /// [`submit`]).
    pub files: Vec<ExtraFile>,
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
    let job = BatchJob {
        language: req.language,
        code: req.code,
        stdin: req.stdin.unwrap_or_default(),
        args: req.args,
        limits: req.limits.unwrap_or_default().overrides(),
        compile_limits: req.compile_limits.unwrap_or_default().overrides(),
        files: Vec::new(),
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

/// API key and rate limit of a batch run.
pub fn admit_request(
    state: &AppState,
    headers: &HeaderMap,
    addr: SocketAddr,
) -> Result<(), super::ApiError> {
    let key = check_api_key(state, headers)?;
    spend_batch_run(state, key, addr, headers)
}

/// Spends one batch run of the budgets of API key number `key` and of the
/// client's address (batch runs have their own, apart from job creation).
pub fn spend_batch_run(
    state: &AppState,
    key: usize,
    addr: SocketAddr,
    headers: &HeaderMap,
) -> Result<(), super::ApiError> {
    super::limit(
        state,
        &state.batch_limiter,
        "batch runs",
        key,
        addr,
        headers,
    )
}

/// Checks sizes, caps, file names, language and code (the main file and
/// every extra file go through the plugin's validation); queues the job.
/// Returns the language's canonical name.
pub async fn submit(state: &AppState, job_id: &str, job: BatchJob) -> Result<String, Refused> {
    let bad = |m: String| Refused::Http(StatusCode::BAD_REQUEST, m);
    check_sizes(state, &job).map_err(bad)?;
    check_file_names(&job.files).map_err(bad)?;
    if job.stdin.len() > state.cfg.max_total_input_bytes {
        return Err(bad(format!(
            "stdin is {} bytes; the limit is {} bytes",
            job.stdin.len(),
            state.cfg.max_total_input_bytes
        )));
    }
    check_caps_of(&job.limits, "limits").map_err(bad)?;
    check_caps_of(&job.compile_limits, "compile_limits").map_err(bad)?;
    let Some(lang) = state.languages.resolve(&job.language) else {
        return Err(bad(format!("unknown language \"{}\"", job.language)));
    };
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
        Refused::Http(
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
    Ok(lang.name)
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
            Refused::Http(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("validation failed: {e}"),
            )
        })?;
    if matches!(file, Some((_, true))) {
        diagnostics.retain(|d| d.rule != SYNTAX_ERROR_RULE);
    }
    let Some(first) = diagnostics.first() else {
        return Ok(());
    };
    let place = match file {
        Some((name, _)) => format!(" in file {name:?}"),
        None => String::new(),
    };
    let message = format!(
        "code rejected{place}: {} (line {}, column {})",
        first.message, first.line, first.column
    );
    Err(Refused::Rejected(
        message,
        diagnostics.into_iter().map(Into::into).collect(),
    ))
}

/// Code plus extra files within the code cap (together: they are all
/// source), stdin within the input cap, not too many files.
fn check_sizes(state: &AppState, job: &BatchJob) -> Result<(), String> {
    let max = state.cfg.max_code_bytes;
    if job.files.is_empty() && job.code.len() > max {
        return Err(format!(
            "code is {} bytes; the limit is {max} bytes",
            job.code.len()
        ));
    }
    let total = job.code.len() + job.files.iter().map(|f| f.content.len()).sum::<usize>();
    if total > max {
        return Err(format!(
            "the files are {total} bytes together; the limit is {max} bytes (max code bytes, for all files together)"
        ));
    }
    if job.files.len() > MAX_EXTRA_FILES {
        return Err(format!(
            "{} extra files; the limit is {MAX_EXTRA_FILES}",
            job.files.len()
        ));
    }
    if job.stdin.len() > state.cfg.max_total_input_bytes {
        return Err(format!(
            "stdin is {} bytes; the limit is {} bytes",
            job.stdin.len(),
            state.cfg.max_total_input_bytes
        ));
    }
    Ok(())
}

/// Every name stays inside the job directory; no name is given twice or is
/// the directory of another (one of them could not be written).
pub fn check_file_names(files: &[ExtraFile]) -> Result<(), String> {
    for (i, file) in files.iter().enumerate() {
        ExtraFile::check_name(&file.name)?;
        if let Some(other) = files[..i].iter().find(|o| paths_clash(&o.name, &file.name)) {
            return Err(format!(
                "file names {:?} and {:?} clash: one would overwrite or contain the other",
                other.name, file.name
            ));
        }
    }
    Ok(())
}

/// Two relative paths that cannot both be written as files: equal, or one
/// the parent directory of the other.
pub fn paths_clash(a: &str, b: &str) -> bool {
    let under = |inner: &str, outer: &str| {
        inner
            .strip_prefix(outer)
            .is_some_and(|rest| rest.starts_with('/'))
    };
    a == b || under(a, b) || under(b, a)
}

/// Refuses limits above the deployment's maximum, naming the cap as
/// `limits.<name>`.
pub fn check_caps(l: &LimitOverrides) -> Result<(), String> {
    check_caps_of(l, "limits")
}

/// Refuses limits above the deployment's maximum, naming the cap as
/// `<field>.<name>`.
pub fn check_caps_of(l: &LimitOverrides, field: &str) -> Result<(), String> {
    let max = Limits::maximum_defaults();
    let checks = [
        ("wall_time_ms", l.wall_time_ms, max.wall_time_ms),
        ("cpu_time_ms", l.cpu_time_ms, max.cpu_time_ms),
        ("memory_bytes", l.memory_bytes, max.memory_bytes),
        ("output_bytes", l.output_bytes, max.output_bytes),
    ];
    for (name, asked, cap) in checks {
        match asked {
            Some(0) => return Err(format!("{field}.{name} must be positive")),
            Some(v) if v > cap => {
                return Err(format!(
                    "{field}.{name} = {v} is above this deployment's cap of {cap}"
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
    ::metrics::histogram!(crate::metrics::JOB_DURATION, "language" => language.to_string())
        .record(started.elapsed().as_secs_f64());
    ::metrics::counter!(crate::metrics::JOBS_TOTAL, "language" => language.to_string(), "status" => status)
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
    let mut backoff = Outage::DEFAULT.backoff();
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
            Err(e) => match backoff.after(e).await {
                Ok(()) => continue,
                Err(e) => {
                    return Err((
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
            JobEvent::Stage {
                stage: Stage::Queued,
            } => status = Some(QUEUED),
            JobEvent::Stage { .. } | JobEvent::Output { .. } | JobEvent::InputRequired => {
                status = Some("running")
            }
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
    fn clashing_paths() {
        assert!(paths_clash("a.h", "a.h"));
        assert!(paths_clash("inc", "inc/a.h"));
        assert!(paths_clash("inc/a.h", "inc"));
        assert!(!paths_clash("inc/a.h", "inc/b.h"));
        assert!(!paths_clash("inc", "include/a.h"));
        assert!(!paths_clash("a", "ab"));
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
