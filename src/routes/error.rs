//! The one JSON error answer of the application's own refusals (the token refusals are the
//! `cognito-auth` layer's, in the same `{"error", "message"}` shape).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error answer: its status and the body `{"error": code, "message": message}`, both fixed
/// phrases that never echo the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: &'static str,
}

#[derive(Serialize)]
struct Body {
    error: &'static str,
    message: &'static str,
}

impl ApiError {
    /// An unknown path: 404.
    pub const NOT_FOUND: Self = Self::new(StatusCode::NOT_FOUND, "not_found", "no such route");
    /// A method the path does not have: 405 (axum adds the route's `Allow`).
    pub const METHOD_NOT_ALLOWED: Self = Self::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this method is not allowed on this path",
    );
    /// Request headers over the limit: 431.
    pub const HEADERS_TOO_LARGE: Self = Self::new(
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "request_header_fields_too_large",
        "request headers are larger than 16 KiB",
    );
    /// A request past `REQUEST_TIMEOUT`: 503.
    pub const TIMEOUT: Self = Self::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "timeout",
        "the request took too long; try again",
    );
    /// `--dev` could not sign a token: 500.
    pub const DEV_TOKEN_FAILED: Self = Self::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
        "could not sign a token",
    );

    /// An error answer with `status`, the machine-readable `code` and the fixed `message`.
    pub const fn new(status: StatusCode, code: &'static str, message: &'static str) -> Self {
        Self {
            status,
            code,
            message,
        }
    }

    /// A bad request (400 `invalid_request`) for the fixed reason `message`.
    pub const fn invalid_request(message: &'static str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            error: self.code,
            message: self.message,
        };
        (self.status, Json(body)).into_response()
    }
}
