//! The OpenAPI document, generated from the handlers' annotations: the
//! router and the document come from the same table ([`super::routes`]), so
//! they cannot drift.
use std::sync::Arc;

use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use utoipa::{Modify, OpenApi};

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
    components(schemas(codr_plugin_host::Diagnostic)),
    modifiers(&WsMessages)
)]
pub struct Doc;

/// Adds one schema per WebSocket message (see
/// [`super::protocol::schemas`]); `/ws/execute`'s description names them.
struct WsMessages;

impl Modify for WsMessages {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.schemas.extend(super::protocol::schemas::all());
    }
}

/// `GET /api/openapi.json`.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "operations",
    responses((status = 200, description = "This document (OpenAPI 3.1)"))
)]
pub async fn openapi_json(Extension(doc): Extension<Arc<utoipa::openapi::OpenApi>>) -> Response {
    // The document the router was built with (see `super::router`).
    Json(&*doc).into_response()
}
