//! Cognito access-token authentication: a tower layer, the JWKS cache, the verifier, the
//! RFC 6750 answers and the claims extractor.
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

mod claims;
mod error;
mod jwks;
mod layer;
mod verifier;

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue, header};

pub use claims::{AccessTokenClaims, VerifiedClaims};
pub use error::{AuthError, ErrorBody, Insufficient, InvalidToken, REALM};
pub use jwks::{FetchError, JwksCache, KeyError, KeySet, USER_AGENT, parse_jwks};
pub use layer::{AuthOutcome, CognitoAuth, CognitoAuthLayer};
pub use verifier::{MAX_TOKEN_BYTES, UnverifiedToken, Verifier, unix_now};

/// Verifies the bearer token of a request: header parsing, key lookup, signature, claims.
#[derive(Debug)]
pub struct Authenticator {
    verifier: Verifier,
    jwks: JwksCache,
}

/// The token of an `Authorization` header value.
///
/// Accepted: `Bearer <token>` with the scheme in any case (RFC 7235), and, as API Gateway's JWT
/// authorizer does, a bare JWT with no scheme (three dot-separated segments, no space).
///
/// # Errors
///
/// [`AuthError::MissingToken`] for another scheme; [`AuthError::InvalidRequest`] for `Bearer`
/// with no token, or with more than one.
pub fn token_from_header_value(value: &HeaderValue) -> Result<&str, AuthError> {
    let value = value
        .to_str()
        .map_err(|_| AuthError::InvalidRequest("malformed Authorization header"))?
        .trim_matches(|c| c == ' ' || c == '\t');
    let (scheme, rest) = match value.split_once([' ', '\t']) {
        Some((scheme, rest)) => (scheme, rest.trim_matches(|c| c == ' ' || c == '\t')),
        None => (value, ""),
    };
    if scheme.eq_ignore_ascii_case("bearer") {
        if rest.is_empty() {
            return Err(AuthError::InvalidRequest("bearer token missing"));
        }
        if rest.contains([' ', '\t']) {
            return Err(AuthError::InvalidRequest("more than one bearer token"));
        }
        return Ok(rest);
    }
    if rest.is_empty() && value.bytes().filter(|b| *b == b'.').count() == 2 {
        return Ok(value);
    }
    Err(AuthError::MissingToken)
}

/// The bearer token of a request's headers.
///
/// # Errors
///
/// As [`token_from_header_value`], plus [`AuthError::MissingToken`] without the header and
/// [`AuthError::InvalidRequest`] when it appears more than once (RFC 6750 §3.1).
pub fn bearer_token(headers: &HeaderMap) -> Result<&str, AuthError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    match (values.next(), values.next()) {
        (None, _) => Err(AuthError::MissingToken),
        (Some(_), Some(_)) => Err(AuthError::InvalidRequest(
            "more than one Authorization header",
        )),
        (Some(value), None) => token_from_header_value(value),
    }
}

impl Authenticator {
    /// An authenticator that checks tokens with `verifier` and keys from `jwks`.
    pub fn new(verifier: Verifier, jwks: JwksCache) -> Self {
        Self { verifier, jwks }
    }

    /// The key cache.
    pub fn jwks(&self) -> &JwksCache {
        &self.jwks
    }

    /// The verifier.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// Authenticates a request by its headers.
    ///
    /// # Errors
    ///
    /// Why the request is refused, ready to be turned into a response.
    pub async fn authenticate(
        &self,
        headers: &HeaderMap,
    ) -> Result<Arc<AccessTokenClaims>, AuthError> {
        let token = bearer_token(headers)?;
        self.verify(token).await.map(Arc::new)
    }

    /// Verifies one token, in the contract's order.
    ///
    /// # Errors
    ///
    /// The first check that fails.
    pub async fn verify(&self, token: &str) -> Result<AccessTokenClaims, AuthError> {
        let parsed = self
            .verifier
            .parse(token)
            .map_err(AuthError::InvalidToken)?;
        let key = match self.jwks.key(&parsed.kid).await {
            Ok(key) => key,
            Err(KeyError::Unknown) => {
                return Err(AuthError::InvalidToken(InvalidToken::UnknownKey));
            }
            Err(KeyError::Unavailable { retry_after }) => {
                return Err(AuthError::KeysUnavailable { retry_after });
            }
        };
        self.verifier
            .verify_signature(&parsed, &key)
            .map_err(AuthError::InvalidToken)?;
        self.verifier.check_claims(parsed, unix_now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(value: &'static str) -> Result<&'static str, AuthError> {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static(value));
        let found = bearer_token(&headers)?.to_owned();
        // Hand back the same text as a slice of the static input, for easy comparisons.
        value
            .find(found.as_str())
            .map(|at| &value[at..at + found.len()])
            .ok_or(AuthError::MissingToken)
    }

    #[test]
    fn the_scheme_is_case_insensitive() {
        assert_eq!(token("Bearer a.b.c"), Ok("a.b.c"));
        assert_eq!(token("bearer a.b.c"), Ok("a.b.c"));
        assert_eq!(token("BEARER   a.b.c  "), Ok("a.b.c"));
    }

    #[test]
    fn a_bare_jwt_is_accepted_as_api_gateway_does() {
        assert_eq!(token("a.b.c"), Ok("a.b.c"));
    }

    #[test]
    fn other_schemes_are_missing_credentials() {
        assert_eq!(token("Basic dXNlcjpwYXNz"), Err(AuthError::MissingToken));
        assert_eq!(token("Token a.b.c"), Err(AuthError::MissingToken));
        assert_eq!(token("abc"), Err(AuthError::MissingToken));
        let headers = HeaderMap::new();
        assert_eq!(bearer_token(&headers), Err(AuthError::MissingToken));
    }

    #[test]
    fn malformed_bearer_headers_are_invalid_requests() {
        for value in ["Bearer", "Bearer   ", "bearer a.b.c d.e.f"] {
            assert!(
                matches!(token(value), Err(AuthError::InvalidRequest(_))),
                "{value} was not an invalid request"
            );
        }
        let mut headers = HeaderMap::new();
        headers.append(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer a.b.c"),
        );
        headers.append(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer a.b.c"),
        );
        assert!(matches!(
            bearer_token(&headers),
            Err(AuthError::InvalidRequest(_))
        ));
        let mut opaque = HeaderMap::new();
        opaque.insert(
            header::AUTHORIZATION,
            HeaderValue::from_bytes(b"Bearer \xff").expect("obs-text"),
        );
        assert!(matches!(
            bearer_token(&opaque),
            Err(AuthError::InvalidRequest(_))
        ));
    }
}
