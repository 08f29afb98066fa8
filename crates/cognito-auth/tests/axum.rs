//! The layer on an axum `Router` (feature `axum`): the extractors get the claims behind it, and
//! fail closed on a route without it.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use cognito_auth::local_issuer::LocalIssuer;
use cognito_auth::{AccessTokenClaims, Authenticator, CognitoAuthLayer};
use http::{Request, StatusCode, header};
use tower::ServiceExt;

async fn sub(claims: AccessTokenClaims) -> String {
    claims.sub
}

async fn maybe(claims: Option<AccessTokenClaims>) -> &'static str {
    if claims.is_some() {
        "someone"
    } else {
        "nobody"
    }
}

async fn call(app: &Router, path: &str, token: Option<&str>) -> (StatusCode, String) {
    let mut request = Request::get(path);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let answer = app
        .clone()
        .oneshot(request.body(Body::empty()).expect("request"))
        .await
        .expect("answer");
    let status = answer.status();
    let body = axum::body::to_bytes(answer.into_body(), 1 << 16)
        .await
        .expect("body");
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn the_extractors_see_the_claims_behind_the_layer_and_refuse_without_it() {
    let issuer = LocalIssuer::start("client-a").await.expect("issuer");
    let auth = Arc::new(
        Authenticator::builder([issuer.pool()])
            .realm("api")
            .build()
            .expect("authenticator"),
    );
    let app = Router::new()
        .route("/", get(sub))
        .route_layer(CognitoAuthLayer::new(auth))
        .route("/open", get(sub))
        .route("/maybe", get(maybe));
    let token = issuer.access_token().expect("token");

    assert_eq!(
        call(&app, "/", Some(&token)).await,
        (
            StatusCode::OK,
            "7c9e6679-7425-40de-944b-e07fc1f90ae7".into()
        )
    );
    let (status, body) = call(&app, "/", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("missing bearer token"), "{body}");
    // A route outside the layer: the extractor refuses even with a valid token (fails closed),
    // and the optional extractor sees nobody.
    assert_eq!(
        call(&app, "/open", Some(&token)).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(&app, "/maybe", Some(&token)).await,
        (StatusCode::OK, "nobody".into())
    );
}
