//! What protects a route, as extractors: a handler that takes [`ApiKey`],
//! [`CreateJob`] or [`BatchRun`] cannot run before the key is checked and
//! the budget spent, and its refusal comes in the route's [`Flavour`]
//! (codr's error shape, or Piston's with `--piston-open`). [`Body`] is the
//! JSON body, refused in the same shape.
//!
//! The extractors also document themselves: `params(BatchRun<Piston>)` adds
//! the key header and `responses(BatchRun<Piston>)` the 401 and 429 to a
//! route's OpenAPI entry.
use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use serde::de::DeserializeOwned;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::{Object, RefOr, Required, ResponseBuilder, Type};

use super::error::{ApiError, Shape};
use super::rate::CreateLimiter;
use super::{client_addr, AppState};

/// The error shape and key rules of a group of routes.
pub trait Flavour: Send + Sync + 'static {
    /// The shape of refusals.
    const SHAPE: Shape;
    /// The documentation of the key header.
    const KEY_DOC: &'static str;
    /// The documentation of a 401.
    const UNAUTHORIZED_DOC: &'static str;
    /// The documentation of a 429.
    const RATE_LIMITED_DOC: &'static str;

    /// Whether a request without a valid key goes on, as [`ANONYMOUS`].
    fn open(_state: &AppState) -> bool {
        false
    }
}

/// codr's own routes: a key is required, errors are `{error, message}`.
pub enum Codr {}

impl Flavour for Codr {
    const SHAPE: Shape = Shape::Codr;
    const KEY_DOC: &'static str = "API key";
    const UNAUTHORIZED_DOC: &'static str = "Missing or wrong API key";
    const RATE_LIMITED_DOC: &'static str = "Rate limited; see Retry-After";
}

/// The Piston v2 routes: errors are `{message}`; with `--piston-open` a
/// request without a valid key runs as [`ANONYMOUS`] (the per-address
/// budget guards it).
pub enum Piston {}

impl Flavour for Piston {
    const SHAPE: Shape = Shape::Piston;
    const KEY_DOC: &'static str = "API key (or `Authorization: Bearer KEY`)";
    const UNAUTHORIZED_DOC: &'static str = "Missing or wrong API key: `{message}`";
    const RATE_LIMITED_DOC: &'static str = "Rate limited (see Retry-After): `{message}`";

    fn open(state: &AppState) -> bool {
        state.cfg.piston_open
    }
}

/// The key budget of requests without a valid key on open routes.
pub const ANONYMOUS: usize = usize::MAX;

/// A request with a valid API key (`X-API-Key: KEY`, or `Authorization:
/// Bearer KEY` as Piston clients send it); 401 otherwise.
pub struct ApiKey<F = Codr> {
    /// The key's index (for rate limits), never the key; [`ANONYMOUS`] on
    /// an open route without one.
    pub index: usize,
    flavour: PhantomData<fn() -> F>,
}

impl<F: Flavour> FromRequestParts<Arc<AppState>> for ApiKey<F> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        let index = match key_index(state, &parts.headers) {
            Ok(index) => index,
            Err(_) if F::open(state) => ANONYMOUS,
            Err(e) => return Err(e.in_shape(F::SHAPE)),
        };
        Ok(Self {
            index,
            flavour: PhantomData,
        })
    }
}

/// The index of the request's API key.
fn key_index(state: &AppState, headers: &HeaderMap) -> Result<usize, ApiError> {
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

/// A rate-limited kind of request: which budgets it spends.
pub trait Budget: Send + Sync + 'static {
    /// Names what is counted, in the 429's message (`too many {WHAT}`).
    const WHAT: &'static str;
    /// The budgets (per key and per client address).
    fn limiter(state: &AppState) -> &CreateLimiter;
}

/// Job creation (`POST /api/jobs/create`).
pub enum JobCreation {}

impl Budget for JobCreation {
    const WHAT: &'static str = "jobs created";
    fn limiter(state: &AppState) -> &CreateLimiter {
        &state.limiter
    }
}

