//! A runnable axum app behind the layer, against a local issuer (no AWS account needed).
//!
//! ```text
//! cargo run -p cognito-auth --example axum            # serves on 127.0.0.1:3000
//! cargo run -p cognito-auth --example axum -- 8080    # another port
//! ```
//!
//! It prints a `curl` line with a valid token. `GET /` answers the caller's `sub`, `GET /whoami`
//! the verified claims as JSON, `GET /health` needs no token. A token needs the scope
//! `aws.cognito.signin.user.admin` (else 403), and a custom check refuses the tokens whose
//! `custom:tenant` claim is `banned` (401 `tenant not allowed`). With Cognito, replace the local
//! issuer by `UserPool::cognito("<pool id>", ["<app client id>"])?`.

use std::sync::Arc;

use axum::routing::get;
use axum::{Json, Router};
use cognito_auth::local_issuer::LocalIssuer;
use cognito_auth::{AccessTokenClaims, Authenticator, CognitoAuthLayer, TokenPolicy};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = std::env::args()
        .nth(1)
        .map_or(Ok(3000), |p| p.parse())
        .map_err(|_| "usage: axum [port]")?;
    let issuer = LocalIssuer::start("example-client").await?;

    let auth = Arc::new(
        Authenticator::builder([issuer.pool()])
            .policy(TokenPolicy {
                required_scopes: vec!["aws.cognito.signin.user.admin".into()],
                ..TokenPolicy::default()
            })
            // A check of our own, after the built-in ones: tokens of a banned tenant are
            // refused with a fixed reason.
            .custom_check(|token| match token.claim::<String>("custom:tenant") {
                Some(tenant) if tenant == "banned" => Err("tenant not allowed"),
                _ => Ok(()),
            })
            .realm("example")
            .build()?,
    );
    auth.hydrate().await?;
    tokio::spawn(auth.clone().run_refresher());
    tokio::spawn(auth.clone().run_sweeper());

    let app = Router::new()
        .route(
            "/",
            get(|claims: AccessTokenClaims| async move { claims.sub }),
        )
        .route(
            "/whoami",
            get(|claims: AccessTokenClaims| async move { Json(claims) }),
        )
        .route_layer(CognitoAuthLayer::new(auth))
        .route("/health", get(|| async { "ok" }));

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let token = issuer.access_token()?;
    println!(
        "listening on http://{}\n\ncurl -H 'Authorization: Bearer {token}' http://{}/whoami\n",
        listener.local_addr()?,
        listener.local_addr()?
    );
    axum::serve(listener, app).await?;
    Ok(())
}
