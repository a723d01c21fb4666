//! Judge0 CE 1.13 compatibility at the root of the gateway: `/about`,
//! `/config_info`, `/statuses`, `/languages`, `/submissions` (single and
//! batch), in Judge0's shapes, so Judge0 clients (the official `judge0`
//! Python SDK among them) work unchanged against codr.
//!
//! The information routes are open, as codr's other listings are. The
//! submission routes take codr's API key, in Judge0's `X-Auth-Token` header
//! or in codr's (`X-API-Key`, `Authorization: Bearer`); a missing or wrong
//! key is a bare 401, as Judge0 answers it. Creating submissions spends the
//! batch budget (`--batch-rate-limit`), one unit per request. Refusals are
//! `{"error": ...}`, and 422 `{"field": ["message"]}` for invalid fields.
//!
//! What codr cannot honour is refused by name rather than ignored
//! (`compiler_options`, `enable_network`, `number_of_runs` above 1):
//! `GET /config_info` says so in Judge0's own switches. `additional_files`
//! become extra files of the job ([`files`]); `callback_url` is honoured
//! for the hosts the operator allows ([`callback`]).
use std::collections::{BTreeMap, HashMap};
use std::marker::PhantomData;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use codr_job::{Outcome, Status};
use serde_json::{json, Value};
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::openapi::{response::Response as DocResponse, RefOr};

use super::batch::{self, BatchJob, Refused};
use super::extract::{key_param, refusals, ApiKey, BatchRun};
use super::{ApiError, AppState};

pub mod callback;
pub mod config;
pub mod files;
pub mod languages;
pub mod request;
pub mod status;
pub mod store;
pub mod wire;

use request::{FieldErrors, Settings, MAX_BATCH};
use wire::{Progress, Submission};

/// The Judge0 version announced: the SDK picks its language ids by it.
pub const VERSION: &str = "1.13.1";

/// A refusal in Judge0's shape.
#[derive(Debug)]
pub enum Judge0Error {
    /// A bare 401 (Judge0 answers authentication failures without a body).
    Unauthorized,
    /// 422 with the refusals by field.
    Invalid(FieldErrors),
    /// Any other status with `{"error": message}`, and `Retry-After` for 429.
    Error(StatusCode, String, Option<u64>),
}

impl From<ApiError> for Judge0Error {
    fn from(e: ApiError) -> Self {
        match e.status {
            StatusCode::UNAUTHORIZED => Judge0Error::Unauthorized,
            status => Judge0Error::Error(status, e.message, e.retry_after),
        }
    }
}

impl Judge0Error {
    fn broker(e: codr_broker::BrokerError) -> Self {
        Judge0Error::Error(StatusCode::SERVICE_UNAVAILABLE, e.to_string(), None)
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Judge0Error::Error(StatusCode::BAD_REQUEST, message.into(), None)
    }

    fn not_found() -> Self {
        Judge0Error::Error(StatusCode::NOT_FOUND, "Not Found".into(), None)
    }
}

/// Judge0's refusal of a batch of `n` submissions or tokens: none, or
/// more than [`MAX_BATCH`].
fn check_batch_size(n: usize) -> Result<(), Judge0Error> {
    if n == 0 {
        return Err(Judge0Error::bad_request(
            "there should be at least one submission in a batch",
        ));
    }
    if n > MAX_BATCH {
        return Err(Judge0Error::bad_request(format!(
            "number of submissions in a batch should be less than or equal to {MAX_BATCH}"
        )));
    }
    Ok(())
}

impl IntoResponse for Judge0Error {
    fn into_response(self) -> Response {
        match self {
            Judge0Error::Unauthorized => StatusCode::UNAUTHORIZED.into_response(),
            Judge0Error::Invalid(errors) => {
                (StatusCode::UNPROCESSABLE_ENTITY, Json(errors)).into_response()
            }
            Judge0Error::Error(status, message, retry_after) => {
                let mut r = (status, Json(json!({ "error": message }))).into_response();
                if let Some(secs) = retry_after {
                    r.headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
                }
                r
            }
        }
    }
}

/// Judge0's `X-Auth-Token` as codr's `X-API-Key` (when that is not sent).
fn accept_auth_token(parts: &mut Parts) {
    if parts.headers.contains_key("x-api-key") {
        return;
    }
    if let Some(token) = parts.headers.get("x-auth-token").cloned() {
        parts.headers.insert("x-api-key", token);
    }
}

