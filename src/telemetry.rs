//! Logging: `tracing` with a `RUST_LOG` filter, JSON lines (CloudWatch) or text, on stdout.
//!
//! Lines go through one in-process buffer: info and debug lines (the request log) are written out
//! when 64 KiB have gathered or at the latest every 100 ms by a flusher thread, and at exit;
//! warnings and errors are written at once. Under load this turns one `write` system call per
//! request into one per few hundred requests (see docs/benchmarks.md). tracing-appender's
//! non-blocking writer (a queue and a worker thread) was measured against it with `bench/run.sh`
//! and cost clearly more CPU per request log line, so this stays hand-written.

use std::io::{self, BufWriter, Stdout, Write};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use tracing::{Level, Metadata};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::config::{ConfigError, LogFormat};

/// How long an info line may wait in the buffer.
const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// Buffer size; a full buffer is written out at once.
const BUFFER_BYTES: usize = 64 * 1024;

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

/// Stdout behind a shared buffer.
#[derive(Debug, Clone)]
struct BufferedStdout(Arc<Mutex<BufWriter<Stdout>>>);

/// One log line's access to the buffer; warnings and errors flush it when done.
struct LineWriter<'a> {
    out: MutexGuard<'a, BufWriter<Stdout>>,
    flush: bool,
}

impl Write for LineWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

impl Drop for LineWriter<'_> {
    fn drop(&mut self) {
        if self.flush {
            let _ = self.out.flush();
        }
    }
}

impl BufferedStdout {
    fn lock(&self) -> MutexGuard<'_, BufWriter<Stdout>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<'a> MakeWriter<'a> for BufferedStdout {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter {
            out: self.lock(),
            flush: true,
        }
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Self::Writer {
        // In tracing, less verbose levels compare lower: WARN and ERROR are written at once.
        LineWriter {
            out: self.lock(),
            flush: *meta.level() <= Level::WARN,
        }
    }
}

static STDOUT: OnceLock<BufferedStdout> = OnceLock::new();

/// Writes out whatever log lines are still buffered (called at exit).
pub fn flush() {
    if let Some(stdout) = STDOUT.get() {
        let _ = stdout.lock().flush();
    }
}

/// Installs the global subscriber, writing to stdout. A second call does nothing.
pub fn init(format: LogFormat, filter: EnvFilter) {
    let stdout = STDOUT
        .get_or_init(|| {
            let stdout = BufferedStdout(Arc::new(Mutex::new(BufWriter::with_capacity(
                BUFFER_BYTES,
                io::stdout(),
            ))));
            let flusher = stdout.clone();
            // If the thread cannot start, lines still go out when the buffer fills and at exit.
            let _ = std::thread::Builder::new()
                .name("log-flush".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(FLUSH_EVERY);
                        let _ = flusher.lock().flush();
                    }
                });
            stdout
        })
        .clone();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(stdout);
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
