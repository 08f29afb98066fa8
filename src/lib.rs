//! randapi: a random-number API protected by Amazon Cognito access tokens.
//!
//! `GET /` answers `{"randomNumber": n}` to callers with a valid Cognito access token; the tower
//! layer of the `cognito-auth` crate ([`cognito_auth::CognitoAuthLayer`]) verifies the token
//! against the user pool's cached JWKS.
//! The promises are in the repository's README; the binary is a thin shell over [`cli::main`].

#![warn(missing_docs)]
#![deny(unsafe_code)]

pub mod cli;
pub mod cognito;
pub mod config;
pub mod dev;
pub mod exit;
pub mod metrics;
pub mod routes;
pub mod startup;
pub mod telemetry;
pub mod token;
