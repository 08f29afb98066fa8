//! The whole check of one request: bearer token, verified-token cache, key lookup, signature,
//! claims.

use std::sync::Arc;

use axum::http::HeaderMap;

use super::bearer::bearer_token;
use super::claims::AccessTokenClaims;
use super::error::{AuthError, InvalidToken};
use super::jwks::{JwksCache, KeyLookupError};
use super::token_cache::{DEFAULT_TOKEN_CACHE_BYTES, TokenCache, TokenDigest};
use super::verifier::{Verifier, unix_now};

/// Verifies the bearer token of a request: header parsing, key lookup, signature, claims.
///
/// Tokens that verified are remembered in a bounded cache, keyed on the SHA-256 of the whole
/// token; a hit re-checks `exp`, `nbf` and `iat`, and a change of the key set makes it a miss,
/// so a cached answer is always the one a full verification would give.
#[derive(Debug)]
pub struct Authenticator {
    verifier: Verifier,
    jwks: JwksCache,
    cache: TokenCache,
}

/// What the verified-token cache says about a token.
#[derive(Debug)]
pub(crate) enum Cached {
    /// Verified before, with the current key set, and still in its validity window.
    Hit(Arc<AccessTokenClaims>),
    /// Not answered by the cache: the full check is needed. Holds the token's cache key.
    Miss(TokenDigest),
}

impl Authenticator {
    /// An authenticator that checks tokens with `verifier` and keys from `jwks`, remembering
    /// verified tokens in up to 32 MiB (about 56,000 Cognito access tokens).
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

    /// The key cache.
    pub fn jwks(&self) -> &JwksCache {
        &self.jwks
    }

    /// The verified-token cache (its sweeper and the metrics gauges read it).
    pub(crate) fn token_cache(&self) -> &TokenCache {
        &self.cache
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
        self.verify(token).await
    }

    /// Verifies one token in the README's order ("What a valid access token is"), answering from
    /// the verified-token cache when it can.
    ///
    /// # Errors
    ///
    /// The first check that fails.
    pub async fn verify(&self, token: &str) -> Result<Arc<AccessTokenClaims>, AuthError> {
        match self.cached(token) {
            Cached::Hit(claims) => Ok(claims),
            Cached::Miss(digest) => self.verify_in_full(token, digest).await,
        }
    }

    /// What the verified-token cache alone says about the bearer token of `headers`, without
    /// waiting for anything: the tower layer answers a hit at once.
    pub(crate) fn lookup(&self, headers: &HeaderMap) -> Result<Cached, AuthError> {
        bearer_token(headers).map(|token| self.cached(token))
    }

    fn cached(&self, token: &str) -> Cached {
        let digest = TokenDigest::of(token);
        match self.jwks.current() {
            Some(set) => match self.cache.get(&digest, set.generation(), unix_now()) {
                Some(claims) => Cached::Hit(claims),
                None => Cached::Miss(digest),
            },
            None => Cached::Miss(digest),
        }
    }

    /// The whole check of a token the cache did not answer (`digest` is its cache key).
    ///
    /// # Errors
    ///
    /// The first check that fails.
    pub(crate) async fn verify_in_full(
        &self,
        token: &str,
        digest: TokenDigest,
    ) -> Result<Arc<AccessTokenClaims>, AuthError> {
        let now = unix_now();
        let parsed = self
            .verifier
            .parse(token)
            .map_err(AuthError::InvalidToken)?;
        let key = match self.jwks.key(&parsed.kid).await {
            Ok(key) => key,
            Err(KeyLookupError::Unknown) => {
                return Err(AuthError::InvalidToken(InvalidToken::UnknownKey));
            }
            Err(KeyLookupError::Unavailable { retry_after }) => {
                return Err(AuthError::KeysUnavailable { retry_after });
            }
        };
        self.verifier
            .verify_signature(&parsed, &key)
            .map_err(AuthError::InvalidToken)?;
        // The generation of the set this very key came from (a fetch that changes the set makes
        // new key objects, so pointer equality proves it): a later change of the set, one that
        // drops the kid included, makes the cache entry a miss. If the set changed meanwhile,
        // the token is not cached. A refetch of the same keys keeps both objects and generation.
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

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use serde_json::{Value, json};

    use super::*;
    use crate::auth::error::Insufficient;
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
        let cache = JwksCache::new(JwksCache::http_client(&settings).expect("client"), settings);
        (Authenticator::new(Verifier::new(policy), cache), served)
    }

    #[tokio::test]
    async fn a_verified_token_is_served_from_the_cache() {
        let key = SigningKey::generate("key-1").expect("key");
        let (auth, _served) = authenticator(policy(), &[&key]).await;
        let token = key.sign(&claims(unix_now() + 300)).expect("sign");
        let first = auth.verify(&token).await.expect("valid");
        assert_eq!(auth.cache.len(), 1);
        let second = auth.verify(&token).await.expect("valid");
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
        auth.verify(&token).await.expect("valid");

        // Cognito rotates: the JWKS now holds only the new key, and a token of the new key
        // makes the cache fetch it.
        *served.lock().expect("lock") = jwks(&[&new]);
        let fresh = new.sign(&claims(unix_now() + 300)).expect("sign");
        auth.verify(&fresh).await.expect("valid");
        assert_eq!(auth.jwks().fetch_count(), 2);

        assert_eq!(
            auth.verify(&token).await.unwrap_err(),
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
        let first = auth.verify(&token).await.expect("valid");
        assert_eq!(generation(&auth), 1);
        // No cooldown here: each unknown kid refetches the (unchanged) set.
        for i in 0..5 {
            let spam = stranger.sign(&claims(unix_now() + 300)).expect("sign");
            assert_eq!(
                auth.verify(&spam).await.unwrap_err(),
                AuthError::InvalidToken(InvalidToken::UnknownKey)
            );
            assert_eq!(auth.jwks().fetch_count(), 2 + i);
        }
        assert_eq!(
            generation(&auth),
            1,
            "an unchanged set made a new generation"
        );
        let again = auth.verify(&token).await.expect("valid");
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
        let first = auth.verify(&token).await.expect("valid");
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
        let again = auth.verify(&token).await.expect("valid");
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
        let first = auth.verify(&token).await.expect("valid");
        *served.lock().expect("lock") = jwks(&[&key, &added]);
        let fresh = added.sign(&claims(unix_now() + 300)).expect("sign");
        auth.verify(&fresh).await.expect("valid");
        assert_eq!(generation(&auth), 2);
        // Verified again under the new set: a fresh verification, still valid.
        let again = auth.verify(&token).await.expect("valid");
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
                auth.verify(&token).await,
                Err(AuthError::InsufficientScope {
                    reason: Insufficient::Scope,
                    ..
                })
            ));
        }
        let expired = key.sign(&claims(unix_now() - 61)).expect("sign");
        for _ in 0..2 {
            assert_eq!(
                auth.verify(&expired).await.unwrap_err(),
                AuthError::InvalidToken(InvalidToken::Expired)
            );
        }
        assert!(auth.cache.is_empty());
    }
}
