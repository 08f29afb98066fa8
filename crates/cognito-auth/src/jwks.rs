//! The JWKS cache of one user pool: fetches its signing keys, keeps them, refreshes them.
//!
//! The rules:
//! - `hydrate` (or the background task) fetches at start, the task refreshes before the TTL;
//!   requests never wait for a refresh of keys they already have (reads take a short `RwLock`
//!   read of an `Arc`);
//! - one fetch at a time: every caller that needs a fetch queues on one lock, and a caller that
//!   finds a fetch finished while it waited uses that result instead of fetching again;
//! - an unknown `kid` causes at most one fetch per cooldown, and failed fetches start the cooldown
//!   too, so a flood of random kids cannot make more than one fetch per cooldown;
//! - when a refresh fails the old keys stay in use up to `max_stale` (stale-if-error);
//! - each fetch has a timeout, a connect timeout, a body cap, a `User-Agent`, no redirects; only
//!   RSA keys for signatures with a 2048- to 8192-bit modulus are kept, and a set without one is
//!   a failed fetch;
//! - each key is made once per fetched set into jsonwebtoken's `DecodingKey` ([`VerifyingKey`]);
//! - a failed fetch is logged with its whole cause ([`error_chain`]: connection refused, timeout,
//!   TLS, DNS, status, size, parse), never with the body; a `503` says whether the pool has no
//!   usable key set at all or only lacks the kid while the JWKS is down ([`Unavailable`]);
//! - a fetch that returns the same keys (same kids, same `n` and `e`) keeps the set's generation
//!   and its key objects and only renews its age, so the verified-token cache stays valid: a
//!   flood of unknown kids, or the TTL refresh, cannot empty it. Any change of the set (a key
//!   added, removed or replaced) makes a new generation.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{StatusCode, Url};
use serde::Deserialize;
use tokio::time::Instant;

use crate::error::{AuthError, InvalidToken, Unavailable};
use crate::key::VerifyingKey;
use crate::observer::AuthObserver;
use crate::settings::JwksSettings;

/// The default `User-Agent` of every JWKS request (some WAFs block requests without one).
pub const USER_AGENT: &str = concat!("cognito-auth/", env!("CARGO_PKG_VERSION"), " (jwks-fetch)");

/// Smallest RSA modulus accepted, in bits (Cognito uses 2048; less is breakable).
const MIN_MODULUS_BITS: usize = 2048;
/// Largest RSA modulus accepted, in bits: the cost of a verification grows with the square of
/// the size, so a bigger key would make every request slow (8192 bits is about 0.5 ms).
const MAX_MODULUS_BITS: usize = 8192;

/// Why a fetch failed. Logged with its whole source chain, never sent to clients, and
/// never with the body.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Connection, DNS, TLS, timeout or body read error; its sources name the cause.
    #[error("request failed")]
    Request(#[from] reqwest::Error),
    /// The fetch took longer than the timeout.
    #[error("timed out")]
    Timeout,
    /// Anything but `200 OK`, redirects included.
    #[error("unexpected status {0}")]
    Status(StatusCode),
    /// Body over the cap.
    #[error("body larger than {0} bytes")]
    TooLarge(usize),
    /// Not a JWKS document.
    #[error("body is not a JWKS document")]
    NotJwks,
    /// A JWKS without any usable RSA signing key.
    #[error("no usable RSA signing key in the set")]
    NoUsableKeys,
}

/// `error` and each of its sources, joined by `: `: "request failed: error sending request for
/// url (...): client error (Connect): tcp connect error: Connection refused (os error 111)".
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // Some errors repeat their source in their own message: say each part once.
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The usable keys of one JWKS document, by `kid`.
pub type Keys = HashMap<String, Arc<VerifyingKey>>;

/// True when both sets hold the same kids with the same keys.
fn same_keys(a: &Keys, b: &Keys) -> bool {
    a.len() == b.len()
        && a.iter()
            .all(|(kid, key)| b.get(kid).is_some_and(|other| key.same_key(other)))
}

