//! [`RequestLine`]'s JSON against tracing-subscriber's JSON layer, byte for byte, for the same
//! event; its text line as the text layer writes it; `RUST_LOG` deciding.

use std::io::{self, BufWriter, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tracing_subscriber::EnvFilter;

use super::{RequestLine, request_lines_enabled};
use crate::telemetry::{json_subscriber, text_subscriber};

/// Bytes shared between a subscriber's writer and the test.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().expect("capture").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().expect("capture").clone()).expect("UTF-8")
    }
}

/// What the JSON layer writes for `line`'s event.
fn reference_json(line: &RequestLine<'_>) -> String {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = json_subscriber(EnvFilter::new("info"), move || writer.clone());
    tracing::subscriber::with_default(subscriber, || line.trace());
    captured.text()
}

/// `line` in [`RequestLine::write_json`]'s JSON, at the time the reference line names.
fn own_json(line: &RequestLine<'_>, reference: &str) -> String {
    let parsed: Value = serde_json::from_str(reference).expect("the reference is JSON");
    let timestamp = parsed["timestamp"].as_str().expect("a timestamp");
    let now = humantime::parse_rfc3339(timestamp).expect("an RFC 3339 timestamp");
    let mut out = Vec::new();
    assert!(line.write_json(now, &mut out));
    String::from_utf8(out).expect("UTF-8")
}

fn full() -> RequestLine<'static> {
    RequestLine {
        method: "GET",
        path: "/",
        status: 200,
        latency_ms: 0.123_456,
        sub: Some("0b5e1d2c-8f1a-4d6e-9c3b-2a7f4e6d8c1a"),
        client_id: Some("4h3k5l6m7n8o9p0q1r2s3t4u5v"),
        jti: Some("e2a1c3b4-5d6e-7f80-9a1b-2c3d4e5f6a7b"),
        reason: None,
    }
}

fn none() -> RequestLine<'static> {
    RequestLine {
        method: "POST",
        path: "/health",
        status: 404,
        latency_ms: 0.0,
        sub: None,
        client_id: None,
        jti: None,
        reason: None,
    }
}

/// Every control character, quotes, backslashes, DEL and non-ASCII text.
fn odd_text() -> String {
    let controls: String = (0u8..0x20).map(char::from).collect();
    format!("/a\"b\\c/{controls}\u{7f}/é/日本/🦀/\u{2028}/</script>")
}

fn assert_same_json(line: &RequestLine<'_>) {
    let reference = reference_json(line);
    let own = own_json(line, &reference);
    // Equal bytes: the same keys in the same order, the same escapes and number forms.
    assert_eq!(own, reference, "{line:?}");
    assert!(
        own.ends_with('\n') && own.matches('\n').count() == 1,
        "{own}"
    );
    let parsed: Value = serde_json::from_str(&own).expect("JSON");
    assert_eq!(parsed["path"], line.path);
    assert_eq!(parsed["status"], line.status);
}

#[test]
fn every_field_is_written_as_the_json_layer_writes_it() {
    assert_same_json(&full());
    let refused = RequestLine {
        reason: Some("token expired"),
        sub: None,
        client_id: None,
        jti: None,
        status: 401,
        ..full()
    };
    assert_same_json(&refused);
}

#[test]
fn absent_fields_are_left_out_as_the_json_layer_does() {
    assert_same_json(&none());
    let reference = reference_json(&none());
    for key in ["sub", "client_id", "jti", "reason"] {
        assert!(!reference.contains(&format!("\"{key}\"")), "{reference}");
    }
}

#[test]
fn odd_characters_are_escaped_as_the_json_layer_escapes_them() {
    let odd = odd_text();
    let line = RequestLine {
        method: "M\"\\",
        path: &odd,
        sub: Some(&odd),
        client_id: Some("\n"),
        jti: Some(""),
        reason: Some(&odd),
        ..full()
    };
    assert_same_json(&line);
}

#[test]
fn long_values_are_written_whole() {
    let long = format!("/{}", "a/\"é".repeat(3000));
    let line = RequestLine {
        path: &long,
        sub: Some(&long),
        ..full()
    };
    assert_same_json(&line);
}

