//! Several user pools in one server (`COGNITO_EXTRA_POOLS`): the token's `iss` picks the pool,
//! each pool has its own JWKS (here two local servers) and its own app clients.

use reqwest::StatusCode;
use serde_json::json;

use crate::common::*;

const SECOND_ISSUER: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_SecondPool";
const SECOND_CLIENT: &str = "secondpoolclient9x";

#[tokio::test]
async fn each_pool_accepts_its_own_tokens_with_its_own_keys_and_clients() {
    let first_key = key("key-first-pool");
    let second_key = key("key-second-pool");
    let first = JwksServer::with_keys(&[&first_key]).await;
    let second = JwksServer::with_keys(&[&second_key]).await;
    let pools = json!([{
        "issuer": SECOND_ISSUER,
        "jwksUrl": second.url(),
        "clientIds": [SECOND_CLIENT],
    }]);
    let app = TestApp::spawn(config_with_flags(
        &first.url(),
        &[&format!("--cognito-extra-pools={pools}")],
    ))
    .await;
    let second_claims = || {
        with(
            with(claims(), "iss", json!(SECOND_ISSUER)),
            "client_id",
            json!(SECOND_CLIENT),
        )
    };

    assert_random_number(
        &app.get_root(Some(&token(&first_key))).await,
        "a token of the first pool",
    );
    let answer = app
        .get_root(Some(&second_key.sign(&second_claims()).expect("sign")))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    // Both key sets were warmed at start, once each.
    assert_eq!((first.requests(), second.requests()), (1, 1));

    let refusals = [
        (
            second_key
                .sign(&with(second_claims(), "client_id", json!(CLIENT_ID)))
                .expect("sign"),
            "client_id not allowed",
            "the first pool's client in a token of the second",
        ),
        (
            first_key
                .sign(&with(claims(), "client_id", json!(SECOND_CLIENT)))
                .expect("sign"),
            "client_id not allowed",
            "the second pool's client in a token of the first",
        ),
        (
            first_key.sign(&second_claims()).expect("sign"),
            "signing key not found",
            "the first pool's key under the second pool's iss",
        ),
        (
            signed(&second_key, &header(first_key.kid()), &claims()),
            "signature is invalid",
            "the second pool's key under the first pool's iss and kid",
        ),
        (
            first_key
                .sign(&with(
                    claims(),
                    "iss",
                    json!("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_NoSuchPool"),
                ))
                .expect("sign"),
            "issuer not allowed",
            "an iss of neither pool",
        ),
    ];
    for (token, reason, case) in &refusals {
        assert_invalid_token(&app.get_root(Some(token)).await, reason, token, &app, case);
    }
    // Within the cooldown: the unknown kid made no refetch, nor did the foreign iss (a known kid).
    assert_eq!((first.requests(), second.requests()), (1, 1));
}
