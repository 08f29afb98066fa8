//! The answers the application makes itself at the edge: the `Host` rule, 405 and 404, each with
//! the JSON error body and the CORS headers. Raw sockets, because HTTP clients always send one
//! well-formed `Host`.

use randapi::config::CorsOrigins;
use serde_json::{Value, json};
use tokio::net::TcpStream;

use crate::common::raw::{RawAnswer, exchange};
use crate::common::*;

const ORIGIN: &str = "https://app.example.com";

async fn send(app: &TestApp, request: &str) -> RawAnswer {
    let addr = app.base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    exchange(&mut stream, request.as_bytes())
        .await
        .unwrap_or_else(|e| panic!("no answer to {request:?}: {e}"))
}

fn assert_json_error(answer: &RawAnswer, status: u16, error: &str, case: &str) -> Value {
    assert_eq!(answer.status, status, "{case}: {answer:?}");
    assert!(
        answer
            .header("content-type")
            .is_some_and(|v| v.starts_with("application/json")),
        "{case}: content-type {:?}",
        answer.header("content-type")
    );
    let body: Value = serde_json::from_str(&answer.body)
        .unwrap_or_else(|e| panic!("{case}: body is not JSON ({e}): {:?}", answer.body));
    assert_eq!(body["error"], error, "{case}: {body}");
    assert!(body["message"].is_string(), "{case}: {body}");
    assert_eq!(body.as_object().map(|o| o.len()), Some(2), "{case}: {body}");
    assert_eq!(
        answer.header("access-control-allow-origin"),
        Some(ORIGIN),
        "{case}: CORS"
    );
    assert_nosniff(answer, case);
    body
}

// Every answer, the application's own refusals included, tells browsers not to sniff its type.
fn assert_nosniff(answer: &RawAnswer, case: &str) {
    assert_eq!(
        answer.header("x-content-type-options"),
        Some("nosniff"),
        "{case}: {answer:?}"
    );
}

#[tokio::test]
async fn http_1_1_requests_need_exactly_one_valid_host() {
    let key = key("key-host");
    let jwks = JwksServer::with_keys(&[&key]).await;
    let app = spawn_app_with(&jwks, |config| {
        config.cors = CorsOrigins::List(vec![ORIGIN.to_owned()]);
    })
    .await;
    let o = format!("Origin: {ORIGIN}\r\n");

    for (request, case) in [
        (format!("GET /health HTTP/1.1\r\n{o}\r\n"), "no Host"),
        (
            format!("GET /health HTTP/1.1\r\nHost: a.example\r\nHost: a.example\r\n{o}\r\n"),
            "two Host headers",
        ),
        (
            format!("GET /health HTTP/1.1\r\nHost: a b\r\n{o}\r\n"),
            "Host: a b",
        ),
        (
            format!("GET /health HTTP/1.1\r\nHost: user@a.example\r\n{o}\r\n"),
            "Host with userinfo",
        ),
        (
            format!("GET /health HTTP/1.1\r\nHost: a.example:http\r\n{o}\r\n"),
            "Host with a named port",
        ),
        (
            format!("GET /health HTTP/1.1\r\nHost: [::1\r\n{o}\r\n"),
            "unclosed IPv6 literal",
        ),
        (
            format!("GET http://a.example/health HTTP/1.1\r\n{o}\r\n"),
            "absolute form without Host",
        ),
        (
            format!(
                "OPTIONS / HTTP/1.1\r\nHost: a b\r\n{o}Access-Control-Request-Method: GET\r\n\r\n"
            ),
            "preflight with a bad Host",
        ),
    ] {
        let answer = send(&app, &request).await;
        assert_json_error(&answer, 400, "invalid_request", case);
    }

    for (request, case) in [
        ("GET /health HTTP/1.1\r\nHost: a.example\r\n\r\n", "a name"),
        (
            "GET /health HTTP/1.1\r\nHost: a.example:8080\r\n\r\n",
            "name and port",
        ),
        (
            "GET /health HTTP/1.1\r\nHost: 127.0.0.1:3001\r\n\r\n",
            "IPv4 and port",
        ),
        (
            "GET /health HTTP/1.1\r\nHost: [::1]:3001\r\n\r\n",
            "IPv6 and port",
        ),
        ("GET /health HTTP/1.0\r\n\r\n", "HTTP/1.0 without Host"),
        (
            "GET http://other.example/health HTTP/1.1\r\nHost: other.example\r\n\r\n",
            "absolute form",
        ),
    ] {
        let answer = send(&app, request).await;
        assert_eq!(answer.status, 200, "{case}: {answer:?}");
        assert_eq!(
            serde_json::from_str::<Value>(&answer.body).expect("JSON"),
            json!({"status": "ok"}),
            "{case}"
        );
        assert_nosniff(&answer, case);
    }

    // A valid token does not get past a bad Host.
    let request = format!(
        "GET / HTTP/1.1\r\nAuthorization: Bearer {}\r\n{o}\r\n",
        token(&key)
    );
    assert_json_error(
        &send(&app, &request).await,
        400,
        "invalid_request",
        "token, no Host",
    );
    app.stop().await;
}

#[tokio::test]
async fn method_not_allowed_and_not_found_have_json_bodies_cors_and_allow() {
    let key = key("key-405");
    let jwks = JwksServer::with_keys(&[&key]).await;
    let app = spawn_app_with(&jwks, |config| {
        config.cors = CorsOrigins::List(vec![ORIGIN.to_owned()]);
    })
    .await;
    let token = token(&key);
    let o = format!("Origin: {ORIGIN}\r\n");

    for (request, case) in [
        (
            format!("POST /health HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n{o}\r\n"),
            "POST /health",
        ),
        (
            format!("DELETE /openapi.json HTTP/1.1\r\nHost: a\r\n{o}\r\n"),
            "DELETE /openapi.json",
        ),
        (
            format!(
                "POST / HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {token}\r\nContent-Length: 2\r\n{o}\r\n{{}}"
            ),
            "POST / with a valid token",
        ),
    ] {
        let answer = send(&app, &request).await;
        assert_json_error(&answer, 405, "method_not_allowed", case);
        let allow = answer.header("allow").unwrap_or_default();
        assert!(allow.contains("GET"), "{case}: Allow {allow:?}");
        assert!(!answer.body.contains(&token), "{case}: echoes the token");
    }

    // Without a token, `/` asks for one whatever the method.
    let answer = send(
        &app,
        &format!("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n{o}\r\n"),
    )
    .await;
    assert_json_error(&answer, 401, "unauthorized", "POST / without a token");

    let answer = send(&app, &format!("GET /nope HTTP/1.1\r\nHost: a\r\n{o}\r\n")).await;
    assert_json_error(&answer, 404, "not_found", "GET /nope");
    app.stop().await;
}
