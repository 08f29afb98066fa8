//! The one verification pipeline: syntax, header, pool, key, signature, claims, in the order the
//! README's "What a valid access token is" gives.
//!
//! [`Verifier::verify`] is the only path from a token to its claims: the authenticator runs it on
//! every cache miss with the pools' JWKS caches as its key source, and [`verdict`] (the fuzz
//! target's and the offline benchmarks' entry point) with fixed key sets. The header and claims are
//! read here, once, in one pass each; jsonwebtoken checks the signature (see [`VerifyingKey`]).
//! jsonwebtoken's `decode` is not used for the rest because its vocabulary is not ours: its
//! `Header` fails to parse on a missing or unknown `alg` (we answer "signing algorithm not
//! allowed"), reads `crit: null` as absent and fails on any non-string extra member such as
//! `b64: false` (we answer "unsupported critical parameters"), and it reads the claims only
//! after the signature, which would make a malformed token cost a key lookup. Generic claim checks
//! also have gaps for Cognito (an absent `iss` passes unless required, `iat` is never checked,
//! `exp` is inclusive, a float `exp` is rounded): every claim check is ours.

use std::borrow::Cow;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::HeaderValue;
use serde::Deserialize;

use crate::bearer::token_from_header_value;
use crate::claims::{AccessTokenClaims, split_scopes};
use crate::error::{AuthError, Insufficient, InvalidToken};
use crate::jwks::Keys;
use crate::key::VerifyingKey;
use crate::settings::{TokenPolicy, UserPool};

/// Largest token accepted, checked before any decoding.
pub(crate) const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// A check of the caller's, run after every built-in one on each full verification (a token the
/// cache answers passed it when it was verified). It refuses with a fixed phrase of its own
/// (401 `invalid_token`, code `CustomCheck`): a `&'static str`, so it cannot echo the token.
pub type CustomCheck = Arc<dyn Fn(&CheckedToken<'_>) -> Result<(), &'static str> + Send + Sync>;

/// What a [`CustomCheck`] sees: a token whose signature and built-in claims passed.
#[derive(Debug, Clone, Copy)]
pub struct CheckedToken<'a> {
    /// The verified claims.
    pub claims: &'a AccessTokenClaims,
    /// The issuer of the token's pool.
    pub issuer: &'a str,
    payload: &'a [u8],
}

impl CheckedToken<'_> {
    /// The claim `name` of the payload, for claims the crate does not read (`custom:tenant`,
    /// `auth_time`, ...): parsed from the payload when asked, `None` when absent or not a `T`.
    pub fn claim<T: serde::de::DeserializeOwned>(&self, name: &str) -> Option<T> {
        let mut all: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(self.payload).ok()?;
        serde_json::from_value(all.remove(name)?).ok()
    }
}

/// A token whose syntax, header, claim types and pool passed; its signature is not checked yet.
#[derive(Debug)]
pub(crate) struct UnverifiedToken<'t> {
    /// The header's `kid`: a lookup key into the pool's JWKS, never used as a path or URL.
    pub(crate) kid: String,
    /// The index of the pool its `iss` names (the first pool when it names none).
    pub(crate) pool: usize,
    /// Whether `iss` names a pool: checked with the claims, after the signature.
    known_issuer: bool,
    message: &'t str,
    signature: &'t str,
    payload: Vec<u8>,
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

/// A token that passed every check.
#[derive(Debug)]
pub(crate) struct Verified {
    pub(crate) claims: AccessTokenClaims,
    /// The pool its `iss` named, the kid and the key that verified it.
    pub(crate) pool: usize,
    pub(crate) kid: String,
    pub(crate) key: Arc<VerifyingKey>,
    /// Its `nbf`, if any (the token cache checks it again on each hit).
    pub(crate) nbf: Option<u64>,
}

/// Where [`Verifier::verify`] gets the key for a kid of a pool.
pub(crate) trait KeySource {
    /// The key, or the refusal when there is none ([`InvalidToken::UnknownKey`] or
    /// [`AuthError::KeysUnavailable`]).
    fn key(
        &self,
        pool: usize,
        kid: &str,
    ) -> impl Future<Output = Result<Arc<VerifyingKey>, AuthError>> + Send;
}

