//! What the crate is told: the user pools it trusts, the token rules all of them share, and how
//! their keys are fetched. Plain values with public fields; the caller builds them (from its own
//! configuration, flags or code) and nothing here reads the environment.

use std::time::Duration;

use reqwest::Url;

/// One user pool: the `iss` its access tokens carry, where its signing keys are published, and
/// the app clients whose tokens are accepted. A token's `iss` selects its pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPool {
    /// The exact `iss`, e.g. `https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123`.
    pub issuer: String,
    /// The pool's JWKS document (Cognito: `{issuer}/.well-known/jwks.json`).
    pub jwks_url: Url,
    /// Allowed `client_id` values (and `aud` entries, when present).
    pub client_ids: Vec<String>,
}

/// Why a user pool id cannot name a pool. Fixed phrases: the id is not echoed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PoolIdError {
    /// The id has no region prefix such as `eu-west-1_`, and none was given.
    #[error("does not start with a region")]
    NoRegion,
    /// The region is not shaped like an AWS region name.
    #[error("is not an AWS region name")]
    BadRegion,
    /// The id has characters a pool id cannot have (it becomes part of a URL).
    #[error("has characters a pool id cannot have")]
    BadPoolId,
}

impl UserPool {
    /// The Cognito user pool `pool_id` (such as `eu-west-1_AbCdEf123`; the region is read from
    /// its prefix), accepting tokens of `client_ids`: issuer
    /// `https://cognito-idp.{region}.amazonaws.com/{pool_id}`, keys at
    /// `{issuer}/.well-known/jwks.json`.
    ///
    /// ```
    /// let pool = cognito_auth::UserPool::cognito("eu-west-1_AbCdEf123", ["1example23456789"]).unwrap();
    /// assert_eq!(pool.issuer, "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123");
    /// ```
    ///
    /// # Errors
    ///
    /// When the id has no region prefix or bad characters.
    pub fn cognito<I, S>(pool_id: &str, client_ids: I) -> Result<Self, PoolIdError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        if !is_pool_id(pool_id) {
            return Err(PoolIdError::BadPoolId);
        }
        let region = region_from_pool_id(pool_id).ok_or(PoolIdError::NoRegion)?;
        Self::cognito_in(region, pool_id, client_ids)
    }

    /// As [`UserPool::cognito`] with the region given (for ids without one, such as an
    /// emulator's `local_5U65e7Q1`).
    ///
    /// # Errors
    ///
    /// When the region or the id has characters they cannot have.
    pub fn cognito_in<I, S>(region: &str, pool_id: &str, client_ids: I) -> Result<Self, PoolIdError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        if !is_region(region) {
            return Err(PoolIdError::BadRegion);
        }
        if !is_pool_id(pool_id) {
            return Err(PoolIdError::BadPoolId);
        }
        let issuer = format!("https://cognito-idp.{region}.amazonaws.com/{pool_id}");
        let jwks_url = Url::parse(&jwks_url(&issuer)).map_err(|_| PoolIdError::BadPoolId)?;
        Ok(Self {
            issuer,
            jwks_url,
            client_ids: client_ids.into_iter().map(Into::into).collect(),
        })
    }
}

/// Reads the region from a pool id such as `eu-west-1_AbCdEf123` (`None` for ids without one,
/// such as an emulator's `local_5U65e7Q1`).
pub fn region_from_pool_id(pool_id: &str) -> Option<&str> {
    let (region, id) = pool_id.split_once('_')?;
    (is_region(region) && !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric()))
        .then_some(region)
}

/// Whether `value` has the shape of an AWS region name (`eu-west-1`, `us-gov-west-1`).
pub fn is_region(value: &str) -> bool {
    value.split('-').count() >= 3
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Whether `pool_id` holds only characters a pool id can have.
pub fn is_pool_id(pool_id: &str) -> bool {
    !pool_id.is_empty()
        && pool_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Where the issuer `issuer` publishes its signing keys (Cognito's rule).
pub fn jwks_url(issuer: &str) -> String {
    format!("{}/.well-known/jwks.json", issuer.trim_end_matches('/'))
}

/// The rules every pool's tokens share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPolicy {
    /// At least one of these scopes, when not empty (else 403).
    pub required_scopes: Vec<String>,
    /// At least one of these groups, when not empty (else 403).
    pub required_groups: Vec<String>,
    /// Clock leeway for `exp`, `nbf`, `iat`.
    pub leeway: Duration,
}

impl Default for TokenPolicy {
    /// No required scope or group, a 60 s leeway.
    fn default() -> Self {
        Self {
            required_scopes: Vec::new(),
            required_groups: Vec::new(),
            leeway: Duration::from_secs(60),
        }
    }
}

/// How every pool's keys are fetched and how long they are trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwksSettings {
    /// Keys are refreshed in the background before this age.
    pub ttl: Duration,
    /// Least time between two request-driven fetches; failed fetches start it too.
    pub cooldown: Duration,
    /// Known keys stay in use this long after their last good fetch while refreshes fail.
    pub max_stale: Duration,
    /// Whole-request timeout of a fetch.
    pub fetch_timeout: Duration,
    /// Connect timeout of a fetch.
    pub connect_timeout: Duration,
    /// Largest JWKS body accepted.
    pub max_body_bytes: usize,
}

impl Default for JwksSettings {
    /// TTL 1 h, cooldown 10 s, max stale 24 h, fetch timeout 5 s, connect timeout 2 s, 64 KiB.
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(3600),
            cooldown: Duration::from_secs(10),
            max_stale: Duration::from_secs(24 * 3600),
            fetch_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(2),
            max_body_bytes: 64 * 1024,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_ids_name_their_issuer_and_keys() {
        let pool = UserPool::cognito("eu-west-1_AbCdEf123", ["c"]).expect("pool");
        assert_eq!(
            pool.issuer,
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123"
        );
        assert_eq!(
            pool.jwks_url.as_str(),
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123/.well-known/jwks.json"
        );
        assert_eq!(pool.client_ids, ["c"]);
        assert_eq!(
            UserPool::cognito("local_5U65e7Q1", ["c"]),
            Err(PoolIdError::NoRegion)
        );
        assert_eq!(
            UserPool::cognito_in("mars", "x", ["c"]),
            Err(PoolIdError::BadRegion)
        );
        assert_eq!(
            UserPool::cognito_in("eu-west-1", "eu-west-1_a/b", ["c"]),
            Err(PoolIdError::BadPoolId)
        );
    }

    #[test]
    fn regions_are_read_from_pool_ids() {
        assert_eq!(
            region_from_pool_id("eu-west-1_AbCdEf123"),
            Some("eu-west-1")
        );
        assert_eq!(
            region_from_pool_id("us-gov-west-1_Ab12"),
            Some("us-gov-west-1")
        );
        assert_eq!(region_from_pool_id("local_5U65e7Q1"), None);
        assert_eq!(region_from_pool_id("AbCdEf123"), None);
        assert_eq!(region_from_pool_id("eu-west-1_"), None);
        assert!(is_region("ap-south-1") && !is_region("mars") && !is_region("Europe/Paris"));
        assert_eq!(
            jwks_url("https://x.example/p/"),
            "https://x.example/p/.well-known/jwks.json"
        );
    }
}
