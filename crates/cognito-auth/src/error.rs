//! Why a request was refused, and the RFC 6750 answer for each case.
//!
//! Every reason is a fixed phrase: nothing from the token, its claims, the kid or the JWKS URL is
//! ever put in a response (RFC 8725 §3.10, OWASP JWT cheat sheet "information disclosure").
//! Each refusal also has a stable code (`Expired`, `MissingToken`, ...) for metrics; the code is
//! written next to the phrase, once, in the tables below.

use std::time::Duration;

use http::{HeaderValue, StatusCode, header};

/// Defines a fieldless reason enum from one table of `Variant = ("Code", "phrase")` rows: the
/// enum, `ALL` in table order, `code()` and `reason()`. A row is the only place a reason, its
/// phrase and its code are written.
macro_rules! reasons {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$doc:meta])* $variant:ident = ($code:literal, $phrase:literal), )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
        #[error("{}", self.reason())]
        pub enum $name {
            $( $(#[$doc])* $variant, )*
        }

        impl $name {
            /// Every reason, in table order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),*];

            /// The stable code of this refusal (metrics count `Refused_<code>`).
            pub const fn code(self) -> &'static str {
                match self { $(Self::$variant => $code,)* }
            }

            /// The fixed phrase sent to the client and written to the log.
            pub const fn reason(self) -> &'static str {
                match self { $(Self::$variant => $phrase,)* }
            }
        }
    };
}

reasons! {
    /// Why a token failed verification (401 `invalid_token`). Each maps to one fixed phrase,
    /// which is also its `Display`.
    pub enum InvalidToken {
        /// Over the 8 KiB cap; refused before any decoding.
        TooLarge = ("TooLarge", "token too large"),
        /// Not three base64url segments of JSON objects.
        Malformed = ("Malformed", "token is malformed"),
        /// Header `alg` is not `RS256`.
        AlgorithmNotAllowed = ("AlgorithmNotAllowed", "signing algorithm not allowed"),
        /// Header has no string `kid`.
        MissingKeyId = ("MissingKeyId", "token has no key id"),
        /// Header carries `crit` (RFC 7515 §4.1.11): we understand no extension, and Cognito
        /// never sets it.
        CriticalHeader = ("CriticalHeader", "token header has unsupported critical parameters"),
        /// No key with this `kid` in the pool's JWKS, even after a refetch.
        UnknownKey = ("UnknownKey", "signing key not found"),
        /// The signature does not verify with the key.
        BadSignature = ("BadSignature", "signature is invalid"),
        /// A claim has the wrong JSON type.
        MalformedClaims = ("MalformedClaims", "token claims are malformed"),
        /// `iss` missing or not the issuer of a configured pool.
        WrongIssuer = ("WrongIssuer", "issuer not allowed"),
        /// `token_use` is `id`.
        IdToken = ("IdToken", "token is an ID token; send the access token"),
        /// `token_use` missing or neither `access` nor `id`.
        NotAnAccessToken = ("NotAnAccessToken", "token is not an access token"),
        /// `client_id` missing or not allowed in its pool.
        ClientNotAllowed = ("ClientNotAllowed", "client_id not allowed"),
        /// `aud` present but names no allowed client.
        AudienceNotAllowed = ("AudienceNotAllowed", "audience not allowed"),
        /// No `exp` claim.
        MissingExpiry = ("MissingExpiry", "token has no expiry"),
        /// `exp` is past (beyond the leeway).
        Expired = ("Expired", "token expired"),
        /// `nbf` is in the future (beyond the leeway).
        NotYetValid = ("NotYetValid", "token not yet valid"),
        /// `iat` is in the future (beyond the leeway).
        IssuedInFuture = ("IssuedInFuture", "token issued in the future"),
    }
}

reasons! {
    /// Why a verified token is not enough (403 `insufficient_scope`).
    pub enum Insufficient {
        /// None of the required scopes.
        Scope = ("InsufficientScope", "token lacks a required scope"),
        /// None of the required groups.
        Group = ("InsufficientGroup", "user is not in a required group"),
    }
}

/// Why no key could be had for a token (503): the two cases an operator reads apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unavailable {
    /// The pool has no usable key set at all: never fetched (a cold start with the JWKS down)
    /// or its known keys are past `max_stale`. Every token of the pool fails: an outage.
    NoKeySet,
    /// The kid is not in the pool's key set and the JWKS cannot be fetched now: a key rotation
    /// the service cannot learn yet, or an attacker's kid.
    UnknownKeyWhileJwksDown,
}

/// The codes of the [`AuthError`] variants that are not a table above, in [`refusal_codes`]
/// order: before the tables, then `KeysUnavailable` after them.
const MISSING_TOKEN: &str = "MissingToken";
const INVALID_REQUEST: &str = "InvalidRequest";
const CUSTOM_CHECK: &str = "CustomCheck";
const KEYS_UNAVAILABLE: &str = "KeysUnavailable";

