//! Request-wide middleware: the header size limit, the request time limit and the one log line
//! per request.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cognito_auth::AuthOutcome;
use tokio::time::Instant;

use super::ApiError;
use crate::metrics::Metrics;
use crate::telemetry::RequestLine;

/// Largest total size of request headers (names, values and the request target).
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Answers `431` when the request's headers exceed [`MAX_HEADER_BYTES`].
pub async fn limit_header_size(request: Request, next: Next) -> Response {
    let target = request
        .uri()
        .path_and_query()
        .map_or(0, |pq| pq.as_str().len());
    let headers: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if target + headers > MAX_HEADER_BYTES {
        return ApiError::HEADERS_TOO_LARGE.into_response();
    }
    next.run(request).await
}

/// Ends a request that takes longer than the configured `REQUEST_TIMEOUT` with a `503` and the
/// same JSON error body as every other refusal (tower-http's `TimeoutLayer` answers with an empty
/// body).
pub async fn limit_request_time(
    State(limit): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::TIMEOUT.into_response(),
    }
}

/// Longest path written to the log.
const MAX_LOGGED_PATH: usize = 256;

/// `path` cut to at most [`MAX_LOGGED_PATH`] bytes, on a character boundary.
fn logged_path(path: &str) -> &str {
    let mut cut = path.len().min(MAX_LOGGED_PATH);
    while !path.is_char_boundary(cut) {
        cut -= 1;
    }
    &path[..cut]
}

/// Writes one structured line per request: method, path (no query), status, latency and, when
/// known, `sub`, `client_id`, `jti` or the refusal reason. Never the token or its header. Each
/// answer is counted in `metrics`.
pub async fn log_request(
    State(metrics): State<Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    // A clone of the URI shares its bytes: no copy of the path on every request.
    let uri = request.uri().clone();
    let response = next.run(request).await;
    metrics.response(response.status());
    let outcome = response.extensions().get::<AuthOutcome>();
    RequestLine {
        method: method.as_str(),
        path: logged_path(uri.path()),
        status: response.status().as_u16(),
        latency_ms: started.elapsed().as_secs_f64() * 1000.0,
        sub: outcome.and_then(AuthOutcome::sub),
        client_id: outcome.and_then(AuthOutcome::client_id),
        jti: outcome.and_then(AuthOutcome::jti),
        reason: outcome.and_then(AuthOutcome::reason),
    }
    .log();
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_logged_path_is_cut_on_a_character_boundary() {
        assert_eq!(logged_path("/"), "/");
        let long = format!("/{}", "a".repeat(400));
        assert_eq!(logged_path(&long).len(), MAX_LOGGED_PATH);
        // "é" is two bytes; byte 256 falls inside the one that straddles it.
        let accents = format!("/{}", "é".repeat(200));
        let cut = logged_path(&accents);
        assert_eq!(cut.len(), MAX_LOGGED_PATH - 1);
        assert!(accents.starts_with(cut));
    }
}
