//! Configuration: environment variables (each also a flag), checked once at start.
//!
//! The names and defaults are the ones in the contract (`CONTRACT.md`). A bad value never reaches a
//! request: [`ServeArgs::validate`] turns it into a [`ConfigError`] that names the variable and
//! shows an example, and the binary exits with code 2.

use std::io::IsTerminal;
use std::net::IpAddr;
use std::time::Duration;

use url::Url;

/// Longest clock leeway we accept: the contract caps it at 60 s.
pub const MAX_LEEWAY: Duration = Duration::from_secs(60);

/// The defaults of the variables that have one: clap's and [`ServeArgs::default`]'s alike.
pub mod defaults {
    /// `PORT` when unset.
    pub const PORT: &str = "3001";
    /// `HOST` when unset.
    pub const HOST: &str = "0.0.0.0";
    /// `CORS_ALLOWED_ORIGINS` when unset.
    pub const CORS_ALLOWED_ORIGINS: &str = "*";
    /// `JWKS_TTL` when unset.
    pub const JWKS_TTL: &str = "1h";
    /// `JWKS_COOLDOWN` when unset.
    pub const JWKS_COOLDOWN: &str = "10s";
    /// `JWKS_MAX_STALE` when unset.
    pub const JWKS_MAX_STALE: &str = "24h";
    /// `JWKS_FETCH_TIMEOUT` when unset.
    pub const JWKS_FETCH_TIMEOUT: &str = "5s";
    /// `JWKS_CONNECT_TIMEOUT` when unset.
    pub const JWKS_CONNECT_TIMEOUT: &str = "2s";
    /// `CLOCK_LEEWAY` when unset.
    pub const CLOCK_LEEWAY: &str = "60s";
    /// `REQUEST_TIMEOUT` when unset.
    pub const REQUEST_TIMEOUT: &str = "10s";
    /// `SHUTDOWN_GRACE` when unset: with the delay, 25 s, inside ECS's 30 s stop timeout.
    pub const SHUTDOWN_GRACE: &str = "20s";
    /// `SHUTDOWN_DELAY` when unset.
    pub const SHUTDOWN_DELAY: &str = "5s";
    /// `HEADER_READ_TIMEOUT` when unset.
    pub const HEADER_READ_TIMEOUT: &str = "10s";
    /// `KEEPALIVE_TIMEOUT` when unset: longer than the 60 s idle timeout of AWS load balancers.
    pub const KEEPALIVE_TIMEOUT: &str = "75s";
}

/// The flags and variables of `randapi` (serve mode).
#[derive(clap::Args, Debug, Clone)]
pub struct ServeArgs {
    /// Listen port.
    #[arg(long, env = "PORT", default_value = defaults::PORT)]
    pub port: String,

    /// Listen address.
    #[arg(long, env = "HOST", default_value = defaults::HOST)]
    pub host: String,

    /// Cognito user pool id, e.g. `eu-west-1_AbCdEf123`; the region is read from its prefix.
    #[arg(long, env = "COGNITO_USER_POOL_ID")]
    pub cognito_user_pool_id: Option<String>,

    /// Region of the user pool, only when it cannot be read from the pool id.
    #[arg(long, env = "COGNITO_REGION")]
    pub cognito_region: Option<String>,

    /// Fallback region (set by ECS and the AWS CLI).
    #[arg(long, env = "AWS_REGION", hide = true)]
    pub aws_region: Option<String>,

    /// Comma-separated app client ids allowed in the access token's `client_id`.
    #[arg(long, env = "COGNITO_CLIENT_IDS")]
    pub cognito_client_ids: Option<String>,

    /// The exact `iss` expected; overrides the one derived from the pool id.
    #[arg(long, env = "COGNITO_ISSUER")]
    pub cognito_issuer: Option<String>,

