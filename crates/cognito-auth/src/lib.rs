//! Amazon Cognito access-token authentication as a tower layer: it verifies the bearer token of
//! each request against the cached JWKS of the user pool the token's `iss` names, and hands the
//! verified claims to the handler. Strict RS256 checks, fixed RFC 6750 refusals that never echo
//! the token, a JWKS cache that survives Cognito's outages, and a bounded cache of verified tokens.
//!
//! - [`Authenticator`] (built by [`Authenticator::builder`] from [`UserPool`]s): the whole check
//!   of one request; [`Authenticator::hydrate`] warms the keys, [`Authenticator::run_refresher`]
//!   keeps them fresh.
//! - [`CognitoAuthLayer`] (and its service [`CognitoAuth`]): put it on routes; a refused request
//!   gets its answer and never reaches the inner service.
//! - [`AccessTokenClaims`] and [`VerifiedClaims`]: the claims, in the request's extensions, and
//!   (feature `axum`) extractors for handlers.
//! - [`AuthError`], [`InvalidToken`], [`Insufficient`], [`Unavailable`]: why a request was
//!   refused, each with a fixed phrase and a stable code. [`AuthOutcome`] is what a request log
//!   may say.
//! - [`AuthObserver`]: counters go out through it; the default does nothing.
//! - [`TokenPolicy`], [`JwksSettings`], [`CheckedToken`]: the shared rules, how keys are fetched,
//!   what a custom check sees.
//! - [`local_issuer`] (feature `local-issuer`): a signing key and a JWKS served in-process, for
//!   tests and examples.
//!
//! ```
//! use std::sync::Arc;
//! use axum::{Router, routing::get};
//! use cognito_auth::{AccessTokenClaims, Authenticator, CognitoAuthLayer, UserPool};
//! use cognito_auth::local_issuer::LocalIssuer;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // With Cognito: UserPool::cognito("eu-west-1_AbCdEf123", ["<app client id>"])?.
//! // Here an issuer served by this process stands in for the pool.
//! let issuer = LocalIssuer::start("my-app-client").await?;
//! let pool: UserPool = issuer.pool();
//!
//! let auth = Arc::new(Authenticator::builder([pool]).build()?);
//! auth.hydrate().await?; // the keys, before the first request
//! tokio::spawn(auth.clone().run_refresher());
//! let app: Router = Router::new()
//!     .route("/", get(|claims: AccessTokenClaims| async move { claims.sub }))
//!     .route_layer(CognitoAuthLayer::new(auth.clone()));
//! # let _ = app;
//!
//! let claims = auth.verify(&issuer.access_token()?).await?;
//! assert_eq!(claims.client_id, "my-app-client");
//! # Ok(()) }
//! ```

#![warn(missing_docs)]
#![deny(unsafe_code)]

mod authenticator;
mod bearer;
mod claims;
mod error;
mod jwks;
mod key;
mod layer;
mod observer;
mod settings;
mod token_cache;
mod verifier;

#[cfg(feature = "local-issuer")]
pub mod local_issuer;
#[cfg(test)]
mod test_support;

pub use authenticator::{Authenticator, AuthenticatorBuilder, BuildError, HydrateError};
pub use claims::{AccessTokenClaims, VerifiedClaims, split_scopes};
pub use error::{
    AuthError, Insufficient, InvalidToken, REFUSAL_CODE_COUNT, Unavailable, refusal_codes,
};
pub use jwks::{FetchError, JwksCache, USER_AGENT, error_chain};
pub use layer::{AuthOutcome, CognitoAuth, CognitoAuthLayer};
pub use observer::{AuthObserver, NoObserver};
pub use reqwest::Url;
pub use settings::{
    JwksSettings, PoolIdError, TokenPolicy, UserPool, is_pool_id, is_region, jwks_url,
    region_from_pool_id,
};
pub use token_cache::DEFAULT_TOKEN_CACHE_BYTES;
pub use verifier::{CheckedToken, CustomCheck, Verifier};

/// For the fuzz target and the offline benchmarks only: the pipeline with fixed key sets. Not
/// part of the supported API.
#[doc(hidden)]
pub use jwks::{Keys, parse_jwks};
#[doc(hidden)]
pub use verifier::verdict;