/// A request that codr's guard `G` ([`ApiKey`] or [`BatchRun`]) let in, its
/// key read from Judge0's `X-Auth-Token` too, refused in Judge0's shape
/// (see the module docs).
pub struct Judge0<G>(PhantomData<fn() -> G>);

/// A request with a valid key.
pub type Judge0Key = Judge0<ApiKey>;

/// A request with a valid key that spent one unit of the batch budget.
pub type Judge0Run = Judge0<BatchRun>;

/// A guard of codr's that the Judge0 routes use, with the refusals it can
/// answer as Judge0's OpenAPI entries document them.
pub trait Guard: FromRequestParts<Arc<AppState>, Rejection = ApiError> {
    /// Status and description of each refusal.
    const REFUSALS: &'static [(u16, &'static str)];
}

/// A 401, as OpenAPI documents it.
const UNAUTHORIZED: (u16, &str) = (401, "Missing or wrong key (no body)");

impl Guard for ApiKey {
    const REFUSALS: &'static [(u16, &'static str)] = &[UNAUTHORIZED];
}

impl Guard for BatchRun {
    const REFUSALS: &'static [(u16, &'static str)] = &[
        UNAUTHORIZED,
        (429, "Rate limited (see Retry-After): `{error}`"),
    ];
}

impl<G: Guard> FromRequestParts<Arc<AppState>> for Judge0<G> {
    type Rejection = Judge0Error;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Judge0Error> {
        accept_auth_token(parts);
        G::from_request_parts(parts, state).await?;
        Ok(Judge0(PhantomData))
    }
}

impl<G> utoipa::IntoParams for Judge0<G> {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        key_param("X-Auth-Token", "codr API key (or `X-API-Key`)")
    }
}

impl<G: Guard> utoipa::IntoResponses for Judge0<G> {
    fn responses() -> BTreeMap<String, RefOr<DocResponse>> {
        refusals(G::REFUSALS)
    }
}

/// The query of the routes that answer submissions, as OpenAPI documents
/// it (each handler reads it from [`Params`], as Judge0 does).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Only documents the query.
struct Answering {
    /// Text fields are Base64
    base64_encoded: Option<bool>,
    /// Attributes to answer; `*` for all
    fields: Option<String>,
}

/// The query of the submission routes.
type Params = Query<HashMap<String, String>>;

/// Judge0's reading of a boolean query parameter: only `true` is true.
fn flag(q: &HashMap<String, String>, name: &str) -> bool {
    q.get(name).is_some_and(|v| v == "true")
}

/// The `fields` asked for, or Judge0's 400.
fn fields_of(q: &HashMap<String, String>) -> Result<Vec<&'static str>, Judge0Error> {
    wire::fields(q.get("fields").map(String::as_str)).map_err(Judge0Error::bad_request)
}

/// `GET /about`.
#[utoipa::path(get, path = "/about", tag = "judge0",
    responses((status = 200, description = "Version (a Judge0 CE 1.13 version clients recognise), homepage, source, maintainer")))]
pub async fn about() -> Json<Value> {
    Json(json!({
        "version": VERSION,
        "homepage": "https://github.com/codr",
        "source_code": "https://github.com/codr",
        "maintainer": "codr (Judge0-compatible API)",
    }))
}

/// `GET /config_info`.
#[utoipa::path(get, path = "/config_info", tag = "judge0",
    responses((status = 200, description = "Judge0's configuration fields, from codr's limits")))]
pub async fn config_info(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(Settings::codr().config_info(&state.cfg))
}

/// `GET /statuses`.
#[utoipa::path(get, path = "/statuses", tag = "judge0",
    responses((status = 200, description = "Judge0's fourteen statuses: `[{id, description}]`")))]
pub async fn statuses() -> Json<Value> {
    let list: Vec<Value> = status::ALL
        .iter()
        .map(|s| json!({ "id": s.id, "description": s.description }))
        .collect();
    Json(Value::Array(list))
}

/// `GET /languages`.
#[utoipa::path(get, path = "/languages", tag = "judge0",
    responses((status = 200, description = "The loaded languages under Judge0 ids: `[{id, name}]`")))]
pub async fn languages(State(state): State<Arc<AppState>>) -> Json<Value> {
    let list: Vec<Value> = languages::list(&state.languages.list())
        .into_iter()
        .map(|l| json!({ "id": l.id, "name": l.name }))
        .collect();
    Json(Value::Array(list))
}