    /// Where the signing keys are fetched (default: `{issuer}/.well-known/jwks.json`).
    #[arg(long, env = "COGNITO_JWKS_URL")]
    pub cognito_jwks_url: Option<String>,

    /// Space-separated scopes; a token needs at least one of them.
    #[arg(long, env = "COGNITO_REQUIRED_SCOPES")]
    pub cognito_required_scopes: Option<String>,

    /// Space-separated groups; `cognito:groups` needs at least one of them.
    #[arg(long, env = "COGNITO_REQUIRED_GROUPS")]
    pub cognito_required_groups: Option<String>,

    /// Comma-separated origins allowed to call the API from a browser, or `*`.
    #[arg(long, env = "CORS_ALLOWED_ORIGINS", default_value = defaults::CORS_ALLOWED_ORIGINS)]
    pub cors_allowed_origins: String,

    /// `json` (CloudWatch) or `text`; default `text` on a terminal, else `json`.
    #[arg(long, env = "LOG_FORMAT")]
    pub log_format: Option<String>,

    /// How long the signing keys are trusted before a background refresh replaces them.
    #[arg(long, env = "JWKS_TTL", default_value = defaults::JWKS_TTL)]
    pub jwks_ttl: String,

    /// Least time between two JWKS fetches caused by requests (unknown kid, failed fetch).
    #[arg(long, env = "JWKS_COOLDOWN", default_value = defaults::JWKS_COOLDOWN)]
    pub jwks_cooldown: String,

    /// How long known keys stay in use while refreshes fail (stale-if-error).
    #[arg(long, env = "JWKS_MAX_STALE", default_value = defaults::JWKS_MAX_STALE)]
    pub jwks_max_stale: String,

    /// Whole-fetch timeout of one JWKS request.
    #[arg(long, env = "JWKS_FETCH_TIMEOUT", default_value = defaults::JWKS_FETCH_TIMEOUT)]
    pub jwks_fetch_timeout: String,

    /// Connect timeout of one JWKS request.
    #[arg(long, env = "JWKS_CONNECT_TIMEOUT", default_value = defaults::JWKS_CONNECT_TIMEOUT)]
    pub jwks_connect_timeout: String,

    /// Clock leeway for `exp`, `nbf` and `iat` (at most 60s).
    #[arg(long, env = "CLOCK_LEEWAY", default_value = defaults::CLOCK_LEEWAY)]
    pub clock_leeway: String,

    /// Upper bound on the time one request may take.
    #[arg(long, env = "REQUEST_TIMEOUT", default_value = defaults::REQUEST_TIMEOUT)]
    pub request_timeout: String,

    /// How long in-flight requests may take to finish after SIGTERM before the process exits.
    #[arg(long, env = "SHUTDOWN_GRACE", default_value = defaults::SHUTDOWN_GRACE)]
    pub shutdown_grace: String,

    // The serve loop's connection settings.
    /// After SIGTERM, how long to keep serving and accepting (the load balancer may still send
    /// requests here); `0s` skips it. SIGINT always skips it.
    #[arg(long, env = "SHUTDOWN_DELAY", default_value = defaults::SHUTDOWN_DELAY)]
    pub shutdown_delay: String,

    /// Close a connection that has not sent a complete request head within this long.
    #[arg(long, env = "HEADER_READ_TIMEOUT", default_value = defaults::HEADER_READ_TIMEOUT)]
    pub header_read_timeout: String,

    /// Close an idle keep-alive connection after this long.
    #[arg(long, env = "KEEPALIVE_TIMEOUT", default_value = defaults::KEEPALIVE_TIMEOUT)]
    pub keepalive_timeout: String,

    /// Most client connections open at once (default: the open-file limit less a reserve).
    #[arg(long, env = "MAX_CONNECTIONS")]
    pub max_connections: Option<String>,

    /// Development mode: an embedded local issuer instead of Cognito. Never for production.
    #[arg(long)]
    pub dev: bool,
}

