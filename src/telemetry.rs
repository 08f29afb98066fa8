//! Logging: `tracing` with a `RUST_LOG` filter, JSON lines (CloudWatch) or text, on stdout.
//!
//! Lines are handed to tracing-appender's non-blocking writer: a request never waits on stdout.
//! Its worker thread writes them into a 64 KiB buffer and flushes that whenever it has caught up
//! with the queue (or the buffer is full), so an idle server's lines, warnings and errors included,
//! reach stdout at once, and a busy one makes one `write` system call per batch of lines instead of
//! one per request (see docs/benchmarks.md). The queue is not lossy: when it is full, a logging
//! thread waits. [`flush`] writes out everything still queued at exit.

use std::io::{self, BufWriter};
use std::sync::{Mutex, OnceLock, PoisonError};

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

use crate::config::{ConfigError, LogFormat};

/// Buffer between the worker and stdout.
const BUFFER_BYTES: usize = 64 * 1024;
/// Most lines queued for the worker; past it, logging waits (never drops a line).
const QUEUED_LINES: usize = 16 * 1024;

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

/// The worker's guard: dropping it writes out the queue and stops the worker.
static WORKER: OnceLock<Mutex<Option<WorkerGuard>>> = OnceLock::new();

/// Writes out whatever log lines are still queued (called at exit); lines logged after it are
/// dropped.
pub fn flush() {
    if let Some(worker) = WORKER.get() {
        drop(worker.lock().unwrap_or_else(PoisonError::into_inner).take());
    }
}

/// Installs the global subscriber, writing to stdout. A second call does nothing.
pub fn init(format: LogFormat, filter: EnvFilter) {
    if WORKER.get().is_some() {
        return;
    }
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(false)
        .buffered_lines_limit(QUEUED_LINES)
        .thread_name("log-writer")
        .finish(BufWriter::with_capacity(BUFFER_BYTES, io::stdout()));
    if WORKER.set(Mutex::new(Some(guard))).is_err() {
        return;
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
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