/// `GET /languages/{id}`.
#[utoipa::path(get, path = "/languages/{id}", tag = "judge0",
    params(("id" = i64, Path, description = "Judge0 language id")),
    responses(
        (status = 200, description = "`{id, name, is_archived, source_file, compile_cmd, run_cmd}`"),
        (status = 404, description = "No loaded language has this id: `{error}`")
    ))]
pub async fn language(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, Judge0Error> {
    let found = id
        .parse::<i64>()
        .ok()
        .and_then(|id| languages::find(&state.languages.list(), id));
    let Some(l) = found else {
        return Err(Judge0Error::not_found());
    };
    Ok(Json(json!({
        "id": l.id,
        "name": l.name,
        "is_archived": false,
        "source_file": format!("main.{}", l.language.extension),
        // The plugin plans the build and the run for each program.
        "compile_cmd": null,
        "run_cmd": null,
    })))
}

/// Reads a body as JSON (whatever its declared type; empty is `{}`).
fn json_body(body: &Bytes) -> Result<Value, Judge0Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(body)
        .map_err(|e| Judge0Error::bad_request(format!("the body is not JSON: {e}")))
}

/// Checks, records and queues one submission. Code codr's rules refuse is
/// recorded as a Compilation Error with the refusal, not run.
async fn create_one(
    state: &AppState,
    body: &Value,
    base64: bool,
) -> Result<Result<Submission, FieldErrors>, Judge0Error> {
    let token = uuid::Uuid::new_v4().to_string();
    let known = state.languages.list();
    let find = |id| languages::find(&known, id);
    let sub = match request::parse(body, base64, &state.cfg, find, &token, &store::now()) {
        Ok(sub) => sub,
        Err(errors) => return Ok(Err(errors)),
    };
    let Some(lang) = state.languages.resolve(&sub.language) else {
        let e = [(
            "language_id".to_string(),
            vec!["language was removed".to_string()],
        )];
        return Ok(Err(e.into_iter().collect()));
    };
    store::save(state, &sub)
        .await
        .map_err(Judge0Error::broker)?;
    let job = BatchJob {
        code: sub.source_code.clone(),
        stdin: sub.stdin.clone().unwrap_or_default(),
        args: sub.args.clone(),
        limits: sub.limits.clone(),
        compile_limits: Default::default(),
        files: sub.files.clone(),
    };
    match batch::submit(state, &token, &lang, job).await {
        Ok(()) => {}
        Err(Refused::Rejected(message, _)) => {
            store::refused(state, &token, message)
                .await
                .map_err(Judge0Error::broker)?;
        }
        Err(Refused::Http(e)) => {
            // Recorded, not queued: its token must not read "In Queue" for ever.
            let failed = Outcome::unmeasured(Status::InternalError, Some(e.message.clone()));
            if let Err(e) = state.broker.store_result(&token, &failed).await {
                tracing::debug!(%token, error = %e, "judge0: cannot record a failed submission");
            }
            return Err(e.into());
        }
    }
    Ok(Ok(sub))
}

/// `POST /submissions`.
#[utoipa::path(post, path = "/submissions", tag = "judge0",
    request_body(content = Object, content_type = "application/json",
        description = "A Judge0 submission: `source_code`, `language_id`, `stdin`, `expected_output`, limits"),
    params(
        ("base64_encoded" = Option<bool>, Query, description = "Text fields in and out are Base64"),
        ("wait" = Option<bool>, Query, description = "Answer when the submission ended"),
        ("fields" = Option<String>, Query, description = "Attributes to answer (with `wait=true`); `*` for all"),
        Judge0Run
    ),
    responses(
        (status = 201, description = "`{token}`, or the submission with `wait=true`"),
        (status = 400, description = "Invalid `fields` or body: `{error}`"),
        (status = 422, description = "Invalid fields: `{field: [message]}`"),
        Judge0Run
    ))]
pub async fn create(
    State(state): State<Arc<AppState>>,
    _: Judge0Run,
    Query(q): Params,
    body: Bytes,
) -> Result<Response, Judge0Error> {
    let fields = fields_of(&q)?;
    let base64 = flag(&q, "base64_encoded");
    let body = json_body(&body)?;
    let sub = create_one(&state, &body, base64)
        .await?
        .map_err(Judge0Error::Invalid)?;
    if !flag(&q, "wait") {
        store::finish_later(state.clone(), sub.clone());
        return Ok((StatusCode::CREATED, Json(json!({ "token": sub.token }))).into_response());
    }
    let (sub, progress) = store::wait_and_finish(&state, sub).await;
    let answer = wire::render(&sub, &progress, &fields, base64);
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

/// `GET /submissions/{token}`.
#[utoipa::path(get, path = "/submissions/{token}", tag = "judge0",
    params(
        ("token" = String, Path, description = "The token from POST /submissions"),
        Answering,
        Judge0Key
    ),
    responses(
        (status = 200, description = "The submission (status 1 or 2 until it ends)"),
        (status = 400, description = "Invalid `fields`: `{error}`"),
        (status = 404, description = "Unknown or expired token: `{error}`"),
        Judge0Key
    ))]