/// The values `randapi` gets with no variable and no flag set: the contract's defaults, and no
/// Cognito settings (so [`ServeArgs::validate`] refuses it until they are filled in).
impl Default for ServeArgs {
    fn default() -> Self {
        Self {
            port: defaults::PORT.into(),
            host: defaults::HOST.into(),
            cors_allowed_origins: defaults::CORS_ALLOWED_ORIGINS.into(),
            jwks_ttl: defaults::JWKS_TTL.into(),
            jwks_cooldown: defaults::JWKS_COOLDOWN.into(),
            jwks_max_stale: defaults::JWKS_MAX_STALE.into(),
            jwks_fetch_timeout: defaults::JWKS_FETCH_TIMEOUT.into(),
            jwks_connect_timeout: defaults::JWKS_CONNECT_TIMEOUT.into(),
            clock_leeway: defaults::CLOCK_LEEWAY.into(),
            request_timeout: defaults::REQUEST_TIMEOUT.into(),
            shutdown_grace: defaults::SHUTDOWN_GRACE.into(),
            shutdown_delay: defaults::SHUTDOWN_DELAY.into(),
            header_read_timeout: defaults::HEADER_READ_TIMEOUT.into(),
            keepalive_timeout: defaults::KEEPALIVE_TIMEOUT.into(),
            max_connections: None,
            cognito_user_pool_id: None,
            cognito_region: None,
            aws_region: None,
            cognito_client_ids: None,
            cognito_issuer: None,
            cognito_jwks_url: None,
            cognito_required_scopes: None,
            cognito_required_groups: None,
            log_format: None,
            dev: false,
        }
    }
}

