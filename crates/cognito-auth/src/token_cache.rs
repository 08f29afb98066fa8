//! A bounded cache of tokens that verified, so a client that sends the same token on every call
//! pays for one RS256 check, not one per request.
//!
//! It is a quick_cache `sync::Cache` (sharded, CLOCK-Pro-style hot/cold/ghost admission,
//! per-entry weight), chosen over moka and over the earlier hand-written sharded map by
//! measurement (`bench/token_cache_compare.rs`, figures in docs/benchmarks.md): a hit costs a
//! shard read lock and a reference bit, a miss no scan, one-shot tokens stay in the cold queue
//! so they do not push hot users out, and the bound is in bytes.
//!
//! What it remembers, and why that cannot change an answer:
//! - Only successes are cached. Every 401, 403 and 503 goes through the full path each time, so
//!   those answers are exactly the ones the verifier gives.
//! - The key is the SHA-256 of the whole token (a 256-bit digest: finding two tokens with the same
//!   key is a SHA-256 collision), never a short hash or a prefix.
//! - An entry holds its pool and the JWKS generation it was verified under, and is used only
//!   while that same key set is the pool's current one: a refresh that changes the set (one that removes a kid included) makes
//!   the next request verify again against the new set, so a key that leaves the JWKS stops being
//!   trusted at once. A refetch that returns the same keys keeps the generation (see the JWKS
//!   cache), so it does not empty this cache.
//! - `exp`, `nbf` and `iat` are checked again on every hit with the verifier's leeway; a token that
//!   fails them is dropped and sent down the full path, which gives the exact reason. An entry
//!   expires at `exp` + leeway: it is never served after that, is dropped by the lookup that finds
//!   it late, and [`TokenCache::remove_expired`] (run every minute) frees the ones nobody asks for.
//! - Memory is bounded in bytes: each entry weighs its approximate heap size (digest, claims and
//!   their strings, bookkeeping), the total stays under the configured bound (default
//!   [`DEFAULT_TOKEN_CACHE_BYTES`]), and a token whose claims weigh more than
//!   [`MAX_CACHED_CLAIMS_BYTES`] is never cached (it is still answered, by the full path).

use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::digest::{SHA256, SHA256_OUTPUT_LEN, digest};

use crate::claims::AccessTokenClaims;

/// Default bound of the cache: 32 MiB, about 60,000 Cognito access tokens of a few claims.
pub const DEFAULT_TOKEN_CACHE_BYTES: u64 = 32 * 1024 * 1024;

/// Heaviest claims a cached entry may hold (4 KiB). Cognito access tokens of ordinary users
/// weigh a few hundred bytes; one with hundreds of groups is verified on every request instead of
/// taking the room of a hundred users.
pub const MAX_CACHED_CLAIMS_BYTES: usize = 4 * 1024;

/// Bytes charged per entry for the cache's own bookkeeping (its hash table slot and slab node:
/// key, value, links, reference state) beyond the entry itself.
const ENTRY_OVERHEAD_BYTES: usize = 64;

/// How often [`TokenCache::run_sweeper`] frees entries past their `exp` + leeway.
pub const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// The cache key of a token: SHA-256 of all its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenDigest([u8; SHA256_OUTPUT_LEN]);

impl TokenDigest {
    /// The digest of `token`.
    pub fn of(token: &str) -> Self {
        let mut bytes = [0; SHA256_OUTPUT_LEN];
        bytes.copy_from_slice(digest(&SHA256, token.as_bytes()).as_ref());
        Self(bytes)
    }
}

#[derive(Debug, Clone)]
struct Entry {
    claims: Arc<AccessTokenClaims>,
    pool: usize,
    generation: u64,
    nbf: Option<u64>,
    weight: u32,
}

impl Entry {
    /// The verifier's time checks (`exp` exclusive at `exp + leeway`, `nbf`/`iat` not beyond
    /// `now + leeway`), as `Verifier::check_claims` does them.
    fn in_time(&self, now: u64, leeway: u64) -> bool {
        let horizon = now.saturating_add(leeway);
        self.claims.exp.saturating_add(leeway) > now
            && self.nbf.is_none_or(|nbf| nbf <= horizon)
            && self.claims.iat.is_none_or(|iat| iat <= horizon)
    }
}

