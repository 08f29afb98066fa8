//! The one log line per request, and the count of each answer.
//!
//! A plain tower layer with its own future rather than `axum::middleware::from_fn`, which boxes
//! the rest of the stack and its future on every request.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use axum::extract::Request;
use axum::http::{Method, Uri};
use axum::response::Response;
use cognito_auth::AuthOutcome;
use pin_project_lite::pin_project;
use tokio::time::Instant;
use tower::Service;

use crate::metrics::Metrics;
use crate::telemetry::RequestLine;

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
#[derive(Debug, Clone)]
pub struct LogRequest<S> {
    inner: S,
    metrics: Arc<Metrics>,
}

impl<S> LogRequest<S> {
    /// `inner`'s answers, logged and counted in `metrics`.
    pub fn new(inner: S, metrics: Arc<Metrics>) -> Self {
        Self { inner, metrics }
    }
}

impl<S> Service<Request> for LogRequest<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = LogFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let started = Instant::now();
        let method = request.method().clone();
        // A clone of the URI shares its bytes: no copy of the path on every request.
        let uri = request.uri().clone();
        LogFuture {
            inner: self.inner.call(request),
            started,
            method,
            uri,
            metrics: self.metrics.clone(),
        }
    }
}

pin_project! {
    /// The future of [`LogRequest`]: the inner answer, logged and counted when it is ready.
    pub struct LogFuture<F> {
        #[pin]
        inner: F,
        started: Instant,
        method: Method,
        uri: Uri,
        metrics: Arc<Metrics>,
    }
}

impl<F> Future for LogFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = ready!(this.inner.poll(cx))?;
        this.metrics.response(response.status());
        let outcome = response.extensions().get::<AuthOutcome>();
        RequestLine {
            method: this.method.as_str(),
            path: logged_path(this.uri.path()),
            status: response.status().as_u16(),
            latency_ms: this.started.elapsed().as_secs_f64() * 1000.0,
            sub: outcome.and_then(AuthOutcome::sub),
            client_id: outcome.and_then(AuthOutcome::client_id),
            jti: outcome.and_then(AuthOutcome::jti),
            reason: outcome.and_then(AuthOutcome::reason),
        }
        .log();
        Poll::Ready(Ok(response))
    }
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
