//! The whole check of one request: bearer token, verified-token cache, then the pipeline of
//! [`Verifier::verify`] with the keys of the token's pool.

use std::sync::Arc;

use crate::claims::AccessTokenClaims;
use crate::error::AuthError;
use crate::jwks::{FetchError, JwksCache, USER_AGENT, error_chain};
use crate::key::VerifyingKey;
use crate::observer::{AuthObserver, NoObserver};
use crate::settings::{JwksSettings, TokenPolicy, UserPool};
use crate::token_cache::{DEFAULT_TOKEN_CACHE_BYTES, TokenCache, TokenDigest};
use crate::verifier::{CheckedToken, CustomCheck, KeySource, Verified, Verifier, unix_now};

/// Verifies the bearer token of a request for one or several user pools: header parsing, the
/// pool its `iss` names, key lookup in that pool's JWKS, signature, claims, custom check.
///
/// Tokens that verified are remembered in a bounded cache, keyed on the SHA-256 of the whole
/// token; a hit re-checks `exp`, `nbf` and `iat`, and a change of its pool's key set makes it a
/// miss, so a cached answer is always the one a full verification would give.
#[derive(Debug)]
pub struct Authenticator {
    verifier: Verifier,
    pools: Vec<JwksCache>,
    cache: TokenCache,
    observer: Arc<dyn AuthObserver>,
    realm: Option<String>,
}

impl std::fmt::Debug for dyn AuthObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthObserver")
    }
}

/// What the verified-token cache says about a token.
#[derive(Debug)]
pub(crate) enum Cached {
    /// Verified before, with its pool's current key set, and still in its validity window.
    Hit(Arc<AccessTokenClaims>),
    /// Not answered by the cache: the full check is needed. Holds the token's cache key, `None`
    /// when the cache is off (bound 0): then nothing is hashed, looked up or remembered.
    Miss(Option<TokenDigest>),
}

/// Why an [`Authenticator`] cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// No user pool was given.
    #[error("no user pool: give at least one")]
    NoPool,
    /// Two pools have the same issuer, so a token's `iss` cannot select one.
    #[error("two user pools have the same issuer")]
    DuplicateIssuer,
    /// A pool has no allowed app client, so none of its tokens could pass.
    #[error("a user pool has no allowed app client id")]
    NoClientId,
    /// The HTTP client for the JWKS could not be built (the TLS stack).
    #[error("cannot build the JWKS HTTP client")]
    Client(#[from] reqwest::Error),
}

/// A pool whose keys could not be fetched by [`Authenticator::hydrate`].
#[derive(Debug, thiserror::Error)]
#[error("the keys of the pool of issuer {issuer} could not be fetched: {cause}")]
pub struct HydrateError {
    /// The pool's issuer.
    pub issuer: String,
    /// The fetch error with its whole source chain.
    pub cause: String,
}

/// Builds an [`Authenticator`]: the pools, then whatever differs from the defaults.
#[must_use]
pub struct AuthenticatorBuilder {
    pools: Vec<UserPool>,
    policy: TokenPolicy,
    jwks: JwksSettings,
    cache_bytes: u64,
    custom: Option<CustomCheck>,
    observer: Arc<dyn AuthObserver>,
    realm: Option<String>,
    user_agent: String,
}

