//! The per-connection hyper service: hands each request to the router, marks the connection
//! busy until its answer is written, and adds `Connection: close` once the server is stopping.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, header};
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use tower::ServiceExt;

use super::conn::ConnState;

/// Marks its connection idle again when dropped, i.e. once hyper has written (or abandoned) the
/// answer's body.
#[derive(Debug)]
struct Busy(Arc<ConnState>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

/// An answer's body that keeps its connection busy while it is written.
#[derive(Debug)]
pub struct TrackedBody {
    inner: Body,
    _busy: Busy,
}

impl http_body::Body for TrackedBody {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The router, seen from one connection.
#[derive(Debug, Clone)]
pub struct ConnService {
    router: Router,
    conn: Arc<ConnState>,
}

impl ConnService {
    /// Serves `router` on the connection of `conn`.
    pub fn new(router: Router, conn: Arc<ConnState>) -> Self {
        Self { router, conn }
    }
}

impl hyper::service::Service<Request<Incoming>> for ConnService {
    type Response = Response<TrackedBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        self.conn
            .request_started(!http_body::Body::is_end_stream(request.body()));
        let busy = Busy(self.conn.clone());
        let router = self.router.clone();
        Box::pin(async move {
            let response = router.oneshot(request.map(Body::new)).await?;
            let (mut parts, body) = response.into_parts();
            // Decided when the answer is ready, so an answer finished after a stop signal says
            // so even if its request came in before.
            if busy.0.answer_with_close() {
                parts
                    .headers
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            Ok(Response::from_parts(
                parts,
                TrackedBody {
                    inner: body,
                    _busy: busy,
                },
            ))
        })
    }
}