/// Heap bytes of a `String` as the allocator sees it: a 16-byte rounded block plus its header.
fn string_bytes(s: &str) -> usize {
    if s.is_empty() {
        0
    } else {
        s.len().div_ceil(16) * 16 + 16
    }
}

/// Approximate heap size of verified claims (the `Arc` block and every string and vector).
pub fn claims_weight(claims: &AccessTokenClaims) -> usize {
    let strings = |v: &[String]| {
        v.iter()
            .map(|s| std::mem::size_of::<String>() + string_bytes(s))
            .sum::<usize>()
    };
    std::mem::size_of::<AccessTokenClaims>()
        + 16
        + string_bytes(&claims.sub)
        + string_bytes(&claims.client_id)
        + claims.username.as_deref().map_or(0, string_bytes)
        + claims.jti.as_deref().map_or(0, string_bytes)
        + strings(&claims.scopes)
        + strings(&claims.groups)
}

/// An entry weighs what [`TokenCache::insert`] computed for it.
#[derive(Debug, Clone, Copy)]
struct ByWeight;

impl quick_cache::Weighter<TokenDigest, Entry> for ByWeight {
    fn weight(&self, _: &TokenDigest, entry: &Entry) -> u64 {
        u64::from(entry.weight)
    }
}

/// Weight of an entry of a typical Cognito access token, to size the table.
const TYPICAL_ENTRY_BYTES: u64 = 512;

/// A byte-bounded map from token digest to the claims it verified to.
pub struct TokenCache {
    // `None` when the bound is 0: no cache.
    entries: Option<quick_cache::sync::Cache<TokenDigest, Entry, ByWeight>>,
    max_bytes: u64,
    leeway: u64,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("max_bytes", &self.max_bytes)
            .field("entries", &self.len())
            .finish_non_exhaustive()
    }
}

impl TokenCache {
    /// A cache of at most `max_bytes` (0 disables it) checked with `leeway` seconds.
    pub fn new(max_bytes: u64, leeway: u64) -> Self {
        let entries = (max_bytes > 0).then(|| {
            let estimated = usize::try_from(max_bytes / TYPICAL_ENTRY_BYTES).unwrap_or(usize::MAX);
            quick_cache::sync::Cache::with_weighter(estimated.max(16), max_bytes, ByWeight)
        });
        Self {
            entries,
            max_bytes,
            leeway,
        }
    }

    /// False when the bound is 0: nothing is ever stored, so callers need no key to look up.
    pub fn is_enabled(&self) -> bool {
        self.entries.is_some()
    }

    /// Entries held now.
    pub fn len(&self) -> u64 {
        self.entries.as_ref().map_or(0, |c| c.len() as u64)
    }

    /// Total weight of the entries held now, in bytes.
    pub fn weight(&self) -> u64 {
        self.entries.as_ref().map_or(0, |c| c.weight())
    }

    /// True when nothing is cached.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Frees every entry that is out of time at `now` (Unix seconds). Takes
    /// each shard's write lock once: for the background sweeper, not the request path.
    pub fn remove_expired(&self, now: u64) {
        if let Some(entries) = &self.entries {
            let leeway = self.leeway;
            entries.retain(|_, entry| entry.in_time(now, leeway));
        }
    }

