//! Every row of the README's "Answers" table, through the real server.

use std::time::Duration;

use randapi::config::CorsOrigins;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::*;

const BARE_CHALLENGE: &str = r#"Bearer realm="randapi""#;

#[tokio::test]
async fn a_valid_access_token_gets_a_random_number_as_json() {
    let (key, _jwks, app) = spawn_app_with_key("key-valid").await;

    let answer = app.get_root(Some(&token(&key))).await;

    assert_random_number(&answer, "a valid token");
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    app.stop().await;
}

#[tokio::test]
async fn health_answers_without_a_token_and_makes_no_jwks_request() {
    let known = key("key-health");
    let jwks = JwksServer::with_keys(&[&known]).await;
    let app = spawn_app_with(&jwks, |config| {
        config.jwks.cooldown = Duration::from_millis(100)
    })
    .await;
    jwks.wait_for_requests(1).await; // the fetch at start
    pass(Duration::from_millis(150)).await; // past the cooldown: a key lookup could fetch now

    for _ in 0..10 {
        let answer = app.get("/health").await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        assert_eq!(answer.json(), json!({"status": "ok"}));
    }
    assert_eq!(jwks.requests(), 1, "/health made a JWKS request");

    // Control: a request that does need a key lookup is seen by the same counter.
    let unknown = token_with_kid(&known, "key-unknown");
    let answer = app.get_root(Some(&unknown)).await;
    assert_invalid_token(&answer, "signing key not found", &unknown, &app, "control");
    assert_eq!(jwks.requests(), 2, "the control fetch was not counted");
}

#[tokio::test]
async fn health_answers_while_the_jwks_hangs() {
    let jwks = JwksServer::start(Behaviour::Hang).await;
    let app = spawn_app(&jwks).await;
    jwks.wait_for_requests(1).await; // the start-up fetch is now stuck

    let answer = app.get("/health").await;

    assert_eq!(answer.status, StatusCode::OK);
}

#[tokio::test]
async fn requests_without_bearer_credentials_get_a_bare_challenge() {
    let (_key, _jwks, app) = spawn_app_with_key("key-bare").await;

    let cases: [(&[&str], &str); 5] = [
        (&[], "no Authorization header"),
        (&["Basic x"], "Basic x"),
        (&["Basic dXNlcjpwYXNzd29yZA=="], "Basic credentials"),
        (
            &["Negotiate YIIBhwYGKwYBBQUCoIIBezCCAXeg"],
            "another scheme",
        ),
        (&["Token abc"], "an unknown scheme"),
    ];
    for (values, case) in cases {
        let answer = app.get_with_authorization("/", values).await;
        let secrets: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        assert_refusal(
            &answer,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing bearer token",
            Some(BARE_CHALLENGE),
            &secrets,
            case,
        );
    }
}

#[tokio::test]
async fn malformed_authorization_headers_are_invalid_requests() {
    let (key, _jwks, app) = spawn_app_with_key("key-malformed").await;
    let good = token(&key);
    let two_tokens = format!("Bearer {good} {good}");
    let bearer_good = format!("Bearer {good}");

    let cases: Vec<(Vec<&str>, &str, &str)> = vec![
        (vec!["Bearer"], "bearer token missing", "Bearer alone"),
        (
            vec!["Bearer a b"],
            "more than one bearer token",
            "Bearer a b",
        ),
        (
            vec![&two_tokens],
            "more than one bearer token",
            "two valid tokens in one header",
        ),
        (
            vec![&bearer_good, &bearer_good],
            "more than one Authorization header",
            "two Authorization headers",
        ),
    ];
    for (values, reason, case) in cases {
        let answer = app.get_with_authorization("/", &values).await;
        assert_refusal(
            &answer,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            reason,
            Some(&format!(
                r#"Bearer realm="randapi", error="invalid_request", error_description="{reason}""#
            )),
            &secrets_of(&good),
            case,
        );
    }
}

#[tokio::test]
async fn an_authorization_header_that_is_not_text_is_an_invalid_request() {
    let (_key, _jwks, app) = spawn_app_with_key("key-obs-text").await;
    let mut headers = HeaderMap::new();
    headers.insert(
        "authorization",
        HeaderValue::from_bytes(b"Bearer \xff\xfe.token").expect("obs-text is allowed on the wire"),
    );

    let answer = app.request(Method::GET, "/", headers).await;

    let reason = "malformed Authorization header";
    assert_refusal(
        &answer,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        reason,
        Some(&format!(
            r#"Bearer realm="randapi", error="invalid_request", error_description="{reason}""#
        )),
        &[],
        "a header with non-ASCII bytes",
    );
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let (key, _jwks, app) = spawn_app_with_key("key-case").await;
    let token = token(&key);

    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let answer = app
            .get_with_authorization("/", &[&format!("{scheme} {token}")])
            .await;
        assert_random_number(&answer, scheme);
    }
}