impl AuthenticatorBuilder {
    /// The rules every pool's tokens share (default: no scope or group required, 60 s leeway).
    pub fn policy(mut self, policy: TokenPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// How the keys are fetched and trusted (default: [`JwksSettings::default`]).
    pub fn jwks(mut self, settings: JwksSettings) -> Self {
        self.jwks = settings;
        self
    }

    /// The bound of the verified-token cache in bytes (default 32 MiB, about 56,000 Cognito
    /// access tokens; 0: no cache).
    pub fn token_cache_bytes(mut self, max_bytes: u64) -> Self {
        self.cache_bytes = max_bytes;
        self
    }

    /// A check of yours, run after the built-in ones on every full verification; it refuses
    /// with a fixed phrase of its own (401 `invalid_token`), as aws-jwt-verify's
    /// `customJwtCheck`.
    pub fn custom_check(
        mut self,
        check: impl Fn(&CheckedToken<'_>) -> Result<(), &'static str> + Send + Sync + 'static,
    ) -> Self {
        self.custom = Some(Arc::new(check));
        self
    }

    /// Who is told about refusals, cache lookups and fetches (default: nobody).
    pub fn observer(mut self, observer: Arc<dyn AuthObserver>) -> Self {
        self.observer = observer;
        self
    }

    /// The realm named in each `WWW-Authenticate` challenge (default: none).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Some(realm.into());
        self
    }

    /// The `User-Agent` of the JWKS requests (default [`USER_AGENT`]).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// The authenticator. Nothing is fetched yet: call [`Authenticator::hydrate`] to warm the
    /// keys, and run [`Authenticator::run_refresher`] in the background to keep them fresh.
    ///
    /// # Errors
    ///
    /// No pool, two pools with one issuer, a pool without a client id, or no TLS stack.
    pub fn build(self) -> Result<Authenticator, BuildError> {
        if self.pools.is_empty() {
            return Err(BuildError::NoPool);
        }
        if self.pools.iter().any(|pool| pool.client_ids.is_empty()) {
            return Err(BuildError::NoClientId);
        }
        for (i, pool) in self.pools.iter().enumerate() {
            if self.pools[..i].iter().any(|p| p.issuer == pool.issuer) {
                return Err(BuildError::DuplicateIssuer);
            }
        }
        let client = JwksCache::http_client(&self.jwks, &self.user_agent)?;
        let caches = self
            .pools
            .iter()
            .map(|pool| {
                JwksCache::new(
                    client.clone(),
                    pool.jwks_url.clone(),
                    self.jwks.clone(),
                    self.observer.clone(),
                )
            })
            .collect();
        let mut verifier = Verifier::new(&self.pools, self.policy);
        if let Some(check) = self.custom {
            verifier = verifier.with_custom_check(check);
        }
        let cache = TokenCache::new(self.cache_bytes, verifier.policy().leeway.as_secs());
        Ok(Authenticator {
            verifier,
            pools: caches,
            cache,
            observer: self.observer,
            realm: self.realm,
        })
    }
}

/// The pools' JWKS caches as the pipeline's key source.
impl KeySource for [JwksCache] {
    async fn key(&self, pool: usize, kid: &str) -> Result<Arc<VerifyingKey>, AuthError> {
        match self.get(pool) {
            Some(cache) => cache.key(kid).await,
            // The verifier names only its own pools, and the builder makes a cache for each.
            None => Err(AuthError::InvalidToken(
                crate::error::InvalidToken::UnknownKey,
            )),
        }
    }
}

impl Authenticator {
    /// A builder for tokens of `pools` (a token's `iss` selects its pool).
    pub fn builder(pools: impl IntoIterator<Item = UserPool>) -> AuthenticatorBuilder {
        AuthenticatorBuilder {
            pools: pools.into_iter().collect(),
            policy: TokenPolicy::default(),
            jwks: JwksSettings::default(),
            cache_bytes: DEFAULT_TOKEN_CACHE_BYTES,
            custom: None,
            observer: Arc::new(NoObserver),
            realm: None,
            user_agent: USER_AGENT.to_owned(),
        }
    }

    /// The key cache of each pool, in the order the pools were given.
    pub fn jwks(&self) -> &[JwksCache] {
        &self.pools
    }

    /// The realm of the challenges.
    pub fn realm(&self) -> Option<&str> {
        self.realm.as_deref()
    }

    /// The observer (the layer tells it about refusals).
    pub(crate) fn observer(&self) -> &dyn AuthObserver {
        self.observer.as_ref()
    }

    /// Entries in the verified-token cache now.
    pub fn token_cache_len(&self) -> u64 {
        self.cache.len()
    }

    /// Their weight in bytes, bounded by the cache's size.
    pub fn token_cache_bytes(&self) -> u64 {
        self.cache.weight()
    }

    /// The age of the oldest key set in use (time since its last good fetch); `None` while a
    /// pool has never had one.
    pub fn key_set_age(&self) -> Option<std::time::Duration> {
        self.pools
            .iter()
            .map(JwksCache::key_set_age)
            .try_fold(std::time::Duration::ZERO, |oldest, age| {
                age.map(|age| oldest.max(age))
            })
    }

