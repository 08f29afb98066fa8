//! Each verification step failing on its own, through the real HTTP server: one table per
//! concern (header and algorithm, key lookup, signature, claims, time, policy). Every refusal is
//! checked for its fixed reason and for leaks.
//!
//! The verifier's unit tests (`src/auth/verifier.rs`) cover claim permutations one by one; the
//! tables here keep one row per reason and the permutations the unit tests do not have.

use std::time::Duration;

use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RSA_PKCS1_SHA512, RSA_PSS_SHA256};
use randapi::dev::b64;
use serde_json::{Value, json};

use crate::common::*;

const EXPIRED: &str = "token expired";
const NOT_YET_VALID: &str = "token not yet valid";
const ISSUED_IN_FUTURE: &str = "token issued in the future";
const WRONG_ISSUER: &str = "issuer not allowed";
const ID_TOKEN: &str = "token is an ID token; send the access token";
const NOT_ACCESS: &str = "token is not an access token";
const CLIENT: &str = "client_id not allowed";
const AUDIENCE: &str = "audience not allowed";
const NO_EXPIRY: &str = "token has no expiry";
const MALFORMED_CLAIMS: &str = "token claims are malformed";
const MALFORMED: &str = "token is malformed";
const ALG: &str = "signing algorithm not allowed";
const NO_KID: &str = "token has no key id";
const UNKNOWN_KEY: &str = "signing key not found";
const BAD_SIGNATURE: &str = "signature is invalid";
const TOO_LARGE: &str = "token too large";

