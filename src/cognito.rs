//! Amazon Cognito's naming rules as the app uses them: the documentation's examples and the
//! Identity Provider endpoint of a region (for `randapi token`). The rules that name a pool's
//! issuer and keys live in the `cognito-auth` crate and are re-exported here.

pub use cognito_auth::{is_pool_id, is_region, jwks_url, region_from_pool_id};

/// A user pool id in the documentation's examples.
pub const EXAMPLE_POOL_ID: &str = "eu-west-1_AbCdEf123";
/// An app client id in the documentation's examples.
pub const EXAMPLE_CLIENT_ID: &str = "1example23456789abcdefghij";
/// An AWS region in the documentation's examples.
pub const EXAMPLE_REGION: &str = "eu-west-1";
/// The issuer of [`EXAMPLE_POOL_ID`].
pub const EXAMPLE_ISSUER: &str = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123";
/// The JWKS URL of [`EXAMPLE_POOL_ID`].
pub const EXAMPLE_JWKS_URL: &str =
    "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123/.well-known/jwks.json";

/// The Cognito Identity Provider endpoint of `region`, with its trailing slash.
pub fn idp_endpoint(region: &str) -> String {
    format!("https://cognito-idp.{region}.amazonaws.com/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_examples_follow_the_rules() {
        let region = region_from_pool_id(EXAMPLE_POOL_ID).expect("region");
        assert_eq!(region, EXAMPLE_REGION);
        let pool = cognito_auth::UserPool::cognito(EXAMPLE_POOL_ID, ["c"]).expect("pool");
        assert_eq!(pool.issuer, EXAMPLE_ISSUER);
        assert_eq!(pool.jwks_url.as_str(), EXAMPLE_JWKS_URL);
        assert_eq!(
            format!("{}{EXAMPLE_POOL_ID}", idp_endpoint(region)),
            EXAMPLE_ISSUER
        );
        assert_eq!(jwks_url(&format!("{EXAMPLE_ISSUER}/")), EXAMPLE_JWKS_URL);
        assert!(is_pool_id(EXAMPLE_POOL_ID) && !is_pool_id("eu-west-1_a/b") && !is_pool_id(""));
    }
}
