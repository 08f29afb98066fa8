//! A bounded cache of tokens that verified, so a client that sends the same token on every call
//! pays for one RS256 check, not one per request.
//!
//! What it remembers, and why that cannot change an answer:
//! - Only successes are cached. Every 401, 403 and 503 goes through the full path each time, so
//!   those answers are exactly the ones the verifier gives.
//! - The key is the SHA-256 of the whole token (a 256-bit digest: finding two tokens with the same
//!   key is a SHA-256 collision), never a short hash or a prefix.
//! - An entry holds the JWKS generation it was verified under and is used only while that same
//!   key set is current: any refresh (one that removes a kid included) makes the next request
//!   verify again against the new set, so a key that leaves the JWKS stops being trusted at once.
//! - `exp`, `nbf` and `iat` are checked again on every hit with the verifier's leeway; a token that
//!   fails them is dropped and sent down the full path, which gives the exact reason.
//! - Memory is bounded: at most `capacity` entries (split over shards); a full shard first drops
//!   expired or superseded entries, then an arbitrary one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_lc_rs::digest::{SHA256, SHA256_OUTPUT_LEN, digest};

use super::claims::AccessTokenClaims;

/// Entries kept by default: enough for every active user of a busy task, a few MB at most.
pub const DEFAULT_TOKEN_CACHE_CAPACITY: usize = 10_000;

const SHARDS: usize = 16;

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

    fn shard(&self) -> usize {
        // The digest is uniform: its first byte spreads entries evenly.
        usize::from(self.0[0]) % SHARDS
    }
}

#[derive(Debug)]
struct Entry {
    claims: Arc<AccessTokenClaims>,
    generation: u64,
    nbf: Option<u64>,
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

/// A bounded map from token digest to the claims it verified to.
#[derive(Debug)]
pub struct TokenCache {
    shards: Box<[Mutex<HashMap<TokenDigest, Entry>>]>,
    per_shard: usize,
    leeway: u64,
}

impl TokenCache {
    /// A cache of at most `capacity` tokens (0 disables it) checked with `leeway` seconds.
    pub fn new(capacity: usize, leeway: u64) -> Self {
        let per_shard = capacity.div_ceil(SHARDS);
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            per_shard,
            leeway,
        }
    }

    /// Most entries the cache holds.
    #[cfg(test)]
    pub fn capacity(&self) -> usize {
        self.per_shard * SHARDS
    }