/// One fetched set of keys.
#[derive(Debug)]
pub(crate) struct KeySet {
    keys: Keys,
    fetched_at: Instant,
    generation: u64,
}

impl KeySet {
    /// The key for `kid`.
    pub(crate) fn get(&self, kid: &str) -> Option<Arc<VerifyingKey>> {
        self.keys.get(kid).cloned()
    }

    /// Counts changes of the key set: a fetch that brings other keys makes a higher generation,
    /// one that brings the same keys keeps it.
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    /// Time since the last successful fetch that gave (or confirmed) this set.
    pub(crate) fn age(&self) -> Duration {
        self.fetched_at.elapsed()
    }
}

#[derive(Debug, Default)]
struct Status {
    attempts: u64,
    last_attempt: Option<Instant>,
    last_ok: bool,
}

struct Inner {
    client: reqwest::Client,
    url: Url,
    settings: JwksSettings,
    observer: Arc<dyn AuthObserver>,
    keys: RwLock<Option<Arc<KeySet>>>,
    fetch_lock: tokio::sync::Mutex<()>,
    status: Mutex<Status>,
    fetches: AtomicU64,
}

/// The keys of one user pool: a shared, cheap-to-clone handle on its cache.
#[derive(Clone)]
pub struct JwksCache {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksCache")
            .field("url", &self.inner.url.as_str())
            .field("settings", &self.inner.settings)
            .field("fetches", &self.fetch_count())
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct JwksDocument {
    keys: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct RsaJwk {
    kty: String,
    kid: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    alg: Option<String>,
    n: Option<String>,
    e: Option<String>,
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// The bit length of a big-endian unsigned integer without leading zero bytes.
fn bit_length(value: &[u8]) -> usize {
    value.first().map_or(0, |top| {
        (value.len() - 1) * 8 + (u8::BITS - top.leading_zeros()) as usize
    })
}

/// The RSA signing key of one JWK, or why it is skipped.
fn rsa_key(value: serde_json::Value) -> Result<(String, VerifyingKey), &'static str> {
    let jwk: RsaJwk = serde_json::from_value(value).map_err(|_| "malformed JWK")?;
    if jwk.kty != "RSA" {
        return Err("not an RSA key");
    }
    if jwk.use_.as_deref().is_some_and(|u| u != "sig") {
        return Err("not a signing key");
    }
    if jwk.alg.as_deref().is_some_and(|a| a != "RS256") {
        return Err("not an RS256 key");
    }
    let kid = jwk.kid.filter(|k| !k.is_empty()).ok_or("no kid")?;
    let decode = |v: Option<String>| v.and_then(|v| URL_SAFE_NO_PAD.decode(v).ok());
    let (Some(n), Some(e)) = (decode(jwk.n), decode(jwk.e)) else {
        return Err("missing or malformed n or e");
    };
    let (n, e) = (strip_leading_zeros(&n), strip_leading_zeros(&e));
    if e.is_empty() || e.len() > 8 {
        return Err("malformed RSA exponent");
    }
    let bits = bit_length(n);
    if !(MIN_MODULUS_BITS..=MAX_MODULUS_BITS).contains(&bits) {
        // A warning: the pool publishes a key we will not use, which an operator should know.
        // The kid names it; no key material is logged.
        tracing::warn!(
            kid = %kid,
            modulus_bits = bits,
            "jwks: key skipped as unusable (the RSA modulus must be 2048 to 8192 bits)"
        );
        return Err("RSA modulus size out of range");
    }
    Ok((kid, VerifyingKey::from_components(n, e)?))
}

/// Parses a JWKS body, keeping only RSA signing keys for RS256 with a 2048- to 8192-bit modulus.
///
/// Keys of other types, other uses, other algorithms, other sizes, without a kid or with fields
/// of the wrong type are skipped (so a set that mixes key types still works); a kid that appears twice keeps
/// its first key.
///
/// # Errors
///
/// [`FetchError::NotJwks`] when the body is not a JSON object with a `keys` array,
/// [`FetchError::NoUsableKeys`] when no key is usable.
pub fn parse_jwks(body: &[u8]) -> Result<Keys, FetchError> {
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(FetchError::NotJwks);
    }
    let document: JwksDocument = serde_json::from_slice(body).map_err(|_| FetchError::NotJwks)?;
    let mut keys = HashMap::new();
    for value in document.keys {
        match rsa_key(value) {
            Ok((kid, key)) => {
                if let std::collections::hash_map::Entry::Vacant(slot) = keys.entry(kid) {
                    slot.insert(Arc::new(key));
                } else {
                    tracing::warn!("jwks: duplicate kid, keeping the first key");
                }
            }
            Err(why) => tracing::debug!(why, "jwks: key skipped"),
        }
    }
    if keys.is_empty() {
        return Err(FetchError::NoUsableKeys);
    }
    Ok(keys)
}

impl JwksCache {
    /// Builds an HTTP client for fetches with `settings`' timeouts, no redirects and `user_agent`
    /// ([`USER_AGENT`] unless the caller names itself).
    ///
    /// # Errors
    ///
    /// When the TLS stack cannot be set up.
    pub fn http_client(
        settings: &JwksSettings,
        user_agent: &str,
    ) -> reqwest::Result<reqwest::Client> {
        reqwest::Client::builder()
            .user_agent(user_agent)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(settings.fetch_timeout)
            .connect_timeout(settings.connect_timeout)
            .pool_max_idle_per_host(1)
            .build()
    }

