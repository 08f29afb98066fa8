//! The typed values of the configuration, and clap's parsers for them. A parser's error says what is wrong without echoing the value (it
//! may be a secret); the caller adds the variable's name.

use std::net::IpAddr;
use std::time::Duration;

use axum::http::HeaderName;
use cognito_auth::UserPool;
use serde_json::Value;
use url::Url;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line (CloudWatch).
    Json,
    /// Human-readable text.
    Text,
}

/// Which browser origins may call the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigins {
    /// Any origin (`*`).
    Any,
    /// Exactly these origins (scheme, host and port, no path), normalised.
    List(Vec<String>),
}

impl CorsOrigins {
    /// `*`, or a comma-separated list of origins (`scheme://host[:port]`, no path).
    ///
    /// # Errors
    ///
    /// What is wrong, without echoing the value.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let raw = raw.trim();
        if raw == "*" {
            return Ok(Self::Any);
        }
        let origins = raw
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(|part| {
                origin(part).ok_or(
                    "must be * or a comma-separated list of origins (scheme://host[:port], no path)",
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        if origins.is_empty() {
            return Err("is empty");
        }
        Ok(Self::List(origins))
    }
}

fn origin(value: &str) -> Option<String> {
    let url = Url::parse(value).ok()?;
    let is_bare_origin = matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some()
        && url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none()
        && !value.ends_with('/');
    is_bare_origin.then(|| url.origin().ascii_serialization())
}

pub(super) fn trimmed(value: &str) -> Result<String, &'static str> {
    Ok(value.trim().to_owned())
}

/// One item of `CORS_ALLOWED_HEADERS`: an RFC 9110 token (a header name, lowercased, or `*`).
pub(super) fn header_name(value: &str) -> Result<HeaderName, &'static str> {
    HeaderName::try_from(value.trim()).map_err(|_| "must be comma-separated header names")
}

pub(super) fn port(value: &str) -> Result<u16, &'static str> {
    value
        .trim()
        .parse()
        .map_err(|_| "is not a port number (0-65535)")
}

pub(super) fn ip(value: &str) -> Result<IpAddr, &'static str> {
    value.trim().parse().map_err(|_| "is not an IP address")
}

pub(super) fn duration(value: &str) -> Result<Duration, &'static str> {
    humantime::parse_duration(value.trim()).map_err(|_| "is not a duration like 10s, 500ms or 1h")
}

pub(super) fn positive_duration(value: &str) -> Result<Duration, &'static str> {
    match duration(value)? {
        zero if zero.is_zero() => Err("must be longer than zero"),
        parsed => Ok(parsed),
    }
}

pub(super) fn positive_count(value: &str) -> Result<usize, &'static str> {
    match value.trim().parse() {
        Ok(0) | Err(_) => Err("is not a whole number above zero"),
        Ok(count) => Ok(count),
    }
}

pub(super) fn http_url(value: &str) -> Result<Url, &'static str> {
    let url = Url::parse(value.trim()).map_err(|_| "is not an absolute URL")?;
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
        return Err("must be an http(s) URL with a host");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials");
    }
    Ok(url)
}

/// An issuer is compared with `iss` as written, so it is checked as a URL but kept as text.
pub(super) fn issuer_url(value: &str) -> Result<String, &'static str> {
    http_url(value).map(|_| value.trim().to_owned())
}

/// `METRICS_INTERVAL`: `0` (off) or a duration of at least 1 s.
pub(super) fn metrics_interval(value: &str) -> Result<Duration, &'static str> {
    if value.trim() == "0" {
        return Ok(Duration::ZERO);
    }
    match duration(value)? {
        short if short < Duration::from_secs(1) => Err("must be at least 1s (or 0: off)"),
        parsed => Ok(parsed),
    }
}

