//! The verified claims handed to handlers, and their extractor.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use serde::Serialize;

use super::error::AuthError;

/// What a verified Cognito access token says. Handlers take it as an extractor:
///
/// ```
/// use randapi::auth::AccessTokenClaims;
///
/// async fn whoami(claims: AccessTokenClaims) -> String {
///     claims.sub
/// }
/// ```
///
/// On a route without the auth layer the extractor refuses the request (401): it fails closed.
/// `Option<AccessTokenClaims>` is `None` there instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessTokenClaims {
    /// The user (or, for client-credentials tokens, the app client).
    pub sub: String,
    /// The user name; absent in machine-to-machine tokens.
    pub username: Option<String>,
    /// The app client the token was issued to.
    pub client_id: String,
    /// `scope`, split on spaces.
    pub scopes: Vec<String>,
    /// `cognito:groups`.
    pub groups: Vec<String>,
    /// Expiry, Unix seconds.
    pub exp: u64,
    /// Issue time, Unix seconds.
    pub iat: Option<u64>,
    /// Token id.
    pub jti: Option<String>,
}

/// The claims as the auth layer stores them in request extensions: shared, so taking them as an
/// extractor copies nothing (`AccessTokenClaims` as an extractor copies the strings).
#[derive(Debug, Clone)]
pub struct VerifiedClaims(pub Arc<AccessTokenClaims>);

impl std::ops::Deref for VerifiedClaims {
    type Target = AccessTokenClaims;

    fn deref(&self) -> &AccessTokenClaims {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for VerifiedClaims {
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<VerifiedClaims>()
            .cloned()
            .ok_or(AuthError::MissingToken)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AccessTokenClaims {
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<VerifiedClaims>()
            .map(|claims| claims.0.as_ref().clone())
            .ok_or(AuthError::MissingToken)
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for AccessTokenClaims {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<VerifiedClaims>()
            .map(|claims| claims.0.as_ref().clone()))
    }
}
