//! CloudWatch metrics without an agent: every `METRICS_INTERVAL` one line of Embedded Metric
//! Format (EMF) JSON on stdout, which CloudWatch Logs turns into metrics when the log group
//! receives it (the awslogs driver of ECS does nothing special for it).
//!
//! The counters are plain atomics bumped on the hot path (one relaxed `fetch_add`, no lock, no
//! allocation): the request log counts answers, and the authenticator tells [`Metrics`] (its
//! [`AuthObserver`]) of refusals, cache lookups and fetches. The writer swaps them to zero once
//! per interval, so each line carries the counts of its interval. Namespace `randapi`, one dimension set `[["Service"]]` with
//! `"Service": "randapi"`. The names are fixed: alarms are built on them.
//!
//! | metric | unit | meaning |
//! | --- | --- | --- |
//! | `Requests` | Count | requests answered (every path) |
//! | `Responses2xx` / `Responses4xx` / `Responses5xx` | Count | answers by status class |
//! | `Responses503` | Count | `503` answers (no usable keys, request timeout) |
//! | `KeySetUnavailable` | Count | `503`s because a pool has no usable key set at all (written on every line, 0 included) |
//! | `UnknownKeyWhileJwksDown` | Count | `503`s for a kid not in the key set while the JWKS cannot be fetched (every line) |
//! | `JwksFetchOk` / `JwksFetchFailures` | Count | JWKS fetches that succeeded / failed |
//! | `TokenCacheHits` / `TokenCacheMisses` | Count | verified-token cache lookups |
//! | `Refused_<Code>` | Count | refusals by fixed reason code (`cognito_auth::refusal_codes`); only codes seen in the interval |
//! | `TokenCacheSize` | Count | entries in the verified-token cache (gauge) |
//! | `TokenCacheBytes` | Bytes | their weight, bounded by `TOKEN_CACHE_MAX_BYTES` (gauge) |
//! | `KeySetAgeSeconds` | Seconds | age of the keys in use (gauge; absent before the first fetch) |
//! | `OpenConnections` | Count | client connections open now (gauge, read from the serve loop's own count) |

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::StatusCode;
use cognito_auth::{
    AuthError, AuthObserver, Authenticator, REFUSAL_CODE_COUNT, Unavailable, refusal_codes,
};
use serde_json::{Map, Value, json};

/// CloudWatch namespace of every metric.
pub const NAMESPACE: &str = "randapi";
/// The one dimension's name.
pub const DIMENSION: &str = "Service";
/// The one dimension's value.
pub const SERVICE: &str = "randapi";

/// Reads the open-connection count of a serve loop that keeps its own.
type ConnectionSource = Box<dyn Fn() -> usize + Send + Sync>;

/// The process's counters and gauges.
#[derive(Default)]
pub struct Metrics {
    requests: AtomicU64,
    responses_2xx: AtomicU64,
    responses_4xx: AtomicU64,
    responses_5xx: AtomicU64,
    responses_503: AtomicU64,
    jwks_fetch_ok: AtomicU64,
    jwks_fetch_failures: AtomicU64,
    token_cache_hits: AtomicU64,
    token_cache_misses: AtomicU64,
    key_set_unavailable: AtomicU64,
    unknown_key_while_jwks_down: AtomicU64,
    refused: [AtomicU64; REFUSAL_CODE_COUNT],
    connection_source: OnceLock<ConnectionSource>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("requests", &self.requests)
            .finish_non_exhaustive()
    }
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// One interval's counts and the gauges at its end.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// `(name, unit, value)` of every metric of the line, in order.
    pub values: Vec<(String, &'static str, f64)>,
}

impl Metrics {
    /// One answer with `status`.
    pub fn response(&self, status: StatusCode) {
        bump(&self.requests);
        match status.as_u16() {
            200..=299 => bump(&self.responses_2xx),
            400..=499 => bump(&self.responses_4xx),
            500..=599 => {
                bump(&self.responses_5xx);
                if status == StatusCode::SERVICE_UNAVAILABLE {
                    bump(&self.responses_503);
                }
            }
            _ => {}
        }
    }