/// A size in bytes with an optional `KiB`, `MiB` or `GiB` suffix, at most 1 GiB (the Fargate
/// task's whole memory).
pub(super) fn byte_size(value: &str) -> Result<u64, &'static str> {
    const PROBLEM: &str = "is not a size like 32MiB or 1048576";
    let value = value.trim();
    let (digits, unit) = value.split_at(
        value
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(value.len()),
    );
    let multiplier: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        _ => return Err(PROBLEM),
    };
    let bytes = digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(multiplier))
        .ok_or(PROBLEM)?;
    if bytes > 1 << 30 {
        return Err("must be at most 1GiB");
    }
    Ok(bytes)
}

/// The pools of `COGNITO_EXTRA_POOLS`, each checked and resolved to its issuer and JWKS URL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtraPools(pub Vec<UserPool>);

/// The members a pool of `COGNITO_EXTRA_POOLS` may have (aws-jwt-verify's names).
const POOL_FIELDS: [&str; 5] = ["userPoolId", "region", "issuer", "jwksUrl", "clientIds"];

/// `COGNITO_EXTRA_POOLS`: a JSON array of pools, each `{"userPoolId": "eu-west-1_AbC",
/// "clientIds": ["..."]}` (the region read from the id, or given as `region`), or with `issuer`
/// (and `jwksUrl`) instead of `userPoolId`, as for the first pool's variables. An error names the
/// pool by its position (1 is the first of the array) and the member, never a value.
pub(super) fn extra_pools(value: &str) -> Result<ExtraPools, String> {
    const SHAPE: &str = r#"must be a JSON array of pools such as [{"userPoolId": "us-east-1_AbCdEf456", "clientIds": ["2example"]}]"#;
    let Ok(Value::Array(pools)) = serde_json::from_str::<Value>(value.trim()) else {
        return Err(SHAPE.to_owned());
    };
    pools
        .iter()
        .enumerate()
        .map(|(i, pool)| {
            extra_pool(pool)
                .map_err(|problem| format!("has a problem in pool {}: {problem}", i + 1))
        })
        .collect::<Result<_, _>>()
        .map(ExtraPools)
}

fn extra_pool(pool: &Value) -> Result<UserPool, &'static str> {
    let Value::Object(fields) = pool else {
        return Err("it is not a JSON object");
    };
    if fields.keys().any(|k| !POOL_FIELDS.contains(&k.as_str())) {
        return Err("it has a member other than userPoolId, region, issuer, jwksUrl, clientIds");
    }
    let text = |name: &str| -> Result<Option<&str>, &'static str> {
        match fields.get(name) {
            None => Ok(None),
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.trim())),
            Some(_) => Err("userPoolId, region, issuer and jwksUrl must be non-empty strings"),
        }
    };
    let client_ids = match fields.get("clientIds") {
        Some(Value::Array(ids)) if !ids.is_empty() => ids
            .iter()
            .map(|id| match id {
                Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
                _ => Err("clientIds must be a non-empty array of non-empty strings"),
            })
            .collect::<Result<Vec<_>, _>>()?,
        _ => return Err("clientIds must be a non-empty array of non-empty strings"),
    };
    let issuer = match (text("issuer")?, text("userPoolId")?) {
        (Some(issuer), _) => issuer_url(issuer).map_err(|_| "issuer must be an http(s) URL")?,
        (None, Some(pool_id)) => {
            let pool = match text("region")? {
                Some(region) => UserPool::cognito_in(region, pool_id, client_ids.clone()),
                None => UserPool::cognito(pool_id, client_ids.clone()),
            };
            pool.map_err(|error| match error {
                cognito_auth::PoolIdError::NoRegion => {
                    "userPoolId does not start with a region (add region)"
                }
                cognito_auth::PoolIdError::BadRegion => "region is not an AWS region name",
                cognito_auth::PoolIdError::BadPoolId => {
                    "userPoolId has characters a pool id cannot have"
                }
            })?
            .issuer
        }
        (None, None) => return Err("it needs userPoolId or issuer"),
    };
    let jwks_url = match text("jwksUrl")? {
        Some(url) => http_url(url).map_err(|_| "jwksUrl must be an http(s) URL with a host")?,
        None => http_url(&cognito_auth::jwks_url(&issuer))
            .map_err(|_| "issuer must be an http(s) URL")?,
    };
    Ok(UserPool {
        issuer,
        jwks_url,
        client_ids,
    })
}
