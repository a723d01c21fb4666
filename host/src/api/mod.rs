//! The HTTP + WebSocket front door (axum): job creation with API keys and
//! single-use job tokens, the languages list, health, metrics and the
//! `/ws/execute` session.
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde_json::json;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};

use codr_broker::Broker;

use crate::config::ApiArgs;

pub mod auth;
pub mod batch;
pub mod client_addr;
pub mod openapi;
pub mod piston;
pub mod protocol;
pub mod rate;
pub mod ws;

use crate::languages::SharedLanguages;
use auth::{ApiKeys, TokenIssuer};
use rate::CreateLimiter;

/// How long a health check waits for the broker.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(2);

/// Everything a request handler needs; shared behind an `Arc`.
pub struct AppState {
    /// The API settings.
    pub cfg: ApiArgs,
    /// Accepted API keys.
    pub keys: ApiKeys,
    /// Job token issuer and checker.
    pub tokens: TokenIssuer,
    /// Job creation budgets.
    pub limiter: CreateLimiter,
    /// Rate limits of batch runs (v1 and Piston), apart from job creation.
    pub batch_limiter: CreateLimiter,
    /// The queue and streams.
    pub broker: Arc<dyn Broker>,
    /// The language plugins (for validation and the languages list).
    pub languages: SharedLanguages,
    /// Renders `/metrics`.
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
}

impl AppState {
    /// Builds the state; `keys` and `jwt_secret` are already resolved (see
    /// the `serve` and `gateway` commands).
    pub fn new(
        cfg: ApiArgs,
        keys: &[String],
        jwt_secret: &str,
        broker: Arc<dyn Broker>,
        languages: SharedLanguages,
    ) -> Self {
        Self {
            keys: ApiKeys::new(keys),
            tokens: TokenIssuer::new(jwt_secret.as_bytes(), cfg.token_ttl),
            limiter: CreateLimiter::new(cfg.rate_limit_per_minute),
            batch_limiter: CreateLimiter::new(cfg.batch_rate_limit_per_minute),
            broker,
            languages,
            metrics: crate::metrics::handle(),
            cfg,
        }
    }
}

/// The router with every route and layer. Routes are registered through
/// `utoipa-axum`, so the OpenAPI document (`/api/openapi.json`) lists exactly
/// the routes served.
pub fn router(state: Arc<AppState>) -> Router {
    // Bodies: the batch API carries code and stdin; nothing else is large.
    let body_limit = state.cfg.max_code_bytes + state.cfg.max_total_input_bytes + 64 * 1024;
    let cors = cors_layer(&state.cfg.cors_origins);
    let (router, doc) = openapi::routes().split_for_parts();
    openapi::publish(doc);
    let mut router = router
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state);
    if let Some(cors) = cors {
        router = router.layer(cors);
    }
    router
}

/// CORS for the configured origins; `None` when there are none.
fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    let origins: Vec<&str> = origins
        .iter()
        .map(|o| o.trim())
        .filter(|o| !o.is_empty())
        .collect();
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.contains(&"*") {
        AllowOrigin::any()
    } else {
        let list: Vec<HeaderValue> = origins
            .iter()
            .filter_map(|o| match HeaderValue::from_str(o) {
                Ok(v) => Some(v),
                Err(_) => {
                    tracing::warn!(origin = %o, "ignoring malformed CORS origin");
                    None
                }
            })
            .collect();
        AllowOrigin::list(list)
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
            .allow_headers(Any)
            .expose_headers([header::RETRY_AFTER])
            .max_age(Duration::from_secs(600)),
    )
}

/// A JSON error body `{error, message}` with a status.
pub fn error_response(status: StatusCode, message: impl Into<String>) -> Response {
    let message = message.into();
    (
        status,
        Json(json!({ "error": message, "message": message })),
    )
        .into_response()
}

/// A refusal of an HTTP request: status, message, and for 429 the seconds to wait.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// What went wrong.
    pub message: String,
    /// `Retry-After`, in seconds.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// A refusal without `Retry-After`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    /// This refusal in a route's own error shape (`body` makes the response
    /// from the status and the message), with its `Retry-After`.
    pub fn respond_with(self, body: impl FnOnce(StatusCode, String) -> Response) -> Response {
        let mut response = body(self.status, self.message);
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.respond_with(error_response)
    }
}

/// Checks the API key: `X-API-Key: KEY`, or `Authorization: Bearer KEY`
/// (what Piston clients can send). The key's index on success.
pub fn check_api_key(state: &AppState, headers: &HeaderMap) -> Result<usize, ApiError> {
    let from_header = headers.get("x-api-key").and_then(|v| v.to_str().ok());
    let from_auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.strip_prefix("Bearer ").unwrap_or(v).trim());
    let Some(key) = from_header.or(from_auth) else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing X-API-Key header",
        ));
    };
    state
        .keys
        .index_of(key)
        .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "invalid API key"))
}

/// Spends one job creation of the key's and the client address's budgets
/// (see [`client_addr::client_addr`]); a 429 with `Retry-After` when either
/// is empty.
pub fn rate_check(
    state: &AppState,
    key: usize,
    peer: SocketAddr,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    limit(state, &state.limiter, "jobs created", key, peer, headers)
}

/// Checks one budget (`what` names it in the refusal) for `key` and the
/// client's address.
pub fn limit(
    state: &AppState,
    limiter: &CreateLimiter,
    what: &str,
    key: usize,
    peer: SocketAddr,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    let client = client_addr::client_addr(peer.ip(), headers, &state.cfg.trusted_proxies);
    let Err(wait) = limiter.check(key, client) else {
        return Ok(());
    };
    ::metrics::counter!(crate::metrics::RATE_LIMITED).increment(1);
    let secs = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
    Err(ApiError {
        status: StatusCode::TOO_MANY_REQUESTS,
        message: format!("too many {what}; retry in {secs} s"),
        retry_after: Some(secs),
    })
}