    /// `OpenConnections` is read from `source` (the serve loop's own count) when each line is
    /// written. The first source given wins.
    pub fn report_open_connections(&self, source: impl Fn() -> usize + Send + Sync + 'static) {
        let _ = self.connection_source.set(Box::new(source));
    }

    /// Takes this interval's counts (resetting them) and reads the gauges of `auth`.
    pub fn take(&self, auth: Option<&Authenticator>) -> Snapshot {
        let take = |c: &AtomicU64| c.swap(0, Ordering::Relaxed) as f64;
        let mut values: Vec<(String, &'static str, f64)> = [
            ("Requests", &self.requests),
            ("Responses2xx", &self.responses_2xx),
            ("Responses4xx", &self.responses_4xx),
            ("Responses5xx", &self.responses_5xx),
            ("Responses503", &self.responses_503),
            ("JwksFetchOk", &self.jwks_fetch_ok),
            ("JwksFetchFailures", &self.jwks_fetch_failures),
            ("TokenCacheHits", &self.token_cache_hits),
            ("TokenCacheMisses", &self.token_cache_misses),
            // Written on every line, 0 included: a missing line means the service is down, and
            // the alarm on the first one is about an outage, not a flood of unknown kids.
            ("KeySetUnavailable", &self.key_set_unavailable),
            ("UnknownKeyWhileJwksDown", &self.unknown_key_while_jwks_down),
        ]
        .into_iter()
        .map(|(name, counter)| (name.to_owned(), "Count", take(counter)))
        .collect();
        for (code, counter) in refusal_codes().zip(&self.refused) {
            let count = take(counter);
            // Only reasons seen: 24 always-zero series would cost without telling anything.
            if count > 0.0 {
                values.push((format!("Refused_{code}"), "Count", count));
            }
        }
        if let Some(auth) = auth {
            values.push((
                "TokenCacheSize".into(),
                "Count",
                auth.token_cache_len() as f64,
            ));
            values.push((
                "TokenCacheBytes".into(),
                "Bytes",
                auth.token_cache_bytes() as f64,
            ));
            if let Some(age) = auth.key_set_age() {
                values.push((
                    "KeySetAgeSeconds".into(),
                    "Seconds",
                    age.as_secs_f64().floor(),
                ));
            }
        }
        if let Some(open) = self.connection_source.get().map(|source| source()) {
            values.push(("OpenConnections".into(), "Count", open as f64));
        }
        Snapshot { values }
    }
}

/// Milliseconds since the Unix epoch.
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The EMF line (without the newline) for `snapshot` at `timestamp_ms`.
pub fn emf_line(snapshot: &Snapshot, timestamp_ms: u64) -> String {
    let definitions: Vec<Value> = snapshot
        .values
        .iter()
        .map(|(name, unit, _)| json!({"Name": name, "Unit": unit}))
        .collect();
    let mut root = Map::new();
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [[DIMENSION]],
                "Metrics": definitions,
            }],
        }),
    );
    root.insert(DIMENSION.into(), json!(SERVICE));
    for (name, _, value) in &snapshot.values {
        // Whole numbers stay integers in the JSON.
        let value = if value.fract() == 0.0 && *value < 9.0e15 {
            json!(*value as u64)
        } else {
            json!(value)
        };
        root.insert(name.clone(), value);
    }
    Value::Object(root).to_string()
}

/// The authenticator's events, counted.
impl AuthObserver for Metrics {
    fn refused(&self, error: &AuthError) {
        bump(&self.refused[error.refusal_index()]);
        if let AuthError::KeysUnavailable { why, .. } = error {
            bump(match why {
                Unavailable::NoKeySet => &self.key_set_unavailable,
                Unavailable::UnknownKeyWhileJwksDown => &self.unknown_key_while_jwks_down,
            });
        }
    }

