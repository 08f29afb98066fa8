//! The verify variants timed side by side, interleaved in short batches so that a noisy shared
//! machine slows them alike; the fastest batch of each is the least disturbed figure.
//!
//! ```text
//! cargo run --release --example verify_cost [rounds] [variant ...]
//! ```
//!
//! Naming variants times only those (`bench/callgrind.py --verdict` counts `verdict` alone).
//!
//! Variants: `preparsed` (aws-lc-rs, RSA key parsed once), `components` (aws-lc-rs, key built
//! from n/e on each call), `jsonwebtoken` (`jsonwebtoken::crypto::verify` with a `DecodingKey`
//! made once from the JWK: what the pipeline's signature check does), `jsonwebtoken-der` (the
//! same with a `DecodingKey` made once from the key's SubjectPublicKeyInfo DER: aws-lc-rs parses
//! the DER on each call, as it builds the key from n/e on each call the other way; no
//! `DecodingKey` of jsonwebtoken 10 holds a parsed key), `signature` (base64 of the
//! signature, then `verify_sig` with the key parsed once: what it did before jsonwebtoken),
//! `verdict` (`cognito_auth::verdict`, header to claims through the pipeline every request's
//! full check runs, no cache: the cost of a cache miss), `verdict-cold` (the same, each call
//! timed alone after 2 MiB of other memory was written, so it starts with cold caches, as a miss
//! in the server does), `digest` (SHA-256 of the token, the verified-token cache's key).

use std::hint::black_box;
use std::time::Duration;

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cognito_auth::local_issuer::{SigningKey, access_claims, jwks};
use cognito_auth::{TokenPolicy, UserPool, Verifier, parse_jwks, verdict};

const ISSUER: &str = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_BenchPool";

/// Seconds since the Unix epoch.
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(30);

    let key = SigningKey::generate("k").expect("key");
    let now = unix_now();
    let token = key
        .sign(&access_claims(ISSUER, "c", now, Duration::from_secs(3600)))
        .expect("sign");
    let (message, sig_b64) = token.rsplit_once('.').expect("dots");
    let signature = URL_SAFE_NO_PAD.decode(sig_b64).expect("b64");
    let jwks_json = jwks(&[&key]);
    let decode = |field: &str| {
        URL_SAFE_NO_PAD
            .decode(jwks_json["keys"][0][field].as_str().expect("field"))
            .expect("b64")
    };
    let (n, e) = (decode("n"), decode("e"));
    let components = RsaPublicKeyComponents { n: &n, e: &e };
    let parsed = components
        .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
        .expect("parsed");
    let keys = [parse_jwks(jwks_json.to_string().as_bytes()).expect("jwks")];
    let decoding_key = jsonwebtoken::DecodingKey::from_rsa_raw_components(&n, &e);
    let spki = aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::PublicKeyX509Der>::as_der(&parsed)
        .expect("der");
    let der_key = jsonwebtoken::DecodingKey::from_rsa_der(spki.as_ref());
    let verifier = Verifier::new(
        &[UserPool {
            issuer: ISSUER.into(),
            jwks_url: cognito_auth::jwks_url(ISSUER).parse().expect("url"),
            client_ids: vec!["c".into()],
        }],
        TokenPolicy::default(),
    );
    let header = format!("Bearer {token}");

    let all = [
        "preparsed",
        "components",
        "jsonwebtoken",
        "jsonwebtoken-der",
        "signature",
        "verdict",
        "verdict-cold",
        "digest",
    ];
    let chosen: Vec<String> = std::env::args().skip(2).collect();
    if let Some(unknown) = chosen.iter().find(|name| !all.contains(&name.as_str())) {
        eprintln!(
            "unknown variant {unknown}; the variants are {}",
            all.join(", ")
        );
        std::process::exit(2);
    }
    let variants: Vec<&str> = all
        .into_iter()
        .filter(|name| chosen.is_empty() || chosen.iter().any(|c| c == name))
        .collect();
    let mut timings: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    let mut eviction = vec![0u8; EVICTION_BYTES];
    for _ in 0..rounds {
        for (variant, times) in variants.iter().zip(timings.iter_mut()) {
            if *variant == "verdict-cold" {
                times.push(measured_cold(BATCH, &mut eviction, || {
                    verdict(black_box(header.as_bytes()), &verifier, &keys, now).is_ok()
                }));
                continue;
            }
            times.push(measured(BATCH, || match *variant {
                "preparsed" => parsed
                    .verify_sig(black_box(message.as_bytes()), black_box(&signature))
                    .is_ok(),
                "components" => components
                    .verify(
                        &RSA_PKCS1_2048_8192_SHA256,
                        black_box(message.as_bytes()),
                        &signature,
                    )
                    .is_ok(),
                "jsonwebtoken" | "jsonwebtoken-der" => jsonwebtoken::crypto::verify(
                    black_box(sig_b64),
                    message.as_bytes(),
                    if *variant == "jsonwebtoken" {
                        &decoding_key
                    } else {
                        &der_key
                    },
                    jsonwebtoken::Algorithm::RS256,
                )
                .unwrap_or(false),
                "signature" => URL_SAFE_NO_PAD
                    .decode(black_box(sig_b64))
                    .is_ok_and(|signature| {
                        parsed.verify_sig(message.as_bytes(), &signature).is_ok()
                    }),
                "verdict" => verdict(black_box(header.as_bytes()), &verifier, &keys, now).is_ok(),
                "digest" => !digest(&SHA256, black_box(token.as_bytes()))
                    .as_ref()
                    .is_empty(),
                other => panic!("unknown variant {other}"),
            }));
        }
    }
    println!("variant        fastest µs/call  median µs/call  ({rounds} batches of {BATCH})");
    for (variant, mut times) in variants.iter().zip(timings) {
        times.sort_by(f64::total_cmp);
        println!(
            "{variant:<14} {:>15.2} {:>15.2}",
            times[0],
            times[times.len() / 2]
        );
    }
}

const BATCH: usize = 200;

/// Bytes written between two `verdict-cold` calls: twice this machine's per-core L2 (1 MiB, which
/// holds its L1 caches), so that each call starts with none of the previous call's code or data
/// cached near the core, as a miss in the server starts after the kernel's and hyper's work.
const EVICTION_BYTES: usize = 2 << 20;

/// Microseconds per call over `runs` calls, each timed alone after `eviction` is overwritten.
fn measured_cold(runs: usize, eviction: &mut [u8], mut call: impl FnMut() -> bool) -> f64 {
    let mut total = std::time::Duration::ZERO;
    for run in 0..runs {
        // One write per cache line is enough to take the line; the value changes every run so
        // the writes cannot be skipped.
        for line in eviction.chunks_mut(64) {
            line[0] = run as u8;
        }
        black_box(&mut *eviction);
        let started = std::time::Instant::now();
        assert!(call(), "the call failed");
        total += started.elapsed();
    }
    total.as_secs_f64() * 1e6 / runs as f64
}

/// Microseconds per call over a batch of `runs` calls.
fn measured(runs: usize, mut call: impl FnMut() -> bool) -> f64 {
    let started = std::time::Instant::now();
    for _ in 0..runs {
        assert!(call(), "the call failed");
    }
    started.elapsed().as_secs_f64() * 1e6 / runs as f64
}
