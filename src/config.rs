//! Configuration: environment variables (each also a flag), checked once at start.
//!
//! clap parses and types every value (port, address, durations, URLs, origins, log format, the
//! extra pools), and each default is written once, in its `default_value` below; the README's
//! Configuration table and `.env.sample` show the same. The auth variables are grouped
//! ([`PoolArgs`], [`PolicyArgs`], [`JwksArgs`]) and each group becomes the `cognito-auth` setting
//! it is about, once. [`ServeArgs::into_config`] keeps only the rules that span several values.
//! Every argument's value name is its environment variable (clap's default for a field named like
//! the variable), so a bad value is reported by variable:
//! [`ConfigError::from_clap`] turns clap's error into one line with an example, and the binary
//! exits with code 2. A bad value never reaches a request.
//!
//! Tests build a typed [`Config`] without touching the environment and then change its fields:
//!
//! ```
//! # use randapi::config::{KeySource, ServeArgs};
//! let mut config = ServeArgs::from_flags(["--dev", "--host", "127.0.0.1", "--port", "0"])
//!     .expect("flags parse")
//!     .into_config()
//!     .expect("valid");
//! config.policy.required_groups = vec!["admins".into()];
//! assert_eq!(config.keys, KeySource::Dev);
//! ```

use std::error::Error as _;
use std::ffi::OsString;
use std::fmt;
use std::io::IsTerminal;
use std::net::IpAddr;
use std::time::Duration;

use axum::http::HeaderName;
use clap::{Args as _, FromArgMatches as _};
use cognito_auth::{JwksSettings, TokenPolicy, UserPool, split_scopes};
use graceful_serve::{Settings, Timeouts};
use url::Url;

mod values;

use values::header_name;
pub use values::{CorsOrigins, ExtraPools, LogFormat};
use values::{
    byte_size, duration, extra_pools, http_url, ip, issuer_url, metrics_interval, port,
    positive_count, positive_duration, trimmed,
};

use crate::cognito::{self, EXAMPLE_CLIENT_ID, EXAMPLE_ISSUER, EXAMPLE_JWKS_URL, EXAMPLE_POOL_ID};

/// Longest clock leeway accepted (`CLOCK_LEEWAY`): more would accept tokens long expired.
pub const MAX_LEEWAY: Duration = Duration::from_secs(60);

/// Largest JWKS body accepted (Cognito's is about 1 KiB).
pub const MAX_JWKS_BYTES: usize = 64 * 1024;

/// An example of `COGNITO_EXTRA_POOLS`.
pub const EXAMPLE_EXTRA_POOLS: &str =
    r#"[{"userPoolId":"us-east-1_AbCdEf456","clientIds":["2example23456789abcdefghij"]}]"#;

/// The client id that `--dev` tokens carry when `COGNITO_CLIENT_IDS` is not set.
pub const DEV_CLIENT_ID: &str = "randapi-dev-client";

/// The flags and variables of `randapi serve` (what plain `randapi` runs).
#[derive(clap::Args, Debug, Clone)]
pub struct ServeArgs {
    /// Listen port.
    #[arg(long, env = "PORT", default_value = "3001", value_parser = port)]
    pub port: u16,

    /// Listen address.
    #[arg(long, env = "HOST", default_value = "0.0.0.0", value_parser = ip)]
    pub host: IpAddr,

    /// The user pools whose tokens are accepted.
    #[command(flatten)]
    pub pools: PoolArgs,

    /// The rules every token must meet.
    #[command(flatten)]
    pub policy: PolicyArgs,

    /// How the signing keys are fetched and trusted.
    #[command(flatten)]
    pub jwks: JwksArgs,

    /// Comma-separated origins allowed to call the API from a browser, or `*`.
    #[arg(long, env = "CORS_ALLOWED_ORIGINS", default_value = "*", value_parser = CorsOrigins::parse)]
    pub cors_allowed_origins: CorsOrigins,