    fn token_cache_lookup(&self, hit: bool) {
        bump(if hit {
            &self.token_cache_hits
        } else {
            &self.token_cache_misses
        });
    }

    fn jwks_fetched(&self, ok: bool) {
        bump(if ok {
            &self.jwks_fetch_ok
        } else {
            &self.jwks_fetch_failures
        });
    }
}

/// Writes one EMF line of `metrics` every `interval` to stdout, forever (the caller aborts the
/// task). The line is written whole with one `write_all` under stdout's lock, so it never
/// interleaves with a log line.
pub async fn run(interval: Duration, metrics: Arc<Metrics>, auth: Arc<Authenticator>) {
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let snapshot = metrics.take(Some(&auth));
        let mut line = emf_line(&snapshot, now_ms());
        line.push('\n');
        let mut out = std::io::stdout().lock();
        if out
            .write_all(line.as_bytes())
            .and_then(|()| out.flush())
            .is_err()
        {
            // Nowhere to report it: stdout is the log too.
            continue;
        }
    }
}

#[cfg(test)]
mod tests {
    use cognito_auth::InvalidToken;

    use super::*;

    /// CloudWatch's `StandardUnit` values.
    const UNITS: [&str; 27] = [
        "Seconds",
        "Microseconds",
        "Milliseconds",
        "Bytes",
        "Kilobytes",
        "Megabytes",
        "Gigabytes",
        "Terabytes",
        "Bits",
        "Kilobits",
        "Megabits",
        "Gigabits",
        "Terabits",
        "Percent",
        "Count",
        "Bytes/Second",
        "Kilobytes/Second",
        "Megabytes/Second",
        "Gigabytes/Second",
        "Terabytes/Second",
        "Bits/Second",
        "Kilobits/Second",
        "Megabits/Second",
        "Gigabits/Second",
        "Terabits/Second",
        "Count/Second",
        "None",
    ];

    /// Checks `line` against the EMF specification's required fields: a root `_aws` object with
    /// an integer `Timestamp` (ms) and a `CloudWatchMetrics` array of directives, each with a
    /// `Namespace` string, `Dimensions` (an array of arrays of at most 30 strings, each a root
    /// member whose value is a string) and `Metrics` (at most 100 of `{Name, Unit?}`, each name a
    /// root member whose value is a number, each unit a CloudWatch unit). Returns the root.
    fn check_emf(line: &str) -> Map<String, Value> {
        let Value::Object(root) = serde_json::from_str::<Value>(line).expect("JSON") else {
            panic!("not an object: {line}");
        };
        let aws = root["_aws"].as_object().expect("_aws object");
        assert!(aws["Timestamp"].is_u64(), "Timestamp is not an integer");
        let ts = aws["Timestamp"].as_u64().expect("u64");
        assert!(
            ts > 1_600_000_000_000,
            "Timestamp {ts} is not in milliseconds"
        );
        let directives = aws["CloudWatchMetrics"].as_array().expect("array");
        assert!(!directives.is_empty());
        for directive in directives {
            let namespace = directive["Namespace"].as_str().expect("Namespace");
            assert!(!namespace.is_empty() && namespace.len() <= 1024);
            for set in directive["Dimensions"].as_array().expect("Dimensions") {
                let set = set.as_array().expect("a dimension set is an array");
                assert!(set.len() <= 30);
                for name in set {
                    let name = name.as_str().expect("dimension name");
                    assert!(
                        root[name].is_string(),
                        "dimension {name} is not a root string"
                    );
                }
            }
            let metrics = directive["Metrics"].as_array().expect("Metrics");
            assert!(metrics.len() <= 100);
            for metric in metrics {
                let name = metric["Name"].as_str().expect("Name");
                assert!(!name.is_empty() && name.len() <= 1024);
                if let Some(unit) = metric.get("Unit") {
                    let unit = unit.as_str().expect("Unit");
                    assert!(UNITS.contains(&unit), "{unit} is not a CloudWatch unit");
                }
                assert!(root[name].is_number(), "{name} is not a root number");
            }
        }
        root
    }

