//! Writes the seed corpus of the `verdict` fuzz target and the public JWKS it verifies against.
//!
//! ```text
//! cargo run --example fuzz_corpus -- fuzz
//! ```
//!
//! Makes a fresh RSA-2048 key, writes its public JWKS to `<fuzz-dir>/jwks.json` and, into
//! `<fuzz-dir>/corpus/verdict/`, `Authorization` header values: valid access tokens for the
//! target's fixed clock and policy (see `fuzz/fuzz_targets/verdict.rs`) and malformed or refused
//! variants. The private key is dropped at exit: only its public half and tokens remain.

use std::path::PathBuf;
use std::process::ExitCode;

use std::time::Duration;

use aws_lc_rs::signature::RSA_PSS_SHA256;
use cognito_auth::local_issuer::{RSA_PKCS1_SHA256, SigningKey, access_claims, b64, jwks};
use cognito_auth::{TokenPolicy, UserPool, Verifier, parse_jwks, verdict};
use serde_json::{Value, json};

/// The fuzz target's clock, issuer and client (keep in step with `fuzz_targets/verdict.rs`).
const NOW: u64 = 1_800_000_000;
const ISSUER: &str = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_FuzzPool1";
const CLIENT: &str = "fuzzclient0123456789abcdef";

/// Issued 10 s before the target's clock, valid for an hour after it, with the scope and group
/// the target's policy requires.
fn claims() -> Value {
    let mut claims = access_claims(ISSUER, CLIENT, NOW - 10, Duration::from_secs(3610));
    claims["scope"] = json!("aws.cognito.signin.user.admin api/read");
    claims["cognito:groups"] = json!(["admins"]);
    claims
}

fn with(key: &str, value: Value) -> Value {
    let mut claims = claims();
    claims[key] = value;
    claims
}