    /// Comma-separated request headers browsers may send across origins, besides
    /// `authorization` and `content-type` (always allowed).
    #[arg(long, env = "CORS_ALLOWED_HEADERS", value_delimiter = ',', value_parser = header_name)]
    pub cors_allowed_headers: Vec<HeaderName>,

    /// `json` (CloudWatch) or `text`; default `text` on a terminal, else `json`.
    #[arg(long, env = "LOG_FORMAT", value_enum, ignore_case = true)]
    pub log_format: Option<LogFormat>,

    /// Upper bound on the time one request may take.
    #[arg(long, env = "REQUEST_TIMEOUT", default_value = "10s", value_parser = positive_duration)]
    pub request_timeout: Duration,

    /// The serve loop's connection limits and shutdown timing.
    #[command(flatten)]
    pub connections: ConnectionArgs,

    /// How often one line of CloudWatch Embedded Metric Format goes to stdout; 0 turns it off.
    #[arg(long, env = "METRICS_INTERVAL", default_value = "60s", value_parser = metrics_interval)]
    pub metrics_interval: Duration,

    /// Bound of the verified-token cache in bytes (KiB, MiB, GiB suffixes); 0 turns it off.
    #[arg(long, env = "TOKEN_CACHE_MAX_BYTES", default_value = "32MiB", value_parser = byte_size)]
    pub token_cache_max_bytes: u64,

    /// Development mode: an embedded local issuer instead of Cognito. Never for production.
    #[arg(long)]
    pub dev: bool,
}

/// The serve loop's limits and shutdown timing: what of `graceful_serve::Settings` is
/// configuration (the read buffer follows the router's header limit; it is not a setting).
#[derive(clap::Args, Debug, Clone, PartialEq, Eq)]
pub struct ConnectionArgs {
    /// After the shutdown delay, how long requests in flight may take before the process exits
    /// (with the delay, 25 s: inside ECS's 30 s stop timeout).
    #[arg(long, env = "SHUTDOWN_GRACE", default_value = "20s", value_parser = positive_duration)]
    pub shutdown_grace: Duration,

    /// After SIGTERM, how long to keep serving and accepting (the load balancer may still send
    /// requests here); `0s` skips it. SIGINT always skips it.
    #[arg(long, env = "SHUTDOWN_DELAY", default_value = "5s", value_parser = duration)]
    pub shutdown_delay: Duration,

    /// Close a connection that has not sent a complete request head within this long.
    #[arg(long, env = "HEADER_READ_TIMEOUT", default_value = "10s", value_parser = positive_duration)]
    pub header_read_timeout: Duration,

    /// Close an idle keep-alive connection after this long (longer than the 60 s idle timeout of
    /// AWS load balancers).
    #[arg(long, env = "KEEPALIVE_TIMEOUT", default_value = "75s", value_parser = positive_duration)]
    pub keepalive_timeout: Duration,

    /// Most client connections open at once (default: the open-file limit less a reserve).
    #[arg(long, env = "MAX_CONNECTIONS", value_parser = positive_count)]
    pub max_connections: Option<usize>,
}

impl ConnectionArgs {
    /// The serve loop's settings. `default_max` gives the cap when `MAX_CONNECTIONS` is unset:
    /// it reads (and raises) the open-file limit, so it runs at start, not when parsing.
    pub fn settings(
        &self,
        read_buffer_bytes: usize,
        default_max: impl FnOnce() -> usize,
    ) -> Settings {
        Settings {
            timeouts: Timeouts {
                header_read: self.header_read_timeout,
                keep_alive: self.keepalive_timeout,
            },
            max_connections: self.max_connections.unwrap_or_else(default_max),
            shutdown_delay: self.shutdown_delay,
            shutdown_grace: self.shutdown_grace,
            read_buffer_bytes,
        }
    }
}