    #[test]
    fn a_line_meets_the_emf_specification_and_carries_the_agreed_names() {
        let metrics = Metrics::default();
        metrics.response(StatusCode::OK);
        metrics.response(StatusCode::OK);
        metrics.response(StatusCode::UNAUTHORIZED);
        metrics.response(StatusCode::SERVICE_UNAVAILABLE);
        metrics.refused(&AuthError::InvalidToken(InvalidToken::Expired));
        metrics.refused(&AuthError::KeysUnavailable {
            retry_after: Duration::from_secs(1),
            why: Unavailable::UnknownKeyWhileJwksDown,
        });
        metrics.jwks_fetched(true);
        metrics.jwks_fetched(false);
        metrics.jwks_fetched(false);
        metrics.token_cache_lookup(true);
        metrics.token_cache_lookup(false);
        metrics.report_open_connections(|| 1);

        let line = emf_line(&metrics.take(None), now_ms());
        assert!(!line.contains('\n'));
        let root = check_emf(&line);
        let aws = &root["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(aws["Namespace"], "randapi");
        assert_eq!(aws["Dimensions"], json!([["Service"]]));
        assert_eq!(root["Service"], "randapi");
        for (name, value) in [
            ("Requests", 4),
            ("Responses2xx", 2),
            ("Responses4xx", 1),
            ("Responses5xx", 1),
            ("Responses503", 1),
            ("JwksFetchOk", 1),
            ("JwksFetchFailures", 2),
            ("TokenCacheHits", 1),
            ("TokenCacheMisses", 1),
            ("Refused_Expired", 1),
            ("Refused_KeysUnavailable", 1),
            ("KeySetUnavailable", 0),
            ("UnknownKeyWhileJwksDown", 1),
            ("OpenConnections", 1),
        ] {
            assert_eq!(root[name], json!(value), "{name}");
        }
        assert!(root.get("Refused_BadSignature").is_none());
    }

    #[test]
    fn counters_are_per_interval() {
        let metrics = Metrics::default();
        metrics.response(StatusCode::OK);
        let first = metrics.take(None);
        let second = metrics.take(None);
        let get = |s: &Snapshot, name: &str| {
            s.values
                .iter()
                .find(|(n, _, _)| n == name)
                .map(|(_, _, v)| *v)
        };
        assert_eq!(get(&first, "Requests"), Some(1.0));
        assert_eq!(get(&second, "Requests"), Some(0.0));
        // Open connections are absent until a serve loop tracks them.
        assert_eq!(get(&second, "OpenConnections"), None);
        metrics.report_open_connections(|| 7);
        assert_eq!(get(&metrics.take(None), "OpenConnections"), Some(7.0));
    }

    #[test]
    fn the_key_trouble_counters_are_on_every_line_and_apart() {
        let metrics = Metrics::default();
        let get = |s: &Snapshot, name: &str| {
            s.values
                .iter()
                .find(|(n, _, _)| n == name)
                .map(|(_, _, v)| *v)
        };
        let quiet = metrics.take(None);
        assert_eq!(get(&quiet, "KeySetUnavailable"), Some(0.0));
        assert_eq!(get(&quiet, "UnknownKeyWhileJwksDown"), Some(0.0));
        for why in [
            Unavailable::NoKeySet,
            Unavailable::NoKeySet,
            Unavailable::UnknownKeyWhileJwksDown,
        ] {
            metrics.refused(&AuthError::KeysUnavailable {
                retry_after: Duration::from_secs(1),
                why,
            });
        }
        let busy = metrics.take(None);
        assert_eq!(get(&busy, "KeySetUnavailable"), Some(2.0));
        assert_eq!(get(&busy, "UnknownKeyWhileJwksDown"), Some(1.0));
        assert_eq!(get(&busy, "Refused_KeysUnavailable"), Some(3.0));
    }
}