#[tokio::test]
async fn a_token_without_a_required_scope_or_group_is_forbidden() {
    let key = key("key-scope");
    let jwks = JwksServer::with_keys(&[&key]).await;
    let app = spawn_app_with(&jwks, |config| {
        config.policy.required_scopes = vec!["api/read".into(), "api/admin".into()];
        config.policy.required_groups = vec!["admins".into()];
    })
    .await;
    let scope_challenge = r#"Bearer realm="randapi", error="insufficient_scope", error_description="token lacks a required scope", scope="api/read api/admin""#;
    let group_challenge = r#"Bearer realm="randapi", error="insufficient_scope", error_description="user is not in a required group", scope="api/read api/admin""#;

    let cases = [
        (
            with(
                with(claims(), "scope", json!("api/write openid")),
                "cognito:groups",
                json!(["admins"]),
            ),
            Some(("token lacks a required scope", scope_challenge)),
            "another scope",
        ),
        (
            with(
                without(claims(), "scope"),
                "cognito:groups",
                json!(["admins"]),
            ),
            Some(("token lacks a required scope", scope_challenge)),
            "no scope claim",
        ),
        (
            with(
                with(claims(), "scope", json!("openid api/read")),
                "cognito:groups",
                json!(["readers", "editors-admins"]),
            ),
            Some(("user is not in a required group", group_challenge)),
            "other groups",
        ),
        (
            with(claims(), "scope", json!("api/read")),
            Some(("user is not in a required group", group_challenge)),
            "no cognito:groups claim",
        ),
        (
            with(
                with(claims(), "scope", json!("openid api/admin")),
                "cognito:groups",
                json!(["readers", "admins"]),
            ),
            None,
            "one required scope and one required group",
        ),
    ];
    for (claims, refusal, case) in cases {
        let token = key.sign(&claims).expect("sign");
        let answer = app.get_root(Some(&token)).await;
        match refusal {
            Some((reason, challenge)) => {
                let secrets = secrets_of(&token);
                assert_refusal(
                    &answer,
                    StatusCode::FORBIDDEN,
                    "insufficient_scope",
                    reason,
                    Some(challenge),
                    &secrets,
                    case,
                );
            }
            None => {
                assert_random_number(&answer, case);
            }
        }
    }
}

fn preflight(origin: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("origin", HeaderValue::from_str(origin).expect("origin"));
    headers.insert(
        "access-control-request-method",
        HeaderValue::from_static("GET"),
    );
    headers.insert(
        "access-control-request-headers",
        HeaderValue::from_static("authorization"),
    );
    headers
}

fn allowed_headers(answer: &Answer) -> Vec<String> {
    answer
        .header("access-control-allow-headers")
        .unwrap_or_default()
        .split(',')
        .map(|h| h.trim().to_ascii_lowercase())
        .collect()
}

#[tokio::test]
async fn preflight_requests_pass_without_a_token_and_allow_the_authorization_header() {
    let (_key, _jwks, app) = spawn_app_with_key("key-cors").await;

    for path in ["/", "/health", "/no/such/path"] {
        let answer = app
            .request(Method::OPTIONS, path, preflight("https://app.example.com"))
            .await;
        assert!(
            answer.status.is_success(),
            "preflight on {path}: {}",
            answer.status
        );
        // By name: the Fetch standard does not let `*` cover `authorization`.
        assert!(
            allowed_headers(&answer).contains(&"authorization".to_owned()),
            "preflight on {path} allows {:?}",
            answer.header("access-control-allow-headers")
        );
        assert!(
            answer.header("access-control-allow-origin").is_some(),
            "preflight on {path} has no Access-Control-Allow-Origin"
        );
    }
}

#[tokio::test]
async fn only_configured_origins_get_cors_headers() {
    let key = key("key-origins");
    let jwks = JwksServer::with_keys(&[&key]).await;
    let app = spawn_app_with(&jwks, |config| {
        config.cors = CorsOrigins::List(vec![
            "https://app.example.com".into(),
            "http://localhost:5173".into(),
        ])
    })
    .await;
    let token = token(&key);

    let cases = [
        ("https://app.example.com", true),
        ("http://localhost:5173", true),
        ("https://evil.example.com", false),
        ("https://app.example.com.evil.example", false),
        ("http://app.example.com", false),
    ];
    for (origin, allowed) in cases {
        let preflight = app.request(Method::OPTIONS, "/", preflight(origin)).await;
        assert!(preflight.status.is_success(), "preflight from {origin}");

        let mut headers = HeaderMap::new();
        headers.insert("origin", HeaderValue::from_str(origin).expect("origin"));
        headers.insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {token}")).expect("header"),
        );
        let get = app.request(Method::GET, "/", headers).await;
        assert_random_number(&get, origin);

        for (answer, kind) in [(&preflight, "preflight"), (&get, "GET")] {
            let allow_origin = answer.header("access-control-allow-origin");
            if allowed {
                assert_eq!(allow_origin, Some(origin), "{kind} from allowed {origin}");
            } else {
                assert_eq!(allow_origin, None, "{kind} from disallowed {origin}");
            }
        }
    }
}