    /// Entries held now.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).len())
            .sum()
    }

    /// True when nothing is cached.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn shard(&self, key: &TokenDigest) -> std::sync::MutexGuard<'_, HashMap<TokenDigest, Entry>> {
        self.shards[key.shard()]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// The claims of a token verified under key-set `generation` that is still in time at `now`.
    /// An entry of another generation or out of time is dropped and `None` is returned: the
    /// caller then verifies the token in full.
    pub fn get(
        &self,
        key: &TokenDigest,
        generation: u64,
        now: u64,
    ) -> Option<Arc<AccessTokenClaims>> {
        if self.per_shard == 0 {
            return None;
        }
        let mut shard = self.shard(key);
        let entry = shard.get(key)?;
        if entry.generation == generation && entry.in_time(now, self.leeway) {
            return Some(entry.claims.clone());
        }
        shard.remove(key);
        None
    }

    /// Remembers that the token with digest `key` verified to `claims` with a key of the
    /// key set of `generation` (exactly that set: an entry is trusted only while it is current).
    /// `nbf` is the token's, if any.
    pub fn insert(
        &self,
        key: TokenDigest,
        claims: Arc<AccessTokenClaims>,
        nbf: Option<u64>,
        generation: u64,
        now: u64,
    ) {
        if self.per_shard == 0 {
            return;
        }
        let entry = Entry {
            claims,
            generation,
            nbf,
        };
        if !entry.in_time(now, self.leeway) {
            return;
        }
        let leeway = self.leeway;
        let mut shard = self.shard(&key);
        if shard.len() >= self.per_shard && !shard.contains_key(&key) {
            shard.retain(|_, e| e.generation == generation && e.in_time(now, leeway));
            if shard.len() >= self.per_shard {
                // Random eviction: the map's iteration order is seeded per process.
                if let Some(victim) = shard.keys().next().copied() {
                    shard.remove(&victim);
                }
            }
        }
        shard.insert(key, entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;
    const LEEWAY: u64 = 60;

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
        let cache = TokenCache::new(100, LEEWAY);
        let key = TokenDigest::of("a.b.c");
        assert!(cache.get(&key, 1, NOW).is_none(), "empty cache hit");
        cache.insert(key, claims("alice", NOW + 300), None, 1, NOW);
        assert_eq!(cache.get(&key, 1, NOW).expect("hit").sub, "alice");
        assert!(
            cache.get(&TokenDigest::of("a.b.d"), 1, NOW).is_none(),
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
        let cache = TokenCache::new(100, LEEWAY);
        let key = TokenDigest::of("a.b.c");
        cache.insert(key, claims("alice", NOW + 10), None, 1, NOW);
        assert!(cache.get(&key, 1, NOW + 10 + LEEWAY - 1).is_some());
        // At exp + leeway the verifier calls it expired: so does the cache, and forgets it.
        assert!(cache.get(&key, 1, NOW + 10 + LEEWAY).is_none());
        assert!(cache.is_empty());
        assert!(
            cache.get(&key, 1, NOW).is_none(),
            "an expired entry came back"
        );
    }

    #[test]
    fn an_expired_token_is_not_stored() {
        let cache = TokenCache::new(100, LEEWAY);
        let key = TokenDigest::of("a.b.c");
        cache.insert(key, claims("alice", NOW - LEEWAY), None, 1, NOW);
        assert!(cache.is_empty());
    }

    #[test]
    fn nbf_and_iat_are_checked_on_every_hit() {
        let cache = TokenCache::new(100, LEEWAY);
        let key = TokenDigest::of("a.b.c");
        cache.insert(key, claims("alice", NOW + 300), Some(NOW), 1, NOW);
        assert!(cache.get(&key, 1, NOW).is_some());
        // A clock that steps back before nbf - leeway makes the token not yet valid again.
        assert!(cache.get(&key, 1, NOW - LEEWAY - 1).is_none());
    }

    #[test]
    fn a_new_key_set_generation_is_a_miss() {
        let cache = TokenCache::new(100, LEEWAY);
        let key = TokenDigest::of("a.b.c");
        cache.insert(key, claims("alice", NOW + 300), None, 1, NOW);
        assert!(cache.get(&key, 2, NOW).is_none());
        assert!(
            cache.get(&key, 1, NOW).is_none(),
            "a superseded entry was kept"
        );
    }

    #[test]
    fn the_capacity_bounds_the_entries() {
        let cache = TokenCache::new(64, LEEWAY);
        assert_eq!(cache.capacity(), 64);
        for i in 0..10_000 {
            let token = format!("token-{i}");
            cache.insert(
                TokenDigest::of(&token),
                claims(&token, NOW + 300),
                None,
                1,
                NOW,
            );
            assert!(cache.len() <= 64, "{} entries after {i}", cache.len());
        }
        assert!(cache.len() > 32, "the cache holds only {}", cache.len());
        // The newest token always has a place.
        assert!(cache.get(&TokenDigest::of("token-9999"), 1, NOW).is_some());
    }

    #[test]
    fn a_full_shard_drops_dead_entries_first() {
        let cache = TokenCache::new(SHARDS, LEEWAY);
        let mut same_shard = (0..)
            .map(|i| format!("t{i}"))
            .filter(|t| TokenDigest::of(t).shard() == 0);
        let old = same_shard.next().expect("token");
        let live = same_shard.next().expect("token");
        cache.insert(
            TokenDigest::of(&old),
            claims("old", NOW + 300),
            None,
            1,
            NOW,
        );
        // One slot per shard: the generation-1 entry is dead under generation 2.
        cache.insert(
            TokenDigest::of(&live),
            claims("live", NOW + 300),
            None,
            2,
            NOW,
        );
        assert!(cache.get(&TokenDigest::of(&live), 2, NOW).is_some());
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn capacity_zero_disables_the_cache() {
        let cache = TokenCache::new(0, LEEWAY);
        let key = TokenDigest::of("a.b.c");
        cache.insert(key, claims("alice", NOW + 300), None, 1, NOW);
        assert!(cache.get(&key, 1, NOW).is_none());
    }
}
