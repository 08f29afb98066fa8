//! The real binary's request log: one line per request on stdout, in the JSON layer's shape,
//! none lost by the buffer, `RUST_LOG` deciding, the text format kept.

use std::fmt;

use serde::de::{Deserializer as _, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

use crate::common::*;

/// Requests sent to paths of their own, each of which must have exactly one line.
const DISTINCT_PATHS: usize = 300;

/// The keys of a JSON object, in the order written (serde_json's `Value` sorts them).
fn keys_in_order(line: &str) -> Vec<String> {
    struct Keys;
    impl<'de> Visitor<'de> for Keys {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<String>, A::Error> {
            let mut keys = Vec::new();
            while let Some((key, IgnoredAny)) = map.next_entry::<String, IgnoredAny>()? {
                keys.push(key);
            }
            Ok(keys)
        }
    }
    serde_json::Deserializer::from_str(line)
        .deserialize_map(Keys)
        .expect("a JSON object")
}

/// The binary with `extra` variables, `requests` sent to it after it serves `token`, stopped
/// with SIGTERM: every line it wrote.
async fn lines_of_a_run(extra: &[(&str, &str)], paths: &[String]) -> Vec<String> {
    let main = key("key-request-log");
    let jwks = JwksServer::with_keys(&[&main]).await;
    let (mut child, port, lines) = randapi_with_stdout(&jwks.url(), extra);
    let base = format!("http://127.0.0.1:{port}");
    let client = http_client();
    let valid = token(&main);
    eventually_authorized(&client, &base, &valid).await;
    let expired = main
        .sign(&with(claims(), "exp", serde_json::json!(1)))
        .expect("sign");
    client
        .get(format!("{base}/"))
        .bearer_auth(&expired)
        .send()
        .await
        .expect("answer");
    for path in paths {
        client
            .get(format!("{base}{path}"))
            .bearer_auth(&valid)
            .send()
            .await
            .expect("answer");
    }
    send_signal(&child, "TERM");
    assert_eq!(exit_status(&mut child).await.code(), Some(0));
    lines.await.expect("stdout")
}

/// `line` without the ANSI colour sequences (`ESC [ ... m`) the text layer writes by default.
fn without_colours(line: &str) -> String {
    let mut parts = line.split('\u{1b}');
    let mut plain = parts.next().unwrap_or_default().to_owned();
    for part in parts {
        plain.push_str(part.split_once('m').map_or(part, |(_, rest)| rest));
    }
    plain
}

fn distinct_paths() -> Vec<String> {
    (0..DISTINCT_PATHS)
        .map(|i| format!("/no-such-{i}"))
        .collect()
}

#[tokio::test]
async fn each_request_has_one_json_line_in_the_json_layers_shape() {
    let long = format!("/{}", "l".repeat(400));
    let mut paths = distinct_paths();
    paths.push(long.clone());
    paths.push("/caf%C3%A9/%22q%22?token=secret".to_owned());
    let lines = lines_of_a_run(&[], &paths).await;
    let requests: Vec<(&String, Value)> = lines
        .iter()
        .filter_map(|line| Some((line, serde_json::from_str::<Value>(line).ok()?)))
        .filter(|(_, value)| value["target"] == "randapi::request")
        .collect();

    for (line, value) in &requests {
        let keys = keys_in_order(line);
        let mut expected = vec!["timestamp", "level", "message", "method", "path", "status"];
        expected.push("latency_ms");
        if value.get("reason").is_some() {
            expected.push("reason");
        } else if value.get("sub").is_some() {
            expected.extend(["sub", "client_id", "jti"]);
        }
        expected.push("target");
        assert_eq!(keys, expected, "{line}");
        assert_eq!(value["level"], "INFO");
        assert_eq!(value["message"], "request");
        assert_eq!(value["method"], "GET");
        let timestamp = value["timestamp"].as_str().expect("timestamp");
        assert_eq!(
            timestamp.len(),
            "2026-12-02T10:08:10.123456Z".len(),
            "{line}"
        );
        humantime::parse_rfc3339(timestamp).expect("RFC 3339");
        assert!(
            value["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0),
            "{line}"
        );
    }

    let with_path = |path: &str| {
        requests
            .iter()
            .filter(|(_, value)| value["path"] == path)
            .map(|(_, value)| value)
            .collect::<Vec<_>>()
    };
    // No line lost in the buffer, none written twice.
    for path in distinct_paths() {
        let found = with_path(&path);
        assert_eq!(found.len(), 1, "lines for {path}: {found:?}");
        assert_eq!(found[0]["status"], 404);
    }
    // The path is cut at 256 bytes; no query.
    assert_eq!(with_path(&long[..256]).len(), 1, "{lines:?}");
    assert_eq!(with_path("/caf%C3%A9/%22q%22").len(), 1, "{lines:?}");
    assert!(!lines.iter().any(|line| line.contains("secret")));
    assert!(
        requests
            .iter()
            .any(|(_, value)| value["status"] == 401 && value["reason"] == "token expired"),
        "{lines:?}"
    );
    let served = requests
        .iter()
        .find(|(_, value)| value["status"] == 200 && value["path"] == "/")
        .map(|(_, value)| value)
        .unwrap_or_else(|| panic!("no 200 on /: {lines:?}"));
    assert_eq!(served["sub"], claims()["sub"]);
    assert_eq!(served["client_id"], CLIENT_ID);
}

#[tokio::test]
async fn rust_log_decides_whether_request_lines_are_written() {
    let paths = distinct_paths();
    let count = |lines: &[String]| {
        lines
            .iter()
            .filter(|line| line.contains("\"target\":\"randapi::request\""))
            .count()
    };
    let quiet = lines_of_a_run(&[("RUST_LOG", "warn")], &paths).await;
    assert_eq!(count(&quiet), 0, "{quiet:?}");
    let only_requests = lines_of_a_run(&[("RUST_LOG", "warn,randapi::request=info")], &paths).await;
    // The requests before the server had its keys are logged too: at least one per path.
    assert!(count(&only_requests) > DISTINCT_PATHS, "{only_requests:?}");
    assert!(
        !only_requests
            .iter()
            .any(|line| line.contains("\"level\":\"INFO\"")
                && !line.contains("\"target\":\"randapi::request\"")),
        "{only_requests:?}"
    );
}

#[tokio::test]
async fn the_text_format_keeps_its_request_lines() {
    let paths = distinct_paths();
    let lines: Vec<String> = lines_of_a_run(&[("LOG_FORMAT", "text")], &paths)
        .await
        .iter()
        .map(|line| without_colours(line))
        .collect();
    for path in &paths {
        let found: Vec<&String> = lines
            .iter()
            .filter(|line| {
                line.contains("randapi::request") && line.contains(&format!("path={path} "))
            })
            .collect();
        assert_eq!(found.len(), 1, "lines for {path}: {lines:?}");
        for field in [" INFO ", "request method=GET", "status=404", "latency_ms="] {
            assert!(found[0].contains(field), "{field} in {}", found[0]);
        }
    }
    let sub = format!("sub={}", claims()["sub"]);
    let client_id = format!("client_id=\"{CLIENT_ID}\"");
    assert!(
        lines.iter().any(|line| line.contains("path=/ status=200")
            && line.contains(&sub)
            && line.contains(&client_id)
            && line.contains("jti=")),
        "no 200 on / with its claims: {lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|line| line.contains("status=401") && line.contains("reason=\"token expired\"")),
        "{lines:?}"
    );
}