    /// Runs [`TokenCache::remove_expired`] every [`SWEEP_EVERY`] until the task is dropped.
    pub async fn run_sweeper(&self) {
        let mut ticker = tokio::time::interval(SWEEP_EVERY);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            self.remove_expired(crate::verifier::unix_now());
        }
    }

    /// The claims of a token that is still in time at `now` and was verified under the key set
    /// that `current` says is its pool's now (`current(pool)` gives the generation of the pool's
    /// key set in use, `None` when it has none). Any other entry is dropped and `None` is
    /// returned: the caller then verifies the token in full.
    pub fn get(
        &self,
        key: &TokenDigest,
        now: u64,
        current: impl FnOnce(usize) -> Option<u64>,
    ) -> Option<Arc<AccessTokenClaims>> {
        let entries = self.entries.as_ref()?;
        let entry = entries.get(key)?;
        if entry.in_time(now, self.leeway) && current(entry.pool) == Some(entry.generation) {
            return Some(entry.claims);
        }
        entries.remove(key);
        None
    }

    /// Remembers that the token with digest `key` verified to `claims` with a key of the
    /// key set of `generation` of pool `pool` (exactly that set: an entry is trusted only while
    /// it is current). `nbf` is the token's, if any. Claims heavier than
    /// [`MAX_CACHED_CLAIMS_BYTES`] and tokens already out of time are not stored.
    pub fn insert(
        &self,
        key: TokenDigest,
        claims: Arc<AccessTokenClaims>,
        nbf: Option<u64>,
        (pool, generation): (usize, u64),
        now: u64,
    ) {
        let Some(entries) = &self.entries else {
            return;
        };
        let claims_bytes = claims_weight(&claims);
        if claims_bytes > MAX_CACHED_CLAIMS_BYTES {
            return;
        }
        let weight = std::mem::size_of::<TokenDigest>()
            + std::mem::size_of::<Entry>()
            + ENTRY_OVERHEAD_BYTES
            + claims_bytes;
        let entry = Entry {
            claims,
            pool,
            generation,
            nbf,
            weight: u32::try_from(weight).unwrap_or(u32::MAX),
        };
        if !entry.in_time(now, self.leeway) {
            return;
        }
        entries.insert(key, entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;
    const LEEWAY: u64 = 60;
    const MIB: u64 = 1024 * 1024;

    /// Caches the token `token` of pool 0, generation 1, for user `sub`, valid until `exp`.
    fn put(cache: &TokenCache, token: &str, sub: &str, exp: u64) {
        cache.insert(TokenDigest::of(token), claims(sub, exp), None, (0, 1), NOW);
    }

    /// Pool 0's key set is at `current` now.
    fn generation(current: u64) -> impl FnOnce(usize) -> Option<u64> {
        move |pool| (pool == 0).then_some(current)
    }

    fn claims(sub: &str, exp: u64) -> Arc<AccessTokenClaims> {
        Arc::new(AccessTokenClaims {
            sub: sub.into(),
            username: None,
            client_id: "client-a".into(),
            scopes: vec![],
            groups: vec![],
            exp,
            iat: Some(NOW - 10),
            jti: None,
        })
    }

    #[test]
    fn a_cached_token_is_a_hit_with_its_claims() {
        let cache = TokenCache::new(MIB, LEEWAY);
        let key = TokenDigest::of("a.b.c");
        assert!(
            cache.get(&key, NOW, generation(1)).is_none(),
            "empty cache hit"
        );
        cache.insert(key, claims("alice", NOW + 300), None, (0, 1), NOW);
        assert_eq!(
            cache.get(&key, NOW, generation(1)).expect("hit").sub,
            "alice"
        );
        assert!(
            cache
                .get(&TokenDigest::of("a.b.d"), NOW, generation(1))
                .is_none(),
            "another token hit"
        );
    }

    #[test]
    fn the_key_is_the_whole_token() {
        let long = "x".repeat(4000);
        assert_ne!(
            TokenDigest::of(&format!("{long}a")),
            TokenDigest::of(&format!("{long}b"))
        );
        assert_ne!(
            TokenDigest::of(&format!("a{long}")),
            TokenDigest::of(&format!("b{long}"))
        );
    }

    #[test]
    fn expiry_is_checked_on_every_hit() {
        let cache = TokenCache::new(MIB, LEEWAY);
        let key = TokenDigest::of("a.b.c");
        cache.insert(key, claims("alice", NOW + 10), None, (0, 1), NOW);
        assert!(
            cache
                .get(&key, NOW + 10 + LEEWAY - 1, generation(1))
                .is_some()
        );
        // At exp + leeway the verifier calls it expired: so does the cache, and forgets it.
        assert!(cache.get(&key, NOW + 10 + LEEWAY, generation(1)).is_none());
        assert!(cache.is_empty());
        assert!(
            cache.get(&key, NOW, generation(1)).is_none(),
            "an expired entry came back"
        );
    }

    #[test]
    fn the_sweep_frees_entries_past_exp_plus_leeway() {
        let cache = TokenCache::new(MIB, LEEWAY);
        put(&cache, "short", "a", NOW + 10);
        put(&cache, "long", "b", NOW + 3600);
        cache.remove_expired(NOW + 10 + LEEWAY - 1);
        assert_eq!(cache.len(), 2);
        cache.remove_expired(NOW + 10 + LEEWAY);
        assert_eq!(cache.len(), 1);
        assert!(
            cache
                .get(&TokenDigest::of("long"), NOW + 10 + LEEWAY, generation(1))
                .is_some()
        );
    }

    #[test]
    fn an_expired_token_is_not_stored() {
        let cache = TokenCache::new(MIB, LEEWAY);
        let key = TokenDigest::of("a.b.c");
        cache.insert(key, claims("alice", NOW - LEEWAY), None, (0, 1), NOW);
        assert!(cache.is_empty());
    }

    #[test]
    fn nbf_and_iat_are_checked_on_every_hit() {
        let cache = TokenCache::new(MIB, LEEWAY);
        let key = TokenDigest::of("a.b.c");
        cache.insert(key, claims("alice", NOW + 300), Some(NOW), (0, 1), NOW);
        assert!(cache.get(&key, NOW, generation(1)).is_some());
        // A clock that steps back before nbf - leeway makes the token not yet valid again.
        assert!(cache.get(&key, NOW - LEEWAY - 1, generation(1)).is_none());
    }

    #[test]
    fn a_new_key_set_generation_is_a_miss() {
        let cache = TokenCache::new(MIB, LEEWAY);
        let key = TokenDigest::of("a.b.c");
        cache.insert(key, claims("alice", NOW + 300), None, (0, 1), NOW);
        assert!(cache.get(&key, NOW, generation(2)).is_none());
        assert!(
            cache.get(&key, NOW, generation(1)).is_none(),
            "a superseded entry was kept"
        );
    }

    #[test]
    fn the_byte_bound_holds() {
        let cache = TokenCache::new(MIB, LEEWAY);
        for i in 0..20_000 {
            let token = format!("token-{i}");
            put(&cache, &token, &token, NOW + 300);
        }
        assert!(cache.weight() <= MIB, "{} bytes", cache.weight());
        // About 300 bytes an entry: a full cache holds thousands, not a handful.
        assert!(cache.len() > 2_000, "only {} entries", cache.len());
    }

    #[test]
    fn heavy_claims_are_not_cached() {
        let cache = TokenCache::new(MIB, LEEWAY);
        let mut heavy = claims("alice", NOW + 300).as_ref().clone();
        heavy.groups = (0..1000).map(|i| format!("g{i}")).collect();
        assert!(claims_weight(&heavy) > MAX_CACHED_CLAIMS_BYTES);
        let key = TokenDigest::of("a.b.c");
        cache.insert(key, Arc::new(heavy), None, (0, 1), NOW);
        assert!(cache.get(&key, NOW, generation(1)).is_none());
        // A few groups are fine.
        let mut some = claims("bob", NOW + 300).as_ref().clone();
        some.groups = (0..10).map(|i| format!("group-{i}")).collect();
        cache.insert(key, Arc::new(some), None, (0, 1), NOW);
        assert!(cache.get(&key, NOW, generation(1)).is_some());
    }

    #[test]
    fn a_scan_of_one_shot_tokens_keeps_the_hot_ones() {
        // Room for about 250 entries; 100 hot users are read often, then 10,000 one-shot tokens
        // stream through. They enter the cold queue and leave it without touching the hot ones.
        let cache = TokenCache::new(100 * 1024, LEEWAY);
        let hot: Vec<TokenDigest> = (0..100)
            .map(|i| TokenDigest::of(&format!("hot-{i}")))
            .collect();
        for round in 0..20 {
            for (i, key) in hot.iter().enumerate() {
                if round == 0 {
                    cache.insert(
                        *key,
                        claims(&format!("hot-{i}"), NOW + 300),
                        None,
                        (0, 1),
                        NOW,
                    );
                } else {
                    cache.get(key, NOW, generation(1));
                }
            }
        }
        for i in 0..10_000 {
            let token = format!("cold-{i}");
            put(&cache, &token, &token, NOW + 300);
        }
        let kept = hot
            .iter()
            .filter(|k| cache.get(k, NOW, generation(1)).is_some())
            .count();
        assert!(
            kept >= 90,
            "only {kept} of 100 hot tokens survived the scan"
        );
    }

    #[test]
    fn a_zero_bound_disables_the_cache() {
        let cache = TokenCache::new(0, LEEWAY);
        let key = TokenDigest::of("a.b.c");
        cache.insert(key, claims("alice", NOW + 300), None, (0, 1), NOW);
        assert!(cache.get(&key, NOW, generation(1)).is_none());
    }
}
