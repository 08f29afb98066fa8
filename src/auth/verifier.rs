//! Pure token verification: syntax, header, signature and claims, in the order the README's
//! "What a valid access token is" gives.
//!
//! The RS256 signature is checked by aws-lc-rs against the key parsed once when the JWKS was
//! fetched ([`VerifyingKey`]); jsonwebtoken's path rebuilt the RSA key from `n` and `e` on every
//! call, and nothing else of it was used. Every claim check is ours, because generic JWT
//! libraries' checks have gaps for Cognito: an absent `iss` passes unless required, `iat` is never
//! checked, `exp` is inclusive and a float `exp` is rounded. Doing them here also fixes the order
//! and gives each failure its own fixed reason.

use std::borrow::Cow;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::HeaderValue;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use super::bearer::token_from_header_value;
use super::claims::{AccessTokenClaims, split_scopes};
use super::error::{AuthError, Insufficient, InvalidToken};
use super::jwks::Keys;
use super::key::VerifyingKey;
use crate::config::TokenPolicy;

/// Largest token accepted, checked before any decoding.
pub(crate) const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// A token whose syntax and header passed; its signature is not checked yet.
#[derive(Debug)]
pub(crate) struct UnverifiedToken<'t> {
    /// The header's `kid`: a lookup key into the JWKS, never used as a path or URL.
    pub(crate) kid: String,
    message: &'t str,
    signature: &'t str,
    claims: RawClaims,
}

#[derive(Deserialize)]
struct JoseHeader<'a> {
    // `Cow` borrows when the JSON string has no escapes. Duplicate members are rejected by serde.
    #[serde(borrow)]
    alg: Option<Cow<'a, str>>,
    #[serde(borrow)]
    kid: Option<Cow<'a, str>>,
    /// Whether the header has a `crit` member, whatever its value (`null` included).
    #[serde(default)]
    crit: Present,
    // `jku`, `x5u`, `jwk`, `x5c` and everything else are ignored on purpose: keys come only from
    // the configured JWKS URL (RFC 8725 §3.10).
}

/// Whether a member is in the JSON object: true for any value, `null` included (a plain
/// `Option` would read `null` as absent).
#[derive(Default)]
struct Present(bool);

impl<'de> Deserialize<'de> for Present {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(deserializer).map(|_| Self(true))
    }
}

/// A claim that may be absent but, when present, must have its type: `null` is a wrong type,
/// not an absent claim.
fn not_null<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// `aud` may be one string or an array of strings.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

/// The claims we read, each with its JSON type checked; a wrong type (`null` included) fails the
/// whole token.
#[derive(Debug, Deserialize)]
struct RawClaims {
    #[serde(default, deserialize_with = "not_null")]
    iss: Option<String>,
    #[serde(default, deserialize_with = "not_null")]
    sub: Option<String>,
    #[serde(default, deserialize_with = "not_null")]
    token_use: Option<String>,
    #[serde(default, deserialize_with = "not_null")]
    client_id: Option<String>,
    #[serde(default, deserialize_with = "not_null")]
    aud: Option<Audience>,
    #[serde(default, deserialize_with = "not_null")]
    exp: Option<u64>,
    #[serde(default, deserialize_with = "not_null")]
    nbf: Option<u64>,
    #[serde(default, deserialize_with = "not_null")]
    iat: Option<u64>,
    #[serde(default, deserialize_with = "not_null")]
    scope: Option<String>,
    #[serde(rename = "cognito:groups", default, deserialize_with = "not_null")]
    groups: Option<Vec<String>>,
    #[serde(default, deserialize_with = "not_null")]
    username: Option<String>,
    #[serde(default, deserialize_with = "not_null")]
    jti: Option<String>,
}

impl UnverifiedToken<'_> {
    /// The token's `nbf`, if it has one (the token cache checks it again on each hit).
    pub(crate) fn not_before(&self) -> Option<u64> {
        self.claims.nbf
    }
}

