//! Raw HTTP/1.1 over `TcpStream`s, and the real binary in `--dev` mode: for the tests of the
//! serve loop, which must control exactly which bytes are in which socket when.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::Child;

use super::{drain_stderr, eventually, free_port, randapi};

/// `GET /health` on a keep-alive connection.
pub const HEALTH: &[u8] = b"GET /health HTTP/1.1\r\nHost: randapi.test\r\n\r\n";

/// One answer, read off the wire.
#[derive(Debug)]
pub struct RawAnswer {
    /// Status code.
    pub status: u16,
    /// Header lines, names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    /// The body (per `Content-Length`).
    pub body: String,
}

impl RawAnswer {
    /// The first header of that (lower-case) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The answer says `Connection: close`.
    pub fn closes(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }
}

/// Reads one answer; an error if the connection ends first (EOF or reset) or it is malformed.
pub async fn read_answer(stream: &mut TcpStream) -> io::Result<RawAnswer> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("connection ended after {} bytes of an answer", head.len()),
            ));
        }
        head.push(byte[0]);
        if head.len() > 64 * 1024 {
            return Err(io::Error::other("answer head too large"));
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| io::Error::other(format!("bad status line in {text:?}")))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await?;
    Ok(RawAnswer {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// Sends `request` and reads its answer, giving up after 10 s.
pub async fn exchange(stream: &mut TcpStream, request: &[u8]) -> io::Result<RawAnswer> {
    stream.write_all(request).await?;
    tokio::time::timeout(Duration::from_secs(10), read_answer(stream))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no answer within 10 s"))?
}

/// A new connection that has already had one `GET /health` answered (so it is an idle
/// keep-alive connection the server has fully accepted).
pub async fn warm_connection(port: u16) -> TcpStream {
    let mut stream = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let answer = exchange(&mut stream, HEALTH).await.expect("first answer");
    assert_eq!(answer.status, 200, "{answer:?}");
    assert!(
        !answer.closes(),
        "a fresh server closed a keep-alive connection"
    );
    stream
}

/// Waits up to `limit` for the server to end the connection: `true` on EOF or reset, `false` if
/// it is still open then. Bytes the server sends meanwhile are an error.
pub async fn ended_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let mut buf = [0u8; 1024];
    match tokio::time::timeout(limit, stream.read(&mut buf)).await {
        Err(_) => false,
        Ok(Ok(0)) | Ok(Err(_)) => true,
        Ok(Ok(n)) => panic!(
            "unexpected bytes from the server: {:?}",
            String::from_utf8_lossy(&buf[..n])
        ),
    }
}

/// The binary, started with `--dev` on a free port and serving.
pub struct Running {
    /// The process.
    pub child: Child,
    /// Its port.
    pub port: u16,
}

/// Starts `randapi --dev` with `envs` and waits until `/health` answers.
pub async fn start_dev(envs: &[(&str, &str)]) -> Running {
    let port = free_port();
    let port_text = port.to_string();
    let mut all = vec![
        ("PORT", port_text.as_str()),
        ("HOST", "127.0.0.1"),
        ("LOG_FORMAT", "json"),
    ];
    all.extend_from_slice(envs);
    let mut child = randapi(&["--dev"], &all).spawn().expect("randapi starts");
    drain_stderr(&mut child);
    wait_until_serving(port).await;
    Running { child, port }
}

/// Polls until `GET /health` answers 200 on a new connection.
pub async fn wait_until_serving(port: u16) {
    eventually("randapi to serve", || async {
        match TcpStream::connect(("127.0.0.1", port)).await {
            Ok(mut stream) => exchange(&mut stream, HEALTH)
                .await
                .is_ok_and(|answer| answer.status == 200),
            Err(_) => false,
        }
    })
    .await;
}