#[tokio::test]
async fn request_headers_over_16_kib_are_refused_with_431() {
    let (key, _jwks, app) = spawn_app_with_key("key-431").await;
    let token = token(&key);
    let with_padding = |sizes: &[usize]| {
        let mut headers = HeaderMap::new();
        headers.insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {token}")).expect("header"),
        );
        for (i, size) in sizes.iter().enumerate() {
            headers.insert(
                HeaderName::from_bytes(format!("x-padding-{i}").as_bytes()).expect("name"),
                HeaderValue::from_str(&"a".repeat(*size)).expect("value"),
            );
        }
        headers
    };

    // Control: just under the limit is served.
    let under = app
        .request(Method::GET, "/", with_padding(&[12 * 1024]))
        .await;
    assert_random_number(&under, "headers of about 13 KiB");

    for (sizes, case) in [
        (vec![17 * 1024], "one 17 KiB header"),
        (vec![4 * 1024; 5], "five 4 KiB headers"),
        (vec![64 * 1024], "one 64 KiB header"),
    ] {
        let answer = app.request(Method::GET, "/", with_padding(&sizes)).await;
        assert_eq!(
            answer.status,
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "{case}"
        );
        assert_no_leak(&answer, &secrets_of(&token), case);
    }
}

#[tokio::test]
async fn an_unknown_path_is_404_without_asking_for_a_token() {
    let (key, _jwks, app) = spawn_app_with_key("key-404").await;

    for (path, token) in [
        ("/nope", None),
        ("/api/random", None),
        // The --dev issuer's routes exist only with --dev.
        ("/dev/token", None),
        ("/dev/.well-known/jwks.json", None),
        ("/nope", Some(token(&key))),
    ] {
        let answer = match &token {
            Some(token) => {
                app.get_with_authorization(path, &[&format!("Bearer {token}")])
                    .await
            }
            None => app.get(path).await,
        };
        assert_refusal(
            &answer,
            StatusCode::NOT_FOUND,
            "not_found",
            "no such route",
            None,
            &token.as_deref().map(secrets_of).unwrap_or_default(),
            path,
        );
    }
}

#[tokio::test]
async fn no_usable_keys_is_503_with_retry_after() {
    let key = key("key-503");
    let jwks = JwksServer::start(Behaviour::Status(500)).await;
    let app = spawn_app(&jwks).await;
    let token = token(&key);

    let answer = app.get_root(Some(&token)).await;

    assert_keys_unavailable(&answer, &token, &app, "JWKS answering 500 at start");
}

#[tokio::test]
async fn error_answers_carry_cors_headers_so_browsers_can_read_them() {
    let key = key("key-cors-errors");
    let jwks = JwksServer::with_keys(&[&key]).await;
    let app = spawn_app_with(&jwks, |config| {
        config.cors = CorsOrigins::List(vec!["https://app.example.com".into()])
    })
    .await;
    let mut headers = HeaderMap::new();
    headers.insert(
        "origin",
        HeaderValue::from_static("https://app.example.com"),
    );

    let answer = app.request(Method::GET, "/", headers).await;

    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        answer.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    let exposed = answer
        .header("access-control-expose-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(exposed.contains("www-authenticate"), "exposes {exposed:?}");
}

#[tokio::test]
async fn a_request_that_outlives_the_request_timeout_gets_a_json_503() {
    let key = key("key-timeout");
    let jwks = JwksServer::start(Behaviour::Hang).await;
    let app = spawn_app_with(&jwks, |config| {
        config.jwks.fetch_timeout = Duration::from_secs(5);
        config.request_timeout = Duration::from_millis(300);
    })
    .await;
    let token = token(&key);

    // A bound for hangs, not a speed check: far above the 300 ms request timeout.
    let answer = tokio::time::timeout(Duration::from_secs(4), app.get_root(Some(&token)))
        .await
        .expect("the request timeout ended the request");

    assert_refusal(
        &answer,
        StatusCode::SERVICE_UNAVAILABLE,
        "timeout",
        "the request took too long; try again",
        None,
        &secrets_of(&token),
        "a request past REQUEST_TIMEOUT",
    );
}
