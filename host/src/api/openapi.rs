//! The OpenAPI document, generated from the handlers' annotations: the
//! router and the document come from the same list, so they cannot drift.
use std::sync::{Arc, OnceLock};

use axum::response::{IntoResponse, Response};
use axum::Json;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{batch, piston, ws, AppState};

/// Title, version and tags of the document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "codr",
        description = "Multi-language code sandbox executor: WebSocket sessions, a batch API and Piston v2 compatibility."
    ),
    tags(
        (name = "jobs", description = "Interactive jobs: create, then run over the WebSocket"),
        (name = "batch", description = "One request, one answer"),
        (name = "piston", description = "Piston v2 compatible API"),
        (name = "operations", description = "Health, metrics, this document")
    ),
    components(schemas(super::protocol::WireDiagnostic))
)]
struct Doc;

static DOC: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();

/// Every route, with its documentation.
pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::with_openapi(Doc::openapi())
        .routes(routes!(super::create_job))
        .routes(routes!(super::languages))
        .routes(routes!(super::health))
        .routes(routes!(super::render_metrics))
        .routes(routes!(ws::upgrade))
        .routes(routes!(batch::execute))
        .routes(routes!(batch::get_job))
        .routes(routes!(piston::runtimes))
        .routes(routes!(piston::execute))
        .routes(routes!(openapi_json))
}

/// Keeps the generated document for `/api/openapi.json`.
pub fn publish(doc: utoipa::openapi::OpenApi) {
    let _ = DOC.set(doc);
}

/// `GET /api/openapi.json`.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "operations",
    responses((status = 200, description = "This document (OpenAPI 3.1)"))
)]
pub async fn openapi_json() -> Response {
    match DOC.get() {
        Some(doc) => Json(doc).into_response(),
        None => Json(routes().into_openapi()).into_response(),
    }
}