pub async fn show(
    State(state): State<Arc<AppState>>,
    _: Judge0Key,
    Path(token): Path<String>,
    Query(q): Params,
) -> Result<Json<Value>, Judge0Error> {
    let fields = fields_of(&q)?;
    match one(&state, &token, &fields, flag(&q, "base64_encoded")).await? {
        Some(v) => Ok(Json(v)),
        None => Err(Judge0Error::not_found()),
    }
}

/// One submission's JSON; `None` when the token is unknown or expired.
async fn one(
    state: &AppState,
    token: &str,
    fields: &[&str],
    base64: bool,
) -> Result<Option<Value>, Judge0Error> {
    let Some(mut sub) = store::load(state, token)
        .await
        .map_err(Judge0Error::broker)?
    else {
        return Ok(None);
    };
    let progress = store::progress(state, &sub)
        .await
        .map_err(Judge0Error::broker)?;
    if matches!(progress, Progress::Done(_)) {
        store::date_end(state, &mut sub).await;
    }
    Ok(Some(wire::render(&sub, &progress, fields, base64)))
}

/// `POST /submissions/batch`.
#[utoipa::path(post, path = "/submissions/batch", tag = "judge0",
    request_body(content = Object, content_type = "application/json",
        description = "`{submissions: [...]}`, at most 20"),
    params(
        ("base64_encoded" = Option<bool>, Query, description = "Text fields are Base64"),
        Judge0Run
    ),
    responses(
        (status = 201, description = "One `{token}` or `{field: [message]}` per submission, in order"),
        (status = 400, description = "No submission, or more than 20: `{error}`"),
        (status = 422, description = "No submission was valid: the refusals, in order"),
        Judge0Run
    ))]
pub async fn create_batch(
    State(state): State<Arc<AppState>>,
    _: Judge0Run,
    Query(q): Params,
    body: Bytes,
) -> Result<Response, Judge0Error> {
    let base64 = flag(&q, "base64_encoded");
    let body = json_body(&body)?;
    let list = body["submissions"].as_array().cloned().unwrap_or_default();
    check_batch_size(list.len())?;
    let mut answers = Vec::with_capacity(list.len());
    let mut any = false;
    for item in &list {
        match create_one(&state, item, base64).await? {
            Ok(sub) => {
                any = true;
                answers.push(json!({ "token": sub.token }));
                store::finish_later(state.clone(), sub);
            }
            Err(errors) => answers.push(json!(errors)),
        }
    }
    let status = if any {
        StatusCode::CREATED
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, Json(Value::Array(answers))).into_response())
}

/// `GET /submissions/batch?tokens=a,b`.
#[utoipa::path(get, path = "/submissions/batch", tag = "judge0",
    params(
        ("tokens" = String, Query, description = "Tokens, comma separated"),
        Answering,
        Judge0Key
    ),
    responses(
        (status = 200, description = "`{submissions: [...]}`, `null` for an unknown token"),
        (status = 400, description = "No token, more than 20, or invalid `fields`: `{error}`"),
        Judge0Key
    ))]
pub async fn show_batch(
    State(state): State<Arc<AppState>>,
    _: Judge0Key,
    Query(q): Params,
) -> Result<Json<Value>, Judge0Error> {
    let fields = fields_of(&q)?;
    let base64 = flag(&q, "base64_encoded");
    let tokens: Vec<&str> = q
        .get("tokens")
        .map(|t| t.trim().split(',').collect())
        .unwrap_or_default();
    let all_empty = tokens.iter().all(|t| t.is_empty());
    check_batch_size(if all_empty { 0 } else { tokens.len() })?;
    let mut out = Vec::with_capacity(tokens.len());
    for token in tokens {
        out.push(
            one(&state, token, &fields, base64)
                .await?
                .unwrap_or(Value::Null),
        );
    }
    Ok(Json(json!({ "submissions": out })))
}
