//! Why a request was refused, and the RFC 6750 answer for each case.
//!
//! Every reason is a fixed phrase: nothing from the token, its claims, the kid or the JWKS URL is
//! ever put in a response (RFC 8725 §3.10, OWASP JWT cheat sheet "information disclosure").

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The realm named in every `WWW-Authenticate` challenge.
pub(crate) const REALM: &str = "randapi";

/// Why a token failed verification (401 `invalid_token`). Each maps to one fixed phrase, which
/// is also its `Display`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error("{}", self.reason())]
pub enum InvalidToken {
    /// Over the 8 KiB cap; refused before any decoding.
    TooLarge,
    /// Not three base64url segments of JSON objects.
    Malformed,
    /// Header `alg` is not `RS256`.
    AlgorithmNotAllowed,
    /// Header has no string `kid`.
    MissingKeyId,
    /// Header carries `crit` (RFC 7515 §4.1.11): we understand no extension, and Cognito never
    /// sets it.
    CriticalHeader,
    /// No key with this `kid` in the JWKS, even after a refetch.
    UnknownKey,
    /// The signature does not verify with the key.
    BadSignature,
    /// A claim has the wrong JSON type.
    MalformedClaims,
    /// `iss` missing or not the configured issuer.
    WrongIssuer,
    /// `token_use` is `id`.
    IdToken,
    /// `token_use` missing or neither `access` nor `id`.
    NotAnAccessToken,
    /// `client_id` missing or not allowed.
    ClientNotAllowed,
    /// `aud` present but names no allowed client.
    AudienceNotAllowed,
    /// No `exp` claim.
    MissingExpiry,
    /// `exp` is past (beyond the leeway).
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    NotYetValid,
    /// `iat` is in the future (beyond the leeway).
    IssuedInFuture,
}

impl InvalidToken {
    /// Every reason, for the tests that walk all of them.
    #[cfg(test)]
    pub(crate) const ALL: [Self; 17] = [
        Self::TooLarge,
        Self::Malformed,
        Self::AlgorithmNotAllowed,
        Self::MissingKeyId,
        Self::CriticalHeader,
        Self::UnknownKey,
        Self::BadSignature,
        Self::MalformedClaims,
        Self::WrongIssuer,
        Self::IdToken,
        Self::NotAnAccessToken,
        Self::ClientNotAllowed,
        Self::AudienceNotAllowed,
        Self::MissingExpiry,
        Self::Expired,
        Self::NotYetValid,
        Self::IssuedInFuture,
    ];

    /// The fixed phrase sent to the client and written to the log.
    pub const fn reason(self) -> &'static str {
        match self {
            Self::TooLarge => "token too large",
            Self::Malformed => "token is malformed",
            Self::AlgorithmNotAllowed => "signing algorithm not allowed",
            Self::MissingKeyId => "token has no key id",
            Self::CriticalHeader => "token header has unsupported critical parameters",
            Self::UnknownKey => "signing key not found",
            Self::BadSignature => "signature is invalid",
            Self::MalformedClaims => "token claims are malformed",
            Self::WrongIssuer => "issuer not allowed",
            Self::IdToken => "token is an ID token; send the access token",
            Self::NotAnAccessToken => "token is not an access token",
            Self::ClientNotAllowed => "client_id not allowed",
            Self::AudienceNotAllowed => "audience not allowed",
            Self::MissingExpiry => "token has no expiry",
            Self::Expired => "token expired",
            Self::NotYetValid => "token not yet valid",
            Self::IssuedInFuture => "token issued in the future",
        }
    }
}

/// Why a verified token is not enough (403 `insufficient_scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error("{}", self.reason())]
pub enum Insufficient {
    /// None of the required scopes.
    Scope,
    /// None of the required groups.
    Group,
}

impl Insufficient {
    /// The fixed phrase sent to the client.
    pub const fn reason(self) -> &'static str {
        match self {
            Self::Scope => "token lacks a required scope",
            Self::Group => "user is not in a required group",
        }
    }
}