/// Checks tokens against one [`TokenPolicy`].
#[derive(Debug, Clone)]
pub struct Verifier {
    policy: TokenPolicy,
    scope_challenge: Option<String>,
}

fn is_base64url(segment: &str) -> bool {
    !segment.is_empty()
        && segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Decodes one segment that must hold a JSON object (not an array, which serde would also map
/// onto a struct).
fn json_object(segment: &str) -> Result<Vec<u8>, InvalidToken> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| InvalidToken::Malformed)?;
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => Ok(bytes),
        _ => Err(InvalidToken::Malformed),
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Verifier {
    /// A verifier for `policy`.
    pub fn new(policy: TokenPolicy) -> Self {
        let scope_challenge =
            (!policy.required_scopes.is_empty()).then(|| policy.required_scopes.join(" "));
        Self {
            policy,
            scope_challenge,
        }
    }

    /// The policy this verifier enforces.
    pub fn policy(&self) -> &TokenPolicy {
        &self.policy
    }

    /// Step 1 and 2: size, three base64url segments of JSON objects, `alg` exactly `RS256`, no
    /// `crit`, a string `kid`.
    ///
    /// # Errors
    ///
    /// The first check that fails.
    pub(crate) fn parse<'t>(&self, token: &'t str) -> Result<UnverifiedToken<'t>, InvalidToken> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(InvalidToken::TooLarge);
        }
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(InvalidToken::Malformed);
        };
        if ![header, payload, signature].iter().all(|s| is_base64url(s)) {
            return Err(InvalidToken::Malformed);
        }
        let header_json = json_object(header)?;
        let payload_json = json_object(payload)?;
        let jose: JoseHeader<'_> =
            serde_json::from_slice(&header_json).map_err(|_| InvalidToken::Malformed)?;
        if jose.alg.as_deref() != Some("RS256") {
            return Err(InvalidToken::AlgorithmNotAllowed);
        }
        // RFC 7515 §4.1.11: a recipient that does not understand every listed extension must
        // reject the token. We understand none (`b64: false` would change what is signed).
        if jose.crit.0 {
            return Err(InvalidToken::CriticalHeader);
        }
        let kid = match jose.kid {
            Some(kid) if !kid.is_empty() => kid.into_owned(),
            _ => return Err(InvalidToken::MissingKeyId),
        };
        let claims: RawClaims =
            serde_json::from_slice(&payload_json).map_err(|_| InvalidToken::MalformedClaims)?;
        let message = &token[..header.len() + 1 + payload.len()];
        Ok(UnverifiedToken {
            kid,
            message,
            signature,
            claims,
        })
    }

    /// Step 4: the RS256 signature with the key the JWKS holds for the token's `kid`.
    ///
    /// # Errors
    ///
    /// [`InvalidToken::BadSignature`] when it does not verify.
    pub(crate) fn verify_signature(
        &self,
        token: &UnverifiedToken<'_>,
        key: &VerifyingKey,
    ) -> Result<(), InvalidToken> {
        // `parse` checked the segment is unpadded base64url; a length that is not a whole
        // number of bytes fails here.
        let signature = URL_SAFE_NO_PAD
            .decode(token.signature)
            .map_err(|_| InvalidToken::BadSignature)?;
        if key.verify_rs256(token.message.as_bytes(), &signature) {
            Ok(())
        } else {
            Err(InvalidToken::BadSignature)
        }
    }

    /// Steps 5 and 6: the claims, at time `now` (Unix seconds).
    ///
    /// # Errors
    ///
    /// 401 reasons for claim failures, 403 for missing scopes or groups.
    pub(crate) fn check_claims(
        &self,
        token: UnverifiedToken<'_>,
        now: u64,
    ) -> Result<AccessTokenClaims, AuthError> {
        let claims = token.claims;
        let policy = &self.policy;
        let leeway = policy.leeway.as_secs();
        let invalid = |reason| Err(AuthError::InvalidToken(reason));

        if claims.iss.as_deref() != Some(policy.issuer.as_str()) {
            return invalid(InvalidToken::WrongIssuer);
        }
        match claims.token_use.as_deref() {
            Some("access") => {}
            Some("id") => return invalid(InvalidToken::IdToken),
            _ => return invalid(InvalidToken::NotAnAccessToken),
        }
        let client_id = match claims.client_id {
            Some(id) if policy.client_ids.contains(&id) => id,
            _ => return invalid(InvalidToken::ClientNotAllowed),
        };
        let allowed = |aud: &String| policy.client_ids.contains(aud);
        match &claims.aud {
            None => {}
            Some(Audience::One(aud)) if allowed(aud) => {}
            Some(Audience::Many(auds)) if auds.iter().any(allowed) => {}
            Some(_) => return invalid(InvalidToken::AudienceNotAllowed),
        }
        let Some(exp) = claims.exp else {
            return invalid(InvalidToken::MissingExpiry);
        };
        // Valid while now < exp + leeway: at exp + leeway the token is already expired.
        if exp.saturating_add(leeway) <= now {
            return invalid(InvalidToken::Expired);
        }
        if claims
            .nbf
            .is_some_and(|nbf| nbf > now.saturating_add(leeway))
        {
            return invalid(InvalidToken::NotYetValid);
        }
        if claims
            .iat
            .is_some_and(|iat| iat > now.saturating_add(leeway))
        {
            return invalid(InvalidToken::IssuedInFuture);
        }
        let Some(sub) = claims.sub else {
            return invalid(InvalidToken::MalformedClaims);
        };

        let scopes = split_scopes(claims.scope.as_deref());
        if !policy.required_scopes.is_empty()
            && !policy.required_scopes.iter().any(|s| scopes.contains(s))
        {
            return Err(AuthError::InsufficientScope {
                reason: Insufficient::Scope,
                scope: self.scope_challenge.clone(),
            });
        }
        let groups = claims.groups.unwrap_or_default();
        if !policy.required_groups.is_empty()
            && !policy.required_groups.iter().any(|g| groups.contains(g))
        {
            return Err(AuthError::InsufficientScope {
                reason: Insufficient::Group,
                scope: self.scope_challenge.clone(),
            });
        }

        Ok(AccessTokenClaims {
            sub,
            username: claims.username,
            client_id,
            scopes,
            groups,
            exp,
            iat: claims.iat,
            jti: claims.jti,
        })
    }
}

