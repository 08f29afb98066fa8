//! The typed values of the configuration (and the auth layer's settings made of them), and
//! clap's parsers for them. A parser's error says what is wrong without echoing the value (it
//! may be a secret); the caller adds the variable's name.

use std::net::IpAddr;
use std::time::Duration;

use axum::http::HeaderName;
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

/// What a valid access token must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPolicy {
    /// The exact `iss`.
    pub issuer: String,
    /// Allowed `client_id` values (and `aud` entries, when present).
    pub client_ids: Vec<String>,
    /// At least one of these scopes, when not empty (else 403).
    pub required_scopes: Vec<String>,
    /// At least one of these groups, when not empty (else 403).
    pub required_groups: Vec<String>,
    /// Clock leeway for `exp`, `nbf`, `iat`.
    pub leeway: Duration,
}

/// Where the keys come from and how long they are trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwksSettings {
    /// JWKS document URL.
    pub url: Url,
    /// Keys are refreshed in the background before this age.
    pub ttl: Duration,
    /// Least time between two request-driven fetches; failed fetches start it too.
    pub cooldown: Duration,
    /// Known keys stay in use this long after their last good fetch while refreshes fail.
    pub max_stale: Duration,
    /// Whole-request timeout of a fetch.
    pub fetch_timeout: Duration,
    /// Connect timeout of a fetch.
    pub connect_timeout: Duration,
    /// Largest JWKS body accepted.
    pub max_body_bytes: usize,
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