    /// Fetches every pool's keys now, at once (aws-jwt-verify's `hydrate()`): call it at start
    /// so the first requests need not wait for a fetch. A pool whose keys were fetched already
    /// is not fetched again.
    ///
    /// # Errors
    ///
    /// The first pool whose fetch failed, with the cause; the others are fetched all the same,
    /// and a failed pool is retried as after any failed fetch.
    pub async fn hydrate(&self) -> Result<(), HydrateError> {
        let mut fetches = tokio::task::JoinSet::new();
        for (pool, cache) in self.pools.iter().enumerate() {
            let cache = cache.clone();
            fetches.spawn(async move {
                let fetched = cache.hydrate().await;
                (
                    pool,
                    fetched.map_err(|error: FetchError| error_chain(&error)),
                )
            });
        }
        let mut failed: Option<(usize, String)> = None;
        while let Some(done) = fetches.join_next().await {
            if let Ok((pool, Err(cause))) = done
                && failed.as_ref().is_none_or(|(first, _)| pool < *first)
            {
                failed = Some((pool, cause));
            }
        }
        match failed {
            None => Ok(()),
            Some((pool, cause)) => Err(HydrateError {
                issuer: self.verifier.issuer(pool).to_owned(),
                cause,
            }),
        }
    }

    /// Keeps every pool's keys fresh (each fetched at start if [`Authenticator::hydrate`] did
    /// not, then before its TTL) until the task is dropped.
    pub async fn run_refresher(self: Arc<Self>) {
        let mut tasks = tokio::task::JoinSet::new();
        for cache in &self.pools {
            tasks.spawn(cache.clone().run_refresher());
        }
        while tasks.join_next().await.is_some() {}
    }

    /// Frees the verified-token cache's entries past `exp` + leeway every minute, until the task
    /// is dropped.
    pub async fn run_sweeper(self: Arc<Self>) {
        self.cache.run_sweeper().await;
    }

    /// Verifies one token in the README's order ("What a valid access token is"), answering from
    /// the verified-token cache when it can.
    ///
    /// # Errors
    ///
    /// The first check that fails. The observer is not told: the layer tells it of the
    /// refusals it answers.
    pub async fn verify(&self, token: &str) -> Result<Arc<AccessTokenClaims>, AuthError> {
        match self.cached(token) {
            Cached::Hit(claims) => Ok(claims),
            Cached::Miss(digest) => match self.verify_at_hand(token, digest) {
                Some(answer) => answer,
                None => self.verify_in_full(token, digest).await,
            },
        }
    }

    /// What the verified-token cache alone says about `token`, without waiting for anything.
    pub(crate) fn cached(&self, token: &str) -> Cached {
        // With the cache off every request is a miss: skip the SHA-256 of the token and the
        // key-set read the lookup needs (the observer still counts the miss).
        if !self.cache.is_enabled() {
            self.observer.token_cache_lookup(false);
            return Cached::Miss(None);
        }
        let digest = TokenDigest::of(token);
        let current = |pool: usize| {
            self.pools
                .get(pool)
                .and_then(JwksCache::current)
                .map(|set| set.generation())
        };
        let found = self.cache.get(&digest, unix_now(), current);
        self.observer.token_cache_lookup(found.is_some());
        match found {
            Some(claims) => Cached::Hit(claims),
            None => Cached::Miss(Some(digest)),
        }
    }

    /// The whole check of a token the cache did not answer (`digest` is its cache key, `None`
    /// with the cache off), when it needs no waiting: the key its header names is in its pool's
    /// current key set. `None` when the key must be waited for (a fetch, or the single-flight
    /// lock): then [`Authenticator::verify_in_full`] runs the same pipeline and parses the token
    /// again (a rare path: an unknown kid or no key set yet).
    ///
    /// # Errors
    ///
    /// The first check that fails, as [`Authenticator::verify_in_full`] gives it.
    pub(crate) fn verify_at_hand(
        &self,
        token: &str,
        digest: Option<TokenDigest>,
    ) -> Option<Result<Arc<AccessTokenClaims>, AuthError>> {
        let parsed = match self.verifier.parse(token) {
            Ok(parsed) => parsed,
            Err(reason) => return Some(Err(AuthError::InvalidToken(reason))),
        };
        let key = self.pools.get(parsed.pool)?.key_at_hand(&parsed.kid)?;
        let now = unix_now();
        Some(
            self.verifier
                .finish(parsed, key, now)
                .map(|verified| self.remember(verified, digest, now)),
        )
    }

    /// The whole check of a token the cache did not answer (`digest` is its cache key, `None`
    /// with the cache off): the pipeline, then the cache remembers a success.
    ///
    /// # Errors
    ///
    /// The first check that fails.
    pub(crate) async fn verify_in_full(
        &self,
        token: &str,
        digest: Option<TokenDigest>,
    ) -> Result<Arc<AccessTokenClaims>, AuthError> {
        let now = unix_now();
        let verified = self.verifier.verify(token, &self.pools[..], now).await?;
        Ok(self.remember(verified, digest, now))
    }