/// The user pools: the first named by `COGNITO_USER_POOL_ID` (or `COGNITO_ISSUER`), more in
/// `COGNITO_EXTRA_POOLS`.
#[derive(clap::Args, Debug, Clone)]
pub struct PoolArgs {
    /// Cognito user pool id, e.g. `eu-west-1_AbCdEf123`; the region is read from its prefix.
    #[arg(long, env = "COGNITO_USER_POOL_ID", value_parser = trimmed)]
    pub cognito_user_pool_id: Option<String>,

    /// Region of the user pool, only when it cannot be read from the pool id.
    #[arg(long, env = "COGNITO_REGION", value_parser = trimmed)]
    pub cognito_region: Option<String>,

    /// Fallback region (set by ECS and the AWS CLI).
    #[arg(long, env = "AWS_REGION", hide = true, value_parser = trimmed)]
    pub aws_region: Option<String>,

    /// Comma-separated app client ids allowed in the access token's `client_id`.
    #[arg(long, env = "COGNITO_CLIENT_IDS", value_delimiter = ',', value_parser = trimmed)]
    pub cognito_client_ids: Vec<String>,

    /// The exact `iss` expected; overrides the one derived from the pool id.
    #[arg(long, env = "COGNITO_ISSUER", value_parser = issuer_url)]
    pub cognito_issuer: Option<String>,

    /// Where the signing keys are fetched (default: `{issuer}/.well-known/jwks.json`).
    #[arg(long, env = "COGNITO_JWKS_URL", value_parser = http_url)]
    pub cognito_jwks_url: Option<Url>,

    /// More user pools, a JSON array: `[{"userPoolId": "...", "clientIds": ["..."]}, ...]`
    /// (`region`, `issuer` and `jwksUrl` as for the first pool); a token's `iss` picks its pool.
    #[arg(long, env = "COGNITO_EXTRA_POOLS", value_parser = extra_pools)]
    pub cognito_extra_pools: Option<ExtraPools>,
}

/// The rules every token must meet, whatever its pool.
#[derive(clap::Args, Debug, Clone)]
pub struct PolicyArgs {
    /// Space-separated scopes; a token needs at least one of them (split as a `scope` claim is).
    #[arg(long, env = "COGNITO_REQUIRED_SCOPES")]
    pub cognito_required_scopes: Option<String>,

    /// Space-separated groups; `cognito:groups` needs at least one of them.
    #[arg(long, env = "COGNITO_REQUIRED_GROUPS", value_delimiter = ' ', value_parser = trimmed)]
    pub cognito_required_groups: Vec<String>,

    /// Clock leeway for `exp`, `nbf` and `iat` (at most 60s).
    #[arg(long, env = "CLOCK_LEEWAY", default_value = "60s", value_parser = duration)]
    pub clock_leeway: Duration,
}

/// How the signing keys are fetched and how long they are trusted.
#[derive(clap::Args, Debug, Clone)]
pub struct JwksArgs {
    /// How long the signing keys are trusted before a background refresh replaces them.
    #[arg(long, env = "JWKS_TTL", default_value = "1h", value_parser = positive_duration)]
    pub jwks_ttl: Duration,

    /// Least time between two JWKS fetches caused by requests (unknown kid, failed fetch).
    #[arg(long, env = "JWKS_COOLDOWN", default_value = "10s", value_parser = positive_duration)]
    pub jwks_cooldown: Duration,

    /// How long known keys stay in use while refreshes fail (stale-if-error); at least JWKS_TTL.
    #[arg(long, env = "JWKS_MAX_STALE", default_value = "24h", value_parser = positive_duration)]
    pub jwks_max_stale: Duration,

    /// Whole-fetch timeout of one JWKS request.
    #[arg(long, env = "JWKS_FETCH_TIMEOUT", default_value = "5s", value_parser = positive_duration)]
    pub jwks_fetch_timeout: Duration,