/// The answer for one `Authorization` header value, synchronously and without a cache: header
/// syntax, token syntax and header, the key for its `kid` in `keys`, the signature, then the
/// claims at `now` (Unix seconds). This is [`Authenticator::verify`](super::Authenticator::verify)
/// with the key set given: the entry point of the fuzz target and of the offline benchmarks.
///
/// # Errors
///
/// The first check that fails, as the server would answer it (a `kid` missing from `keys` is
/// [`InvalidToken::UnknownKey`]).
pub fn verdict(
    header_value: &[u8],
    verifier: &Verifier,
    keys: &Keys,
    now: u64,
) -> Result<AccessTokenClaims, AuthError> {
    let value = HeaderValue::from_bytes(header_value)
        .map_err(|_| AuthError::InvalidRequest("malformed Authorization header"))?;
    let token = token_from_header_value(&value)?;
    let parsed = verifier.parse(token).map_err(AuthError::InvalidToken)?;
    let key = keys
        .get(&parsed.kid)
        .ok_or(AuthError::InvalidToken(InvalidToken::UnknownKey))?;
    verifier
        .verify_signature(&parsed, key)
        .map_err(AuthError::InvalidToken)?;
    verifier.check_claims(parsed, now)
}

#[cfg(test)]
mod tests;
