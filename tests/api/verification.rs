//! Each verification step failing on its own, through the real HTTP server (CONTRACT.md, "What a
//! valid access token is"). Every refusal is checked for its fixed reason and for leaks.

use std::time::Duration;

use aws_lc_rs::signature::{RSA_PKCS1_SHA512, RSA_PSS_SHA256};
use randapi::dev::{RSA_PKCS1_SHA256, b64};
use serde_json::{Value, json};

use crate::helpers::*;

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

fn header(kid: &str) -> Value {
    json!({"alg": "RS256", "kid": kid})
}

#[tokio::test]
async fn each_verification_failure_is_a_401_with_its_own_fixed_reason() {
    // Arrange: one good key, and JWKS entries that must never verify anything. Key generation is
    // slow, so a second key plays every other part: each entry below is its real public key under
    // another kid, so a token signed by it under that kid carries a genuinely valid signature.
    let main = key("key-main-5d1c");
    let other = key("key-other-77aa"); // never in the JWKS under this kid
    let renamed = |kid: &str| {
        let mut jwk = other.jwk();
        jwk["kid"] = json!(kid);
        jwk
    };
    let as_kid = |kid: &str| signed(&other, &header(kid), &claims());
    let (enc, no_n, no_e, rs512, oct_kid) = (
        "key-enc-31f0",
        "key-no-n-9b2e",
        "key-no-e-4c8d",
        "key-rs512-jwk",
        "key-oct-6a3f",
    );
    let oct_secret = b"an HMAC secret shared through the JWKS";
    let attacker_kid = "key-attacker-0e9d";
    let attacker_jwks =
        JwksServer::start(Behaviour::Keys(json!({"keys": [renamed(attacker_kid)]}))).await;
    let mut no_n_jwk = renamed(no_n);
    no_n_jwk.as_object_mut().expect("jwk").remove("n");
    let mut no_e_jwk = renamed(no_e);
    no_e_jwk.as_object_mut().expect("jwk").remove("e");
    let document = json!({"keys": [
        main.jwk(),
        with(renamed(enc), "use", json!("enc")),
        no_n_jwk,
        no_e_jwk,
        with(renamed(rs512), "alg", json!("RS512")),
        {"kty": "oct", "kid": oct_kid, "alg": "HS256", "k": b64(oct_secret)},
    ]});
    let jwks = JwksServer::start(Behaviour::Keys(document)).await;
    let app = spawn_app(&jwks, AppOptions::default()).await;
    let now = unix_now();
    let sign = |claims: &Value| main.sign(claims).expect("sign");
    let kid = main.kid();

    let valid = sign(&claims());
    let other_payload = b64(with(claims(), "sub", json!("another-user-8f21")).to_string());
    let [valid_header, _, valid_signature] = valid.split('.').collect::<Vec<_>>()[..] else {
        panic!("three segments");
    };
    let mut cases: Vec<(String, &str, String)> = vec![
        // Time.
        (
            sign(&with(claims(), "exp", json!(now - 3600))),
            EXPIRED,
            "expired an hour ago".into(),
        ),
        (
            sign(&with(claims(), "exp", json!(now - 60))),
            EXPIRED,
            "expired exactly the 60 s leeway ago".into(),
        ),
        (
            sign(&with(claims(), "nbf", json!(now + 600))),
            NOT_YET_VALID,
            "nbf in 10 minutes".into(),
        ),
        (
            sign(&with(claims(), "iat", json!(now + 600))),
            ISSUED_IN_FUTURE,
            "iat in 10 minutes".into(),
        ),
        (sign(&without(claims(), "exp")), NO_EXPIRY, "no exp".into()),
        // Issuer.
        (
            sign(&with(
                claims(),
                "iss",
                json!("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_OtherPool"),
            )),
            WRONG_ISSUER,
            "another pool's iss".into(),
        ),
        (
            sign(&with(
                claims(),
                "iss",
                json!("https://cognito-idp.us-east-1.amazonaws.com/eu-west-1_TestPool1"),
            )),
            WRONG_ISSUER,
            "another region's iss".into(),
        ),
        (
            sign(&with(claims(), "iss", json!(format!("{ISSUER}/")))),
            WRONG_ISSUER,
            "iss with a trailing slash".into(),
        ),
        (
            sign(&with(
                claims(),
                "iss",
                json!(ISSUER.replace("https://", "http://")),
            )),
            WRONG_ISSUER,
            "iss over http".into(),
        ),
        (
            sign(&with(claims(), "iss", json!(ISSUER.to_uppercase()))),
            WRONG_ISSUER,
            "iss in upper case".into(),
        ),
        (
            sign(&without(claims(), "iss")),
            WRONG_ISSUER,
            "no iss".into(),
        ),
        // Token use, client, audience.
        (
            sign(&with(
                with(without(claims(), "client_id"), "token_use", json!("id")),
                "aud",
                json!(CLIENT_ID),
            )),
            ID_TOKEN,
            "an ID token for our client".into(),
        ),
        (
            sign(&without(claims(), "token_use")),
            NOT_ACCESS,
            "no token_use".into(),
        ),
        (
            sign(&with(claims(), "token_use", json!("refresh"))),
            NOT_ACCESS,
            "token_use refresh".into(),
        ),
        (
            sign(&with(claims(), "client_id", json!("someoneelse3x9"))),
            CLIENT,
            "another client_id".into(),
        ),
        (
            sign(&with(
                claims(),
                "client_id",
                json!(CLIENT_ID.to_uppercase()),
            )),
            CLIENT,
            "client_id in another case".into(),
        ),
        (
            sign(&without(claims(), "client_id")),
            CLIENT,
            "no client_id".into(),
        ),
        (
            sign(&with(claims(), "aud", json!("https://api.other.example"))),
            AUDIENCE,
            "an aud that names no allowed client".into(),
        ),
        (
            sign(&with(
                claims(),
                "aud",
                json!(["https://api.other.example", "x-client-2"]),
            )),
            AUDIENCE,
            "an aud list that names no allowed client".into(),
        ),
        // Claim types: refused, never a panic or a 500.
        (
            sign(&with(claims(), "exp", json!("Garbage"))),
            MALFORMED_CLAIMS,
            "a string exp".into(),
        ),
        (
            sign(&with(claims(), "exp", json!((now + 300).to_string()))),
            MALFORMED_CLAIMS,
            "a numeric string exp".into(),
        ),
        (
            sign(&with(claims(), "exp", json!(1.8e9))),
            MALFORMED_CLAIMS,
            "a float exp".into(),
        ),
        (
            sign(&with(claims(), "exp", json!(-1))),
            MALFORMED_CLAIMS,
            "a negative exp".into(),
        ),
        (
            sign(&with(claims(), "exp", json!(1e30))),
            MALFORMED_CLAIMS,
            "an exp beyond u64".into(),
        ),
        (
            sign(&with(claims(), "exp", Value::Null)),
            MALFORMED_CLAIMS,
            "a null exp".into(),
        ),
        (
            sign(&with(claims(), "nbf", json!("soon"))),
            MALFORMED_CLAIMS,
            "a string nbf".into(),
        ),
        (
            sign(&with(claims(), "iat", json!([now]))),
            MALFORMED_CLAIMS,
            "an array iat".into(),
        ),
        (
            sign(&with(claims(), "iss", json!(12345))),
            MALFORMED_CLAIMS,
            "a numeric iss".into(),
        ),
        (
            sign(&with(claims(), "sub", json!(42))),
            MALFORMED_CLAIMS,
            "a numeric sub".into(),
        ),
        (
            sign(&without(claims(), "sub")),
            MALFORMED_CLAIMS,
            "no sub".into(),
        ),
        (
            sign(&with(claims(), "client_id", json!([CLIENT_ID]))),
            MALFORMED_CLAIMS,
            "an array client_id".into(),
        ),
        (
            sign(&with(claims(), "aud", json!(7))),
            MALFORMED_CLAIMS,
            "a numeric aud".into(),
        ),
        (
            sign(&with(claims(), "aud", json!([CLIENT_ID, 7]))),
            MALFORMED_CLAIMS,
            "an aud list with a number".into(),
        ),
        (
            sign(&with(claims(), "scope", json!(["openid"]))),
            MALFORMED_CLAIMS,
            "an array scope".into(),
        ),
        (
            sign(&with(claims(), "cognito:groups", json!("admins"))),
            MALFORMED_CLAIMS,
            "a string cognito:groups".into(),
        ),
        (
            sign(&with(claims(), "jti", json!(17))),
            MALFORMED_CLAIMS,
            "a numeric jti".into(),
        ),
        (
            sign(&with(claims(), "token_use", json!(true))),
            MALFORMED_CLAIMS,
            "a boolean token_use".into(),
        ),
        // Algorithms.
        (
            unsigned(&json!({"alg": "none", "kid": kid}), &claims(), ""),
            MALFORMED,
            "alg none with an empty signature".into(),
        ),
        (
            unsigned(
                &json!({"alg": "none", "kid": kid}),
                &claims(),
                valid_signature,
            ),
            ALG,
            "alg none with a signature".into(),
        ),
        (
            unsigned(
                &json!({"alg": "None", "kid": kid}),
                &claims(),
                valid_signature,
            ),
            ALG,
            "alg None".into(),
        ),
        (
            unsigned(&json!({"kid": kid}), &claims(), valid_signature),
            ALG,
            "no alg".into(),
        ),
        (
            main.sign_with(
                &RSA_PKCS1_SHA512,
                &json!({"alg": "RS512", "kid": kid}),
                &claims(),
            )
            .expect("sign"),
            ALG,
            "RS512 signed by the right key".into(),
        ),
        (
            main.sign_with(
                &RSA_PSS_SHA256,
                &json!({"alg": "PS256", "kid": kid}),
                &claims(),
            )
            .expect("sign"),
            ALG,
            "PS256 signed by the right key".into(),
        ),
        (
            main.sign_with(&RSA_PKCS1_SHA512, &header(kid), &claims())
                .expect("sign"),
            BAD_SIGNATURE,
            "an RS256 header over an RS512 signature".into(),
        ),
        (
            main.sign_with(&RSA_PSS_SHA256, &header(kid), &claims())
                .expect("sign"),
            BAD_SIGNATURE,
            "an RS256 header over a PS256 signature".into(),
        ),
        (
            hmac_signed(
                &json!({"alg": "HS256", "kid": oct_kid}),
                &claims(),
                oct_secret,
            ),
            ALG,
            "HS256 signed with the secret of a kty oct JWK".into(),
        ),
        // Signatures.
        (
            format!("{valid_header}.{other_payload}.{valid_signature}"),
            BAD_SIGNATURE,
            "a payload under another payload's signature".into(),
        ),
        (
            other
                .sign_with(&RSA_PKCS1_SHA256, &header(kid), &claims())
                .expect("sign"),
            BAD_SIGNATURE,
            "a real kid over another key's signature".into(),
        ),
        (
            format!(
                "{valid_header}.{}.{}",
                b64(claims().to_string()),
                b64([0u8; 256])
            ),
            BAD_SIGNATURE,
            "a zero signature".into(),
        ),
        (
            format!(
                "{valid_header}.{}.{}",
                b64(claims().to_string()),
                b64([1u8; 3])
            ),
            BAD_SIGNATURE,
            "a three-byte signature".into(),
        ),
        // Key ids and keys.
        (
            signed(&main, &json!({"alg": "RS256"}), &claims()),
            NO_KID,
            "no kid".into(),
        ),
        (
            signed(&main, &header(""), &claims()),
            NO_KID,
            "an empty kid".into(),
        ),
        (
            signed(&main, &json!({"alg": "RS256", "kid": 5}), &claims()),
            MALFORMED,
            "a numeric kid".into(),
        ),
        (
            token(&other),
            UNKNOWN_KEY,
            "a kid the JWKS does not have".into(),
        ),
        (
            as_kid(enc),
            UNKNOWN_KEY,
            "a kid whose JWK has use enc".into(),
        ),
        (as_kid(no_n), UNKNOWN_KEY, "a kid whose JWK has no n".into()),
        (as_kid(no_e), UNKNOWN_KEY, "a kid whose JWK has no e".into()),
        (
            as_kid(rs512),
            UNKNOWN_KEY,
            "a kid whose JWK has alg RS512".into(),
        ),
        (
            as_kid(oct_kid),
            UNKNOWN_KEY,
            "an RS256 token whose kid is a kty oct JWK".into(),
        ),
        (
            signed(
                &other,
                &json!({"alg": "RS256", "kid": attacker_kid, "jku": attacker_jwks.url()}),
                &claims(),
            ),
            UNKNOWN_KEY,
            "a jku naming another JWKS".into(),
        ),
        (
            signed(
                &other,
                &json!({"alg": "RS256", "kid": kid, "jku": attacker_jwks.url()}),
                &claims(),
            ),
            BAD_SIGNATURE,
            "a real kid with a jku naming another JWKS".into(),
        ),
        (
            signed(
                &other,
                &json!({"alg": "RS256", "kid": kid, "x5u": attacker_jwks.url()}),
                &claims(),
            ),
            BAD_SIGNATURE,
            "a real kid with an x5u naming another server".into(),
        ),
        (
            signed(
                &other,
                &json!({"alg": "RS256", "kid": kid, "jwk": other.jwk()}),
                &claims(),
            ),
            BAD_SIGNATURE,
            "a real kid with its own embedded jwk".into(),
        ),
        // Shape and size.
        (
            sign(&with(claims(), "padding", json!("p".repeat(9 * 1024)))),
            TOO_LARGE,
            "a token over 8 KiB".into(),
        ),
        ("a.b.c".into(), MALFORMED, "a.b.c".into()),
        (
            format!("{valid_header}.{}", b64(claims().to_string())),
            MALFORMED,
            "two segments".into(),
        ),
        (
            format!("{valid}.{valid_signature}"),
            MALFORMED,
            "four segments".into(),
        ),
        (
            format!(
                "{valid_header}=.{}.{valid_signature}",
                b64(claims().to_string())
            ),
            MALFORMED,
            "a padded segment".into(),
        ),
        (
            format!(
                "{}.{}.{valid_signature}",
                b64("[1]"),
                b64(claims().to_string())
            ),
            MALFORMED,
            "an array header".into(),
        ),
        (
            format!("{valid_header}.{}.{valid_signature}", b64("not json")),
            MALFORMED,
            "a payload that is not JSON".into(),
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

    // Act and assert: each is refused with its reason, the good key still works.
    assert_random_number(&app.get_root(Some(&valid)).await, "the valid token");
    for (token, reason, case) in &cases {
        let answer = app.get_root(Some(token)).await;
        assert_invalid_token(
            &answer,
            reason,
            token,
            &app,
            &format!("a token with {case}"),
        );
    }
    assert_random_number(&app.get_root(Some(&valid)).await, "the valid token, after");
    assert_eq!(
        attacker_jwks.requests(),
        0,
        "a URL from a token header was fetched"
    );
    // Only the start-up fetch: the unknown kids above fell within the cooldown.
    assert_eq!(jwks.requests(), 1);
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
    let app = spawn_app(&jwks, AppOptions::default()).await;
    let now = unix_now();

    let cases = [
        (claims(), "the usual claims"),
        (
            with(claims(), "exp", json!(now - 55)),
            "exp 55 s ago, inside the 60 s leeway",
        ),
        (
            with(claims(), "nbf", json!(now + 60)),
            "nbf the 60 s leeway ahead",
        ),
        (
            with(claims(), "iat", json!(now + 60)),
            "iat the 60 s leeway ahead",
        ),
        (with(claims(), "nbf", json!(now - 5)), "nbf in the past"),
        (
            with(claims(), "aud", json!(CLIENT_ID)),
            "aud naming our client",
        ),
        (
            with(
                claims(),
                "aud",
                json!(["https://api.example", OTHER_ALLOWED_CLIENT_ID]),
            ),
            "an aud list naming an allowed client",
        ),
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
    let app = spawn_app(&jwks, AppOptions::default().leeway("10s")).await;
    let now = unix_now();

    // Tokens 30 s off are inside the default 60 s leeway (see the test above) but not inside 10 s.
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
    let app = spawn_app(&jwks, AppOptions::default().cooldown("100ms")).await;
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
