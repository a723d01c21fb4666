//! The HTTP + WebSocket front door (axum): job creation with API keys and
//! single-use job tokens, the languages list, health, metrics and the
//! `/ws/execute` session.
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::IntoResponse;
use axum::{Extension, Json, Router};
use serde_json::{json, Value};
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use codr_broker::Broker;

use crate::config::ApiArgs;

pub mod auth;
pub mod batch;
pub mod checks;
pub mod client_addr;
pub mod error;
pub mod extract;
pub mod judge0;
pub mod openapi;
pub mod piston;
pub mod playground;
pub mod protocol;
pub mod rate;
pub mod ws;

use crate::languages::SharedLanguages;
use auth::{ApiKeys, TokenIssuer};
pub use error::ApiError;
use extract::CreateJob;
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

/// Every route with its OpenAPI entry, in one table: `routes!` takes the
/// path and the method from the handler's `#[utoipa::path]`, so the
/// document (`/api/openapi.json`) lists exactly the routes served. What
/// guards a route is in its handler's arguments (see [`extract`]); the
/// comments say which.
pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::with_openapi(openapi::Doc::openapi())
        .routes(routes!(create_job)) // POST /api/jobs/create: CreateJob
        .routes(routes!(languages)) // GET /api/languages: open
        .routes(routes!(health)) // GET /health: open
        .routes(routes!(render_metrics)) // GET /metrics: open
        .routes(routes!(ws::upgrade)) // GET /ws/execute: job token in the first message
        .routes(routes!(batch::execute)) // POST /api/v1/execute: BatchRun
        .routes(routes!(batch::get_job)) // GET /api/v1/jobs/{id}: ApiKey
        .routes(routes!(piston::runtimes)) // GET /api/v2/runtimes: open
        .routes(routes!(piston::execute)) // POST /api/v2/execute: BatchRun<Piston>
        .routes(routes!(openapi::openapi_json)) // GET /api/openapi.json: open
        // Judge0 CE 1.13 at the root (judge0/): listings open, submissions
        // with the key in X-Auth-Token (or X-API-Key), creation spends the batch budget.
        .routes(routes!(judge0::about)) // GET /about: open
        .routes(routes!(judge0::config_info)) // GET /config_info: open
        .routes(routes!(judge0::statuses)) // GET /statuses: open
        .routes(routes!(judge0::languages)) // GET /languages: open
        .routes(routes!(judge0::language)) // GET /languages/{id}: open
        .routes(routes!(judge0::create)) // POST /submissions: Judge0Run
        .routes(routes!(judge0::create_batch, judge0::show_batch)) // /submissions/batch: Judge0Run, Judge0Key
        .routes(routes!(judge0::show)) // GET /submissions/{token}: Judge0Key
}

/// The router with every route of [`routes`] and the layers.
pub fn router(state: Arc<AppState>) -> Router {
    // Bodies: the batch API carries code and stdin; nothing else is large.
    let body_limit = state.cfg.max_code_bytes + state.cfg.max_total_input_bytes + 64 * 1024;
    let cors = cors_layer(&state.cfg.cors_origins);
    let (router, doc) = routes().split_for_parts();
    let router = match state.cfg.no_playground {
        true => router,
        false => router.merge(playground::routes()),
    };
    let mut router = router
        .layer(Extension(Arc::new(doc)))
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
    params(CreateJob),
    responses((status = 200, description = "Job created", body = CreatedJob), CreateJob)
)]
pub async fn create_job(
    State(state): State<Arc<AppState>>,
    _: CreateJob,
) -> Result<Json<CreatedJob>, ApiError> {
    let job_id = uuid::Uuid::new_v4().to_string();
    let issued = state.tokens.issue(&job_id).map_err(|e| {
        tracing::error!(error = %e, "cannot sign a job token");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "cannot sign a job token")
    })?;
    ::metrics::counter!(crate::metrics::JOBS_CREATED).increment(1);
    let expires = UNIX_EPOCH + Duration::from_secs(issued.claims.exp);
    Ok(Json(CreatedJob {
        job_id,
        job_token: issued.token,
        expires_at: humantime::format_rfc3339_seconds(expires).to_string(),
    }))
}

/// `GET /api/languages`: what the loaded plugins offer.
#[utoipa::path(
    get,
    path = "/api/languages",
    tag = "jobs",
    responses((status = 200, description = "Loaded languages", body = [crate::languages::LanguageInfo]))
)]
pub async fn languages(
    State(state): State<Arc<AppState>>,
) -> Json<Vec<crate::languages::LanguageInfo>> {
    Json(state.languages.list())
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
pub async fn health(State(state): State<Arc<AppState>>) -> (StatusCode, Json<Value>) {
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
    (status, Json(body))
}

/// `GET /metrics`: Prometheus text, with queue depth and live workers
/// sampled now.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain"))
)]
pub async fn render_metrics(State(state): State<Arc<AppState>>) -> impl IntoResponse {
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
