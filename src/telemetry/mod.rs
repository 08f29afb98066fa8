//! Logging: `tracing` with a `RUST_LOG` filter, JSON lines (CloudWatch) or text, on stdout.
//!
//! Lines go through one in-process buffer ([`buffer`]): info and debug lines (the request log)
//! are written out when 64 KiB have gathered or at the latest every 100 ms by a flusher thread,
//! and at exit; warnings and errors are written at once. Under load this turns one `write`
//! system call per request into one per few hundred requests (see docs/benchmarks.md).
//! tracing-appender's non-blocking writer (a queue and a worker thread) was measured against it
//! with `bench/run.sh` and cost clearly more CPU per request log line, so this stays
//! hand-written.
//!
//! The request line, one per request, is written by [`RequestLine`]: in JSON it skips the fmt
//! layer's field visitor and goes into the same buffer in one copy (see its module).

mod buffer;
mod request_line;

use std::io::Write;
use std::sync::OnceLock;

use tracing::Subscriber;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt;

pub use request_line::{REQUEST_TARGET, RequestLine, request_lines_enabled};

use crate::config::{ConfigError, LogFormat};
use buffer::BufferedStdout;

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
                    has_flag: false,
                    ..ConfigError::new("RUST_LOG", "is not a tracing filter", "info,randapi=debug")
                })
        }
        _ => Ok(EnvFilter::new("info")),
    }
}

static STDOUT: OnceLock<BufferedStdout> = OnceLock::new();

/// Set only when [`init`] installed the JSON subscriber on [`STDOUT`]: request lines may then be
/// written there directly. Otherwise (text, or a subscriber set by someone else, as in tests)
/// they go through `tracing`.
static DIRECT_JSON: OnceLock<BufferedStdout> = OnceLock::new();

fn direct_json() -> Option<&'static BufferedStdout> {
    DIRECT_JSON.get()
}

/// Writes out whatever log lines are still buffered (called at exit).
pub fn flush() {
    if let Some(stdout) = STDOUT.get() {
        let _ = stdout.lock().flush();
    }
}

/// The JSON subscriber [`init`] installs, writing to `writer` (also what the request line's tests
/// and bench/log_line.rs compare [`RequestLine`]'s own JSON with).
pub fn json_subscriber<W>(filter: EnvFilter, writer: W) -> impl Subscriber + Send + Sync + 'static
where
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .finish()
}

/// The text subscriber [`init`] installs, writing to `writer`.
pub fn text_subscriber<W>(filter: EnvFilter, writer: W) -> impl Subscriber + Send + Sync + 'static
where
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .compact()
        .finish()
}

/// Installs the global subscriber, writing to stdout. A second call does nothing.
pub fn init(format: LogFormat, filter: EnvFilter) {
    let stdout = STDOUT.get_or_init(BufferedStdout::with_flusher).clone();
    // `try_init` fails only when a subscriber is already set (tests): that one is kept.
    match format {
        LogFormat::Json => {
            if json_subscriber(filter, stdout.clone()).try_init().is_ok() {
                let _ = DIRECT_JSON.set(stdout);
            }
        }
        LogFormat::Text => {
            let _ = text_subscriber(filter, stdout).try_init();
        }
    }
}
