//! The crate from the outside, as a stranger uses it: a tower service behind the layer (no axum),
//! local issuers for the pools, an observer that counts.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cognito_auth::local_issuer::LocalIssuer;
use cognito_auth::{
    AuthError, AuthObserver, AuthOutcome, Authenticator, BuildError, CognitoAuthLayer,
    REFUSAL_CODE_COUNT, UserPool, VerifiedClaims,
};
use http::{Request, Response, StatusCode, header};
use serde_json::json;
use tower::{Layer, Service, ServiceExt};

/// Counts what the authenticator tells it.
#[derive(Default)]
struct Counts {
    refused: [AtomicU64; REFUSAL_CODE_COUNT],
    hits: AtomicU64,
    misses: AtomicU64,
    fetched: AtomicU64,
}

impl AuthObserver for Counts {
    fn refused(&self, error: &AuthError) {
        self.refused[error.refusal_index()].fetch_add(1, Ordering::Relaxed);
    }
    fn token_cache_lookup(&self, hit: bool) {
        let counter = if hit { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
    }
    fn jwks_fetched(&self, ok: bool) {
        assert!(ok, "a fetch of a local issuer failed");
        self.fetched.fetch_add(1, Ordering::Relaxed);
    }
}

impl Counts {
    fn refused(&self, code: &str) -> u64 {
        cognito_auth::refusal_codes()
            .position(|c| c == code)
            .map_or(0, |i| self.refused[i].load(Ordering::Relaxed))
    }
}

/// A service that answers the `sub` the layer handed it.
async fn whoami(request: Request<String>) -> Result<Response<String>, Infallible> {
    let sub = request
        .extensions()
        .get::<VerifiedClaims>()
        .map_or("nobody".to_owned(), |claims| claims.sub.clone());
    Ok(Response::new(sub))
}

/// `service`'s answer to a request with `Authorization: Bearer <token>`, or without the header.
async fn get<S>(service: &mut S, token: Option<&str>) -> Response<String>
where
    S: Service<Request<String>, Response = Response<String>, Error = Infallible>,
{
    let mut request = Request::new(String::new());
    if let Some(token) = token {
        request.headers_mut().insert(
            header::AUTHORIZATION,
            format!("Bearer {token}").parse().expect("header"),
        );
    }
    let ready = service.ready().await.expect("ready");
    ready.call(request).await.expect("answer")
}

#[tokio::test]
async fn the_layer_admits_refuses_and_tells_the_observer() {
    let issuer = LocalIssuer::start("client-a").await.expect("issuer");
    let counts = Arc::new(Counts::default());
    let auth = Arc::new(
        Authenticator::builder([issuer.pool()])
            .observer(counts.clone())
            .build()
            .expect("authenticator"),
    );
    auth.hydrate().await.expect("keys");
    let mut service = CognitoAuthLayer::new(auth.clone()).layer(tower::service_fn(whoami));
    let token = issuer.access_token().expect("token");

    for _ in 0..3 {
        let answer = get(&mut service, Some(&token)).await;
        assert_eq!(answer.status(), StatusCode::OK);
        assert_eq!(answer.body(), "7c9e6679-7425-40de-944b-e07fc1f90ae7");
        assert!(matches!(
            answer.extensions().get::<AuthOutcome>(),
            Some(AuthOutcome::Verified(_))
        ));
    }
    let missing = get(&mut service, None).await;
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(missing.headers()[header::WWW_AUTHENTICATE], "Bearer");
    assert_eq!(
        missing.body(),
        r#"{"error":"unauthorized","message":"missing bearer token"}"#
    );

    let mut expired = issuer.claims();
    expired["exp"] = json!(1);
    let expired = issuer.key().sign(&expired).expect("sign");
    let answer = get(&mut service, Some(&expired)).await;
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        answer
            .extensions()
            .get::<AuthOutcome>()
            .and_then(AuthOutcome::reason),
        Some("token expired")
    );