    /// The claims of a token that verified at `now`, remembered under `digest` when the cache
    /// is on.
    fn remember(
        &self,
        verified: Verified,
        digest: Option<TokenDigest>,
        now: u64,
    ) -> Arc<AccessTokenClaims> {
        let Some(digest) = digest else {
            return Arc::new(verified.claims);
        };
        // The generation of the set this very key came from (a fetch that changes the set makes
        // new key objects, so pointer equality proves it): a later change of the set, one that
        // drops the kid included, makes the cache entry a miss. If the set changed meanwhile,
        // the token is not cached. A refetch of the same keys keeps both objects and generation.
        let generation = self.pools[verified.pool]
            .current()
            .filter(|set| {
                set.get(&verified.kid)
                    .is_some_and(|current| Arc::ptr_eq(&current, &verified.key))
            })
            .map(|set| set.generation());
        let claims = Arc::new(verified.claims);
        if let Some(generation) = generation {
            self.cache.insert(
                digest,
                claims.clone(),
                verified.nbf,
                (verified.pool, generation),
                now,
            );
        }
        claims
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use serde_json::{Value, json};

    use super::*;
    use crate::error::{Insufficient, InvalidToken};
    use crate::local_issuer::{SigningKey, jwks};
    use crate::test_support::serve_jwks;

    const ISSUER: &str = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123";

    fn policy() -> TokenPolicy {
        TokenPolicy::default()
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
        let url = serve_jwks(served.clone()).await;
        let auth = Authenticator::builder([UserPool {
            issuer: ISSUER.into(),
            jwks_url: url,
            client_ids: vec!["client-a".into()],
        }])
        .policy(policy)
        .jwks(JwksSettings {
            cooldown: Duration::ZERO,
            ttl,
            ..JwksSettings::default()
        })
        .build()
        .expect("authenticator");
        (auth, served)
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
        assert_eq!(auth.jwks()[0].fetch_count(), 1);
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
        assert_eq!(auth.jwks()[0].fetch_count(), 2);

        assert_eq!(
            auth.verify(&token).await.unwrap_err(),
            AuthError::InvalidToken(InvalidToken::UnknownKey)
        );
    }

    fn generation(auth: &Authenticator) -> u64 {
        auth.jwks()[0].current().expect("keys").generation()
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
            assert_eq!(auth.jwks()[0].fetch_count(), 2 + i);
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
        let before = auth.jwks()[0].fetch_count();
        // TTL 100 ms: the refresher refetches every 90 ms.
        let task = tokio::spawn(auth.jwks()[0].clone().run_refresher());
        for _ in 0..200 {
            if auth.jwks()[0].fetch_count() >= before + 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        task.abort();
        assert!(
            auth.jwks()[0].fetch_count() >= before + 3,
            "the refresher did not run"
        );
        assert_eq!(generation(&auth), 1);
        assert!(
            auth.jwks()[0].key_set_age().expect("fetched") < Duration::from_millis(300),
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
    async fn with_the_cache_off_every_call_verifies_and_keeps_its_refusals() {
        let key = SigningKey::generate("key-1").expect("key");
        let served = Arc::new(Mutex::new(jwks(&[&key])));
        let url = serve_jwks(served).await;
        let auth = Authenticator::builder([UserPool {
            issuer: ISSUER.into(),
            jwks_url: url,
            client_ids: vec!["client-a".into()],
        }])
        .token_cache_bytes(0)
        .build()
        .expect("authenticator");
        let token = key.sign(&claims(unix_now() + 300)).expect("sign");
        let first = auth.verify(&token).await.expect("valid");
        let second = auth.verify(&token).await.expect("valid");
        assert!(!Arc::ptr_eq(&first, &second), "a cache answered");
        assert_eq!(first, second);
        assert!(auth.cache.is_empty());
        let expired = key.sign(&claims(unix_now() - 61)).expect("sign");
        assert_eq!(
            auth.verify(&expired).await.unwrap_err(),
            AuthError::InvalidToken(InvalidToken::Expired)
        );
        let (body, _) = token.rsplit_once('.').expect("dots");
        let forged = format!("{body}.{}", "A".repeat(342));
        assert_eq!(
            auth.verify(&forged).await.unwrap_err(),
            AuthError::InvalidToken(InvalidToken::BadSignature)
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
