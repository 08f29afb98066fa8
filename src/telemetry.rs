//! Logging: `tracing` with a `RUST_LOG` filter, JSON lines (CloudWatch) or text.

use tracing_subscriber::EnvFilter;

use crate::config::{ConfigError, LogFormat};

/// The filter from `RUST_LOG`, `info` when unset.
///
/// # Errors
///
/// A [`ConfigError`] naming `RUST_LOG` when it does not parse.
pub fn filter_from_env() -> Result<EnvFilter, ConfigError> {
    match std::env::var("RUST_LOG") {
        Ok(value) if !value.trim().is_empty() => {
            EnvFilter::builder()
                .parse(value.trim())
                .map_err(|_| ConfigError {
                    variable: "RUST_LOG",
                    flag: "(none)",
                    problem: "is not a tracing filter".into(),
                    example: "info,randapi=debug",
                })
        }
        _ => Ok(EnvFilter::new("info")),
    }
}

/// Installs the global subscriber, writing to stdout. A second call does nothing.
pub fn init(format: LogFormat, filter: EnvFilter) {
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stdout);
    // `try_init` fails only when a subscriber is already set (tests): that one is kept.
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init(),
        LogFormat::Text => builder.compact().try_init(),
    };
}
