//! The one error type of the HTTP API: a refusal with a status, a message,
//! and for 429 the seconds to wait, answered in the shape of the API it
//! belongs to (codr's `{error, message}` or Piston's `{message}`).
use axum::extract::rejection::JsonRejection;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

/// The error body of an API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Shape {
    /// codr's own routes: `{"error": m, "message": m}`.
    #[default]
    Codr,
    /// The Piston v2 routes: `{"message": m}` alone, as Piston answers.
    Piston,
}

impl Shape {
    /// The refusal of a body that is not the JSON a route takes: codr
    /// answers 400; Piston answers 415 for a body not declared JSON, else
    /// 400.
    pub fn body_refusal(self, e: JsonRejection) -> ApiError {
        let status = match (self, &e) {
            (Shape::Piston, JsonRejection::MissingJsonContentType(_)) => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError::new(status, e.body_text()).in_shape(self)
    }
}

/// A refusal of an HTTP request: status, message, for 429 the seconds to
/// wait, and the shape of its body.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// What went wrong.
    pub message: String,
    /// `Retry-After`, in seconds.
    pub retry_after: Option<u64>,
    /// The body's shape.
    pub shape: Shape,
    /// The job the refusal is about, added to a codr body as `job_id`.
    pub job_id: Option<String>,
}

impl ApiError {
    /// A refusal in codr's shape, without `Retry-After`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            retry_after: None,
            shape: Shape::Codr,
            job_id: None,
        }
    }

    /// A 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// This refusal in `shape`.
    pub fn in_shape(self, shape: Shape) -> Self {
        Self { shape, ..self }
    }

    /// This refusal naming the job it is about.
    pub fn about_job(self, job_id: &str) -> Self {
        Self {
            job_id: Some(job_id.to_string()),
            ..self
        }
    }

    /// The JSON body.
    fn body(&self) -> Value {
        match self.shape {
            Shape::Piston => json!({ "message": self.message }),
            Shape::Codr => {
                let mut body = json!({ "error": self.message, "message": self.message });
                if let Some(job_id) = &self.job_id {
                    body["job_id"] = json!(job_id);
                }
                body
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_take_their_api_shape() {
        let e = ApiError::bad_request("no").about_job("j");
        assert_eq!(
            e.body(),
            json!({"error": "no", "message": "no", "job_id": "j"})
        );
        let e = ApiError::bad_request("no").in_shape(Shape::Piston);
        assert_eq!(e.body(), json!({"message": "no"}));
    }
}