    /// Connect timeout of one JWKS request.
    #[arg(long, env = "JWKS_CONNECT_TIMEOUT", default_value = "2s", value_parser = positive_duration)]
    pub jwks_connect_timeout: Duration,
}

impl PolicyArgs {
    /// The token rules, with the leeway cap (`CLOCK_LEEWAY`).
    fn into_policy(self) -> Result<TokenPolicy, ConfigError> {
        if self.clock_leeway > MAX_LEEWAY {
            return Err(ConfigError::new(
                "CLOCK_LEEWAY",
                "must be at most 60s",
                "60s",
            ));
        }
        Ok(TokenPolicy {
            required_scopes: split_scopes(self.cognito_required_scopes.as_deref()),
            required_groups: words(self.cognito_required_groups),
            leeway: self.clock_leeway,
        })
    }
}

impl JwksArgs {
    /// The key caches' settings, with the rule max stale ≥ TTL.
    fn into_settings(self) -> Result<JwksSettings, ConfigError> {
        if self.jwks_max_stale < self.jwks_ttl {
            return Err(ConfigError::new(
                "JWKS_MAX_STALE",
                "must be at least JWKS_TTL",
                "24h",
            ));
        }
        Ok(JwksSettings {
            ttl: self.jwks_ttl,
            cooldown: self.jwks_cooldown,
            max_stale: self.jwks_max_stale,
            fetch_timeout: self.jwks_fetch_timeout,
            connect_timeout: self.jwks_connect_timeout,
            max_body_bytes: MAX_JWKS_BYTES,
        })
    }
}

/// Where the signing keys come from: decided once, here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A Cognito user pool (or an emulator of one).
    Cognito {
        /// The exact `iss` of its access tokens.
        issuer: String,
        /// Where its JWKS is published.
        jwks_url: Url,
    },
    /// `--dev`: the embedded issuer of this process; its issuer and JWKS URL name the address the
    /// server binds, so they are known only then.
    Dev,
}

/// The checked configuration of the server. Its fields are public: tests change them.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listen address.
    pub host: IpAddr,
    /// Listen port (0 picks a free one).
    pub port: u16,
    /// Where the first pool's signing keys come from.
    pub keys: KeySource,
    /// The first pool's allowed `client_id` values.
    pub client_ids: Vec<String>,
    /// More pools (`COGNITO_EXTRA_POOLS`).
    pub extra_pools: Vec<UserPool>,
    /// The rules every token must meet.
    pub policy: TokenPolicy,
    /// How the keys are fetched and trusted.
    pub jwks: JwksSettings,
    /// Allowed browser origins.
    pub cors: CorsOrigins,
    /// Request headers allowed across origins besides `authorization` and `content-type`.
    pub cors_headers: Vec<HeaderName>,
    /// Log format.
    pub log_format: LogFormat,
    /// Upper bound on one request.
    pub request_timeout: Duration,
    /// The serve loop's limits and shutdown timing.
    pub connections: ConnectionArgs,
    /// Interval of the EMF metrics line; `None`: no metrics.
    pub metrics_interval: Option<Duration>,
    /// Bound of the verified-token cache in bytes; 0: no cache.
    pub token_cache_max_bytes: u64,
}

