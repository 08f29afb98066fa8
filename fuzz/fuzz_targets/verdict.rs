//! Fuzzes the whole verify pipeline: an `Authorization` header value in, a verdict out
//! (`cognito_auth::verdict`: header syntax, then `Verifier::verify`, the function every request's
//! full check runs: token syntax, `alg`/`kid`, pool by `iss`, key lookup, RS256 signature,
//! claims, scopes and groups), against the fixed public key in `fuzz/jwks.json`, a fixed clock
//! and a policy that requires a scope and a group.
//!
//! Beyond "never panics", it checks on every input:
//! - an accepted token meets the policy: issuer, client, scope, group and times;
//! - an accepted token is refused as expired once the clock passes `exp` + leeway;
//! - every refusal turns into a response with its status (400, 401 or 403, as the README's
//!   "Answers" gives them) and no panic.

#![no_main]

use std::sync::LazyLock;
use std::time::Duration;

use cognito_auth::{
    AuthError, InvalidToken, Keys, TokenPolicy, UserPool, Verifier, parse_jwks, verdict,
};
use libfuzzer_sys::fuzz_target;

/// Keep in step with `fuzz/fuzz_corpus.rs`, which signs the seeds.
const NOW: u64 = 1_800_000_000;
const ISSUER: &str = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_FuzzPool1";
const CLIENT: &str = "fuzzclient0123456789abcdef";
const LEEWAY: u64 = 60;

static VERIFIER: LazyLock<Verifier> = LazyLock::new(|| {
    Verifier::new(
        &[UserPool {
            issuer: ISSUER.into(),
            jwks_url: cognito_auth::jwks_url(ISSUER).parse().expect("url"),
            client_ids: vec![CLIENT.into()],
        }],
        TokenPolicy {
            required_scopes: vec!["api/read".into()],
            required_groups: vec!["admins".into()],
            leeway: Duration::from_secs(LEEWAY),
        },
    )
});

/// The one pool's key set.
static KEYS: LazyLock<[Keys; 1]> =
    LazyLock::new(|| [parse_jwks(include_bytes!("../jwks.json")).expect("fuzz/jwks.json")]);

fuzz_target!(|data: &[u8]| {
    match verdict(data, &VERIFIER, &KEYS[..], NOW) {
        Ok(claims) => {
            assert_eq!(claims.client_id, CLIENT);
            assert!(claims.exp.saturating_add(LEEWAY) > NOW);
            assert!(claims.iat.is_none_or(|iat| iat <= NOW + LEEWAY));
            assert!(claims.scopes.iter().any(|s| s == "api/read"));
            assert!(claims.groups.iter().any(|g| g == "admins"));
            let later = claims.exp.saturating_add(LEEWAY);
            if later > NOW {
                assert_eq!(
                    verdict(data, &VERIFIER, &KEYS[..], later),
                    Err(AuthError::InvalidToken(InvalidToken::Expired))
                );
            }
        }
        Err(error) => {
            let status = error.status();
            assert!(
                [400, 401, 403].contains(&status.as_u16()),
                "unexpected status {status}"
            );
            let answer: http::Response<String> = error.to_response(Some("randapi"));
            assert_eq!(answer.status(), status);
        }
    }
});