    assert_eq!(counts.refused("MissingToken"), 1);
    assert_eq!(counts.refused("Expired"), 1);
    assert_eq!(counts.fetched.load(Ordering::Relaxed), 1);
    // The first valid request missed and verified; the two after it were hits. The expired
    // token missed (failures are never cached).
    assert_eq!(counts.hits.load(Ordering::Relaxed), 2);
    assert_eq!(counts.misses.load(Ordering::Relaxed), 2);
    assert_eq!(auth.token_cache_len(), 1);
}

#[tokio::test]
async fn hydrate_warms_every_pool_once_and_names_a_failed_one() {
    let first = LocalIssuer::start("client-a").await.expect("issuer");
    let second = LocalIssuer::start("client-b").await.expect("issuer");
    let auth = Authenticator::builder([first.pool(), second.pool()])
        .build()
        .expect("authenticator");
    auth.hydrate().await.expect("both pools");
    auth.hydrate().await.expect("again");
    let fetches: Vec<u64> = auth.jwks().iter().map(|c| c.fetch_count()).collect();
    assert_eq!(fetches, [1, 1], "hydrate fetched a pool that had its keys");
    for issuer in [&first, &second] {
        let claims = auth
            .verify(&issuer.access_token().expect("token"))
            .await
            .expect("valid");
        assert_eq!(&claims.client_id, &issuer.pool().client_ids[0]);
    }

    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a port")
        .port();
    let down = UserPool {
        issuer: "http://127.0.0.1/down".into(),
        jwks_url: format!("http://127.0.0.1:{closed}/jwks.json")
            .parse()
            .expect("url"),
        client_ids: vec!["client-c".into()],
    };
    let auth = Authenticator::builder([first.pool(), down])
        .build()
        .expect("authenticator");
    let error = auth.hydrate().await.expect_err("a pool is down");
    assert_eq!(error.issuer, "http://127.0.0.1/down");
    assert!(error.cause.contains("Connection refused"), "{error}");
    // The pool that is up was warmed all the same.
    assert!(auth.jwks()[0].key_set_age().is_some());
}

#[tokio::test]
async fn a_custom_check_refuses_with_its_own_reason() {
    let issuer = LocalIssuer::start("client-a").await.expect("issuer");
    let auth = Authenticator::builder([issuer.pool()])
        .custom_check(|token| match token.claim::<String>("custom:tenant") {
            Some(tenant) if tenant == "acme" => Ok(()),
            _ => Err("tenant not allowed"),
        })
        .build()
        .expect("authenticator");
    let mut claims = issuer.claims();
    claims["custom:tenant"] = json!("acme");
    let acme = issuer.key().sign(&claims).expect("sign");
    assert!(auth.verify(&acme).await.is_ok());
    let other = issuer.access_token().expect("token");
    let refused = auth.verify(&other).await.expect_err("no tenant");
    assert_eq!(refused, AuthError::CustomCheck("tenant not allowed"));
    let answer: Response<String> = refused.to_response(Some("api"));
    assert_eq!(
        answer.headers()[header::WWW_AUTHENTICATE],
        r#"Bearer realm="api", error="invalid_token", error_description="tenant not allowed""#
    );
}

#[test]
fn a_pool_list_that_cannot_select_a_pool_is_refused() {
    let pool = |issuer: &str, clients: &[&str]| UserPool {
        issuer: issuer.into(),
        jwks_url: cognito_auth::jwks_url(issuer).parse().expect("url"),
        client_ids: clients.iter().map(|c| (*c).to_owned()).collect(),
    };
    let build = |pools: Vec<UserPool>| Authenticator::builder(pools).build().err();
    assert!(matches!(build(vec![]), Some(BuildError::NoPool)));
    assert!(matches!(
        build(vec![
            pool("https://a.example", &["x"]),
            pool("https://a.example", &["y"])
        ]),
        Some(BuildError::DuplicateIssuer)
    ));
    assert!(matches!(
        build(vec![pool("https://a.example", &[])]),
        Some(BuildError::NoClientId)
    ));
}
