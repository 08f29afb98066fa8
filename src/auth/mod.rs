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
mod key;
mod layer;
mod token_cache;
mod verifier;

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue, header};

pub use claims::{AccessTokenClaims, VerifiedClaims};
pub use error::{AuthError, ErrorBody, Insufficient, InvalidToken, REALM};
pub use jwks::{FetchError, JwksCache, KeyError, KeySet, Keys, USER_AGENT, parse_jwks};
pub use key::VerifyingKey;
pub use layer::{AuthOutcome, CognitoAuth, CognitoAuthLayer};
pub use token_cache::{
    DEFAULT_TOKEN_CACHE_BYTES, MAX_CACHED_CLAIMS_BYTES, TokenCache, TokenDigest, claims_weight,
};
pub use verifier::{MAX_TOKEN_BYTES, UnverifiedToken, Verifier, unix_now};

/// Verifies the bearer token of a request: header parsing, key lookup, signature, claims.
///
/// Tokens that verified are remembered in a bounded [`TokenCache`] (see its module for why a
/// cached answer is always the one a full verification would give).
#[derive(Debug)]
pub struct Authenticator {
    verifier: Verifier,
    jwks: JwksCache,
    cache: TokenCache,
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
    /// An authenticator that checks tokens with `verifier` and keys from `jwks`, remembering
    /// verified tokens in up to [`DEFAULT_TOKEN_CACHE_BYTES`].
    pub fn new(verifier: Verifier, jwks: JwksCache) -> Self {
        Self::with_cache_bytes(verifier, jwks, DEFAULT_TOKEN_CACHE_BYTES)
    }

    /// As [`Authenticator::new`], with `max_bytes` for verified tokens (0: no cache).
    pub fn with_cache_bytes(verifier: Verifier, jwks: JwksCache, max_bytes: u64) -> Self {
        let cache = TokenCache::new(max_bytes, verifier.policy().leeway.as_secs());
        Self {
            verifier,
            jwks,
            cache,
        }
    }

    /// The cache of verified tokens.
    pub fn token_cache(&self) -> &TokenCache {
        &self.cache
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
        self.verify_shared(token).await
    }

    /// Verifies one token, in the contract's order.
    ///
    /// # Errors
    ///
    /// The first check that fails.
    pub async fn verify(&self, token: &str) -> Result<AccessTokenClaims, AuthError> {
        self.verify_shared(token)
            .await
            .map(|claims| claims.as_ref().clone())
    }

    /// As [`Authenticator::verify`], answering from the token cache when it can.
    ///
    /// # Errors
    ///
    /// The first check that fails.
    pub async fn verify_shared(&self, token: &str) -> Result<Arc<AccessTokenClaims>, AuthError> {
        let now = unix_now();
        let digest = TokenDigest::of(token);
        if let Some(set) = self.jwks.current()
            && let Some(claims) = self.cache.get(&digest, set.generation(), now)
        {
            return Ok(claims);
        }
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
        // The generation of the set this very key came from (each fetch makes new key objects,
        // so pointer equality proves it): a later refresh, one that drops the kid included,
        // makes the cache entry a miss. If the set changed meanwhile, the token is not cached.
        let generation = self
            .jwks
            .current()
            .filter(|set| {
                set.get(&parsed.kid)
                    .is_some_and(|current| Arc::ptr_eq(&current, &key))
            })
            .map(|set| set.generation());
        let nbf = parsed.not_before();
        let claims = Arc::new(self.verifier.check_claims(parsed, now)?);
        if let Some(generation) = generation {
            self.cache
                .insert(digest, claims.clone(), nbf, generation, now);
        }
        Ok(claims)
    }
}