/// Fixed key sets, one per pool: ready at once, never fetched.
struct FixedKeys<'k>(&'k [Keys]);

impl KeySource for FixedKeys<'_> {
    fn key(
        &self,
        pool: usize,
        kid: &str,
    ) -> impl Future<Output = Result<Arc<VerifyingKey>, AuthError>> + Send {
        let key = self
            .0
            .get(pool)
            .and_then(|keys| keys.get(kid))
            .cloned()
            .ok_or(AuthError::InvalidToken(InvalidToken::UnknownKey));
        std::future::ready(key)
    }
}

/// The rules of one pool.
#[derive(Debug, Clone)]
struct PoolRules {
    issuer: String,
    client_ids: Vec<String>,
}

/// Checks tokens of several user pools against one [`TokenPolicy`] and an optional
/// [`CustomCheck`].
#[derive(Clone)]
pub struct Verifier {
    pools: Vec<PoolRules>,
    policy: TokenPolicy,
    scope_challenge: Option<String>,
    custom: Option<CustomCheck>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("pools", &self.pools)
            .field("policy", &self.policy)
            .field("custom_check", &self.custom.is_some())
            .finish()
    }
}

fn is_base64url(segment: &str) -> bool {
    // About a kilobyte per token on every miss: a fold without early exit, which the compiler
    // vectorises (the short-circuiting `all` went byte by byte; perf put it in `parse`'s own
    // time). A bad byte is still refused, only found a few bytes later.
    !segment.is_empty()
        && segment.bytes().fold(true, |ok, b| {
            ok & (b.is_ascii_alphanumeric() | (b == b'-') | (b == b'_'))
        })
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
    /// A verifier for the tokens of `pools` (their issuers and client ids) under `policy`.
    pub fn new(pools: &[UserPool], policy: TokenPolicy) -> Self {
        let scope_challenge =
            (!policy.required_scopes.is_empty()).then(|| policy.required_scopes.join(" "));
        Self {
            pools: pools
                .iter()
                .map(|pool| PoolRules {
                    issuer: pool.issuer.clone(),
                    client_ids: pool.client_ids.clone(),
                })
                .collect(),
            policy,
            scope_challenge,
            custom: None,
        }
    }

    /// This verifier with `check` run after the built-in checks.
    #[must_use]
    pub fn with_custom_check(mut self, check: CustomCheck) -> Self {
        self.custom = Some(check);
        self
    }

    /// The issuer of pool `pool`.
    pub(crate) fn issuer(&self, pool: usize) -> &str {
        &self.pools[pool].issuer
    }

    /// The policy this verifier enforces.
    pub fn policy(&self) -> &TokenPolicy {
        &self.policy
    }

    /// The whole check of one token at `now` (Unix seconds), with keys from `keys`: steps 1 and 2
    /// ([`Verifier::parse`]), the key lookup in the pool `iss` names, the signature, then the
    /// claims.
    ///
    /// # Errors
    ///
    /// The first check that fails, as the server answers it.
    pub(crate) async fn verify(
        &self,
        token: &str,
        keys: &(impl KeySource + ?Sized),
        now: u64,
    ) -> Result<Verified, AuthError> {
        let parsed = self.parse(token).map_err(AuthError::InvalidToken)?;
        let key = keys.key(parsed.pool, &parsed.kid).await?;
        self.finish(parsed, key, now)
    }

    /// The steps after the key lookup: the signature of `token` by `key` (the key of its pool
    /// and kid), then the claims at `now`.
    ///
    /// # Errors
    ///
    /// The first check that fails.
    pub(crate) fn finish(
        &self,
        token: UnverifiedToken<'_>,
        key: Arc<VerifyingKey>,
        now: u64,
    ) -> Result<Verified, AuthError> {
        if !key.verify_rs256(token.message.as_bytes(), token.signature) {
            return Err(AuthError::InvalidToken(InvalidToken::BadSignature));
        }
        let (pool, nbf) = (token.pool, token.claims.nbf);
        let (claims, kid) = self.check_claims(token, now)?;
        Ok(Verified {
            claims,
            pool,
            kid,
            key,
            nbf,
        })
    }

    /// Steps 1 and 2: size, three base64url segments of JSON objects, `alg` exactly `RS256`, no
    /// `crit`, a string `kid`, claims of the right types; and the pool its `iss` names.
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
        // The `iss` selects the pool whose keys may have signed the token; it is checked with the
        // other claims once the signature verified, as with one pool (so the README's order
        // holds): a token whose `iss` names no pool is looked up in the first pool's keys, and
        // refused `issuer not allowed` if its signature verifies.
        let found = self
            .pools
            .iter()
            .position(|pool| claims.iss.as_deref() == Some(pool.issuer.as_str()));
        let message = &token[..header.len() + 1 + payload.len()];
        Ok(UnverifiedToken {
            kid,
            pool: found.unwrap_or(0),
            known_issuer: found.is_some(),
            message,
            signature,
            payload: payload_json,
            claims,
        })
    }

    /// Steps 5 and 6 of a token whose signature verified, at time `now` (Unix seconds): the
    /// claims, then the custom check. Gives the claims and the kid back.
    ///
    /// # Errors
    ///
    /// 401 reasons for claim failures, 403 for missing scopes or groups, the custom check's.
    fn check_claims(
        &self,
        token: UnverifiedToken<'_>,
        now: u64,
    ) -> Result<(AccessTokenClaims, String), AuthError> {
        let UnverifiedToken {
            kid,
            pool,
            known_issuer,
            payload,
            claims,
            ..
        } = token;
        let rules = &self.pools[pool];
        let policy = &self.policy;
        let leeway = policy.leeway.as_secs();
        let invalid = |reason| Err(AuthError::InvalidToken(reason));

        if !known_issuer {
            return invalid(InvalidToken::WrongIssuer);
        }
        match claims.token_use.as_deref() {
            Some("access") => {}
            Some("id") => return invalid(InvalidToken::IdToken),
            _ => return invalid(InvalidToken::NotAnAccessToken),
        }
        let client_id = match claims.client_id {
            Some(id) if rules.client_ids.contains(&id) => id,
            _ => return invalid(InvalidToken::ClientNotAllowed),
        };
        let allowed = |aud: &String| rules.client_ids.contains(aud);
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

        let verified = AccessTokenClaims {
            sub,
            username: claims.username,
            client_id,
            scopes,
            groups,
            exp,
            iat: claims.iat,
            jti: claims.jti,
        };
        if let Some(custom) = &self.custom {
            custom(&CheckedToken {
                claims: &verified,
                issuer: &rules.issuer,
                payload: &payload,
            })
            .map_err(AuthError::CustomCheck)?;
        }
        Ok((verified, kid))
    }
}

/// The answer for one `Authorization` header value, synchronously and without a cache: header
/// syntax, then `Verifier::verify` (the pipeline of every request) with `keys`, one fixed key
/// set per pool in the verifier's order, at `now` (Unix seconds). The entry point of the fuzz
/// target and of the offline benchmarks.
///
/// # Errors
///
/// The first check that fails, as the server would answer it (a `kid` missing from its pool's
/// set is [`InvalidToken::UnknownKey`]).
pub fn verdict(
    header_value: &[u8],
    verifier: &Verifier,
    keys: &[Keys],
    now: u64,
) -> Result<AccessTokenClaims, AuthError> {
    let value = HeaderValue::from_bytes(header_value)
        .map_err(|_| AuthError::InvalidRequest("malformed Authorization header"))?;
    let token = token_from_header_value(&value)?;
    let keys = FixedKeys(keys);
    let pipeline = pin!(verifier.verify(token, &keys, now));
    // Fixed key sets are ready at once, and nothing else in the pipeline waits: the first poll
    // gives the answer.
    match pipeline.poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(answer) => answer.map(|verified| verified.claims),
        Poll::Pending => unreachable!("the pipeline waited on a fixed key set"),
    }
}

#[cfg(test)]
mod tests;
