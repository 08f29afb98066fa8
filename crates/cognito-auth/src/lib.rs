#![doc = include_str!("../README.md")]
//!
//! The exports:
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
//! - `local_issuer` (feature `local-issuer`): a signing key and a JWKS served in-process, for
//!   tests and examples.

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
pub use jwks::{FetchError, JwksCache, USER_AGENT};
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