/// A configuration that stops the start: it names the variable and shows an example.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The environment variable at fault.
    pub variable: String,
    /// Whether the variable is also a flag (`PORT` is `--port`; `RUST_LOG` is no flag).
    pub has_flag: bool,
    /// What is wrong, without echoing the value (it may be a secret).
    pub problem: String,
    /// A value that would work.
    pub example: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let variable = &self.variable;
        write!(f, "configuration error: {variable}")?;
        if self.has_flag {
            write!(
                f,
                " (flag --{})",
                variable.to_ascii_lowercase().replace('_', "-")
            )?;
        }
        write!(f, " {}. Example: {variable}={}", self.problem, self.example)
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    /// An error about the variable (and flag) `variable`.
    pub fn new(variable: &str, problem: impl Into<String>, example: &str) -> Self {
        Self {
            variable: variable.to_owned(),
            has_flag: true,
            problem: problem.into(),
            example: example.to_owned(),
        }
    }

    /// The configuration error in clap's `error` about a [`ServeArgs`] value, if it is one
    /// (`None` for usage errors such as an unknown flag, which clap reports best itself).
    pub fn from_clap(error: &clap::Error) -> Option<Self> {
        use clap::error::{ContextKind, ContextValue, ErrorKind};
        let Some(ContextValue::String(invalid)) = error.get(ContextKind::InvalidArg) else {
            return None;
        };
        let flag = invalid.split_whitespace().next()?;
        let command = ServeArgs::augment_args(clap::Command::new("serve"));
        let arg = command.get_arguments().find(|arg| {
            arg.get_long()
                .is_some_and(|long| flag == format!("--{long}"))
        })?;
        let variable = arg.get_env()?.to_str()?;
        let choices: Vec<String> = arg
            .get_possible_values()
            .iter()
            .map(|value| value.get_name().to_owned())
            .collect();
        let problem = match error.kind() {
            ErrorKind::ValueValidation => error
                .source()
                .map_or_else(|| "is not valid".to_owned(), ToString::to_string),
            ErrorKind::InvalidValue if !choices.is_empty() => {
                format!("must be one of {}", choices.join(", "))
            }
            ErrorKind::InvalidValue => "is empty".to_owned(),
            _ => return None,
        };
        let example = match (arg.get_default_values().first(), choices.first()) {
            (Some(default), _) => default.to_string_lossy().into_owned(),
            (None, Some(choice)) => choice.clone(),
            (None, None) if variable == "COGNITO_JWKS_URL" => EXAMPLE_JWKS_URL.to_owned(),
            (None, None) if variable == "MAX_CONNECTIONS" => "4096".to_owned(),
            (None, None) if variable == "CORS_ALLOWED_HEADERS" => "traceparent".to_owned(),
            (None, None) if variable == "COGNITO_EXTRA_POOLS" => EXAMPLE_EXTRA_POOLS.to_owned(),
            (None, None) => EXAMPLE_ISSUER.to_owned(),
        };
        Some(Self::new(variable, problem, &example))
    }
}

fn non_empty(value: Option<&String>) -> Option<&str> {
    value.map(String::as_str).filter(|v| !v.is_empty())
}

fn words(values: Vec<String>) -> Vec<String> {
    values.into_iter().filter(|v| !v.is_empty()).collect()
}

