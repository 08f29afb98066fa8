//! Cognito access-token authentication for axum: a tower layer that verifies the bearer token
//! against the user pool's cached JWKS and hands the verified claims to handlers.
//!
//! - [`CognitoAuthLayer`] (and its service [`CognitoAuth`]): put it on routes with `route_layer`;
//!   a refused request gets its RFC 6750 answer and never reaches the handler.
//! - [`Authenticator`]: the whole check of one request, with a bounded verified-token cache.
//! - [`Verifier`]: the token rules for one [`TokenPolicy`](crate::config::TokenPolicy).
//! - [`JwksCache`]: fetches, keeps and refreshes the pool's signing keys.
//! - [`AccessTokenClaims`] and [`VerifiedClaims`]: the extractors for handlers.
//! - [`AuthError`], [`InvalidToken`], [`Insufficient`]: why a request was refused; each has a
//!   fixed phrase that never echoes the token. [`AuthOutcome`] is what the request log may say.
//!
//! ```no_run
//! use std::sync::Arc;
//! use axum::{Router, routing::get};
//! use randapi::auth::{AccessTokenClaims, Authenticator, CognitoAuthLayer, JwksCache, Verifier};
//! use randapi::config::{JwksSettings, TokenPolicy};
//!
//! # fn build(policy: TokenPolicy, settings: JwksSettings) -> reqwest::Result<Router> {
//! let jwks = JwksCache::new(JwksCache::http_client(&settings)?, settings);
//! tokio::spawn(jwks.clone().run_refresher());
//! let auth = Arc::new(Authenticator::new(Verifier::new(policy), jwks));
//! let app = Router::new()
//!     .route("/", get(|claims: AccessTokenClaims| async move { claims.sub }))
//!     .route_layer(CognitoAuthLayer::new(auth));
//! # Ok(app) }
//! ```

mod authenticator;
mod bearer;
mod claims;
mod error;
mod jwks;
mod key;
mod layer;
mod token_cache;
mod verifier;

pub use authenticator::Authenticator;
pub use claims::{AccessTokenClaims, VerifiedClaims};
pub use error::{AuthError, Insufficient, InvalidToken};
pub use jwks::JwksCache;
pub use layer::{AuthOutcome, CognitoAuth, CognitoAuthLayer};
pub use verifier::Verifier;

pub(crate) use claims::split_scopes;
pub(crate) use error::ErrorBody;
pub(crate) use verifier::unix_now;

/// For the fuzz target and the offline benchmarks only: the synchronous verify path with a key
/// set given. Not part of the supported API.
#[doc(hidden)]
pub use jwks::{Keys, parse_jwks};
#[doc(hidden)]
pub use verifier::verdict;
