//! The caller's service, seen from one connection: marks the connection busy from the request
//! head until hyper drops the answer's body, and adds `Connection: close` once the connection
//! is to end.

use std::error::Error as StdError;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{CONNECTION, HeaderValue};
use http::{Request, Response};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use pin_project_lite::pin_project;
use tower_service::Service;

use crate::conn::Conn;

/// The error type hyper accepts from a service or a body.
pub(crate) type BoxError = Box<dyn StdError + Send + Sync>;

/// Marks its connection idle again when dropped: once hyper has taken the whole answer (or
/// abandoned it).
#[derive(Debug)]
struct Busy(Arc<Conn>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

pin_project! {
    /// An answer's body that keeps its connection busy while hyper writes it.
    #[derive(Debug)]
    pub(crate) struct TrackedBody<B> {
        #[pin]
        inner: B,
        busy: Busy,
    }
}

impl<B: Body> Body for TrackedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        self.project().inner.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The caller's service on one connection.
#[derive(Debug, Clone)]
pub(crate) struct ConnService<S> {
    inner: S,
    conn: Arc<Conn>,
}

impl<S> ConnService<S> {
    pub(crate) fn new(inner: S, conn: Arc<Conn>) -> Self {
        Self { inner, conn }
    }
}

impl<S, B> hyper::service::Service<Request<Incoming>> for ConnService<S>
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
{
    type Response = Response<TrackedBody<B>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        self.conn.request_started(!request.body().is_end_stream());
        let busy = Busy(self.conn.clone());
        let mut inner = self.inner.clone();
        Box::pin(async move {
            poll_fn(|cx| inner.poll_ready(cx)).await?;
            let (mut parts, body) = inner.call(request).await?.into_parts();
            // Decided when the answer is ready, so an answer finished after a stop says so even
            // if its request came in before.
            if busy.0.answers_say_close() {
                parts
                    .headers
                    .insert(CONNECTION, HeaderValue::from_static("close"));
            }
            Ok(Response::from_parts(
                parts,
                TrackedBody { inner: body, busy },
            ))
        })
    }
}
