//! The whole check of one request: bearer token, verified-token cache, key lookup, signature,
//! claims.

use std::sync::Arc;

use axum::http::HeaderMap;

use super::bearer::bearer_token;
use super::claims::AccessTokenClaims;
use super::error::{AuthError, InvalidToken};
use super::jwks::{JwksCache, KeyLookupError};
use super::token_cache::{DEFAULT_TOKEN_CACHE_CAPACITY, TokenCache, TokenDigest};
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

impl Authenticator {
    /// An authenticator that checks tokens with `verifier` and keys from `jwks`, remembering up
    /// to 10,000 verified tokens.
    pub fn new(verifier: Verifier, jwks: JwksCache) -> Self {
        Self::with_cache_capacity(verifier, jwks, DEFAULT_TOKEN_CACHE_CAPACITY)
    }

    /// As [`Authenticator::new`], with room for `capacity` verified tokens (0: no cache).
    pub fn with_cache_capacity(verifier: Verifier, jwks: JwksCache, capacity: usize) -> Self {
        let cache = TokenCache::new(capacity, verifier.policy().leeway.as_secs());
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
