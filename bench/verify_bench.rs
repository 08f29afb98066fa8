//! The whole verify path against a bare RS256 signature check.
//!
//! Declared in Cargo.toml as an example (path `bench/verify_bench.rs`) rather than a `[[bench]]`
//! target, so that `cargo test --all-targets` builds it but never runs it. Criterion runs the same
//! either way.
//!
//! ```text
//! cargo run --release --example verify_bench -- --bench
//! ```
//!
//! - `rs256/preparsed_key`: aws-lc-rs verifying with a key parsed once (the floor);
//! - `rs256/components_key`: aws-lc-rs building the key from `n`/`e` on each call, as
//!   jsonwebtoken's aws-lc backend does for a JWK;
//! - `rs256/jsonwebtoken`: `jsonwebtoken::crypto::verify` with a `DecodingKey` from the JWK
//!   (base64 of the signature, key build, verify): what the pipeline's signature check does;
//! - `rs256/base64_and_preparsed`: base64 of the signature, then `verify_sig` with a key
//!   parsed once (what the signature check did before it used jsonwebtoken);
//! - `verify/verdict_uncached`: `cognito_auth::verdict`, header to claims with no cache;
//! - `verify/authenticator_uncached` and `verify/authenticator_cached_hit`: the server's
//!   `Authenticator::verify` (keys from a JWKS served on 127.0.0.1), cache off and on.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cognito_auth::local_issuer::{SigningKey, access_claims, jwks};
use cognito_auth::{Authenticator, TokenPolicy, UserPool, Verifier, parse_jwks, verdict};
use criterion::{Criterion, criterion_group, criterion_main};

const ISSUER: &str = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_BenchPool";
const CLIENT: &str = "benchclient0123456789abcd";

/// Seconds since the Unix epoch.
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The bench pool, its keys at `jwks_url`.
fn pool(jwks_url: &str) -> UserPool {
    UserPool {
        issuer: ISSUER.into(),
        jwks_url: jwks_url.parse().expect("url"),
        client_ids: vec![CLIENT.into()],
    }
}

fn token(key: &SigningKey) -> String {
    key.sign(&access_claims(
        ISSUER,
        CLIENT,
        unix_now(),
        Duration::from_secs(3600),
    ))
    .expect("sign")
}

fn benches(c: &mut Criterion) {
    let key = SigningKey::generate("bench-key-1").expect("key");
    let jwks_json = jwks(&[&key]);
    let token = token(&key);
    let (message, signature_b64) = token.rsplit_once('.').expect("three segments");
    let signature = URL_SAFE_NO_PAD.decode(signature_b64).expect("base64");
    let jwk = &jwks_json["keys"][0];
    let n = URL_SAFE_NO_PAD
        .decode(jwk["n"].as_str().expect("n"))
        .expect("n");
    let e = URL_SAFE_NO_PAD
        .decode(jwk["e"].as_str().expect("e"))
        .expect("e");
    let components = RsaPublicKeyComponents { n: &n, e: &e };
    let parsed = components
        .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
        .expect("parsed key");
    let keys = [parse_jwks(jwks_json.to_string().as_bytes()).expect("jwks")];
    let decoding_key = jsonwebtoken::DecodingKey::from_rsa_raw_components(&n, &e);
    let verifier = Verifier::new(
        &[pool("https://example.invalid/jwks.json")],
        TokenPolicy::default(),
    );

    let mut rs256 = c.benchmark_group("rs256");
    rs256.bench_function("preparsed_key", |b| {
        b.iter(|| parsed.verify_sig(black_box(message.as_bytes()), black_box(&signature)))
    });
    rs256.bench_function("components_key", |b| {
        b.iter(|| {
            components.verify(
                &RSA_PKCS1_2048_8192_SHA256,
                black_box(message.as_bytes()),
                black_box(&signature),
            )
        })
    });
    rs256.bench_function("jsonwebtoken", |b| {
        b.iter(|| {
            jsonwebtoken::crypto::verify(
                black_box(signature_b64),
                black_box(message.as_bytes()),
                &decoding_key,
                jsonwebtoken::Algorithm::RS256,
            )
        })
    });
    rs256.bench_function("base64_and_preparsed", |b| {
        b.iter(|| {
            let signature = URL_SAFE_NO_PAD
                .decode(black_box(signature_b64))
                .unwrap_or_default();
            parsed.verify_sig(black_box(message.as_bytes()), &signature)
        })
    });
    rs256.finish();

    let header = format!("Bearer {token}");
    let mut verify = c.benchmark_group("verify");
    verify.bench_function("verdict_uncached", |b| {
        b.iter(|| verdict(black_box(header.as_bytes()), &verifier, &keys, unix_now()))
    });

    // The server's path: keys fetched over HTTP from a JWKS on 127.0.0.1 by the real cache.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (cached, uncached) = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let body = jwks_json.to_string();
        let app = axum::Router::new().route(
            "/jwks.json",
            axum::routing::get(move || std::future::ready(body.clone())),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        let url = format!("http://{addr}/jwks.json");
        let cached = Authenticator::builder([pool(&url)])
            .build()
            .expect("authenticator");
        let uncached = Authenticator::builder([pool(&url)])
            .token_cache_bytes(0)
            .build()
            .expect("authenticator");
        cached.verify(&token).await.expect("valid token");
        uncached.verify(&token).await.expect("valid token");
        (cached, uncached)
    });
    let (cached, uncached) = (Arc::new(cached), Arc::new(uncached));
    verify.bench_function("authenticator_uncached", |b| {
        b.to_async(&runtime)
            .iter(|| async { uncached.verify(black_box(&token)).await })
    });
    verify.bench_function("authenticator_cached_hit", |b| {
        b.to_async(&runtime)
            .iter(|| async { cached.verify(black_box(&token)).await })
    });
    verify.finish();
}

criterion_group! {
    name = verify;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = benches
}
criterion_main!(verify);