impl ServeArgs {
    /// Parses `flags` (without the program name) as `randapi serve` would, ignoring the process
    /// environment, the last of a repeated single-valued flag winning: what tests use to build a [`Config`]
    /// from the real defaults.
    ///
    /// # Errors
    ///
    /// clap's error for a bad or unknown flag.
    pub fn from_flags<I, T>(flags: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString>,
    {
        // A flag given twice keeps its last value (list flags append), so a test can add to a
        // base set of flags.
        let command = Self::augment_args(clap::Command::new("randapi"))
            .args_override_self(true)
            .mut_args(|arg| arg.env(None::<&str>));
        let argv =
            std::iter::once(OsString::from("randapi")).chain(flags.into_iter().map(Into::into));
        Self::from_arg_matches(&command.try_get_matches_from(argv)?)
    }

    /// Applies the rules that span several values: the key source (issuer and JWKS URL from the
    /// pool id and region, or `--dev`), client ids required unless `--dev`, no two pools with
    /// one issuer, max stale ≥ TTL, and the leeway cap.
    ///
    /// # Errors
    ///
    /// The first broken rule, as a [`ConfigError`] naming its variable.
    pub fn into_config(self) -> Result<Config, ConfigError> {
        let mut client_ids = words(self.pools.cognito_client_ids.clone());
        if client_ids.is_empty() {
            if !self.dev {
                return Err(ConfigError::new(
                    "COGNITO_CLIENT_IDS",
                    "is required: the app client ids whose access tokens are accepted",
                    EXAMPLE_CLIENT_ID,
                ));
            }
            client_ids.push(DEV_CLIENT_ID.to_owned());
        }
        let keys = if self.dev {
            KeySource::Dev
        } else {
            self.pools.cognito_keys()?
        };
        let extra_pools = self.pools.cognito_extra_pools.unwrap_or_default().0;
        for (i, pool) in extra_pools.iter().enumerate() {
            let first =
                matches!(&keys, KeySource::Cognito { issuer, .. } if *issuer == pool.issuer);
            if first || extra_pools[..i].iter().any(|p| p.issuer == pool.issuer) {
                return Err(ConfigError::new(
                    "COGNITO_EXTRA_POOLS",
                    "names an issuer twice (a token's iss must pick one pool)",
                    EXAMPLE_EXTRA_POOLS,
                ));
            }
        }
        let policy = self.policy.into_policy()?;
        let jwks = self.jwks.into_settings()?;
        let log_format = self
            .log_format
            .unwrap_or(if std::io::stdout().is_terminal() {
                LogFormat::Text
            } else {
                LogFormat::Json
            });
        Ok(Config {
            host: self.host,
            port: self.port,
            keys,
            client_ids,
            extra_pools,
            policy,
            jwks,
            cors: self.cors_allowed_origins,
            cors_headers: self.cors_allowed_headers,
            log_format,
            request_timeout: self.request_timeout,
            connections: self.connections,
            metrics_interval: (!self.metrics_interval.is_zero()).then_some(self.metrics_interval),
            token_cache_max_bytes: self.token_cache_max_bytes,
        })
    }
}

impl PoolArgs {
    /// The issuer (`COGNITO_ISSUER`, else from the pool id and region) and its JWKS URL.
    fn cognito_keys(&self) -> Result<KeySource, ConfigError> {
        const POOL: &str = "COGNITO_USER_POOL_ID";
        let pool_id = non_empty(self.cognito_user_pool_id.as_ref());
        let issuer = match (non_empty(self.cognito_issuer.as_ref()), pool_id) {
            (Some(issuer), _) => issuer.to_owned(),
            (None, Some(pool_id)) => {
                let region = non_empty(self.cognito_region.as_ref())
                    .or_else(|| cognito::region_from_pool_id(pool_id))
                    .or_else(|| non_empty(self.aws_region.as_ref()))
                    .ok_or_else(|| {
                        let problem = "does not start with a region (set COGNITO_REGION)";
                        ConfigError::new(POOL, problem, EXAMPLE_POOL_ID)
                    })?;
                if !cognito::is_region(region) {
                    let problem = "is not an AWS region name";
                    return Err(ConfigError::new(
                        "COGNITO_REGION",
                        problem,
                        cognito::EXAMPLE_REGION,
                    ));
                }
                if !cognito::is_pool_id(pool_id) {
                    let problem = "has characters a pool id cannot have";
                    return Err(ConfigError::new(POOL, problem, EXAMPLE_POOL_ID));
                }
                format!("{}{pool_id}", cognito::idp_endpoint(region))
            }
            (None, None) => {
                let problem = "is required (or COGNITO_ISSUER): it names the user pool whose tokens are accepted";
                return Err(ConfigError::new(POOL, problem, EXAMPLE_POOL_ID));
            }
        };
        let jwks_url = match &self.cognito_jwks_url {
            Some(url) => url.clone(),
            None => http_url(&cognito::jwks_url(&issuer))
                .map_err(|problem| ConfigError::new("COGNITO_ISSUER", problem, EXAMPLE_ISSUER))?,
        };
        Ok(KeySource::Cognito { issuer, jwks_url })
    }
}

#[cfg(test)]
mod tests;