/// Batch runs (v1 and Piston), apart from job creation.
pub enum BatchRuns {}

impl Budget for BatchRuns {
    const WHAT: &'static str = "batch runs";
    fn limiter(state: &AppState) -> &CreateLimiter {
        &state.batch_limiter
    }
}

/// A request with its key checked ([`ApiKey`]) and one unit of budget `B`
/// spent for the key and for the client's address (see
/// [`client_addr::client_addr`]); 429 with `Retry-After` when either budget
/// is empty.
pub struct Admitted<B, F = Codr> {
    /// The key's index, or [`ANONYMOUS`].
    pub key: usize,
    kind: PhantomData<fn() -> (B, F)>,
}

/// A job creation: key checked, creation budget spent.
pub type CreateJob = Admitted<JobCreation>;

/// A batch run: key checked, batch budget spent.
pub type BatchRun<F = Codr> = Admitted<BatchRuns, F>;

impl<B: Budget, F: Flavour> FromRequestParts<Arc<AppState>> for Admitted<B, F> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        let key = ApiKey::<F>::from_request_parts(parts, state).await?.index;
        spend(state, B::limiter(state), B::WHAT, key, parts).map_err(|e| e.in_shape(F::SHAPE))?;
        Ok(Self {
            key,
            kind: PhantomData,
        })
    }
}

/// Spends one unit of `limiter` for `key` and the client's address.
fn spend(
    state: &AppState,
    limiter: &CreateLimiter,
    what: &str,
    key: usize,
    parts: &Parts,
) -> Result<(), ApiError> {
    let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() else {
        return Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the client's address is unknown",
        ));
    };
    let client = client_addr::client_addr(peer.ip(), &parts.headers, &state.cfg.trusted_proxies);
    let Err(wait) = limiter.check(key, client) else {
        return Ok(());
    };
    ::metrics::counter!(crate::metrics::RATE_LIMITED).increment(1);
    let secs = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
    Err(ApiError {
        retry_after: Some(secs),
        ..ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!("too many {what}; retry in {secs} s"),
        )
    })
}

/// A JSON body of type `T`; refused as [`Shape::body_refusal`] says.
pub struct Body<T, F = Codr>(pub T, pub PhantomData<fn() -> F>);

impl<T: DeserializeOwned, F: Flavour> FromRequest<Arc<AppState>> for Body<T, F> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, ApiError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(body)) => Ok(Self(body, PhantomData)),
            Err(e) => Err(F::SHAPE.body_refusal(e)),
        }
    }
}

/// The key header `name`, as an OpenAPI parameter.
pub fn key_param(name: &str, doc: &str) -> Vec<Parameter> {
    vec![ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Header)
        .required(Required::True)
        .description(Some(doc))
        .schema(Some(Object::with_type(Type::String)))
        .build()]
}

/// The refusals of `statuses`, as OpenAPI responses.
pub fn refusals(
    statuses: &[(u16, &str)],
) -> BTreeMap<String, RefOr<utoipa::openapi::response::Response>> {
    statuses
        .iter()
        .map(|(status, doc)| {
            let response = ResponseBuilder::new().description(*doc).build();
            (status.to_string(), RefOr::T(response))
        })
        .collect()
}

impl<F: Flavour> utoipa::IntoParams for ApiKey<F> {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        key_param("X-API-Key", F::KEY_DOC)
    }
}

impl<F: Flavour> utoipa::IntoResponses for ApiKey<F> {
    fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::response::Response>> {
        refusals(&[(401, F::UNAUTHORIZED_DOC)])
    }
}

impl<B: Budget, F: Flavour> utoipa::IntoParams for Admitted<B, F> {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        key_param("X-API-Key", F::KEY_DOC)
    }
}

impl<B: Budget, F: Flavour> utoipa::IntoResponses for Admitted<B, F> {
    fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::response::Response>> {
        refusals(&[(401, F::UNAUTHORIZED_DOC), (429, F::RATE_LIMITED_DOC)])
    }
}