/// One row of a table: the token, the reason it must be refused with, what it is.
type Case = (String, &'static str, String);

fn case(token: String, reason: &'static str, what: &str) -> Case {
    (token, reason, what.to_owned())
}

/// Sends every token of `cases` to `app` and checks that each is refused with its reason and
/// leaks nothing; `valid` passes before and after, and nothing but the start-up fetch reached
/// `jwks` (unknown kids fall within the cooldown).
async fn assert_each_refused(app: &TestApp, jwks: &JwksServer, valid: &str, cases: &[Case]) {
    assert_random_number(&app.get_root(Some(valid)).await, "the valid token");
    for (token, reason, what) in cases {
        let answer = app.get_root(Some(token)).await;
        assert_invalid_token(&answer, reason, token, app, &format!("a token with {what}"));
    }
    assert_random_number(&app.get_root(Some(valid)).await, "the valid token, after");
    assert_eq!(jwks.requests(), 1, "only the start-up fetch");
}

/// The three segments of `token`.
fn segments(token: &str) -> [&str; 3] {
    let [header, payload, signature] = token.split('.').collect::<Vec<_>>()[..] else {
        panic!("three segments");
    };
    [header, payload, signature]
}

#[tokio::test]
async fn a_bad_header_algorithm_or_shape_is_refused() {
    let main = key("key-alg-5d1c");
    // A kty oct JWK in the set: its secret must never verify an HS256 token.
    let (oct_kid, oct_secret) = ("key-oct-6a3f", b"an HMAC secret shared through the JWKS");
    let jwks = JwksServer::start(Behaviour::Keys(json!({"keys": [
        main.jwk(),
        {"kty": "oct", "kid": oct_kid, "alg": "HS256", "k": b64(oct_secret)},
    ]})))
    .await;
    let app = spawn_app(&jwks).await;
    let kid = main.kid();
    let valid = token(&main);
    let [valid_header, _, valid_signature] = segments(&valid);
    let payload = b64(claims().to_string());

    let mut cases = vec![
        case(
            unsigned(&json!({"alg": "none", "kid": kid}), &claims(), ""),
            MALFORMED,
            "alg none with an empty signature",
        ),
        case(
            unsigned(
                &json!({"alg": "none", "kid": kid}),
                &claims(),
                valid_signature,
            ),
            ALG,
            "alg none with a signature",
        ),
        case(
            unsigned(
                &json!({"alg": "None", "kid": kid}),
                &claims(),
                valid_signature,
            ),
            ALG,
            "alg None",
        ),
        case(
            unsigned(&json!({"kid": kid}), &claims(), valid_signature),
            ALG,
            "no alg",
        ),
        case(
            main.sign_with(
                &RSA_PKCS1_SHA512,
                &json!({"alg": "RS512", "kid": kid}),
                &claims(),
            )
            .expect("sign"),
            ALG,
            "RS512 signed by the right key",
        ),
        case(
            main.sign_with(
                &RSA_PSS_SHA256,
                &json!({"alg": "PS256", "kid": kid}),
                &claims(),
            )
            .expect("sign"),
            ALG,
            "PS256 signed by the right key",
        ),
        case(
            hmac_signed(
                &json!({"alg": "HS256", "kid": oct_kid}),
                &claims(),
                oct_secret,
            ),
            ALG,
            "HS256 signed with the secret of a kty oct JWK",
        ),
        // Shape and size.
        case(
            main.sign(&with(claims(), "padding", json!("p".repeat(9 * 1024))))
                .expect("sign"),
            TOO_LARGE,
            "a token over 8 KiB",
        ),
        case("a.b.c".into(), MALFORMED, "a.b.c"),
        case(
            format!("{valid_header}.{payload}"),
            MALFORMED,
            "two segments",
        ),
        case(
            format!("{valid}.{valid_signature}"),
            MALFORMED,
            "four segments",
        ),
        case(
            format!("{valid_header}=.{payload}.{valid_signature}"),
            MALFORMED,
            "a padded segment",
        ),
        case(
            format!("{}.{payload}.{valid_signature}", b64("[1]")),
            MALFORMED,
            "an array header",
        ),
        case(
            format!("{valid_header}.{}.{valid_signature}", b64("not json")),
            MALFORMED,
            "a payload that is not JSON",
        ),
    ];
    // Key confusion: HS256 with the RSA public key, in each encoding, as the HMAC secret.
    for (encoding, secret) in public_key_encodings(&main) {
        cases.push((
            hmac_signed(&json!({"alg": "HS256", "kid": kid}), &claims(), &secret),
            ALG,
            format!("HS256 signed with {encoding}"),
        ));
    }

    assert_each_refused(&app, &jwks, &valid, &cases).await;
}

#[tokio::test]
async fn a_kid_without_a_usable_key_is_refused() {
    // Key generation is slow, so a second key plays every other part: each JWKS entry below is
    // its real public key under another kid, so a token signed by it under that kid carries a
    // genuinely valid signature, and only the key lookup can refuse it.
    let main = key("key-lookup-5d1c");
    let other = key("key-other-77aa"); // never in the JWKS under this kid
    let renamed = |kid: &str| with(other.jwk(), "kid", json!(kid));
    let as_kid = |kid: &str| signed(&other, &header(kid), &claims());
    let (enc, no_n, no_e, rs512, oct_kid) = (
        "key-enc-31f0",
        "key-no-n-9b2e",
        "key-no-e-4c8d",
        "key-rs512-jwk",
        "key-oct-6a3f",
    );
    let attacker_kid = "key-attacker-0e9d";
    let attacker_jwks =
        JwksServer::start(Behaviour::Keys(json!({"keys": [renamed(attacker_kid)]}))).await;
    let jwks = JwksServer::start(Behaviour::Keys(json!({"keys": [
        main.jwk(),
        with(renamed(enc), "use", json!("enc")),
        without(renamed(no_n), "n"),
        without(renamed(no_e), "e"),
        with(renamed(rs512), "alg", json!("RS512")),
        {"kty": "oct", "kid": oct_kid, "alg": "HS256", "k": b64("an HMAC secret")},
    ]})))
    .await;
    let app = spawn_app(&jwks).await;

    let cases = [
        case(
            signed(&main, &json!({"alg": "RS256"}), &claims()),
            NO_KID,
            "no kid",
        ),
        case(
            signed(&main, &header(""), &claims()),
            NO_KID,
            "an empty kid",
        ),
        case(
            signed(&main, &json!({"alg": "RS256", "kid": 5}), &claims()),
            MALFORMED,
            "a numeric kid",
        ),
        case(token(&other), UNKNOWN_KEY, "a kid the JWKS does not have"),
        case(as_kid(enc), UNKNOWN_KEY, "a kid whose JWK has use enc"),
        case(as_kid(no_n), UNKNOWN_KEY, "a kid whose JWK has no n"),
        case(as_kid(no_e), UNKNOWN_KEY, "a kid whose JWK has no e"),
        case(as_kid(rs512), UNKNOWN_KEY, "a kid whose JWK has alg RS512"),
        case(
            as_kid(oct_kid),
            UNKNOWN_KEY,
            "an RS256 token whose kid is a kty oct JWK",
        ),
        case(
            signed(
                &other,
                &json!({"alg": "RS256", "kid": attacker_kid, "jku": attacker_jwks.url()}),
                &claims(),
            ),
            UNKNOWN_KEY,
            "a jku naming another JWKS",
        ),
    ];

    assert_each_refused(&app, &jwks, &token(&main), &cases).await;
    assert_eq!(
        attacker_jwks.requests(),
        0,
        "a URL from a token header was fetched"
    );
}

#[tokio::test]
async fn a_signature_that_does_not_verify_is_refused() {
    let (main, jwks, app) = spawn_app_with_key("key-signature-5d1c").await;
    let other = key("key-forger-77aa");
    let attacker_jwks = JwksServer::with_keys(&[&other]).await;
    let valid = token(&main);
    let kid = main.kid();
    let [valid_header, _, valid_signature] = segments(&valid);
    let payload = b64(claims().to_string());
    let other_payload = b64(with(claims(), "sub", json!("another-user-8f21")).to_string());
    let forged = |header: Value| signed(&other, &header, &claims());

    let cases = [
        case(
            format!("{valid_header}.{other_payload}.{valid_signature}"),
            BAD_SIGNATURE,
            "a payload under another payload's signature",
        ),
        case(
            other
                .sign_with(&RSA_PKCS1_SHA256, &header(kid), &claims())
                .expect("sign"),
            BAD_SIGNATURE,
            "a real kid over another key's signature",
        ),
        case(
            format!("{valid_header}.{payload}.{}", b64([0u8; 256])),
            BAD_SIGNATURE,
            "a zero signature",
        ),
        case(
            format!("{valid_header}.{payload}.{}", b64([1u8; 3])),
            BAD_SIGNATURE,
            "a three-byte signature",
        ),
        case(
            main.sign_with(&RSA_PKCS1_SHA512, &header(kid), &claims())
                .expect("sign"),
            BAD_SIGNATURE,
            "an RS256 header over an RS512 signature",
        ),
        case(
            main.sign_with(&RSA_PSS_SHA256, &header(kid), &claims())
                .expect("sign"),
            BAD_SIGNATURE,
            "an RS256 header over a PS256 signature",
        ),
        // Keys named in the header are never fetched nor used.
        case(
            forged(json!({"alg": "RS256", "kid": kid, "jku": attacker_jwks.url()})),
            BAD_SIGNATURE,
            "a real kid with a jku naming another JWKS",
        ),
        case(
            forged(json!({"alg": "RS256", "kid": kid, "x5u": attacker_jwks.url()})),
            BAD_SIGNATURE,
            "a real kid with an x5u naming another server",
        ),
        case(
            forged(json!({"alg": "RS256", "kid": kid, "jwk": other.jwk()})),
            BAD_SIGNATURE,
            "a real kid with its own embedded jwk",
        ),
    ];

    assert_each_refused(&app, &jwks, &valid, &cases).await;
    assert_eq!(
        attacker_jwks.requests(),
        0,
        "a URL from a token header was fetched"
    );
}

#[tokio::test]
async fn claims_of_the_wrong_kind_or_type_are_refused() {
    let (main, jwks, app) = spawn_app_with_key("key-claims-5d1c").await;
    let valid = token(&main);
    let now = now();
    let sign = |claims: Value| main.sign(&claims).expect("sign");

    let cases = [
        case(
            sign(with(
                with(without(claims(), "client_id"), "token_use", json!("id")),
                "aud",
                json!(CLIENT_ID),
            )),
            ID_TOKEN,
            "an ID token for our client",
        ),
        case(
            sign(with(claims(), "token_use", json!("refresh"))),
            NOT_ACCESS,
            "token_use refresh",
        ),
        // Claim types: refused, never a panic or a 500.
        case(
            sign(with(claims(), "exp", json!((now + 300).to_string()))),
            MALFORMED_CLAIMS,
            "a numeric string exp",
        ),
        case(
            sign(with(claims(), "iat", json!([now]))),
            MALFORMED_CLAIMS,
            "an array iat",
        ),
    ];

    assert_each_refused(&app, &jwks, &valid, &cases).await;
}

#[tokio::test]
async fn a_token_outside_its_time_window_is_refused() {
    let (main, jwks, app) = spawn_app_with_key("key-time-5d1c").await;
    let valid = token(&main);
    let now = now();
    let sign = |claims: Value| main.sign(&claims).expect("sign");

    let cases = [
        case(
            sign(with(claims(), "exp", json!(now - 3600))),
            EXPIRED,
            "expired an hour ago",
        ),
        case(
            sign(with(claims(), "nbf", json!(now + 600))),
            NOT_YET_VALID,
            "nbf in 10 minutes",
        ),
        case(
            sign(with(claims(), "iat", json!(now + 600))),
            ISSUED_IN_FUTURE,
            "iat in 10 minutes",
        ),
        case(sign(without(claims(), "exp")), NO_EXPIRY, "no exp"),
    ];

    assert_each_refused(&app, &jwks, &valid, &cases).await;
}

#[tokio::test]
async fn a_token_for_another_issuer_client_or_audience_is_refused() {
    let (main, jwks, app) = spawn_app_with_key("key-policy-5d1c").await;
    let valid = token(&main);
    let sign = |claims: Value| main.sign(&claims).expect("sign");

    let cases = [
        case(
            sign(with(
                claims(),
                "iss",
                json!("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_OtherPool"),
            )),
            WRONG_ISSUER,
            "another pool's iss",
        ),
        case(
            sign(with(
                claims(),
                "iss",
                json!("https://cognito-idp.us-east-1.amazonaws.com/eu-west-1_TestPool1"),
            )),
            WRONG_ISSUER,
            "another region's iss",
        ),
        case(
            sign(with(claims(), "iss", json!(ISSUER.to_uppercase()))),
            WRONG_ISSUER,
            "iss in upper case",
        ),
        case(
            sign(with(claims(), "client_id", json!("someoneelse3x9"))),
            CLIENT,
            "another client_id",
        ),
        case(
            sign(with(claims(), "client_id", json!(CLIENT_ID.to_uppercase()))),
            CLIENT,
            "client_id in another case",
        ),
        case(
            sign(with(claims(), "aud", json!("https://api.other.example"))),
            AUDIENCE,
            "an aud that names no allowed client",
        ),
        case(
            sign(with(
                claims(),
                "aud",
                json!(["https://api.other.example", "x-client-2"]),
            )),
            AUDIENCE,
            "an aud list that names no allowed client",
        ),
    ];

    assert_each_refused(&app, &jwks, &valid, &cases).await;
}

#[tokio::test]
async fn every_shape_of_a_valid_cognito_access_token_is_accepted() {
    let main = key("key-shapes");
    // The same public key under a second kid, without `alg` and `use` (AWS allows both out), and
    // under a third kid as an encryption key that must be skipped, not break the set.
    let renamed = |kid: &str| {
        let mut jwk = main.jwk();
        jwk["kid"] = json!(kid);
        jwk
    };
    let mut bare_jwk = renamed("key-bare-jwk");
    let object = bare_jwk.as_object_mut().expect("jwk");
    object.remove("alg");
    object.remove("use");
    let jwks = JwksServer::start(Behaviour::Keys(json!({"keys": [
        {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA", "use": "sig"},
        with(renamed("key-decoy"), "use", json!("enc")),
        main.jwk(),
        bare_jwk,
        {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
    ]})))
    .await;
    let app = spawn_app(&jwks).await;
    let now = now();

    let cases = [
        (claims(), "the usual claims"),
        (with(claims(), "nbf", json!(now - 5)), "nbf in the past"),
        (
            with(claims(), "client_id", json!(OTHER_ALLOWED_CLIENT_ID)),
            "the second allowed client",
        ),
        (
            without(without(claims(), "username"), "iat"),
            "a machine-to-machine token without username",
        ),
        (with(claims(), "hēłłœ", json!("wørłd ✓")), "unicode claims"),
        (
            with(
                claims(),
                "scope",
                json!("openid profile aws.cognito.signin.user.admin"),
            ),
            "several scopes",
        ),
    ];
    for (claims, case) in cases {
        let token = main.sign(&claims).expect("sign");
        assert_random_number(&app.get_root(Some(&token)).await, case);
    }
    let typed = signed(
        &main,
        &json!({"alg": "RS256", "kid": main.kid(), "typ": "JWT"}),
        &claims(),
    );
    assert_random_number(&app.get_root(Some(&typed)).await, "a typ header");
    let bare = signed(&main, &header("key-bare-jwk"), &claims());
    assert_random_number(
        &app.get_root(Some(&bare)).await,
        "a JWK without alg and use",
    );
}

#[tokio::test]
async fn the_configured_clock_leeway_is_the_boundary() {
    let main = key("key-leeway");
    let jwks = JwksServer::with_keys(&[&main]).await;
    let app = spawn_app_with(&jwks, |config| {
        config.policy.leeway = Duration::from_secs(10)
    })
    .await;
    let now = now();

    // Tokens 30 s off are inside the default 60 s leeway but not inside 10 s.
    let cases = [
        (
            with(claims(), "exp", json!(now - 30)),
            Some(EXPIRED),
            "exp 30 s ago",
        ),
        (
            with(claims(), "exp", json!(now - 10)),
            Some(EXPIRED),
            "exp exactly the leeway ago",
        ),
        (with(claims(), "exp", json!(now - 5)), None, "exp 5 s ago"),
        (
            with(claims(), "nbf", json!(now + 30)),
            Some(NOT_YET_VALID),
            "nbf in 30 s",
        ),
        (
            with(claims(), "nbf", json!(now + 10)),
            None,
            "nbf exactly the leeway ahead",
        ),
        (
            with(claims(), "iat", json!(now + 30)),
            Some(ISSUED_IN_FUTURE),
            "iat in 30 s",
        ),
        (
            with(claims(), "iat", json!(now + 10)),
            None,
            "iat exactly the leeway ahead",
        ),
    ];
    for (claims, refusal, case) in cases {
        let token = main.sign(&claims).expect("sign");
        let answer = app.get_root(Some(&token)).await;
        match refusal {
            Some(reason) => assert_invalid_token(&answer, reason, &token, &app, case),
            None => {
                assert_random_number(&answer, case);
            }
        }
    }
}

#[tokio::test]
async fn tokens_refused_before_the_key_lookup_make_no_jwks_fetch() {
    let main = key("key-nofetch");
    let stranger = "key-stranger";
    let jwks = JwksServer::with_keys(&[&main]).await;
    let app = spawn_app_with(&jwks, |config| {
        config.jwks.cooldown = Duration::from_millis(100)
    })
    .await;
    assert_random_number(&app.get_root(Some(&token(&main))).await, "warm-up");
    assert_eq!(jwks.requests(), 1);
    // Past the cooldown: from now on an unknown kid would make the cache fetch.
    pass(Duration::from_millis(150)).await;

    let cases = [
        (
            signed(&main, &json!({"alg": "RS256"}), &claims()),
            NO_KID,
            "no kid",
        ),
        (
            signed(&main, &header(""), &claims()),
            NO_KID,
            "an empty kid",
        ),
        (
            signed(
                &main,
                &header(stranger),
                &with(claims(), "padding", json!("p".repeat(9 * 1024))),
            ),
            TOO_LARGE,
            "over 8 KiB with an unknown kid",
        ),
        (
            unsigned(&json!({"alg": "none", "kid": stranger}), &claims(), ""),
            MALFORMED,
            "alg none and an unknown kid",
        ),
        (
            hmac_signed(&json!({"alg": "HS256", "kid": stranger}), &claims(), b"k"),
            ALG,
            "HS256 and an unknown kid",
        ),
        (
            signed(&main, &header(stranger), &with(claims(), "exp", json!("x"))),
            MALFORMED_CLAIMS,
            "malformed claims and an unknown kid",
        ),
    ];
    for (token, reason, case) in &cases {
        let answer = app.get_root(Some(token)).await;
        assert_invalid_token(&answer, reason, token, &app, case);
        assert_eq!(jwks.requests(), 1, "a token with {case} made a JWKS fetch");
    }

    // Control: the counter does see a fetch when a lookup needs one.
    let unknown = token_with_kid(&main, stranger);
    assert_invalid_token(
        &app.get_root(Some(&unknown)).await,
        UNKNOWN_KEY,
        &unknown,
        &app,
        "control: an unknown kid",
    );
    assert_eq!(jwks.requests(), 2, "the control made no fetch");
    assert_eq!(app.jwks.fetch_count(), 2);
}