/// A configuration that stops the start: it names the variable and shows an example.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("configuration error: {variable} (flag --{flag}) {problem}. Example: {variable}={example}")]
pub struct ConfigError {
    /// The environment variable at fault.
    pub variable: &'static str,
    /// Its flag, without the leading dashes.
    pub flag: &'static str,
    /// What is wrong, without echoing secrets.
    pub problem: String,
    /// A value that would work.
    pub example: &'static str,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    /// Exactly these origins (scheme, host and port, no path).
    List(Vec<String>),
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

impl JwksSettings {
    /// The contract's defaults for a JWKS at `url`.
    pub fn with_defaults(url: Url) -> Self {
        Self {
            url,
            ttl: Duration::from_secs(3600),
            cooldown: Duration::from_secs(10),
            max_stale: Duration::from_secs(24 * 3600),
            fetch_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(2),
            max_body_bytes: 64 * 1024,
        }
    }
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

/// The checked configuration of the server.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listen address.
    pub host: IpAddr,
    /// Listen port (0 picks a free one).
    pub port: u16,
    /// Token rules. In `--dev` mode the issuer is filled in once the port is known.
    pub policy: TokenPolicy,
    /// JWKS source. In `--dev` mode it points at this process once the port is known.
    pub jwks: JwksSettings,
    /// Allowed browser origins.
    pub cors: CorsOrigins,
    /// Log format.
    pub log_format: LogFormat,
    /// Upper bound on one request.
    pub request_timeout: Duration,
    /// Drain time after SIGTERM.
    pub shutdown_grace: Duration,
    /// Serving time after SIGTERM before closing (may be zero).
    pub shutdown_delay: Duration,
    /// Time to receive a complete request head.
    pub header_read_timeout: Duration,
    /// Idle time after which a keep-alive connection is closed.
    pub keepalive_timeout: Duration,
    /// Connection cap; `None`: from the open-file limit.
    pub max_connections: Option<usize>,
    /// Development mode (embedded issuer).
    pub dev: bool,
}

/// The client id that `--dev` tokens carry when `COGNITO_CLIENT_IDS` is not set.
pub const DEV_CLIENT_ID: &str = "randapi-dev-client";

fn err(
    variable: &'static str,
    flag: &'static str,
    problem: impl Into<String>,
    example: &'static str,
) -> ConfigError {
    ConfigError {
        variable,
        flag,
        problem: problem.into(),
        example,
    }
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn duration(
    value: &str,
    variable: &'static str,
    flag: &'static str,
    example: &'static str,
) -> Result<Duration, ConfigError> {
    let parsed = humantime::parse_duration(value.trim()).map_err(|_| {
        err(
            variable,
            flag,
            "is not a duration like 10s, 500ms or 1h",
            example,
        )
    })?;
    if parsed.is_zero() {
        return Err(err(variable, flag, "must be longer than zero", example));
    }
    Ok(parsed)
}

fn split_list(value: Option<&str>, separator: char) -> Vec<String> {
    value
        .unwrap_or_default()
        .split(separator)
        .flat_map(|part| part.split_whitespace())
        .map(str::to_owned)
        .collect()
}

/// Reads the region from a pool id such as `eu-west-1_AbCdEf123`.
pub fn region_from_pool_id(pool_id: &str) -> Option<&str> {
    let (region, id) = pool_id.split_once('_')?;
    let looks_like_region = region.split('-').count() >= 3
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    (looks_like_region && !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric()))
        .then_some(region)
}

fn is_region(value: &str) -> bool {
    region_from_pool_id(&format!("{value}_x")).is_some()
}

fn http_url(
    value: &str,
    variable: &'static str,
    flag: &'static str,
    example: &'static str,
) -> Result<Url, ConfigError> {
    let url = Url::parse(value.trim())
        .map_err(|_| err(variable, flag, "is not an absolute URL", example))?;
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
        return Err(err(
            variable,
            flag,
            "must be an http(s) URL with a host",
            example,
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(err(variable, flag, "must not carry credentials", example));
    }
    Ok(url)
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

impl ServeArgs {
    /// Checks every value and derives the issuer and JWKS URL.
    ///
    /// # Errors
    ///
    /// The first bad or missing value, as a [`ConfigError`] naming its variable.
    pub fn validate(&self) -> Result<Config, ConfigError> {
        let port: u16 = self
            .port
            .trim()
            .parse()
            .map_err(|_| err("PORT", "port", "is not a port number (0-65535)", "3001"))?;
        let host: IpAddr = self
            .host
            .trim()
            .parse()
            .map_err(|_| err("HOST", "host", "is not an IP address", "0.0.0.0"))?;

        let mut client_ids = split_list(non_empty(&self.cognito_client_ids), ',');
        if client_ids.is_empty() {
            if self.dev {
                client_ids.push(DEV_CLIENT_ID.to_owned());
            } else {
                return Err(err(
                    "COGNITO_CLIENT_IDS",
                    "cognito-client-ids",
                    "is required: the app client ids whose access tokens are accepted",
                    "1example23456789abcdefghij",
                ));
            }
        }

        let (issuer, jwks_url) = if self.dev {
            // Filled in by `startup` once the listener has its port.
            let placeholder = Url::parse("http://127.0.0.1/dev/.well-known/jwks.json")
                .map_err(|_| err("HOST", "host", "cannot form the dev issuer", "127.0.0.1"))?;
            (String::new(), placeholder)
        } else {
            self.issuer_and_jwks_url()?
        };

        let leeway = humantime::parse_duration(self.clock_leeway.trim()).map_err(|_| {
            err(
                "CLOCK_LEEWAY",
                "clock-leeway",
                "is not a duration like 60s",
                "60s",
            )
        })?;
        if leeway > MAX_LEEWAY {
            return Err(err(
                "CLOCK_LEEWAY",
                "clock-leeway",
                "must be at most 60s",
                "60s",
            ));
        }

        let policy = TokenPolicy {
            issuer,
            client_ids,
            required_scopes: crate::auth::split_scopes(non_empty(&self.cognito_required_scopes)),
            required_groups: split_list(non_empty(&self.cognito_required_groups), ' '),
            leeway,
        };

        let jwks = JwksSettings {
            ttl: duration(&self.jwks_ttl, "JWKS_TTL", "jwks-ttl", "1h")?,
            cooldown: duration(&self.jwks_cooldown, "JWKS_COOLDOWN", "jwks-cooldown", "10s")?,
            max_stale: duration(
                &self.jwks_max_stale,
                "JWKS_MAX_STALE",
                "jwks-max-stale",
                "24h",
            )?,
            fetch_timeout: duration(
                &self.jwks_fetch_timeout,
                "JWKS_FETCH_TIMEOUT",
                "jwks-fetch-timeout",
                "5s",
            )?,
            connect_timeout: duration(
                &self.jwks_connect_timeout,
                "JWKS_CONNECT_TIMEOUT",
                "jwks-connect-timeout",
                "2s",
            )?,
            ..JwksSettings::with_defaults(jwks_url)
        };
        if jwks.max_stale < jwks.ttl {
            return Err(err(
                "JWKS_MAX_STALE",
                "jwks-max-stale",
                "must be at least JWKS_TTL",
                "24h",
            ));
        }

        let cors = self.cors()?;
        let log_format = match non_empty(&self.log_format) {
            None if std::io::stdout().is_terminal() => LogFormat::Text,
            None => LogFormat::Json,
            Some(v) if v.eq_ignore_ascii_case("json") => LogFormat::Json,
            Some(v) if v.eq_ignore_ascii_case("text") => LogFormat::Text,
            Some(_) => {
                return Err(err(
                    "LOG_FORMAT",
                    "log-format",
                    "must be json or text",
                    "json",
                ));
            }
        };

        Ok(Config {
            host,
            port,
            policy,
            jwks,
            cors,
            log_format,
            request_timeout: duration(
                &self.request_timeout,
                "REQUEST_TIMEOUT",
                "request-timeout",
                "10s",
            )?,
            shutdown_grace: duration(
                &self.shutdown_grace,
                "SHUTDOWN_GRACE",
                "shutdown-grace",
                "20s",
            )?,
            shutdown_delay: humantime::parse_duration(self.shutdown_delay.trim()).map_err(
                |_| {
                    err(
                        "SHUTDOWN_DELAY",
                        "shutdown-delay",
                        "is not a duration like 5s or 0s",
                        "5s",
                    )
                },
            )?,
            header_read_timeout: duration(
                &self.header_read_timeout,
                "HEADER_READ_TIMEOUT",
                "header-read-timeout",
                "10s",
            )?,
            keepalive_timeout: duration(
                &self.keepalive_timeout,
                "KEEPALIVE_TIMEOUT",
                "keepalive-timeout",
                "75s",
            )?,
            max_connections: match non_empty(&self.max_connections) {
                None => None,
                Some(value) => Some(value.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(
                    || {
                        err(
                            "MAX_CONNECTIONS",
                            "max-connections",
                            "is not a whole number above zero",
                            "4096",
                        )
                    },
                )?),
            },
            dev: self.dev,
        })
    }

    fn issuer_and_jwks_url(&self) -> Result<(String, Url), ConfigError> {
        let pool_id = non_empty(&self.cognito_user_pool_id);
        let issuer = match (non_empty(&self.cognito_issuer), pool_id) {
            (Some(issuer), _) => {
                http_url(
                    issuer,
                    "COGNITO_ISSUER",
                    "cognito-issuer",
                    "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123",
                )?;
                issuer.to_owned()
            }
            (None, Some(pool_id)) => {
                let region = match non_empty(&self.cognito_region) {
                    Some(region) => region,
                    None => match region_from_pool_id(pool_id) {
                        Some(region) => region,
                        None => non_empty(&self.aws_region).ok_or_else(|| {
                            err(
                                "COGNITO_USER_POOL_ID",
                                "cognito-user-pool-id",
                                "does not start with a region (set COGNITO_REGION)",
                                "eu-west-1_AbCdEf123",
                            )
                        })?,
                    },
                };
                if !is_region(region) {
                    return Err(err(
                        "COGNITO_REGION",
                        "cognito-region",
                        "is not an AWS region name",
                        "eu-west-1",
                    ));
                }
                if !pool_id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                {
                    return Err(err(
                        "COGNITO_USER_POOL_ID",
                        "cognito-user-pool-id",
                        "has characters a pool id cannot have",
                        "eu-west-1_AbCdEf123",
                    ));
                }
                format!("https://cognito-idp.{region}.amazonaws.com/{pool_id}")
            }
            (None, None) => {
                return Err(err(
                    "COGNITO_USER_POOL_ID",
                    "cognito-user-pool-id",
                    "is required (or COGNITO_ISSUER): it names the user pool whose tokens are accepted",
                    "eu-west-1_AbCdEf123",
                ));
            }
        };
        let jwks_url = match non_empty(&self.cognito_jwks_url) {
            Some(url) => http_url(
                url,
                "COGNITO_JWKS_URL",
                "cognito-jwks-url",
                "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123/.well-known/jwks.json",
            )?,
            None => http_url(
                &format!("{}/.well-known/jwks.json", issuer.trim_end_matches('/')),
                "COGNITO_ISSUER",
                "cognito-issuer",
                "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123",
            )?,
        };
        Ok((issuer, jwks_url))
    }

    fn cors(&self) -> Result<CorsOrigins, ConfigError> {
        let raw = self.cors_allowed_origins.trim();
        if raw == "*" {
            return Ok(CorsOrigins::Any);
        }
        let mut origins = Vec::new();
        for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let parsed = origin(part).ok_or_else(|| {
                err(
                    "CORS_ALLOWED_ORIGINS",
                    "cors-allowed-origins",
                    "must be * or a comma-separated list of origins (scheme://host[:port], no path)",
                    "https://app.example.com,http://localhost:5173",
                )
            })?;
            origins.push(parsed);
        }
        if origins.is_empty() {
            return Err(err(
                "CORS_ALLOWED_ORIGINS",
                "cors-allowed-origins",
                "is empty",
                "https://app.example.com",
            ));
        }
        Ok(CorsOrigins::List(origins))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> ServeArgs {
        ServeArgs {
            cognito_user_pool_id: Some("eu-west-1_AbCdEf123".into()),
            cognito_client_ids: Some("client-a, client-b".into()),
            log_format: Some("json".into()),
            ..ServeArgs::default()
        }
    }

    fn failing_variable(args: ServeArgs) -> &'static str {
        match args.validate() {
            Ok(_) => panic!("configuration was accepted"),
            Err(e) => e.variable,
        }
    }

    #[test]
    fn issuer_and_jwks_url_are_derived_from_the_pool_id() {
        let config = args().validate().expect("valid");
        assert_eq!(
            config.policy.issuer,
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123"
        );
        assert_eq!(
            config.jwks.url.as_str(),
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123/.well-known/jwks.json"
        );
        assert_eq!(config.policy.client_ids, ["client-a", "client-b"]);
        assert_eq!(config.port, 3001);
        assert_eq!(
            config.jwks,
            JwksSettings::with_defaults(config.jwks.url.clone())
        );
        assert_eq!(config.policy.leeway, Duration::from_secs(60));
    }

    #[test]
    fn issuer_and_jwks_url_can_be_set_apart_for_emulators() {
        let config = ServeArgs {
            cognito_user_pool_id: None,
            cognito_issuer: Some("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_x".into()),
            cognito_jwks_url: Some(
                "http://127.0.0.1:5000/us-east-1_x/.well-known/jwks.json".into(),
            ),
            ..args()
        }
        .validate()
        .expect("valid");
        assert_eq!(
            config.policy.issuer,
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_x"
        );
        assert_eq!(config.jwks.url.port(), Some(5000));
    }

    #[test]
    fn region_comes_from_cognito_region_then_aws_region() {
        let with_region = ServeArgs {
            cognito_user_pool_id: Some("AbCdEf123".into()),
            cognito_region: Some("us-west-2".into()),
            ..args()
        };
        assert!(
            with_region
                .validate()
                .expect("valid")
                .policy
                .issuer
                .contains("us-west-2")
        );
        let with_aws_region = ServeArgs {
            cognito_user_pool_id: Some("AbCdEf123".into()),
            aws_region: Some("ap-south-1".into()),
            ..args()
        };
        assert!(
            with_aws_region
                .validate()
                .expect("valid")
                .policy
                .issuer
                .contains("ap-south-1")
        );
        let without = ServeArgs {
            cognito_user_pool_id: Some("AbCdEf123".into()),
            ..args()
        };
        assert_eq!(failing_variable(without), "COGNITO_USER_POOL_ID");
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        let cases: Vec<(ServeArgs, &str)> = vec![
            (
                ServeArgs {
                    cognito_client_ids: None,
                    ..args()
                },
                "COGNITO_CLIENT_IDS",
            ),
            (
                ServeArgs {
                    cognito_client_ids: Some(" , ".into()),
                    ..args()
                },
                "COGNITO_CLIENT_IDS",
            ),
            (
                ServeArgs {
                    cognito_user_pool_id: None,
                    ..args()
                },
                "COGNITO_USER_POOL_ID",
            ),
            (
                ServeArgs {
                    port: "70000".into(),
                    ..args()
                },
                "PORT",
            ),
            (
                ServeArgs {
                    port: "abc".into(),
                    ..args()
                },
                "PORT",
            ),
            (
                ServeArgs {
                    host: "localhost:80".into(),
                    ..args()
                },
                "HOST",
            ),
            (
                ServeArgs {
                    cognito_issuer: Some("not a url".into()),
                    ..args()
                },
                "COGNITO_ISSUER",
            ),
            (
                ServeArgs {
                    cognito_jwks_url: Some("ftp://x/y".into()),
                    ..args()
                },
                "COGNITO_JWKS_URL",
            ),
            (
                ServeArgs {
                    cognito_jwks_url: Some("https://u:p@x/y".into()),
                    ..args()
                },
                "COGNITO_JWKS_URL",
            ),
            (
                ServeArgs {
                    cognito_region: Some("mars".into()),
                    ..args()
                },
                "COGNITO_REGION",
            ),
            (
                ServeArgs {
                    log_format: Some("xml".into()),
                    ..args()
                },
                "LOG_FORMAT",
            ),
            (
                ServeArgs {
                    cors_allowed_origins: "https://a.example/path".into(),
                    ..args()
                },
                "CORS_ALLOWED_ORIGINS",
            ),
            (
                ServeArgs {
                    cors_allowed_origins: ",".into(),
                    ..args()
                },
                "CORS_ALLOWED_ORIGINS",
            ),
            (
                ServeArgs {
                    jwks_ttl: "soon".into(),
                    ..args()
                },
                "JWKS_TTL",
            ),
            (
                ServeArgs {
                    jwks_cooldown: "0s".into(),
                    ..args()
                },
                "JWKS_COOLDOWN",
            ),
            (
                ServeArgs {
                    jwks_max_stale: "10m".into(),
                    ..args()
                },
                "JWKS_MAX_STALE",
            ),
            (
                ServeArgs {
                    clock_leeway: "5m".into(),
                    ..args()
                },
                "CLOCK_LEEWAY",
            ),
            (
                ServeArgs {
                    request_timeout: "x".into(),
                    ..args()
                },
                "REQUEST_TIMEOUT",
            ),
        ];
        for (case, variable) in cases {
            assert_eq!(failing_variable(case), variable);
        }
    }

    #[test]
    fn connection_settings_are_checked() {
        let config = args().validate().expect("valid");
        assert_eq!(config.shutdown_delay, Duration::from_secs(5));
        assert_eq!(config.shutdown_grace, Duration::from_secs(20));
        assert_eq!(config.header_read_timeout, Duration::from_secs(10));
        assert_eq!(config.keepalive_timeout, Duration::from_secs(75));
        assert_eq!(config.max_connections, None);
        let set = ServeArgs {
            shutdown_delay: "0s".into(),
            max_connections: Some("100".into()),
            ..args()
        }
        .validate()
        .expect("valid");
        assert_eq!(set.shutdown_delay, Duration::ZERO);
        assert_eq!(set.max_connections, Some(100));
        let cases: Vec<(ServeArgs, &str)> = vec![
            (
                ServeArgs {
                    shutdown_delay: "later".into(),
                    ..args()
                },
                "SHUTDOWN_DELAY",
            ),
            (
                ServeArgs {
                    header_read_timeout: "0s".into(),
                    ..args()
                },
                "HEADER_READ_TIMEOUT",
            ),
            (
                ServeArgs {
                    keepalive_timeout: "x".into(),
                    ..args()
                },
                "KEEPALIVE_TIMEOUT",
            ),
            (
                ServeArgs {
                    max_connections: Some("0".into()),
                    ..args()
                },
                "MAX_CONNECTIONS",
            ),
            (
                ServeArgs {
                    max_connections: Some("many".into()),
                    ..args()
                },
                "MAX_CONNECTIONS",
            ),
        ];
        for (case, variable) in cases {
            assert_eq!(failing_variable(case), variable);
        }
    }

    #[test]
    fn the_error_message_names_the_variable_and_an_example() {
        let error = ServeArgs {
            cognito_client_ids: None,
            ..args()
        }
        .validate()
        .unwrap_err();
        let text = error.to_string();
        assert!(text.contains("COGNITO_CLIENT_IDS"), "{text}");
        assert!(text.contains("--cognito-client-ids"), "{text}");
        assert!(text.contains("Example: COGNITO_CLIENT_IDS="), "{text}");
    }

    #[test]
    fn cors_origins_are_normalised() {
        let config = ServeArgs {
            cors_allowed_origins: "https://App.Example.com, http://localhost:5173".into(),
            ..args()
        }
        .validate()
        .expect("valid");
        assert_eq!(
            config.cors,
            CorsOrigins::List(vec![
                "https://app.example.com".into(),
                "http://localhost:5173".into()
            ])
        );
        assert_eq!(args().validate().expect("valid").cors, CorsOrigins::Any);
    }

    #[test]
    fn scopes_and_groups_are_space_separated() {
        let config = ServeArgs {
            cognito_required_scopes: Some("api/read  api/write".into()),
            cognito_required_groups: Some("admins".into()),
            ..args()
        }
        .validate()
        .expect("valid");
        assert_eq!(config.policy.required_scopes, ["api/read", "api/write"]);
        assert_eq!(config.policy.required_groups, ["admins"]);
    }

    #[test]
    fn dev_mode_needs_no_cognito_settings() {
        let config = ServeArgs {
            dev: true,
            cognito_user_pool_id: None,
            cognito_client_ids: None,
            ..args()
        }
        .validate()
        .expect("valid");
        assert_eq!(config.policy.client_ids, [DEV_CLIENT_ID]);
        assert!(config.dev);
    }

    #[test]
    fn regions_are_read_from_pool_ids() {
        assert_eq!(
            region_from_pool_id("eu-west-1_AbCdEf123"),
            Some("eu-west-1")
        );
        assert_eq!(
            region_from_pool_id("us-gov-west-1_Ab12"),
            Some("us-gov-west-1")
        );
        assert_eq!(region_from_pool_id("local_5U65e7Q1"), None);
        assert_eq!(region_from_pool_id("AbCdEf123"), None);
    }
}
