//! The token rules that close the last loopholes (README, "What a valid access token is"): a
//! header with `crit`, a claim set to `null`, scope lists split on U+0020 only, and JWKS keys
//! whose RSA modulus is under 2048 or over 8192 bits.

use axum::http::StatusCode;
use randapi::dev::b64;
use serde_json::{Value, json};

use crate::common::*;

const CRITICAL: &str = "token header has unsupported critical parameters";
const MALFORMED_CLAIMS: &str = "token claims are malformed";
const UNKNOWN_KEY: &str = "signing key not found";
const BAD_SIGNATURE: &str = "signature is invalid";

#[tokio::test]
async fn a_header_with_crit_is_refused_even_with_a_valid_signature() {
    let main = key("key-crit-41c0");
    let jwks = JwksServer::with_keys(&[&main]).await;
    let app = spawn_app(&jwks).await;
    let kid = main.kid();

    let plain = signed(&main, &json!({"alg": "RS256", "kid": kid}), &claims());
    assert_random_number(
        &app.get_root(Some(&plain)).await,
        "the same header without crit",
    );
    let cases = [
        (
            json!({"alg": "RS256", "kid": kid, "crit": ["exp"], "exp": now() + 300}),
            "crit naming a header parameter",
        ),
        (
            json!({"alg": "RS256", "kid": kid, "b64": false, "crit": ["b64"]}),
            "b64 false, made critical (RFC 7797)",
        ),
        (
            json!({"alg": "RS256", "kid": kid, "crit": []}),
            "an empty crit",
        ),
        (
            json!({"alg": "RS256", "kid": kid, "crit": null}),
            "a null crit",
        ),
    ];
    for (header, case) in cases {
        // Each token carries a genuine signature by the pool's key: only the header refuses it.
        let token = signed(&main, &header, &claims());
        let answer = app.get_root(Some(&token)).await;
        assert_invalid_token(&answer, CRITICAL, &token, &app, case);
    }
}

#[tokio::test]
async fn a_null_claim_is_a_wrong_type_not_an_absent_claim() {
    let main = key("key-null-8e2a");
    let jwks = JwksServer::with_keys(&[&main]).await;
    let app = spawn_app(&jwks).await;
    // `aud`, `nbf`, `cognito:groups`, `username`, `jti` are optional: absent they pass, so a
    // `null` that counted as absent would be accepted.
    for claim in [
        "iss",
        "token_use",
        "client_id",
        "aud",
        "exp",
        "nbf",
        "iat",
        "sub",
        "scope",
        "cognito:groups",
        "username",
        "jti",
    ] {
        let token = main
            .sign(&with(claims(), claim, Value::Null))
            .expect("sign");
        let answer = app.get_root(Some(&token)).await;
        assert_invalid_token(
            &answer,
            MALFORMED_CLAIMS,
            &token,
            &app,
            &format!("{claim}: null"),
        );
    }
}

/// Checks a 403 for a missing scope, challenging with `scopes`.
fn assert_missing_scope(answer: &Answer, scopes: &str, token: &str, case: &str) {
    let challenge = format!(
        r#"Bearer realm="randapi", error="insufficient_scope", error_description="token lacks a required scope", scope="{scopes}""#
    );
    assert_refusal(
        answer,
        StatusCode::FORBIDDEN,
        "insufficient_scope",
        "token lacks a required scope",
        Some(&challenge),
        &secrets_of(token),
        case,
    );
}

#[tokio::test]
async fn scopes_are_separated_by_u0020_only() {
    let main = key("key-scope-13f7");
    let jwks = JwksServer::with_keys(&[&main]).await;
    let app = spawn_app_with(&jwks, |config| {
        config.policy.required_scopes = vec!["api/read".into()];
    })
    .await;
    let with_scope = |scope: &str| {
        main.sign(&with(claims(), "scope", json!(scope)))
            .expect("sign")
    };

    assert_random_number(
        &app.get_root(Some(&with_scope("openid api/read"))).await,
        "scopes separated by a space",
    );
    for (separator, name) in [
        ("\t", "a tab"),
        ("\n", "a newline"),
        ("\u{0B}", "a vertical tab"),
        ("\u{85}", "NEL"),
        ("\u{A0}", "a no-break space"),
        ("\u{2028}", "a line separator"),
        ("\u{3000}", "an ideographic space"),
    ] {
        let token = with_scope(&format!("openid{separator}api/read"));
        let answer = app.get_root(Some(&token)).await;
        assert_missing_scope(&answer, "api/read", &token, &format!("separated by {name}"));
    }
    app.stop().await;

    // The configured list splits the same way: a tab does not separate two scopes, so a token
    // with one of the two names lacks the one (odd) configured scope.
    let flags = ["--cognito-required-scopes=api/write\tapi/read"];
    let app = TestApp::spawn(config_with_flags(&jwks.url(), &flags)).await;
    let answer = app.get_root(Some(&with_scope("api/read"))).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "body {}", answer.body);
    assert_eq!(
        answer.json(),
        json!({"error": "insufficient_scope", "message": "token lacks a required scope"})
    );
}

/// A JWK for `kid` whose modulus is `bytes` long (top bit set): a size test needs no private key.
fn rsa_jwk(kid: &str, bytes: usize) -> Value {
    let mut n = vec![0xB7_u8; bytes];
    n[0] = 0xC1;
    json!({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "e": "AQAB", "n": b64(n)})
}

#[tokio::test]
async fn jwks_keys_under_2048_or_over_8192_bits_are_not_used() {
    let main = key("key-size-main");
    let (small, large) = ("key-1024-bits", "key-8200-bits");
    let document = json!({"keys": [main.jwk(), rsa_jwk(small, 128), rsa_jwk(large, 1025)]});
    let jwks = JwksServer::start(Behaviour::Keys(document)).await;
    let app = spawn_app(&jwks).await;

    assert_random_number(&app.get_root(Some(&token(&main))).await, "the 2048-bit key");
    // A key that was kept would check the signature ("signature is invalid"); a skipped one is
    // not found. And the lookup of an unknown kid may refetch, which finds the same set.
    for kid in [small, large] {
        let token = token_with_kid(&main, kid);
        let answer = app.get_root(Some(&token)).await;
        assert_ne!(answer.json()["message"], BAD_SIGNATURE, "{kid}");
        assert_invalid_token(&answer, UNKNOWN_KEY, &token, &app, kid);
    }
    app.stop().await;

    // A set with nothing but unusable sizes is a failed fetch: no keys, 503.
    let only_small =
        JwksServer::start(Behaviour::Keys(json!({"keys": [rsa_jwk(small, 128)]}))).await;
    let app = spawn_app(&only_small).await;
    let token = token_with_kid(&main, small);
    let answer = app.get_root(Some(&token)).await;
    assert_keys_unavailable(&answer, &token, &app, "a JWKS of a 1024-bit key only");
}