/// Every refusal code, each counted as `Refused_<code>`, in a fixed order: `MissingToken`,
/// `InvalidRequest`, every [`InvalidToken`], `CustomCheck`, every [`Insufficient`],
/// `KeysUnavailable`. [`AuthError::refusal_index`] is the position of an error's code here.
pub fn refusal_codes() -> impl Iterator<Item = &'static str> {
    [MISSING_TOKEN, INVALID_REQUEST]
        .into_iter()
        .chain(InvalidToken::ALL.iter().map(|r| r.code()))
        .chain([CUSTOM_CHECK])
        .chain(Insufficient::ALL.iter().map(|r| r.code()))
        .chain([KEYS_UNAVAILABLE])
}

/// How many refusal codes there are.
pub const REFUSAL_CODE_COUNT: usize = 2 + InvalidToken::ALL.len() + 1 + Insufficient::ALL.len() + 1;

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
    /// The token passed every built-in check but the caller's custom check refused it with this
    /// fixed phrase: 401 `invalid_token`.
    CustomCheck(&'static str),
    /// The token is valid but lacks a required scope or group: 403 `insufficient_scope`.
    InsufficientScope {
        /// Which requirement was missed.
        reason: Insufficient,
        /// The scopes to name in the challenge (RFC 6750 §3), space-separated.
        scope: Option<String>,
    },
    /// No usable signing keys: 503, the server's fault.
    KeysUnavailable {
        /// When to try again.
        retry_after: Duration,
        /// Which of the two cases it is.
        why: Unavailable,
    },
}

