//! What the crate tells its user about its work, for metrics: no global state, no counter of its
//! own. The default methods do nothing, so an observer implements only what it counts.

use crate::error::AuthError;

/// Receives the events of an [`Authenticator`](crate::Authenticator) and its key caches. Called
/// on the request path: keep each method cheap (an atomic increment) and never block.
pub trait AuthObserver: Send + Sync + 'static {
    /// A request was refused (the layer's answer is `error`'s).
    fn refused(&self, error: &AuthError) {
        let _ = error;
    }

    /// The verified-token cache was asked about a token: `hit` when it answered.
    fn token_cache_lookup(&self, hit: bool) {
        let _ = hit;
    }

    /// A JWKS fetch ended: `ok` when it gave a usable key set.
    fn jwks_fetched(&self, ok: bool) {
        let _ = ok;
    }
}

/// The observer used when none is given: it does nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl AuthObserver for NoObserver {}
