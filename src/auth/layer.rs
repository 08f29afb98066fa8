//! The tower layer: any axum `Router` can put it on its routes with `route_layer`.
//!
//! A rejection is an answer, never a service error (tower-http's auth middleware does the same):
//! the inner service is only called for a verified request, with the claims in its extensions.

use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use futures_util::future::BoxFuture;
use tower::{Layer, Service};

use super::authenticator::{Authenticator, Cached};
use super::bearer::bearer_token;
use super::claims::{AccessTokenClaims, VerifiedClaims};
use super::error::AuthError;

/// What the request log may say about authentication: never the token, only the verified
/// claims (the log picks `sub`, `client_id`, `jti`) or the fixed refusal reason.
#[derive(Debug, Clone)]
pub enum AuthOutcome {
    /// The token verified; the claims are shared with the handler, not copied.
    Verified(Arc<AccessTokenClaims>),
    /// The request was refused for this fixed reason.
    Refused(&'static str),
}

impl AuthOutcome {
    /// `sub` of the verified token.
    pub fn sub(&self) -> Option<&str> {
        self.claims().map(|c| c.sub.as_str())
    }

    /// `client_id` of the verified token.
    pub fn client_id(&self) -> Option<&str> {
        self.claims().map(|c| c.client_id.as_str())
    }

    /// `jti` of the verified token.
    pub fn jti(&self) -> Option<&str> {
        self.claims().and_then(|c| c.jti.as_deref())
    }

    /// Why the request was refused.
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            Self::Refused(reason) => Some(reason),
            Self::Verified(_) => None,
        }
    }

    fn claims(&self) -> Option<&AccessTokenClaims> {
        match self {
            Self::Verified(claims) => Some(claims),
            Self::Refused(_) => None,
        }
    }
}

/// Adds Cognito access-token authentication to the services it wraps.
#[derive(Debug, Clone)]
pub struct CognitoAuthLayer {
    auth: Arc<Authenticator>,
}

impl CognitoAuthLayer {
    /// A layer that authenticates with `auth`.
    pub fn new(auth: Arc<Authenticator>) -> Self {
        Self { auth }
    }
}

impl<S> Layer<S> for CognitoAuthLayer {
    type Service = CognitoAuth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CognitoAuth {
            inner,
            auth: self.auth.clone(),
        }
    }
}

/// The service made by [`CognitoAuthLayer`].
#[derive(Debug, Clone)]
pub struct CognitoAuth<S> {
    inner: S,
    auth: Arc<Authenticator>,
}

impl<S> Service<Request> for CognitoAuth<S>
where
    S: Service<Request> + Clone + Send + 'static,
    S::Response: IntoResponse,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let digest = match self.auth.lookup(request.headers()) {
            // A cached token (nearly every request of a signed-in user) needs no waiting: call
            // the service that was driven to readiness now, with no clone of it.
            Ok(Cached::Hit(claims)) => return Box::pin(admit(&mut self.inner, request, claims)),
            Ok(Cached::Miss(digest)) => digest,
            Err(error) => {
                let response = refusal(error);
                return Box::pin(async move { Ok(response) });
            }
        };
        // Use the service that was driven to readiness, leave a fresh clone in its place
        // (tower: "Be careful when cloning inner services").
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let auth = self.auth.clone();
        Box::pin(async move {
            // The header parsed a moment ago; the token borrows the request, so take it again.
            let verified = match bearer_token(request.headers()) {
                Ok(token) => auth.verify_in_full(token, digest).await,
                Err(error) => Err(error),
            };
            match verified {
                Ok(claims) => admit(&mut inner, request, claims).await,
                Err(error) => Ok(refusal(error)),
            }
        })
    }
}

/// Hands a verified request to `inner`, with its claims in the request's extensions, and marks
/// the answer with the outcome the request log reads. `inner` is called at once; the future only
/// waits for its answer.
fn admit<S>(
    inner: &mut S,
    mut request: Request,
    claims: Arc<AccessTokenClaims>,
) -> impl Future<Output = Result<Response, S::Error>> + Send + 'static
where
    S: Service<Request>,
    S::Response: IntoResponse,
    S::Future: Send + 'static,
{
    let outcome = AuthOutcome::Verified(claims.clone());
    request.extensions_mut().insert(VerifiedClaims(claims));
    let answer = inner.call(request);
    async move {
        let mut response = answer.await?.into_response();
        response.extensions_mut().insert(outcome);
        Ok(response)
    }
}

/// The answer to a refused request, counted, with its reason for the request log.
fn refusal(error: AuthError) -> Response {
    crate::metrics::global().refused(&error);
    let outcome = AuthOutcome::Refused(error.reason());
    let mut response = error.into_response();
    response.extensions_mut().insert(outcome);
    response
}
