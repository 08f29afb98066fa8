//! Amazon Cognito's naming rules, written once: the region in a user pool id, the Identity
//! Provider endpoint of a region, the issuer of a pool and where its signing keys are published.

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

/// Whether `pool_id` holds only characters a pool id can have (it becomes part of a URL).
pub fn is_pool_id(pool_id: &str) -> bool {
    !pool_id.is_empty()
        && pool_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The Cognito Identity Provider endpoint of `region`, with its trailing slash.
pub fn idp_endpoint(region: &str) -> String {
    format!("https://cognito-idp.{region}.amazonaws.com/")
}

/// The `iss` of the access tokens of pool `pool_id` in `region`.
pub fn issuer(region: &str, pool_id: &str) -> String {
    format!("{}{pool_id}", idp_endpoint(region))
}

/// Where the issuer `issuer` publishes its signing keys.
pub fn jwks_url(issuer: &str) -> String {
    format!("{}/.well-known/jwks.json", issuer.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_are_read_from_pool_ids() {
        assert_eq!(region_from_pool_id(EXAMPLE_POOL_ID), Some(EXAMPLE_REGION));
        assert_eq!(
            region_from_pool_id("us-gov-west-1_Ab12"),
            Some("us-gov-west-1")
        );
        assert_eq!(region_from_pool_id("local_5U65e7Q1"), None);
        assert_eq!(region_from_pool_id("AbCdEf123"), None);
        assert_eq!(region_from_pool_id("eu-west-1_"), None);
    }

    #[test]
    fn the_examples_follow_the_rules() {
        let region = region_from_pool_id(EXAMPLE_POOL_ID).expect("region");
        assert_eq!(issuer(region, EXAMPLE_POOL_ID), EXAMPLE_ISSUER);
        assert_eq!(jwks_url(EXAMPLE_ISSUER), EXAMPLE_JWKS_URL);
        assert_eq!(jwks_url(&format!("{EXAMPLE_ISSUER}/")), EXAMPLE_JWKS_URL);
        assert!(is_pool_id(EXAMPLE_POOL_ID) && !is_pool_id("eu-west-1_a/b") && !is_pool_id(""));
        assert!(is_region("ap-south-1") && !is_region("mars") && !is_region("Europe/Paris"));
    }
}
