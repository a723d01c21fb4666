//! Prometheus metrics: one recorder per process (the `metrics` facade with the
//! Prometheus exporter), rendered by `GET /metrics`.
use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Jobs finished, labelled `language` and `status`.
pub const JOBS_TOTAL: &str = "codr_jobs_total";
/// Jobs created over HTTP.
pub const JOBS_CREATED: &str = "codr_jobs_created_total";
/// Seconds from `execute` to the end of the job, labelled `language`.
pub const JOB_DURATION: &str = "codr_job_duration_seconds";
/// Sandbox wall time of a run, labelled `language`.
pub const RUN_DURATION: &str = "codr_run_wall_seconds";
/// Open WebSocket sessions.
pub const WS_ACTIVE: &str = "codr_ws_connections_active";
/// Jobs waiting in the queue (sampled on scrape).
pub const QUEUE_DEPTH: &str = "codr_queue_depth";
/// Workers with a live heartbeat (sampled on scrape).
pub const WORKERS_ALIVE: &str = "codr_workers_alive";
/// Jobs running in this worker process.
pub const WORKER_RUNNING: &str = "codr_worker_jobs_running";
/// Requests refused by the rate limiter.
pub const RATE_LIMITED: &str = "codr_rate_limited_total";
/// Protocol and auth refusals on the WebSocket, labelled `reason`.
pub const WS_REFUSED: &str = "codr_ws_refused_total";
/// Messages of a type the server does not know, ignored during a job.
pub const WS_IGNORED: &str = "codr_ws_ignored_messages_total";
/// Non-final `notice` messages sent (a refused input, a bad message mid-job).
pub const WS_NOTICES: &str = "codr_ws_notices_total";

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the recorder (once) and returns the handle that renders it.
pub fn handle() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let buckets = [
                0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 60.0,
            ];
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &buckets)
                .expect("buckets are not empty");
            match builder.install_recorder() {
                Ok(handle) => handle,
                // Another recorder is already installed (a test harness):
                // render an empty, private one rather than fail.
                Err(_) => PrometheusBuilder::new().build_recorder().handle(),
            }
        })
        .clone()
}
