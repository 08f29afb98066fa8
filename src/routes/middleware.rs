//! Request-wide limits: the header size limit and the request time limit.
//!
//! Both are plain tower layers rather than `axum::middleware::from_fn`, which boxes the rest of
//! the stack and its future on every request; these cost a header count and a timer.

use std::convert::Infallible;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt as _;
use futures_util::future::{Either, Map, Ready, ready};
use tokio::time::Timeout;
use tokio::time::error::Elapsed;
use tower::Service;

use super::ApiError;

/// Largest total size of request headers (names, values and the request target).
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// The size [`MAX_HEADER_BYTES`] limits: the request target, and each header's name and value
/// with its `: ` and line end.
fn header_bytes(request: &Request) -> usize {
    let target = request
        .uri()
        .path_and_query()
        .map_or(0, |pq| pq.as_str().len());
    let headers: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    target + headers
}

/// Answers `431` when the request's headers exceed [`MAX_HEADER_BYTES`].
#[derive(Debug, Clone)]
pub struct LimitHeaderSize<S> {
    inner: S,
}

impl<S> LimitHeaderSize<S> {
    /// `inner` behind the limit.
    pub fn new(inner: S) -> Self {
        Self { inner }
    }
}

impl<S> Service<Request> for LimitHeaderSize<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<S::Future, Ready<Result<Response, Infallible>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        if header_bytes(&request) > MAX_HEADER_BYTES {
            return Either::Right(ready(Ok(ApiError::HEADERS_TOO_LARGE.into_response())));
        }
        Either::Left(self.inner.call(request))
    }
}

/// Ends a request that takes longer than the configured `REQUEST_TIMEOUT` with a `503` and the
/// same JSON error body as every other refusal (tower-http's `TimeoutLayer` answers with an empty
/// body).
#[derive(Debug, Clone)]
pub struct LimitRequestTime<S> {
    inner: S,
    limit: Duration,
}

impl<S> LimitRequestTime<S> {
    /// `inner`'s requests end after `limit`.
    pub fn new(inner: S, limit: Duration) -> Self {
        Self { inner, limit }
    }
}

/// The answer, or the timeout's `503` when the limit passed first.
type TimedAnswer =
    fn(Result<Result<Response, Infallible>, Elapsed>) -> Result<Response, Infallible>;

fn answer_or_timeout(
    outcome: Result<Result<Response, Infallible>, Elapsed>,
) -> Result<Response, Infallible> {
    outcome.unwrap_or_else(|_| Ok(ApiError::TIMEOUT.into_response()))
}

impl<S> Service<Request> for LimitRequestTime<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Map<Timeout<S::Future>, TimedAnswer>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        tokio::time::timeout(self.limit, self.inner.call(request))
            .map(answer_or_timeout as TimedAnswer)
    }
}