impl AuthError {
    /// The fixed phrase for logs and bodies.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::MissingToken => "missing bearer token",
            Self::InvalidRequest(reason) | Self::CustomCheck(reason) => reason,
            Self::InvalidToken(reason) => reason.reason(),
            Self::InsufficientScope { reason, .. } => reason.reason(),
            Self::KeysUnavailable { .. } => "signing keys are not available yet; try again",
        }
    }

    /// The HTTP status of the answer.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MissingToken | Self::InvalidToken(_) | Self::CustomCheck(_) => {
                StatusCode::UNAUTHORIZED
            }
            Self::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            Self::InsufficientScope { .. } => StatusCode::FORBIDDEN,
            Self::KeysUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The error code of the body and of the challenge (RFC 6750 §3.1).
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingToken => "unauthorized",
            Self::InvalidRequest(_) => "invalid_request",
            Self::InvalidToken(_) | Self::CustomCheck(_) => "invalid_token",
            Self::InsufficientScope { .. } => "insufficient_scope",
            Self::KeysUnavailable { .. } => "temporarily_unavailable",
        }
    }

    /// The stable code of this refusal for metrics (one of [`refusal_codes`]).
    pub fn refusal_code(&self) -> &'static str {
        match self {
            Self::MissingToken => MISSING_TOKEN,
            Self::InvalidRequest(_) => INVALID_REQUEST,
            Self::InvalidToken(reason) => reason.code(),
            Self::CustomCheck(_) => CUSTOM_CHECK,
            Self::InsufficientScope { reason, .. } => reason.code(),
            Self::KeysUnavailable { .. } => KEYS_UNAVAILABLE,
        }
    }

    /// The position of [`AuthError::refusal_code`] in [`refusal_codes`], for an array of
    /// counters.
    pub fn refusal_index(&self) -> usize {
        let tokens = InvalidToken::ALL.len();
        match self {
            Self::MissingToken => 0,
            Self::InvalidRequest(_) => 1,
            Self::InvalidToken(reason) => 2 + *reason as usize,
            Self::CustomCheck(_) => 2 + tokens,
            Self::InsufficientScope { reason, .. } => 3 + tokens + *reason as usize,
            Self::KeysUnavailable { .. } => REFUSAL_CODE_COUNT - 1,
        }
    }

    fn challenge(&self, realm: Option<&str>) -> Option<String> {
        let scheme = match realm {
            Some(realm) => format!("Bearer realm=\"{realm}\""),
            None => "Bearer".to_owned(),
        };
        let separator = if realm.is_some() { ", " } else { " " };
        match self {
            Self::MissingToken => Some(scheme),
            Self::InvalidRequest(_) | Self::InvalidToken(_) | Self::CustomCheck(_) => {
                Some(format!(
                    "{scheme}{separator}error=\"{}\", error_description=\"{}\"",
                    self.code(),
                    self.reason()
                ))
            }
            Self::InsufficientScope { scope, .. } => {
                let scope = scope
                    .as_deref()
                    .map(|s| format!(", scope=\"{s}\""))
                    .unwrap_or_default();
                Some(format!(
                    "{scheme}{separator}error=\"insufficient_scope\", error_description=\"{}\"{scope}",
                    self.reason()
                ))
            }
            Self::KeysUnavailable { .. } => None,
        }
    }

    /// The answer to this refusal: its status, a JSON body `{"error": code, "message":
    /// reason}`, `Cache-Control: no-store`, the `WWW-Authenticate` challenge (naming `realm`
    /// when given) and, for a 503, `Retry-After`.
    pub fn to_response<B: From<String>>(&self, realm: Option<&str>) -> http::Response<B> {
        // Both parts are fixed phrases (or a custom check's `&'static str`): serialised as JSON
        // strings so that any character stays valid JSON.
        let body = serde_json::json!({"error": self.code(), "message": self.reason()}).to_string();
        let mut response = http::Response::new(B::from(body));
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(challenge) = self.challenge(realm) {
            // Every part of the challenge is a fixed phrase, the realm, or a configured scope
            // name. A scope name outside RFC 6749's characters would make a header that clients
            // cannot read (`from_str` accepts bytes over 0x7F and tabs): then the bare scheme is
            // sent.
            if challenge.bytes().all(|b| b == b' ' || b.is_ascii_graphic())
                && let Ok(value) = HeaderValue::from_str(&challenge)
            {
                headers.insert(header::WWW_AUTHENTICATE, value);
            } else {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
        }
        if let Self::KeysUnavailable { retry_after, .. } = self {
            let seconds = retry_after.as_secs_f64().ceil().max(1.0) as u64;
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

/// A rejection of the claims extractors (a route without the layer): 401 with a bare
/// challenge, no realm.
#[cfg(feature = "axum")]
impl axum_core::response::IntoResponse for AuthError {
    fn into_response(self) -> axum_core::response::Response {
        self.to_response(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn challenge_of(error: AuthError) -> (StatusCode, Option<String>) {
        let response: http::Response<String> = error.to_response(Some("randapi"));
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
        let response: http::Response<String> = AuthError::MissingToken.to_response(None);
        assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer");
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
        let response: http::Response<String> =
            AuthError::InvalidToken(InvalidToken::Expired).to_response(None);
        assert_eq!(
            response.headers()[header::WWW_AUTHENTICATE],
            "Bearer error=\"invalid_token\", error_description=\"token expired\""
        );
        assert_eq!(
            response.body(),
            r#"{"error":"invalid_token","message":"token expired"}"#
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
        let response: http::Response<String> = AuthError::KeysUnavailable {
            retry_after: Duration::from_millis(2500),
            why: Unavailable::NoKeySet,
        }
        .to_response(Some("randapi"));
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "3");
        assert!(response.headers().get(header::WWW_AUTHENTICATE).is_none());
    }

    #[test]
    fn reasons_are_quotable_and_distinct() {
        let mut seen = std::collections::HashSet::new();
        for &reason in InvalidToken::ALL {
            let phrase = reason.reason();
            assert_eq!(reason.to_string(), phrase);
            assert_eq!(AuthError::InvalidToken(reason).to_string(), phrase);
            assert!(phrase.is_ascii() && !phrase.contains('"') && !phrase.contains('\\'));
            assert!(seen.insert(phrase), "duplicate phrase {phrase}");
        }
    }

    #[test]
    fn every_refusal_has_its_own_code_at_its_index() {
        let codes: Vec<&str> = refusal_codes().collect();
        assert_eq!(codes.len(), REFUSAL_CODE_COUNT);
        let unique: std::collections::HashSet<&str> = codes.iter().copied().collect();
        assert_eq!(unique.len(), codes.len(), "{codes:?}");
        let errors = [
            AuthError::MissingToken,
            AuthError::InvalidRequest("x"),
            AuthError::CustomCheck("tenant not allowed"),
            AuthError::InsufficientScope {
                reason: Insufficient::Scope,
                scope: None,
            },
            AuthError::InsufficientScope {
                reason: Insufficient::Group,
                scope: None,
            },
            AuthError::KeysUnavailable {
                retry_after: Duration::from_secs(1),
                why: Unavailable::UnknownKeyWhileJwksDown,
            },
        ];
        let all = errors.into_iter().chain(
            InvalidToken::ALL
                .iter()
                .map(|&r| AuthError::InvalidToken(r)),
        );
        let mut indexes = Vec::new();
        for error in all {
            assert_eq!(
                codes[error.refusal_index()],
                error.refusal_code(),
                "{error:?}"
            );
            indexes.push(error.refusal_index());
        }
        indexes.sort_unstable();
        indexes.dedup();
        assert_eq!(indexes.len(), REFUSAL_CODE_COUNT);
    }
}
