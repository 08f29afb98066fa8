//! The one log line per request, written in JSON without the fmt layer's field visitor.
//!
//! tracing-subscriber's JSON layer writes a line through tracing-serde and serde_json, a few bytes
//! per `write` into a `String` behind `fmt::Write` adaptors, and the timestamp through
//! `write!`: 2.6 µs per request line with glibc, 7.5 µs with musl, whose `memcpy` is slow for
//! such small copies. The request line has known fields, so [`RequestLine`] writes
//! them straight into one thread-local byte buffer (serde_json's own string escaping and number
//! formats: itoa, zmij; humantime's RFC 3339 timestamp) and copies that into the shared log
//! buffer once, under its lock. The bytes are the JSON layer's, key for key (the tests compare
//! them), so CloudWatch queries see the same lines. `RUST_LOG` still decides: the line is written
//! only when `tracing::enabled!` says the filter lets it through.

use std::cell::RefCell;
use std::io::{BufWriter, Write};
use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::Level;

/// The request line's target as a literal, so the line's constant end can be spliced at compile
/// time rather than escaped on every line.
macro_rules! request_target {
    () => {
        "randapi::request"
    };
}

/// The request line's target, which `RUST_LOG` filters on.
pub const REQUEST_TARGET: &str = request_target!();

/// How every JSON request line ends: its target (a plain name that needs no escaping).
const LINE_END: &[u8] = concat!(",\"target\":\"", request_target!(), "\"}\n").as_bytes();

/// Largest line buffer a thread keeps between lines; a longer line (a path and claims full of
/// escapes) gets a buffer of its own size, dropped after use.
const KEEP_BYTES: usize = 4 * 1024;

/// Seconds to 10000-01-01: humantime writes RFC 3339 up to year 9999.
const YEAR_10000: u64 = 253_402_300_800;

thread_local! {
    static LINE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// What one request's log line says. Never the token or its header.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RequestLine<'a> {
    /// The request method.
    pub method: &'a str,
    /// The path without the query, already cut to its logged length.
    pub path: &'a str,
    /// The answer's status code.
    pub status: u16,
    /// Time from the request's arrival to its answer.
    pub latency_ms: f64,
    /// `sub` of the verified token.
    pub sub: Option<&'a str>,
    /// `client_id` of the verified token.
    pub client_id: Option<&'a str>,
    /// `jti` of the verified token.
    pub jti: Option<&'a str>,
    /// Why the request was refused.
    pub reason: Option<&'a str>,
}

impl RequestLine<'_> {
    /// Writes the line: straight into the log buffer when [`super::init`] installed the JSON
    /// subscriber and `RUST_LOG` lets the line through, else as a `tracing` event.
    pub fn log(&self) {
        if let Some(stdout) = super::direct_json() {
            if !request_lines_enabled() {
                return;
            }
            if self.write_json_line(SystemTime::now(), stdout.shared()) {
                return;
            }
        }
        self.trace();
    }

    /// The line as a `tracing` event: for the text format, for a subscriber other than
    /// [`super::init`]'s, and for what [`Self::write_json`] cannot write.
    pub fn trace(&self) {
        tracing::info!(
            target: REQUEST_TARGET,
            method = %self.method,
            path = %self.path,
            status = self.status,
            latency_ms = self.latency_ms,
            sub = self.sub,
            client_id = self.client_id,
            jti = self.jti,
            reason = self.reason,
            "request"
        );
    }

    /// Formats the line at `now` in a thread-local buffer and appends it to `out` in one
    /// `write_all` under its lock. False, with nothing written, when the line cannot be formatted
    /// (a clock before 1970 or after 9999). Write errors are ignored, as the fmt layer does: the
    /// log has nowhere else to go.
    pub fn write_json_line<W: Write>(&self, now: SystemTime, out: &Mutex<BufWriter<W>>) -> bool {
        LINE.try_with(|cell| {
            let mut own = Vec::new();
            let mut shared = cell.try_borrow_mut();
            let line = match shared.as_deref_mut() {
                Ok(line) => line,
                Err(_) => &mut own,
            };
            line.clear();
            let formatted = self.write_json(now, line);
            if formatted {
                let _ = out
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .write_all(line);
            }
            if line.capacity() > KEEP_BYTES {
                *line = Vec::new();
            }
            formatted
        })
        .unwrap_or(false)
    }

    /// Appends the line at `now`, newline included, as tracing-subscriber's JSON layer (flattened
    /// fields, no spans) writes it. False when `now` cannot be written (before 1970, after 9999);
    /// `out` may then hold part of a line.
    pub fn write_json(&self, now: SystemTime, out: &mut Vec<u8>) -> bool {
        out.extend_from_slice(b"{\"timestamp\":\"");
        if !push_timestamp(out, now) {
            return false;
        }
        out.extend_from_slice(b"\",\"level\":\"INFO\",\"message\":\"request\",\"method\":");
        push_str(out, self.method);
        out.extend_from_slice(b",\"path\":");
        push_str(out, self.path);
        out.extend_from_slice(b",\"status\":");
        out.extend_from_slice(itoa::Buffer::new().format(self.status).as_bytes());
        out.extend_from_slice(b",\"latency_ms\":");
        push_f64(out, self.latency_ms);
        for (key, value) in [
            (&b",\"sub\":"[..], self.sub),
            (b",\"client_id\":", self.client_id),
            (b",\"jti\":", self.jti),
            (b",\"reason\":", self.reason),
        ] {
            if let Some(value) = value {
                out.extend_from_slice(key);
                push_str(out, value);
            }
        }
        out.extend_from_slice(LINE_END);
        true
    }
}

/// True when `RUST_LOG` lets the request line through, as it would the event of
/// [`RequestLine::trace`] (the tests hold the two together).
pub fn request_lines_enabled() -> bool {
    tracing::enabled!(target: REQUEST_TARGET, Level::INFO)
}

/// `value` as a JSON string, escaped by serde_json as in the JSON layer's lines (quotes,
/// backslashes and control characters; other characters as UTF-8).
fn push_str(out: &mut Vec<u8>, value: &str) {
    // Writing into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, value);
}

/// `value` as serde_json writes an `f64`: the shortest form that reads back the same (zmij, as
/// serde_json uses), `null` when not finite.
fn push_f64(out: &mut Vec<u8>, value: f64) {
    if value.is_finite() {
        out.extend_from_slice(zmij::Buffer::new().format_finite(value).as_bytes());
    } else {
        out.extend_from_slice(b"null");
    }
}

/// `now` in RFC 3339 with microseconds, UTC (`2026-12-02T10:08:10.123456Z`), as
/// tracing-subscriber's `SystemTime` timer writes it. humantime panics before 1970 and fails
/// after 9999, so both are refused here.
fn push_timestamp(out: &mut Vec<u8>, now: SystemTime) -> bool {
    match now.duration_since(UNIX_EPOCH) {
        Ok(since) if since.as_secs() < YEAR_10000 => {
            write!(out, "{}", humantime::format_rfc3339_micros(now)).is_ok()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests;