    /// A cache that fetches from `url` with `client`, telling `observer` about each fetch.
    /// Nothing is fetched until [`JwksCache::hydrate`] or [`JwksCache::run_refresher`] runs or
    /// a request needs a key.
    pub fn new(
        client: reqwest::Client,
        url: Url,
        settings: JwksSettings,
        observer: Arc<dyn AuthObserver>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                client,
                url,
                settings,
                observer,
                keys: RwLock::new(None),
                fetch_lock: tokio::sync::Mutex::new(()),
                status: Mutex::new(Status::default()),
                fetches: AtomicU64::new(0),
            }),
        }
    }

    /// How many fetches were started since the cache was made.
    pub fn fetch_count(&self) -> u64 {
        self.inner.fetches.load(Ordering::Relaxed)
    }

    /// Time since the keys in use (even stale ones) were fetched or confirmed; `None` before the
    /// first successful fetch.
    pub fn key_set_age(&self) -> Option<Duration> {
        self.inner
            .keys
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|set| set.age())
    }

    /// The keys in use now, unless they are older than `max_stale`.
    pub(crate) fn current(&self) -> Option<Arc<KeySet>> {
        let keys = self
            .inner
            .keys
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()?;
        (keys.fetched_at.elapsed() < self.inner.settings.max_stale).then_some(keys)
    }

    fn status<R>(&self, f: impl FnOnce(&mut Status) -> R) -> R {
        f(&mut self.inner.status.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn retry_after(&self) -> Duration {
        let cooldown = self.inner.settings.cooldown;
        let elapsed = self
            .status(|s| s.last_attempt.map(|t| t.elapsed()))
            .unwrap_or_default();
        cooldown.saturating_sub(elapsed).max(Duration::from_secs(1))
    }

    /// The URL the keys are fetched from.
    pub fn url(&self) -> &Url {
        &self.inner.url
    }

    /// The key for `kid` in the current key set, if it is there: no fetch, no waiting. The first
    /// step of [`JwksCache::key`], and what a cache miss checks before it goes async.
    pub(crate) fn key_at_hand(&self, kid: &str) -> Option<Arc<VerifyingKey>> {
        self.current().and_then(|set| set.get(kid))
    }

    /// The key for `kid`, fetching the JWKS if the kid is unknown and the cooldown allows it.
    ///
    /// # Errors
    ///
    /// [`InvalidToken::UnknownKey`] when a good JWKS lacks the kid;
    /// [`AuthError::KeysUnavailable`] when no usable key can be had now: the pool has no usable
    /// key set ([`Unavailable::NoKeySet`]), or it has one without the kid and the JWKS cannot be
    /// fetched ([`Unavailable::UnknownKeyWhileJwksDown`]).
    pub(crate) async fn key(&self, kid: &str) -> Result<Arc<VerifyingKey>, AuthError> {
        if let Some(key) = self.key_at_hand(kid) {
            return Ok(key);
        }
        self.refetch_unless_cooling_down().await;
        let current = self.current();
        if let Some(key) = current.as_ref().and_then(|set| set.get(kid)) {
            return Ok(key);
        }
        let why = match current {
            Some(_) if self.status(|s| s.last_ok) => {
                return Err(AuthError::InvalidToken(InvalidToken::UnknownKey));
            }
            Some(_) => Unavailable::UnknownKeyWhileJwksDown,
            None => Unavailable::NoKeySet,
        };
        Err(AuthError::KeysUnavailable {
            retry_after: self.retry_after(),
            why,
        })
    }

    /// Fetches the keys now unless a fetch already gave a set that is still in use (another
    /// caller's, a moment ago): the JWKS warmed before the first request, as aws-jwt-verify's
    /// `hydrate()`.
    ///
    /// # Errors
    ///
    /// Why the fetch failed (logged too); the cache then behaves as after any failed fetch.
    pub async fn hydrate(&self) -> Result<(), FetchError> {
        let _guard = self.inner.fetch_lock.lock().await;
        if self.current().is_some() && self.status(|s| s.last_ok) {
            return Ok(());
        }
        self.fetch_and_store("start").await
    }

    /// Fetches unless a fetch finished while this caller waited for its turn (single flight) or
    /// the last fetch is younger than the cooldown.
    async fn refetch_unless_cooling_down(&self) {
        let seen = self.status(|s| s.attempts);
        // A fetch in progress holds the lock for at most its timeout; waiting a little longer
        // than that bounds every request even if the lock is somehow held longer.
        let wait = self.inner.settings.fetch_timeout + Duration::from_secs(1);
        let Ok(_guard) = tokio::time::timeout(wait, self.inner.fetch_lock.lock()).await else {
            return;
        };
        let cooldown = self.inner.settings.cooldown;
        let skip = self.status(|s| {
            s.attempts != seen || s.last_attempt.is_some_and(|t| t.elapsed() < cooldown)
        });
        if !skip {
            // Logged and counted inside; the caller reads the cache's state.
            let _ = self.fetch_and_store("unknown kid").await;
        }
    }

    /// When the background task should fetch next.
    fn next_refresh_at(&self) -> Instant {
        let settings = &self.inner.settings;
        let (last_attempt, last_ok) = self.status(|s| (s.last_attempt, s.last_ok));
        match (last_attempt, last_ok, self.current()) {
            (None, _, _) => Instant::now(),
            // Refresh before the TTL so a key Cognito removes stops being trusted in time.
            (Some(_), true, Some(set)) => set.fetched_at + settings.ttl.mul_f64(0.9),
            (Some(at), _, _) => at + settings.cooldown,
        }
    }

    /// Fetches at start, then keeps the keys fresh until the task is dropped.
    pub async fn run_refresher(self) {
        loop {
            tokio::time::sleep_until(self.next_refresh_at()).await;
            let _guard = self.inner.fetch_lock.lock().await;
            // A request-driven fetch may have happened while this task slept or waited.
            if self.next_refresh_at() <= Instant::now() {
                let reason = if self.status(|s| s.attempts) == 0 {
                    "start"
                } else {
                    "refresh"
                };
                let _ = self.fetch_and_store(reason).await;
            }
        }
    }

    /// One fetch; the caller holds the fetch lock.
    #[tracing::instrument(name = "jwks_fetch", skip(self), fields(attempt))]
    async fn fetch_and_store(&self, reason: &'static str) -> Result<(), FetchError> {
        let attempt = self.inner.fetches.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::Span::current().record("attempt", attempt);
        let started = Instant::now();
        let outcome =
            match tokio::time::timeout(self.inner.settings.fetch_timeout, self.fetch()).await {
                Ok(outcome) => outcome,
                Err(_) => Err(FetchError::Timeout),
            };
        let ok = outcome.is_ok();
        self.inner.observer.jwks_fetched(ok);
        let outcome = match outcome {
            Ok(keys) => {
                let count = keys.len();
                let mut slot = self.inner.keys.write().unwrap_or_else(|e| e.into_inner());
                // The same keys keep their generation and their objects (the token cache
                // compares both), so a refetch cannot flush the verified-token cache.
                let (keys, generation, changed) = match slot.as_ref() {
                    Some(old) if same_keys(&old.keys, &keys) => {
                        (old.keys.clone(), old.generation, false)
                    }
                    Some(old) => (keys, old.generation + 1, true),
                    None => (keys, 1, true),
                };
                *slot = Some(Arc::new(KeySet {
                    keys,
                    fetched_at: Instant::now(),
                    generation,
                }));
                drop(slot);
                tracing::info!(
                    keys = count,
                    generation,
                    changed,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "jwks fetched"
                );
                Ok(())
            }
            Err(error) => {
                let stale = self.current().is_some();
                // The whole chain: "connection refused", "timed out", a TLS or DNS failure is
                // what an operator needs, and it sits under reqwest's "error sending request".
                tracing::warn!(
                    error = %error_chain(&error),
                    url = %self.inner.url,
                    keeping_known_keys = stale,
                    "jwks fetch failed"
                );
                Err(error)
            }
        };
        self.status(|s| {
            s.attempts += 1;
            s.last_attempt = Some(Instant::now());
            s.last_ok = ok;
        });
        outcome
    }

    async fn fetch(&self) -> Result<Keys, FetchError> {
        let cap = self.inner.settings.max_body_bytes;
        let mut response = self
            .inner
            .client
            .get(self.inner.url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await?;
        if response.status() != StatusCode::OK {
            return Err(FetchError::Status(response.status()));
        }
        if response
            .content_length()
            .is_some_and(|len| len > cap as u64)
        {
            return Err(FetchError::TooLarge(cap));
        }
        let mut body = Vec::with_capacity(4096);
        while let Some(chunk) = response.chunk().await? {
            if body.len() + chunk.len() > cap {
                return Err(FetchError::TooLarge(cap));
            }
            body.extend_from_slice(&chunk);
        }
        parse_jwks(&body)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn modulus() -> String {
        // 2048-bit modulus with its top bit set; its value does not matter for parsing.
        let mut n = vec![0xC5_u8; 256];
        n[255] = 0x01;
        URL_SAFE_NO_PAD.encode(n)
    }

    fn rsa(kid: &str) -> serde_json::Value {
        json!({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "e": "AQAB", "n": modulus()})
    }

    fn parse(value: serde_json::Value) -> Result<Vec<String>, String> {
        let body = serde_json::to_vec(&value).expect("json");
        parse_jwks(&body)
            .map(|keys| {
                let mut kids: Vec<String> = keys.into_keys().collect();
                kids.sort();
                kids
            })
            .map_err(|e| e.to_string())
    }

    /// A JWK whose modulus is `bytes` long with `top` as its first byte.
    fn rsa_sized(kid: &str, bytes: usize, top: u8) -> serde_json::Value {
        let mut n = vec![0xC5_u8; bytes];
        n[0] = top;
        json!({"kty": "RSA", "kid": kid, "use": "sig", "e": "AQAB", "n": URL_SAFE_NO_PAD.encode(n)})
    }

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("log buffer").extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn keys_outside_2048_to_8192_bits_are_skipped_with_a_warning() {
        let mut padded = rsa_sized("2048-bits-zero-padded", 257, 0x00);
        padded["n"] = json!(URL_SAFE_NO_PAD.encode([&[0_u8][..], &[0x80; 256]].concat()));
        let set = json!({"keys": [
            rsa_sized("1024-bits", 128, 0xC5),
            rsa_sized("2047-bits", 256, 0x7F),
            rsa_sized("2048-bits", 256, 0x80),
            padded,
            rsa_sized("8192-bits", 1024, 0xFF),
            rsa_sized("8193-bits", 1025, 0x01),
            rsa_sized("16384-bits", 2048, 0xC5),
        ]});
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let kept = tracing::subscriber::with_default(subscriber, || parse(set.clone()));
        assert_eq!(
            kept,
            Ok(vec![
                "2048-bits".into(),
                "2048-bits-zero-padded".into(),
                "8192-bits".into()
            ])
        );
        let log = String::from_utf8(captured.0.lock().expect("log").clone()).expect("utf-8");
        let warnings: Vec<&str> = log.lines().filter(|l| l.contains("WARN")).collect();
        assert_eq!(warnings.len(), 4, "{log}");
        for (kid, bits) in [
            ("1024-bits", 1024),
            ("2047-bits", 2047),
            ("8193-bits", 8193),
            ("16384-bits", 16384),
        ] {
            assert!(
                warnings.iter().any(|w| w.contains(&format!("kid={kid} "))
                    && w.contains(&format!("modulus_bits={bits}"))),
                "no warning for {kid}: {log}"
            );
        }
        for key in set["keys"].as_array().expect("keys") {
            let n = key["n"].as_str().expect("n");
            assert!(!log.contains(&n[..16]), "key material in the log: {log}");
        }
        // A set of nothing but unusable sizes is a failed fetch, as one without RSA keys.
        assert!(parse(json!({"keys": [rsa_sized("small", 128, 0xC5)]})).is_err());
    }

    #[test]
    fn only_rsa_signing_keys_for_rs256_are_kept() {
        let with = |field: &str, value: serde_json::Value| {
            let mut key = rsa(&format!("{field}-{value}"));
            key[field] = value;
            key
        };
        let mut no_alg = rsa("no-alg");
        no_alg.as_object_mut().expect("object").remove("alg");
        let mut no_use = rsa("no-use");
        no_use.as_object_mut().expect("object").remove("use");
        let mut no_kid = rsa("x");
        no_kid.as_object_mut().expect("object").remove("kid");
        let mut no_n = rsa("no-n");
        no_n.as_object_mut().expect("object").remove("n");
        let set = json!({"keys": [
            rsa("good"),
            no_alg,
            no_use,
            no_kid,
            no_n,
            with("use", json!("enc")),
            with("alg", json!("RS512")),
            with("alg", json!("PS256")),
            with("alg", json!(123)),
            with("kty", json!("oct")),
            with("kty", json!("EC")),
            with("e", json!("not base64!")),
            with("n", json!("AQAB")),
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"},
            "not an object",
            17,
        ]});
        assert_eq!(
            parse(set),
            Ok(vec!["good".into(), "no-alg".into(), "no-use".into()])
        );
    }

    #[test]
    fn a_set_without_usable_keys_is_a_failure() {
        assert!(parse(json!({"keys": []})).is_err());
        assert!(parse(json!({"keys": [{"kty": "oct", "kid": "a", "k": "c2VjcmV0"}]})).is_err());
    }

    #[test]
    fn bodies_that_are_not_a_jwks_are_rejected() {
        for body in [
            &b""[..],
            b"[]",
            b"null",
            b"{}",
            b"{\"keys\": {}}",
            b"{\"keys\": 5}",
            b"<html>",
            b"{\"keys\": []}}",
            b"\xff\xfe{",
        ] {
            assert!(
                parse_jwks(body).is_err(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn a_duplicate_kid_keeps_one_key() {
        assert_eq!(
            parse(json!({"keys": [rsa("a"), rsa("a")]})),
            Ok(vec!["a".into()])
        );
    }
}
