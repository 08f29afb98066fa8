//! The request log line: tracing-subscriber's JSON layer (what every request wrote before)
//! against `RequestLine`'s own writer (what it writes now), in the same run, both into a 64 KiB
//! `BufWriter` behind a mutex that drains into `io::sink()` (stdout's buffer without the
//! system call). Both run under the JSON subscriber `telemetry::init` installs, so the `RUST_LOG`
//! check is paid by both.
//!
//! ```text
//! cargo run --release --example log_line -- --bench
//! ```
//!
//! - `log_line/json_layer`: `tracing::info!` through the fmt layer's JSON formatter (before);
//! - `log_line/direct`: `tracing::enabled!`, the line formatted in a thread-local buffer, one
//!   `write_all` under the lock (after: what `RequestLine::log` does in JSON);
//! - `log_line/format_only`: the formatting alone, into a reused `Vec`;
//! - `log_line/text_layer`: `LOG_FORMAT=text`, still through the fmt layer's compact format.

use std::hint::black_box;
use std::io::{self, BufWriter, Sink, Write};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use criterion::{Criterion, criterion_group, criterion_main};
use randapi::telemetry::{RequestLine, json_subscriber, request_lines_enabled, text_subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// The shared log buffer of `telemetry`, draining into nothing.
#[derive(Clone)]
struct Buffer(Arc<Mutex<BufWriter<Sink>>>);

/// One line's hold on the buffer, as `telemetry`'s `LineWriter` (info lines: no flush).
struct Held<'a>(MutexGuard<'a, BufWriter<Sink>>);

impl Write for Held<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = Held<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        Held(self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// A verified request's line, fields as long as Cognito's.
fn line() -> RequestLine<'static> {
    RequestLine {
        method: "GET",
        path: "/",
        status: 200,
        latency_ms: 0.048_213,
        sub: Some("0b5e1d2c-8f1a-4d6e-9c3b-2a7f4e6d8c1a"),
        client_id: Some("4h3k5l6m7n8o9p0q1r2s3t4u5v"),
        jti: Some("e2a1c3b4-5d6e-7f80-9a1b-2c3d4e5f6a7b"),
        reason: None,
    }
}

fn benches(c: &mut Criterion) {
    let buffer = Buffer(Arc::new(Mutex::new(BufWriter::with_capacity(
        64 * 1024,
        io::sink(),
    ))));
    let line = line();
    let mut group = c.benchmark_group("log_line");

    let subscriber = json_subscriber(EnvFilter::new("info"), buffer.clone());
    tracing::subscriber::with_default(subscriber, || {
        group.bench_function("json_layer", |b| b.iter(|| black_box(&line).trace()));
        group.bench_function("direct", |b| {
            b.iter(|| {
                if request_lines_enabled() {
                    black_box(&line).write_json_line(SystemTime::now(), &buffer.0);
                }
            });
        });
    });

    let mut out = Vec::with_capacity(512);
    group.bench_function("format_only", |b| {
        b.iter(|| {
            out.clear();
            black_box(&line).write_json(SystemTime::now(), &mut out)
        });
    });

    let subscriber = text_subscriber(EnvFilter::new("info"), buffer.clone());
    tracing::subscriber::with_default(subscriber, || {
        group.bench_function("text_layer", |b| b.iter(|| black_box(&line).trace()));
    });
    group.finish();
}

criterion_group! {
    name = log_line;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = benches
}
criterion_main!(log_line);