/// Why a request did not reach the handler. Its `Display` is [`AuthError::reason`], the phrase
/// of the body and the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.reason())]
pub enum AuthError {
    /// No `Authorization` header, or another scheme: 401 with a bare challenge (RFC 6750 §3.1).
    MissingToken,
    /// A malformed `Authorization` header: 400 `invalid_request`.
    InvalidRequest(&'static str),
    /// The token failed verification: 401 `invalid_token`.
    InvalidToken(InvalidToken),
    /// The token is valid but lacks a required scope or group: 403 `insufficient_scope`.
    InsufficientScope {
        /// Which requirement was missed.
        reason: Insufficient,
        /// The scopes to name in the challenge (RFC 6750 §3), space-separated.
        scope: Option<String>,
    },
    /// No usable signing keys (never fetched, endpoint down): 503, the server's fault.
    KeysUnavailable {
        /// When to try again.
        retry_after: Duration,
    },
}

impl AuthError {
    /// The fixed phrase for logs and bodies.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::MissingToken => "missing bearer token",
            Self::InvalidRequest(reason) => reason,
            Self::InvalidToken(reason) => reason.reason(),
            Self::InsufficientScope { reason, .. } => reason.reason(),
            Self::KeysUnavailable { .. } => "signing keys are not available yet; try again",
        }
    }

    /// The HTTP status of the answer.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MissingToken | Self::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            Self::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            Self::InsufficientScope { .. } => StatusCode::FORBIDDEN,
            Self::KeysUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The error code of the body and of the challenge.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingToken => "unauthorized",
            Self::InvalidRequest(_) => "invalid_request",
            Self::InvalidToken(_) => "invalid_token",
            Self::InsufficientScope { .. } => "insufficient_scope",
            Self::KeysUnavailable { .. } => "temporarily_unavailable",
        }
    }

    fn challenge(&self) -> Option<String> {
        let realm = format!("Bearer realm=\"{REALM}\"");
        match self {
            Self::MissingToken => Some(realm),
            Self::InvalidRequest(_) | Self::InvalidToken(_) => Some(format!(
                "{realm}, error=\"{}\", error_description=\"{}\"",
                self.code(),
                self.reason()
            )),
            Self::InsufficientScope { scope, .. } => {
                let scope = scope
                    .as_deref()
                    .map(|s| format!(", scope=\"{s}\""))
                    .unwrap_or_default();
                Some(format!(
                    "{realm}, error=\"insufficient_scope\", error_description=\"{}\"{scope}",
                    self.reason()
                ))
            }
            Self::KeysUnavailable { .. } => None,
        }
    }
}

/// The JSON body of every error answer.
#[derive(Debug, Serialize)]
pub(crate) struct ErrorBody {
    /// A stable machine-readable code.
    pub(crate) error: &'static str,
    /// A fixed human-readable reason.
    pub(crate) message: &'static str,
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.code(),
            message: self.reason(),
        };
        let mut response = (self.status(), Json(body)).into_response();
        let headers = response.headers_mut();
        if let Some(challenge) = self.challenge() {
            // Every part of the challenge is a fixed phrase or a configured scope name. A scope
            // name outside RFC 6749's characters would make a header that clients cannot read
            // (`from_str` accepts bytes over 0x7F and tabs): then the bare scheme is sent.
            if challenge.bytes().all(|b| b == b' ' || b.is_ascii_graphic())
                && let Ok(value) = HeaderValue::from_str(&challenge)
            {
                headers.insert(header::WWW_AUTHENTICATE, value);
            } else {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
        }
        if let Self::KeysUnavailable { retry_after } = self {
            let seconds = retry_after.as_secs_f64().ceil().max(1.0) as u64;
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn challenge_of(error: AuthError) -> (StatusCode, Option<String>) {
        let response = error.into_response();
        let challenge = response
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .map(|v| v.to_str().expect("ascii").to_owned());
        (response.status(), challenge)
    }

    #[test]
    fn missing_token_gets_a_bare_challenge() {
        let (status, challenge) = challenge_of(AuthError::MissingToken);
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(challenge.as_deref(), Some("Bearer realm=\"randapi\""));
    }

    #[test]
    fn invalid_token_names_the_fixed_reason() {
        let (status, challenge) = challenge_of(AuthError::InvalidToken(InvalidToken::Expired));
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            challenge.as_deref(),
            Some(
                "Bearer realm=\"randapi\", error=\"invalid_token\", error_description=\"token expired\""
            )
        );
    }

    #[test]
    fn insufficient_scope_names_the_scopes() {
        let (status, challenge) = challenge_of(AuthError::InsufficientScope {
            reason: Insufficient::Scope,
            scope: Some("api/read api/write".into()),
        });
        assert_eq!(status, StatusCode::FORBIDDEN);
        let challenge = challenge.expect("challenge");
        assert!(challenge.contains("error=\"insufficient_scope\""));
        assert!(challenge.ends_with("scope=\"api/read api/write\""));
    }

    #[test]
    fn a_challenge_clients_cannot_read_falls_back_to_the_bare_scheme() {
        for scope in ["api/read\tapi/write", "api/r\u{e9}ad"] {
            let (status, challenge) = challenge_of(AuthError::InsufficientScope {
                reason: Insufficient::Scope,
                scope: Some(scope.into()),
            });
            assert_eq!(status, StatusCode::FORBIDDEN);
            assert_eq!(challenge.as_deref(), Some("Bearer"), "{scope:?}");
        }
    }

    #[test]
    fn unavailable_keys_say_when_to_retry() {
        let response = AuthError::KeysUnavailable {
            retry_after: Duration::from_millis(2500),
        }
        .into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "3");
        assert!(response.headers().get(header::WWW_AUTHENTICATE).is_none());
    }

    #[test]
    fn reasons_are_quotable_and_distinct() {
        let mut seen = std::collections::HashSet::new();
        for reason in InvalidToken::ALL {
            let phrase = reason.reason();
            assert_eq!(reason.to_string(), phrase);
            assert_eq!(AuthError::InvalidToken(reason).to_string(), phrase);
            assert!(phrase.is_ascii() && !phrase.contains('"') && !phrase.contains('\\'));
            assert!(seen.insert(phrase), "duplicate phrase {phrase}");
        }
    }
}