/// The answer for one `Authorization` header value, synchronously and without a cache: header
/// syntax, token syntax and header, the key for its `kid` in `keys`, the signature, then the
/// claims at `now` (Unix seconds). This is [`Authenticator::verify`] with the key set given, for
/// fuzzing and offline checks.
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

    mod token_cache {
        use std::sync::Mutex;
        use std::time::Duration;

        use serde_json::{Value, json};

        use super::super::*;
        use crate::config::{JwksSettings, TokenPolicy};
        use crate::dev::{SigningKey, jwks};

        const ISSUER: &str = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123";

        fn policy() -> TokenPolicy {
            TokenPolicy {
                issuer: ISSUER.into(),
                client_ids: vec!["client-a".into()],
                required_scopes: vec![],
                required_groups: vec![],
                leeway: Duration::from_secs(60),
            }
        }

        fn claims(exp: u64) -> Value {
            json!({
                "sub": "user-1", "iss": ISSUER, "client_id": "client-a",
                "token_use": "access", "scope": "openid", "exp": exp, "iat": unix_now(),
            })
        }

        /// An authenticator whose JWKS (served on 127.0.0.1) the test can change; request-driven
        /// fetches have no cooldown, so an unknown kid refetches at once.
        async fn authenticator(
            policy: TokenPolicy,
            keys: &[&SigningKey],
        ) -> (Authenticator, Arc<Mutex<Value>>) {
            authenticator_with_ttl(policy, keys, Duration::from_secs(3600)).await
        }

        /// As [`authenticator`], with the JWKS refreshed by the background task after `ttl`.
        async fn authenticator_with_ttl(
            policy: TokenPolicy,
            keys: &[&SigningKey],
            ttl: Duration,
        ) -> (Authenticator, Arc<Mutex<Value>>) {
            let served = Arc::new(Mutex::new(jwks(keys)));
            let body = served.clone();
            let app = axum::Router::new().route(
                "/jwks.json",
                axum::routing::get(move || {
                    let body = body.lock().map(|v| v.to_string()).unwrap_or_default();
                    std::future::ready(body)
                }),
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let addr = listener.local_addr().expect("addr");
            tokio::spawn(async move { axum::serve(listener, app).await });
            let url = url::Url::parse(&format!("http://{addr}/jwks.json")).expect("url");
            let settings = JwksSettings {
                cooldown: Duration::ZERO,
                ttl,
                ..JwksSettings::with_defaults(url)
            };
            let cache =
                JwksCache::new(JwksCache::http_client(&settings).expect("client"), settings);
            (Authenticator::new(Verifier::new(policy), cache), served)
        }

        #[tokio::test]
        async fn a_verified_token_is_served_from_the_cache() {
            let key = SigningKey::generate("key-1").expect("key");
            let (auth, _served) = authenticator(policy(), &[&key]).await;
            let token = key.sign(&claims(unix_now() + 300)).expect("sign");
            let first = auth.verify_shared(&token).await.expect("valid");
            assert_eq!(auth.token_cache().len(), 1);
            let second = auth.verify_shared(&token).await.expect("valid");
            assert!(
                Arc::ptr_eq(&first, &second),
                "the second call verified again"
            );
            assert_eq!(auth.jwks().fetch_count(), 1);
        }

        #[tokio::test]
        async fn a_refresh_that_removes_the_kid_makes_cached_tokens_fail() {
            let old = SigningKey::generate("old").expect("key");
            let new = SigningKey::generate("new").expect("key");
            let (auth, served) = authenticator(policy(), &[&old]).await;
            let token = old.sign(&claims(unix_now() + 300)).expect("sign");
            auth.verify_shared(&token).await.expect("valid");

            // Cognito rotates: the JWKS now holds only the new key, and a token of the new key
            // makes the cache fetch it.
            *served.lock().expect("lock") = jwks(&[&new]);
            let fresh = new.sign(&claims(unix_now() + 300)).expect("sign");
            auth.verify_shared(&fresh).await.expect("valid");
            assert_eq!(auth.jwks().fetch_count(), 2);

            assert_eq!(
                auth.verify_shared(&token).await.unwrap_err(),
                AuthError::InvalidToken(InvalidToken::UnknownKey)
            );
        }

        fn generation(auth: &Authenticator) -> u64 {
            auth.jwks().current().expect("keys").generation()
        }

        #[tokio::test]
        async fn unknown_kid_spam_does_not_flush_the_cache() {
            let key = SigningKey::generate("key-1").expect("key");
            let stranger = SigningKey::generate("not-in-the-set").expect("key");
            let (auth, _served) = authenticator(policy(), &[&key]).await;
            let token = key.sign(&claims(unix_now() + 300)).expect("sign");
            let first = auth.verify_shared(&token).await.expect("valid");
            assert_eq!(generation(&auth), 1);
            // No cooldown here: each unknown kid refetches the (unchanged) set.
            for i in 0..5 {
                let spam = stranger.sign(&claims(unix_now() + 300)).expect("sign");
                assert_eq!(
                    auth.verify_shared(&spam).await.unwrap_err(),
                    AuthError::InvalidToken(InvalidToken::UnknownKey)
                );
                assert_eq!(auth.jwks().fetch_count(), 2 + i);
            }
            assert_eq!(
                generation(&auth),
                1,
                "an unchanged set made a new generation"
            );
            let again = auth.verify_shared(&token).await.expect("valid");
            assert!(
                Arc::ptr_eq(&first, &again),
                "the refetches emptied the verified-token cache"
            );
        }

        #[tokio::test]
        async fn the_ttl_refresh_of_an_unchanged_set_keeps_cached_tokens() {
            let key = SigningKey::generate("key-1").expect("key");
            let (auth, _served) =
                authenticator_with_ttl(policy(), &[&key], Duration::from_millis(100)).await;
            let token = key.sign(&claims(unix_now() + 300)).expect("sign");
            let first = auth.verify_shared(&token).await.expect("valid");
            // The set stays as it is; its age grows.
            tokio::time::sleep(Duration::from_millis(400)).await;
            let before = auth.jwks().fetch_count();
            // TTL 100 ms: the refresher refetches every 90 ms.
            let task = tokio::spawn(auth.jwks().clone().run_refresher());
            for _ in 0..200 {
                if auth.jwks().fetch_count() >= before + 3 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            task.abort();
            assert!(
                auth.jwks().fetch_count() >= before + 3,
                "the refresher did not run"
            );
            assert_eq!(generation(&auth), 1);
            assert!(
                auth.jwks().key_set_age().expect("fetched") < Duration::from_millis(300),
                "the refresh did not renew the set's age"
            );
            let again = auth.verify_shared(&token).await.expect("valid");
            assert!(
                Arc::ptr_eq(&first, &again),
                "the TTL refresh emptied the cache"
            );
        }

        #[tokio::test]
        async fn a_changed_set_makes_a_new_generation() {
            let key = SigningKey::generate("key-1").expect("key");
            let added = SigningKey::generate("key-2").expect("key");
            let (auth, served) = authenticator(policy(), &[&key]).await;
            let token = key.sign(&claims(unix_now() + 300)).expect("sign");
            let first = auth.verify_shared(&token).await.expect("valid");
            *served.lock().expect("lock") = jwks(&[&key, &added]);
            let fresh = added.sign(&claims(unix_now() + 300)).expect("sign");
            auth.verify_shared(&fresh).await.expect("valid");
            assert_eq!(generation(&auth), 2);
            // Verified again under the new set: a fresh verification, still valid.
            let again = auth.verify_shared(&token).await.expect("valid");
            assert!(!Arc::ptr_eq(&first, &again));
            assert_eq!(again.sub, "user-1");
        }

        #[tokio::test]
        async fn failures_are_never_cached() {
            let key = SigningKey::generate("key-1").expect("key");
            let (auth, _served) = authenticator(
                TokenPolicy {
                    required_scopes: vec!["api/read".into()],
                    ..policy()
                },
                &[&key],
            )
            .await;
            let token = key.sign(&claims(unix_now() + 300)).expect("sign");
            for _ in 0..2 {
                assert!(matches!(
                    auth.verify_shared(&token).await,
                    Err(AuthError::InsufficientScope { .. })
                ));
            }
            let expired = key.sign(&claims(unix_now() - 61)).expect("sign");
            for _ in 0..2 {
                assert_eq!(
                    auth.verify_shared(&expired).await.unwrap_err(),
                    AuthError::InvalidToken(InvalidToken::Expired)
                );
            }
            assert!(auth.token_cache().is_empty());
        }

        #[test]
        fn verdict_is_the_whole_path_without_network() {
            let key = SigningKey::generate("key-1").expect("key");
            let keys = parse_jwks(jwks(&[&key]).to_string().as_bytes()).expect("jwks");
            let verifier = Verifier::new(policy());
            let now = unix_now();
            let token = key.sign(&claims(now + 300)).expect("sign");
            let header = format!("bearer {token}");
            assert_eq!(
                verdict(header.as_bytes(), &verifier, &keys, now)
                    .expect("valid")
                    .sub,
                "user-1"
            );
            let other = SigningKey::generate("key-2").expect("key");
            let unknown = format!("Bearer {}", other.sign(&claims(now + 300)).expect("sign"));
            assert_eq!(
                verdict(unknown.as_bytes(), &verifier, &keys, now).unwrap_err(),
                AuthError::InvalidToken(InvalidToken::UnknownKey)
            );
            let (message, _) = token.rsplit_once('.').expect("dots");
            let forged = format!("Bearer {message}.{}", crate::dev::b64([7u8; 256]));
            assert_eq!(
                verdict(forged.as_bytes(), &verifier, &keys, now).unwrap_err(),
                AuthError::InvalidToken(InvalidToken::BadSignature)
            );
            assert!(matches!(
                verdict(b"Bearer \x01", &verifier, &keys, now),
                Err(AuthError::InvalidRequest(_))
            ));
        }
    }
}
