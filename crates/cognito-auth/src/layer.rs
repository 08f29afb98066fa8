//! The tower layer: any service of `http` requests can wrap it, an axum `Router` with
//! `route_layer`.
//!
//! A rejection is an answer, never a service error (tower-http's auth middleware does the same):
//! the inner service is only called for a verified request, with the claims in its extensions.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower::{Layer, Service};

use crate::authenticator::{Authenticator, Cached};
use crate::bearer::bearer_token;
use crate::claims::{AccessTokenClaims, VerifiedClaims};
use crate::error::AuthError;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

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

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for CognitoAuth<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: From<String> + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response<ResBody>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        // What needs no waiting is answered here, with the service that was driven to readiness
        // and no clone of it: a malformed header, a cached token (nearly every request of a
        // signed-in user), and a miss whose key is in its pool's key set.
        let (answer, digest) = match bearer_token(request.headers()) {
            Err(error) => (Some(Err(error)), None),
            Ok(token) => match self.auth.cached(token) {
                Cached::Hit(claims) => (Some(Ok(claims)), None),
                Cached::Miss(digest) => (self.auth.verify_at_hand(token, digest), digest),
            },
        };
        match answer {
            Some(Ok(claims)) => return Box::pin(admit(&mut self.inner, request, claims)),
            Some(Err(error)) => {
                let response = refusal(&self.auth, &error);
                return Box::pin(async move { Ok(response) });
            }
            None => {}
        }
        // The key must be fetched (or a fetch waited for). Use the service that was driven to
        // readiness, leave a fresh clone in its place (tower: "Be careful when cloning inner
        // services").
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
                Err(error) => Ok(refusal(&auth, &error)),
            }
        })
    }
}

/// Hands a verified request to `inner`, with its claims in the request's extensions, and marks
/// the answer with the outcome the request log reads. `inner` is called at once; the future only
/// waits for its answer.
fn admit<S, ReqBody, ResBody>(
    inner: &mut S,
    mut request: Request<ReqBody>,
    claims: Arc<AccessTokenClaims>,
) -> impl Future<Output = Result<Response<ResBody>, S::Error>> + Send + 'static
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
{
    let outcome = AuthOutcome::Verified(claims.clone());
    request.extensions_mut().insert(VerifiedClaims(claims));
    let answer = inner.call(request);
    async move {
        let mut response = answer.await?;
        response.extensions_mut().insert(outcome);
        Ok(response)
    }
}

/// The answer to a refused request, told to the observer, with its reason for the request log.
fn refusal<B: From<String>>(auth: &Authenticator, error: &AuthError) -> Response<B> {
    auth.observer().refused(error);
    let mut response = error.to_response(auth.realm());
    response
        .extensions_mut()
        .insert(AuthOutcome::Refused(error.reason()));
    response
}