/// What `POST /api/jobs/create` answers.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CreatedJob {
    /// The new job's id.
    pub job_id: String,
    /// Single-use JWT for `/ws/execute`, bound to `job_id`.
    pub job_token: String,
    /// When the token expires (RFC 3339).
    pub expires_at: String,
}

/// `POST /api/jobs/create`: a job id and its single-use token.
#[utoipa::path(
    post,
    path = "/api/jobs/create",
    tag = "jobs",
    params(("X-API-Key" = String, Header, description = "API key")),
    responses(
        (status = 200, description = "Job created", body = CreatedJob),
        (status = 401, description = "Missing or wrong API key"),
        (status = 429, description = "Rate limited; see Retry-After")
    )
)]
pub async fn create_job(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let key = match check_api_key(&state, &headers) {
        Ok(k) => k,
        Err(e) => return e.into_response(),
    };
    if let Err(e) = rate_check(&state, key, addr, &headers) {
        return e.into_response();
    }
    let job_id = uuid::Uuid::new_v4().to_string();
    let issued = match state.tokens.issue(&job_id) {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "cannot sign a job token");
            return error_response(StatusCode::INTERNAL_SERVER_ERROR, "cannot sign a job token");
        }
    };
    ::metrics::counter!(crate::metrics::JOBS_CREATED).increment(1);
    let expires = UNIX_EPOCH + Duration::from_secs(issued.claims.exp);
    Json(CreatedJob {
        job_id,
        job_token: issued.token,
        expires_at: humantime::format_rfc3339_seconds(expires).to_string(),
    })
    .into_response()
}

/// `GET /api/languages`: what the loaded plugins offer.
#[utoipa::path(
    get,
    path = "/api/languages",
    tag = "jobs",
    responses((status = 200, description = "Loaded languages", body = [crate::languages::LanguageInfo]))
)]
pub async fn languages(State(state): State<Arc<AppState>>) -> Response {
    Json(state.languages.list()).into_response()
}

/// `GET /health`: 200 when the broker answers, plugins are loaded and at
/// least one worker is alive; 503 with the details otherwise.
#[utoipa::path(
    get,
    path = "/health",
    tag = "operations",
    responses(
        (status = 200, description = "Broker reachable, plugins loaded, workers alive"),
        (status = 503, description = "Something is missing; the body says what")
    )
)]
pub async fn health(State(state): State<Arc<AppState>>) -> Response {
    let broker = tokio::time::timeout(HEALTH_TIMEOUT, state.broker.ping()).await;
    let broker_error = match broker {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e.to_string()),
        Err(_) => Some("broker did not answer within 2 s".to_string()),
    };
    let workers = match broker_error {
        None => tokio::time::timeout(HEALTH_TIMEOUT, state.broker.live_workers())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default(),
        Some(_) => Vec::new(),
    };
    let plugins: Vec<String> = state.languages.list().into_iter().map(|l| l.name).collect();
    let healthy = broker_error.is_none() && !plugins.is_empty() && !workers.is_empty();
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if healthy { "ok" } else { "unavailable" },
        "broker": { "ok": broker_error.is_none(), "error": broker_error },
        // Broken plugin files do not make the service unhealthy (the others,
        // or the previous version, serve); they are listed for the operator.
        "plugins": { "ok": !plugins.is_empty(), "loaded": plugins, "errors": state.languages.load_errors() },
        "workers": { "ok": !workers.is_empty(), "alive": workers.len() },
        // Loud on purpose: anyone who reaches the port may run code.
        "piston_open": state.cfg.piston_open,
        "time": SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
    });
    (status, Json(body)).into_response()
}

/// `GET /metrics`: Prometheus text, with queue depth and live workers
/// sampled now.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain"))
)]
pub async fn render_metrics(State(state): State<Arc<AppState>>) -> Response {
    if let Ok(Ok(depth)) = tokio::time::timeout(HEALTH_TIMEOUT, state.broker.queue_depth()).await {
        ::metrics::gauge!(crate::metrics::QUEUE_DEPTH).set(depth as f64);
    }
    if let Ok(Ok(workers)) = tokio::time::timeout(HEALTH_TIMEOUT, state.broker.live_workers()).await
    {
        ::metrics::gauge!(crate::metrics::WORKERS_ALIVE).set(workers.len() as f64);
    }
    state.limiter.shrink();
    state.batch_limiter.shrink();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

/// Serves the router on a bound listener until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    use tower::Layer;
    // `/api/v2/execute/` is `/api/v2/execute`: Piston accepts both, and so
    // do its clients (aiopyston calls every route with the slash).
    let app =
        tower_http::normalize_path::NormalizePathLayer::trim_trailing_slash().layer(router(state));
    let app = axum::ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<
        SocketAddr,
    >(app);
    // No Nagle: the last `output` and the `complete` of a job are small
    // writes back to back, and with Nagle the second one waited for the
    // client's delayed ACK (40 ms, most of a hello world's latency).
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("cannot set TCP_NODELAY: {e}");
        }
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Fails the jobs of dead workers, every `interval`, until the process ends.
pub async fn reaper(broker: Arc<dyn Broker>, interval: Duration, max_idle: Duration) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match broker.reap_orphans(max_idle).await {
            Ok(jobs) if !jobs.is_empty() => {
                tracing::warn!(
                    count = jobs.len(),
                    ?jobs,
                    "failed the jobs of stopped workers"
                )
            }
            Ok(_) => {}
            Err(e) => tracing::debug!(error = %e, "reaper: broker unavailable"),
        }
    }
}
