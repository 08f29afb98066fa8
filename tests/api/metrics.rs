//! The real binary's CloudWatch metrics: EMF lines on stdout, counted per interval.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Map, Value};

use crate::common::*;

/// The EMF specification's required structure, and our namespace and dimension.
fn check_emf(line: &Map<String, Value>) {
    let aws = line["_aws"].as_object().expect("_aws is an object");
    assert!(
        aws["Timestamp"]
            .as_u64()
            .is_some_and(|ms| ms > 1_600_000_000_000),
        "Timestamp is not epoch milliseconds: {line:?}"
    );
    let directives = aws["CloudWatchMetrics"].as_array().expect("an array");
    assert_eq!(directives.len(), 1);
    let directive = &directives[0];
    assert_eq!(directive["Namespace"], "randapi");
    assert_eq!(directive["Dimensions"], serde_json::json!([["Service"]]));
    assert_eq!(line["Service"], "randapi");
    for metric in directive["Metrics"].as_array().expect("Metrics") {
        let name = metric["Name"].as_str().expect("Name");
        assert!(
            ["Count", "Bytes", "Seconds"].contains(&metric["Unit"].as_str().expect("Unit")),
            "{metric}"
        );
        assert!(line[name].is_number(), "{name} is not a root number");
    }
}

#[tokio::test]
async fn the_binary_writes_emf_lines_that_count_what_happened() {
    let main = key("key-metrics");
    let jwks = JwksServer::with_keys(&[&main]).await;
    let (mut child, port, lines) = randapi_with_stdout(&jwks.url(), &[("METRICS_INTERVAL", "1s")]);

    let base = format!("http://127.0.0.1:{port}");
    let client = http_client();
    let valid = token(&main);
    eventually_authorized(&client, &base, &valid).await;
    for _ in 0..3 {
        let answer = client
            .get(format!("{base}/"))
            .bearer_auth(&valid)
            .send()
            .await
            .expect("answer");
        assert_eq!(answer.status(), StatusCode::OK);
    }
    let expired = main
        .sign(&with(claims(), "exp", serde_json::json!(1)))
        .expect("sign");
    let refused = [
        client.get(format!("{base}/")).bearer_auth(&expired),
        client.get(format!("{base}/")),
    ];
    for request in refused {
        let answer = request.send().await.expect("answer");
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    }
    // Two intervals: the counts above are all in lines by then.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    send_signal(&child, "TERM");
    assert_eq!(exit_status(&mut child).await.code(), Some(0));
    let lines = lines.await.expect("stdout");

    let emf: Vec<Map<String, Value>> = lines
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|value| match value {
            Value::Object(map) if map.contains_key("_aws") => Some(map),
            _ => None,
        })
        .collect();
    assert!(emf.len() >= 2, "fewer than two metrics lines: {lines:?}");
    for line in &emf {
        check_emf(line);
    }
    let sum = |name: &str| -> u64 { emf.iter().filter_map(|l| l.get(name)?.as_u64()).sum() };
    let (requests, ok, client_errors, server_errors) = (
        sum("Requests"),
        sum("Responses2xx"),
        sum("Responses4xx"),
        sum("Responses5xx"),
    );
    // Every request answered is counted once, in one class.
    assert!(ok >= 4, "{ok} 2xx");
    assert_eq!(client_errors, 2);
    // A 503 can only be a request that came before the first key fetch finished.
    assert_eq!(server_errors, sum("Refused_KeysUnavailable"));
    assert_eq!(requests, ok + client_errors + server_errors);
    assert_eq!(sum("Refused_Expired"), 1);
    assert_eq!(sum("Refused_MissingToken"), 1);
    assert_eq!(sum("JwksFetchOk"), 1);
    assert_eq!(sum("JwksFetchFailures"), 0);
    // The first valid request verified the token; the three after it were cache hits. The
    // expired token was looked up and missed.
    assert!(sum("TokenCacheHits") >= 3, "{emf:?}");
    assert!(sum("TokenCacheMisses") >= 1, "{emf:?}");
    let last = emf.last().expect("a line");
    assert_eq!(last["TokenCacheSize"], 1);
    assert!(last["TokenCacheBytes"].as_u64().is_some_and(|b| b > 0));
    assert!(last["KeySetAgeSeconds"].as_u64().is_some_and(|s| s < 60));
    // The serve loop's count; the test's keep-alive client may still hold a connection.
    assert!(
        last["OpenConnections"].as_u64().is_some_and(|n| n <= 2),
        "{last:?}"
    );
}

/// The EMF lines of a finished binary's stdout.
fn emf_lines(lines: &[String]) -> Vec<Map<String, Value>> {
    lines
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|value| match value {
            Value::Object(map) if map.contains_key("_aws") => Some(map),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn key_trouble_is_counted_apart_from_an_outage_on_every_line() {
    let main = key("key-split");
    // Down from the start: a cold start with no key set.
    let jwks = JwksServer::start(Behaviour::Status(503)).await;
    let (mut child, port, lines) = randapi_with_stdout(
        &jwks.url(),
        &[("METRICS_INTERVAL", "1s"), ("JWKS_COOLDOWN", "100ms")],
    );
    crate::common::raw::wait_until_serving(port).await;
    let base = format!("http://127.0.0.1:{port}");
    let client = http_client();
    let get = |token: String| {
        let request = client.get(format!("{base}/")).bearer_auth(token);
        async move { request.send().await.expect("answer").status() }
    };

    // No usable key set at all: every token fails, an outage.
    let mut no_key_set = 0;
    for _ in 0..2 {
        assert_eq!(get(token(&main)).await, StatusCode::SERVICE_UNAVAILABLE);
        no_key_set += 1;
    }
    // The JWKS comes back; the background retries (one per cooldown) fetch it.
    jwks.serve_keys(&[&main]);
    loop {
        match get(token(&main)).await {
            StatusCode::OK => break,
            StatusCode::SERVICE_UNAVAILABLE => no_key_set += 1,
            other => panic!("unexpected {other}"),
        }
        pass(Duration::from_millis(50)).await;
        assert!(no_key_set < 100, "the keys never came back");
    }
    // Down again, with keys known: a kid not in the set cannot be learned now.
    jwks.set(Behaviour::Status(500));
    pass(Duration::from_millis(150)).await;
    for _ in 0..3 {
        assert_eq!(
            get(token_with_kid(&main, "key-rotated-in")).await,
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
    // Known keys still serve.
    assert_eq!(get(token(&main)).await, StatusCode::OK);

    // Two intervals: the counts above are all in lines by then.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    send_signal(&child, "TERM");
    assert_eq!(exit_status(&mut child).await.code(), Some(0));
    let lines = lines.await.expect("stdout");
    let emf = emf_lines(&lines);
    assert!(emf.len() >= 2, "fewer than two metrics lines: {lines:?}");
    for line in &emf {
        check_emf(line);
        // On every line, 0 included: a missing line means the service is down.
        for name in ["KeySetUnavailable", "UnknownKeyWhileJwksDown"] {
            assert!(line[name].is_u64(), "{name} missing from {line:?}");
        }
    }
    let sum = |name: &str| -> u64 { emf.iter().filter_map(|l| l.get(name)?.as_u64()).sum() };
    assert_eq!(sum("KeySetUnavailable"), no_key_set);
    assert_eq!(sum("UnknownKeyWhileJwksDown"), 3);
    assert_eq!(sum("Refused_KeysUnavailable"), no_key_set + 3);
    assert_eq!(sum("Responses503"), no_key_set + 3);
}
