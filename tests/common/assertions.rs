//! The assertions every answer must pass: a refusal's status, exact `{error, message}` body and
//! challenge, no echo of the token, its claims or the JWKS URL; a random number's shape; and
//! `eventually` for what happens in the background.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Answer, TestApp};

/// Strings of a token that an answer must never contain: the token, its segments, every string
/// claim and header value (except the few fixed words such as `RS256` and `access`).
pub fn secrets_of(token: &str) -> Vec<String> {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut secrets = vec![token.to_owned()];
    for (index, segment) in token.split('.').enumerate() {
        if segment.len() >= 8 {
            secrets.push(segment.to_owned());
        }
        if index > 1 {
            continue;
        }
        let Some(Value::Object(object)) = URL_SAFE_NO_PAD
            .decode(segment)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        else {
            continue;
        };
        for (name, value) in object {
            if matches!(name.as_str(), "alg" | "typ" | "token_use") {
                continue;
            }
            let mut strings = Vec::new();
            collect_strings(&value, &mut strings);
            secrets.extend(strings.into_iter().filter(|s| s.len() >= 6));
        }
    }
    secrets
}

fn collect_strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

/// Checks a refusal: status, `{error, message}` JSON body with exactly these values, the
/// challenge (`None` = no `WWW-Authenticate`), and that neither body nor headers leak `secrets`.
pub fn assert_refusal(
    answer: &Answer,
    status: StatusCode,
    error: &str,
    message: &str,
    challenge: Option<&str>,
    secrets: &[String],
    case: &str,
) {
    assert_eq!(
        answer.status, status,
        "{case}: status (body {})",
        answer.body
    );
    assert!(
        answer
            .header("content-type")
            .is_some_and(|v| v.starts_with("application/json")),
        "{case}: error body is JSON, got {:?}",
        answer.header("content-type")
    );
    let body = answer.json();
    assert_eq!(
        body,
        json!({"error": error, "message": message}),
        "{case}: body"
    );
    assert_eq!(
        answer.header("www-authenticate"),
        challenge,
        "{case}: WWW-Authenticate"
    );
    assert_no_leak(answer, secrets, case);
}

/// Neither the body nor any header value of `answer` contains one of `secrets`.
pub fn assert_no_leak(answer: &Answer, secrets: &[String], case: &str) {
    for secret in secrets {
        assert!(
            !answer.body.contains(secret.as_str()),
            "{case}: the body echoes {secret:?}: {}",
            answer.body
        );
        for (name, value) in &answer.headers {
            let value = String::from_utf8_lossy(value.as_bytes());
            // A 403 challenge names the configured scopes: configuration, not the token.
            let value = match value.split_once(", scope=") {
                Some((before, _)) if name == "www-authenticate" => before.to_owned(),
                _ => value.into_owned(),
            };
            assert!(
                !value.contains(secret.as_str()),
                "{case}: header {name} echoes {secret:?}"
            );
        }
    }
}

/// The challenge of a 401 `invalid_token` with `reason`.
pub fn invalid_token_challenge(reason: &str) -> String {
    format!(r#"Bearer realm="randapi", error="invalid_token", error_description="{reason}""#)
}

/// Checks a 401 `invalid_token` refusal with `reason`, leaking nothing of `token` or `app`.
pub fn assert_invalid_token(answer: &Answer, reason: &str, token: &str, app: &TestApp, case: &str) {
    let mut secrets = secrets_of(token);
    secrets.extend(app.jwks_url.clone());
    assert_refusal(
        answer,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        reason,
        Some(&invalid_token_challenge(reason)),
        &secrets,
        case,
    );
}

/// Checks a 503 for missing keys: `Retry-After` in whole seconds (at least 1), no challenge.
pub fn assert_keys_unavailable(answer: &Answer, token: &str, app: &TestApp, case: &str) {
    let mut secrets = secrets_of(token);
    secrets.extend(app.jwks_url.clone());
    assert_refusal(
        answer,
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
        "signing keys are not available yet; try again",
        None,
        &secrets,
        case,
    );
    let retry_after: u64 = answer
        .header("retry-after")
        .unwrap_or_else(|| panic!("{case}: 503 without Retry-After"))
        .parse()
        .unwrap_or_else(|_| panic!("{case}: Retry-After is not a number of seconds"));
    assert!(retry_after >= 1, "{case}: Retry-After {retry_after}");
}

/// Checks a 200 with `{"randomNumber": n}`, `n` in 0..=100; returns `n`.
pub fn assert_random_number(answer: &Answer, case: &str) -> u64 {
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "{case}: body {}",
        answer.body
    );
    assert!(
        answer
            .header("content-type")
            .is_some_and(|v| v.starts_with("application/json")),
        "{case}: content-type {:?}",
        answer.header("content-type")
    );
    let body = answer.json();
    let object = body.as_object().expect("object body");
    assert_eq!(object.len(), 1, "{case}: only randomNumber in {body}");
    let n = body["randomNumber"]
        .as_u64()
        .unwrap_or_else(|| panic!("{case}: randomNumber is not an integer: {body}"));
    assert!(n <= 100, "{case}: {n} out of 0..=100");
    n
}

/// Polls `check` every 20 ms until it holds; fails after 10 s (a bound for hangs, not a speed
/// assertion).
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if check().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until `GET {base}/` with `token` answers 200 through `client`: the server is up and
/// has its keys.
pub async fn eventually_authorized(client: &reqwest::Client, base: &str, token: &str) {
    eventually("randapi to serve", || async {
        client
            .get(format!("{base}/"))
            .bearer_auth(token)
            .send()
            .await
            .is_ok_and(|r| r.status() == reqwest::StatusCode::OK)
    })
    .await;
}

/// Sleeps for `duration` (for cooldowns and TTLs to pass).
pub async fn pass(duration: Duration) {
    tokio::time::sleep(duration).await;
}