fn main() -> ExitCode {
    let Some(dir) = std::env::args().nth(1).map(PathBuf::from) else {
        eprintln!("usage: fuzz_corpus <fuzz-dir>");
        return ExitCode::from(2);
    };
    match write(&dir) {
        Ok(count) => {
            println!(
                "wrote {} and {count} seeds",
                dir.join("jwks.json").display()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("fuzz_corpus: {error}");
            ExitCode::FAILURE
        }
    }
}

fn write(dir: &std::path::Path) -> Result<usize, Box<dyn std::error::Error>> {
    let key = SigningKey::generate("fuzz-key-1")?;
    let stranger = SigningKey::generate("fuzz-key-1")?;
    let other_kid = SigningKey::generate("fuzz-key-2")?;
    let valid = key.sign(&claims())?;
    let (message, _) = valid.rsplit_once('.').ok_or("token without dots")?;
    let header = |alg: &str| json!({"alg": alg, "kid": "fuzz-key-1"});

    let seeds: Vec<(&str, String)> = vec![
        ("valid", format!("Bearer {valid}")),
        ("valid-lowercase-scheme", format!("bearer {valid}")),
        ("valid-bare-jwt", valid.clone()),
        ("valid-padded", format!("  BEARER\t{valid}  ")),
        (
            "expired",
            format!("Bearer {}", key.sign(&with("exp", json!(NOW - 61)))?),
        ),
        (
            "not-yet-valid",
            format!("Bearer {}", key.sign(&with("nbf", json!(NOW + 61)))?),
        ),
        (
            "issued-in-future",
            format!("Bearer {}", key.sign(&with("iat", json!(NOW + 61)))?),
        ),
        (
            "id-token",
            format!("Bearer {}", key.sign(&with("token_use", json!("id")))?),
        ),
        (
            "wrong-issuer",
            format!(
                "Bearer {}",
                key.sign(&with("iss", json!(format!("{ISSUER}/"))))?
            ),
        ),
        (
            "wrong-client",
            format!("Bearer {}", key.sign(&with("client_id", json!("other")))?),
        ),
        (
            "aud-array",
            format!("Bearer {}", key.sign(&with("aud", json!(["x", CLIENT])))?),
        ),
        (
            "float-exp",
            format!("Bearer {}", key.sign(&with("exp", json!(1.8e9)))?),
        ),
        (
            "no-scope",
            format!("Bearer {}", key.sign(&with("scope", json!("openid")))?),
        ),
        (
            "no-group",
            format!("Bearer {}", key.sign(&with("cognito:groups", json!([])))?),
        ),
        (
            "null-aud",
            format!("Bearer {}", key.sign(&with("aud", Value::Null))?),
        ),
        (
            "tab-separated-scope",
            format!(
                "Bearer {}",
                key.sign(&with(
                    "scope",
                    json!("aws.cognito.signin.user.admin\tapi/read")
                ))?
            ),
        ),
        (
            "crit-header",
            format!(
                "Bearer {}",
                key.sign_with(
                    &RSA_PKCS1_SHA256,
                    &json!({"alg": "RS256", "kid": "fuzz-key-1", "crit": ["exp"]}),
                    &claims()
                )?
            ),
        ),
        (
            "b64-false-crit",
            format!(
                "Bearer {}",
                key.sign_with(
                    &RSA_PKCS1_SHA256,
                    &json!({"alg": "RS256", "kid": "fuzz-key-1", "b64": false, "crit": ["b64"]}),
                    &claims()
                )?
            ),
        ),
        (
            "other-key-same-kid",
            format!("Bearer {}", stranger.sign(&claims())?),
        ),
        (
            "unknown-kid",
            format!("Bearer {}", other_kid.sign(&claims())?),
        ),
        (
            "alg-none",
            format!(
                "Bearer {}.{}.",
                b64(header("none").to_string()),
                b64(claims().to_string())
            ),
        ),
        (
            "alg-hs256",
            format!(
                "Bearer {}",
                key.sign_with(&RSA_PKCS1_SHA256, &header("HS256"), &claims())?
            ),
        ),
        (
            "alg-ps256",
            format!(
                "Bearer {}",
                key.sign_with(&RSA_PSS_SHA256, &header("PS256"), &claims())?
            ),
        ),
        (
            "bad-signature",
            format!("Bearer {message}.{}", b64([7u8; 256])),
        ),
        ("short-signature", format!("Bearer {message}.AAAA")),
        ("two-segments", format!("Bearer {message}")),
        ("four-segments", format!("Bearer {valid}.e30")),
        ("two-tokens", format!("Bearer {valid} {valid}")),
        ("bearer-only", "Bearer".into()),
        ("basic", "Basic dXNlcjpwYXNz".into()),
        ("array-header", format!("Bearer {}.e30.c2ln", b64("[1]"))),
        (
            "duplicate-alg",
            format!(
                "Bearer {}.e30.c2ln",
                b64(r#"{"alg":"RS256","kid":"k","alg":"none"}"#)
            ),
        ),
    ];
    let corpus = dir.join("corpus").join("verdict");
    std::fs::create_dir_all(&corpus)?;
    std::fs::write(dir.join("jwks.json"), format!("{}\n", jwks(&[&key])))?;
    // The fuzz target's policy: each seed's verdict is printed, so the corpus is known to hold
    // accepted tokens as well as each kind of refusal.
    let verifier = Verifier::new(
        &[UserPool {
            issuer: ISSUER.into(),
            jwks_url: cognito_auth::jwks_url(ISSUER).parse()?,
            client_ids: vec![CLIENT.into()],
        }],
        TokenPolicy {
            required_scopes: vec!["api/read".into()],
            required_groups: vec!["admins".into()],
            leeway: Duration::from_secs(60),
        },
    );
    let keys = [parse_jwks(jwks(&[&key]).to_string().as_bytes())?];
    for (name, value) in &seeds {
        std::fs::write(corpus.join(name), value)?;
        let outcome = match verdict(value.as_bytes(), &verifier, &keys, NOW) {
            Ok(_) => "accepted".to_owned(),
            Err(error) => format!("{} {}", error.status().as_u16(), error.reason()),
        };
        println!("{name:<24} {outcome}");
    }
    Ok(seeds.len())
}