#[test]
fn numbers_are_written_as_the_json_layer_writes_them() {
    for status in [0, 100, 200, 503, u16::MAX] {
        assert_same_json(&RequestLine { status, ..none() });
    }
    for latency_ms in [
        0.0,
        -0.0,
        1e-7,
        0.1,
        0.000_123_456_789,
        2.5,
        123_456.789,
        1e21,
        f64::MAX,
        f64::NAN,
        f64::INFINITY,
    ] {
        assert_same_json(&RequestLine {
            latency_ms,
            ..none()
        });
    }
}

#[test]
fn a_time_it_cannot_write_is_refused_not_a_panic() {
    let mut out = Vec::new();
    let before_1970 = UNIX_EPOCH - Duration::from_secs(1);
    assert!(!full().write_json(before_1970, &mut out));
    let after_9999 = UNIX_EPOCH + Duration::from_secs(super::YEAR_10000);
    assert!(!full().write_json(after_9999, &mut out));
    let buffer = Mutex::new(BufWriter::new(Vec::new()));
    assert!(!full().write_json_line(before_1970, &buffer));
    assert!(buffer.lock().expect("buffer").buffer().is_empty());
}

#[test]
fn lines_are_appended_whole_one_after_another() {
    let buffer = Mutex::new(BufWriter::new(Vec::new()));
    let now = SystemTime::now();
    let long = "x".repeat(10_000);
    let lines = [
        RequestLine {
            path: &long,
            ..full()
        },
        none(),
        full(),
    ];
    for line in &lines {
        assert!(line.write_json_line(now, &buffer));
    }
    let written = buffer
        .into_inner()
        .expect("buffer")
        .into_inner()
        .expect("flushed");
    let mut expected = Vec::new();
    for line in &lines {
        assert!(line.write_json(now, &mut expected));
    }
    assert_eq!(written, expected);
}

#[test]
fn the_text_line_names_every_field() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = text_subscriber(EnvFilter::new("info"), move || writer.clone());
    tracing::subscriber::with_default(subscriber, || {
        RequestLine {
            reason: Some("token expired"),
            ..full()
        }
        .trace();
    });
    let text = captured.text();
    // Without the colour sequences (`ESC [ ... m`) the text layer writes by default.
    let mut parts = text.split('\u{1b}');
    let mut plain = parts.next().unwrap_or_default().to_owned();
    for part in parts {
        plain.push_str(part.split_once('m').map_or(part, |(_, rest)| rest));
    }
    for field in [
        " INFO ",
        "randapi::request: request",
        "method=GET",
        "path=/",
        "status=200",
        "latency_ms=0.123456",
        "sub=\"0b5e1d2c-8f1a-4d6e-9c3b-2a7f4e6d8c1a\"",
        "client_id=\"4h3k5l6m7n8o9p0q1r2s3t4u5v\"",
        "jti=\"e2a1c3b4-5d6e-7f80-9a1b-2c3d4e5f6a7b\"",
        "reason=\"token expired\"",
    ] {
        assert!(plain.contains(field), "{field} in {plain}");
    }
}

#[test]
fn rust_log_decides_as_it_does_for_the_event() {
    // (filter, whether the line is written); the event through the JSON layer must agree.
    let cases = [
        ("info", true),
        ("trace", true),
        ("warn", false),
        ("warn,randapi::request=info", true),
        ("warn,randapi=info", true),
        ("info,randapi::request=off", false),
        ("info,randapi=warn", false),
        // EnvFilter applies directives that name fields to spans, not to events.
        ("warn,randapi::request[status]=info", false),
        ("warn,randapi::request[{status=200}]=info", false),
    ];
    for (filter, expected) in cases {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = json_subscriber(EnvFilter::new(filter), move || writer.clone());
        let enabled = tracing::subscriber::with_default(subscriber, || {
            full().trace();
            request_lines_enabled()
        });
        let written = !captured.text().is_empty();
        assert_eq!(written, expected, "the event under {filter}");
        assert_eq!(enabled, written, "enabled! under {filter}");
    }
}
