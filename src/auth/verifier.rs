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
mod tests {
    use std::time::Duration;

    use serde_json::{Value, json};

    use super::*;

    const ISSUER: &str = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123";
    const NOW: u64 = 1_800_000_000;

    fn policy() -> TokenPolicy {
        TokenPolicy {
            issuer: ISSUER.into(),
            client_ids: vec!["client-a".into(), "client-b".into()],
            required_scopes: vec![],
            required_groups: vec![],
            leeway: Duration::from_secs(60),
        }
    }

    fn b64(value: &Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).expect("json"))
    }

    /// A syntactically valid token with a dummy signature: these tests cover everything but
    /// the signature, which the integration tests sign for real.
    fn token_with(header: &Value, claims: &Value) -> String {
        format!("{}.{}.c2lnbmF0dXJl", b64(header), b64(claims))
    }

    fn claims() -> Value {
        json!({
            "sub": "3a5c440d-1568-4285-917d-e771c794d6a2",
            "iss": ISSUER,
            "client_id": "client-a",
            "token_use": "access",
            "scope": "aws.cognito.signin.user.admin",
            "exp": NOW + 300,
            "iat": NOW - 10,
            "jti": "ac82dace",
            "username": "xyz.abc",
        })
    }

    fn header() -> Value {
        json!({"alg": "RS256", "kid": "key-1"})
    }

    fn check(verifier: &Verifier, claims: &Value) -> Result<AccessTokenClaims, AuthError> {
        let token = token_with(&header(), claims);
        let parsed = verifier.parse(&token).map_err(AuthError::InvalidToken)?;
        verifier.check_claims(parsed, NOW)
    }

    fn with(mut base: Value, key: &str, value: Value) -> Value {
        base[key] = value;
        base
    }

    fn without(mut base: Value, key: &str) -> Value {
        base.as_object_mut().expect("object").remove(key);
        base
    }

    #[test]
    fn a_valid_access_token_yields_its_claims() {
        let claims = check(&Verifier::new(policy()), &claims()).expect("valid");
        assert_eq!(claims.sub, "3a5c440d-1568-4285-917d-e771c794d6a2");
        assert_eq!(claims.client_id, "client-a");
        assert_eq!(claims.scopes, ["aws.cognito.signin.user.admin"]);
        assert_eq!(claims.username.as_deref(), Some("xyz.abc"));
        assert_eq!(claims.exp, NOW + 300);
    }

    #[test]
    fn each_claim_failure_has_its_own_reason() {
        use InvalidToken::*;
        let verifier = Verifier::new(policy());
        let cases = [
            (without(claims(), "iss"), WrongIssuer, "has no iss"),
            (
                with(claims(), "iss", json!(format!("{ISSUER}/"))),
                WrongIssuer,
                "has a trailing slash",
            ),
            (
                with(claims(), "iss", json!(ISSUER.replace("https", "http"))),
                WrongIssuer,
                "is http",
            ),
            (
                with(
                    claims(),
                    "iss",
                    json!(ISSUER.replace("cognito-idp", "issuer-cognito-idp")),
                ),
                WrongIssuer,
                "uses the other issuer format",
            ),
            (
                with(claims(), "token_use", json!("id")),
                IdToken,
                "is an ID token",
            ),
            (
                with(claims(), "token_use", json!("refresh")),
                NotAnAccessToken,
                "is a refresh token",
            ),
            (
                without(claims(), "token_use"),
                NotAnAccessToken,
                "has no token_use",
            ),
            (
                with(claims(), "client_id", json!("client-z")),
                ClientNotAllowed,
                "has another client",
            ),
            (
                without(claims(), "client_id"),
                ClientNotAllowed,
                "has no client_id",
            ),
            (
                with(claims(), "aud", json!("https://api.other")),
                AudienceNotAllowed,
                "has another aud",
            ),
            (
                with(claims(), "aud", json!([])),
                AudienceNotAllowed,
                "has an empty aud",
            ),
            (without(claims(), "exp"), MissingExpiry, "has no exp"),
            (
                with(claims(), "exp", json!(NOW - 61)),
                Expired,
                "expired beyond the leeway",
            ),
            (
                with(claims(), "exp", json!(NOW - 60)),
                Expired,
                "expired exactly at the leeway",
            ),
            (
                with(claims(), "nbf", json!(NOW + 61)),
                NotYetValid,
                "is not valid yet",
            ),
            (
                with(claims(), "iat", json!(NOW + 61)),
                IssuedInFuture,
                "was issued in the future",
            ),
            (without(claims(), "sub"), MalformedClaims, "has no sub"),
        ];
        for (claims, reason, why) in cases {
            assert_eq!(
                check(&verifier, &claims).unwrap_err(),
                AuthError::InvalidToken(reason),
                "a token that {why}"
            );
        }
    }

    #[test]
    fn the_leeway_boundary_is_exclusive() {
        let verifier = Verifier::new(policy());
        assert!(check(&verifier, &with(claims(), "exp", json!(NOW - 59))).is_ok());
        assert!(check(&verifier, &with(claims(), "nbf", json!(NOW + 60))).is_ok());
        assert!(check(&verifier, &with(claims(), "iat", json!(NOW + 60))).is_ok());
    }

    #[test]
    fn wrong_types_fail_without_panicking() {
        let verifier = Verifier::new(policy());
        let cases = [
            ("exp", json!("Garbage")),
            ("exp", json!(1.8e9)),
            ("exp", json!(-5)),
            ("exp", json!(u64::MAX as f64 * 4.0)),
            ("nbf", json!("soon")),
            ("iat", json!({})),
            ("iss", json!(12345)),
            ("sub", json!(1)),
            ("aud", json!(5)),
            ("aud", json!(["client-a", 5])),
            ("scope", json!(["a"])),
            ("jti", json!(1)),
            ("cognito:groups", json!("admins")),
            ("client_id", json!(["client-a"])),
            ("token_use", json!(true)),
        ];
        // `null` is a wrong type for every claim we read, not an absent claim.
        let nulls = [
            "iss",
            "token_use",
            "client_id",
            "aud",
            "exp",
            "nbf",
            "iat",
            "sub",
            "scope",
            "cognito:groups",
            "username",
            "jti",
        ]
        .map(|claim| (claim, Value::Null));
        let cases = cases.into_iter().chain(nulls);
        for (claim, value) in cases {
            assert_eq!(
                check(&verifier, &with(claims(), claim, value.clone())).unwrap_err(),
                AuthError::InvalidToken(InvalidToken::MalformedClaims),
                "{claim} = {value}"
            );
        }
    }

    #[test]
    fn a_huge_exp_is_not_an_overflow() {
        let verifier = Verifier::new(policy());
        assert!(check(&verifier, &with(claims(), "exp", json!(u64::MAX))).is_ok());
    }

    #[test]
    fn aud_must_name_an_allowed_client_when_present() {
        let verifier = Verifier::new(policy());
        assert!(check(&verifier, &with(claims(), "aud", json!("client-b"))).is_ok());
        assert!(check(&verifier, &with(claims(), "aud", json!(["x", "client-a"]))).is_ok());
    }

    #[test]
    fn m2m_tokens_need_no_user_claims() {
        let verifier = Verifier::new(policy());
        let m2m = without(without(claims(), "username"), "cognito:groups");
        assert!(check(&verifier, &m2m).is_ok());
    }

    #[test]
    fn unicode_claims_are_kept() {
        let verifier = Verifier::new(policy());
        let claims =
            check(&verifier, &with(claims(), "username", json!("hēłłœ wørłd"))).expect("valid");
        assert_eq!(claims.username.as_deref(), Some("hēłłœ wørłd"));
    }

    #[test]
    fn required_scopes_and_groups_give_403() {
        let verifier = Verifier::new(TokenPolicy {
            required_scopes: vec!["api/read".into(), "api/write".into()],
            required_groups: vec!["admins".into()],
            ..policy()
        });
        let Err(AuthError::InsufficientScope { reason, scope }) = check(&verifier, &claims())
        else {
            panic!("expected 403");
        };
        assert_eq!(reason, Insufficient::Scope);
        assert_eq!(scope.as_deref(), Some("api/read api/write"));

        let scoped = with(claims(), "scope", json!("openid api/write"));
        let Err(AuthError::InsufficientScope { reason, .. }) = check(&verifier, &scoped) else {
            panic!("expected 403");
        };
        assert_eq!(reason, Insufficient::Group);

        let member = with(scoped, "cognito:groups", json!(["users", "admins"]));
        let claims = check(&verifier, &member).expect("valid");
        assert_eq!(claims.groups, ["users", "admins"]);
    }

    #[test]
    fn syntax_is_checked_before_anything_else() {
        use InvalidToken::*;
        let verifier = Verifier::new(policy());
        let good = token_with(&header(), &claims());
        let (h, rest) = good.split_once('.').expect("dots");
        let (p, _) = rest.split_once('.').expect("dots");
        let cases: Vec<(String, InvalidToken, &str)> = vec![
            (String::new(), Malformed, "is empty"),
            (format!("{h}.{p}"), Malformed, "has two segments"),
            (format!("{good}.x.y"), Malformed, "has five segments"),
            (format!("{h}.{p}."), Malformed, "has an empty signature"),
            (format!("{h}=.{p}.c2ln"), Malformed, "is padded"),
            (
                format!("{h}.{p}.c2+ln"),
                Malformed,
                "has a non-base64url character",
            ),
            (
                format!("YWJj.{p}.c2ln"),
                Malformed,
                "has a header that is not JSON",
            ),
            (
                format!("MTIz.{p}.c2ln"),
                Malformed,
                "has a header that is a number",
            ),
            (
                format!("{}.{p}.c2ln", b64(&json!([1]))),
                Malformed,
                "has an array header",
            ),
            (
                format!("{h}.YWJj.c2ln"),
                Malformed,
                "has a payload that is not JSON",
            ),
            (
                format!("{h}.{}.c2ln", b64(&json!(["a"]))),
                Malformed,
                "has an array payload",
            ),
            ("a".repeat(MAX_TOKEN_BYTES + 1), TooLarge, "is over 8 KiB"),
            (
                token_with(&json!({"alg": "none", "kid": "key-1"}), &claims()),
                AlgorithmNotAllowed,
                "is alg none",
            ),
            (
                token_with(&json!({"alg": "HS256", "kid": "key-1"}), &claims()),
                AlgorithmNotAllowed,
                "is HS256",
            ),
            (
                token_with(&json!({"alg": "RS512", "kid": "key-1"}), &claims()),
                AlgorithmNotAllowed,
                "is RS512",
            ),
            (
                token_with(&json!({"alg": "PS256", "kid": "key-1"}), &claims()),
                AlgorithmNotAllowed,
                "is PS256",
            ),
            (
                token_with(&json!({"alg": "rs256", "kid": "key-1"}), &claims()),
                AlgorithmNotAllowed,
                "is lower-case rs256",
            ),
            (
                token_with(&json!({"kid": "key-1"}), &claims()),
                AlgorithmNotAllowed,
                "has no alg",
            ),
            (
                token_with(&json!({"alg": 12345, "kid": "key-1"}), &claims()),
                Malformed,
                "has a numeric alg",
            ),
            (
                token_with(&json!({"alg": "RS256"}), &claims()),
                MissingKeyId,
                "has no kid",
            ),
            (
                token_with(&json!({"alg": "RS256", "kid": ""}), &claims()),
                MissingKeyId,
                "has an empty kid",
            ),
            (
                token_with(&json!({"alg": "RS256", "kid": {"a": 1}}), &claims()),
                Malformed,
                "has an object kid",
            ),
        ];
        for (token, reason, why) in cases {
            assert_eq!(
                verifier.parse(&token).unwrap_err(),
                reason,
                "a token that {why}"
            );
        }
    }

    #[test]
    fn a_crit_header_is_refused() {
        let verifier = Verifier::new(policy());
        for crit in [
            json!({"alg": "RS256", "kid": "key-1", "crit": ["exp"], "exp": NOW + 300}),
            json!({"alg": "RS256", "kid": "key-1", "b64": false, "crit": ["b64"]}),
            json!({"alg": "RS256", "kid": "key-1", "crit": []}),
            json!({"alg": "RS256", "kid": "key-1", "crit": null}),
        ] {
            assert_eq!(
                verifier.parse(&token_with(&crit, &claims())).unwrap_err(),
                InvalidToken::CriticalHeader,
                "{crit}"
            );
        }
    }

    #[test]
    fn scope_splits_on_u0020_only() {
        let verifier = Verifier::new(TokenPolicy {
            required_scopes: vec!["api/read".into()],
            ..policy()
        });
        let spaced = with(claims(), "scope", json!("openid  api/read"));
        assert_eq!(
            check(&verifier, &spaced).expect("valid").scopes,
            ["openid", "api/read"]
        );
        for separator in ["\t", "\n", "\r", "\u{a0}", "\u{3000}", "\u{2028}", "\u{85}"] {
            let scope = format!("openid{separator}api/read");
            let Err(AuthError::InsufficientScope { reason, .. }) =
                check(&verifier, &with(claims(), "scope", json!(scope)))
            else {
                panic!("{separator:?} split the scope");
            };
            assert_eq!(reason, Insufficient::Scope);
        }
    }

    #[test]
    fn duplicate_header_members_are_rejected() {
        let verifier = Verifier::new(policy());
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","kid":"a","alg":"none"}"#);
        let token = format!("{header}.{}.c2ln", b64(&claims()));
        assert_eq!(verifier.parse(&token).unwrap_err(), InvalidToken::Malformed);
    }

    #[test]
    fn header_key_urls_are_ignored() {
        let verifier = Verifier::new(policy());
        let header = json!({"alg": "RS256", "kid": "key-1", "jku": "https://evil/jwks", "x5u": "https://evil/c", "jwk": {"kty": "RSA"}});
        let token = token_with(&header, &claims());
        assert_eq!(verifier.parse(&token).expect("parses").kid, "key-1");
    }

    #[test]
    fn verdict_is_the_whole_path_without_network() {
        use crate::dev::{SigningKey, jwks};
        let key = SigningKey::generate("key-1").expect("key");
        let keys =
            super::super::jwks::parse_jwks(jwks(&[&key]).to_string().as_bytes()).expect("jwks");
        let verifier = Verifier::new(policy());
        let token = key.sign(&claims()).expect("sign");
        let header = format!("bearer {token}");
        assert_eq!(
            verdict(header.as_bytes(), &verifier, &keys, NOW)
                .expect("valid")
                .sub,
            "3a5c440d-1568-4285-917d-e771c794d6a2"
        );
        let other = SigningKey::generate("key-2").expect("key");
        let unknown = format!("Bearer {}", other.sign(&claims()).expect("sign"));
        assert_eq!(
            verdict(unknown.as_bytes(), &verifier, &keys, NOW).unwrap_err(),
            AuthError::InvalidToken(InvalidToken::UnknownKey)
        );
        let (message, _) = token.rsplit_once('.').expect("dots");
        let forged = format!("Bearer {message}.{}", crate::dev::b64([7u8; 256]));
        assert_eq!(
            verdict(forged.as_bytes(), &verifier, &keys, NOW).unwrap_err(),
            AuthError::InvalidToken(InvalidToken::BadSignature)
        );
        assert!(matches!(
            verdict(b"Bearer \x01", &verifier, &keys, NOW),
            Err(AuthError::InvalidRequest(_))
        ));
    }
}
