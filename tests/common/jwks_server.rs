//! A JWKS endpoint on 127.0.0.1:0 whose answers each test controls: a key set, any status,
//! garbage, an oversized or endless body, a redirect, a closed connection, a hang, a delay, or an
//! answer held until the test releases it. It counts and logs its requests.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use randapi::dev::SigningKey;
use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{eventually, init_tracing, jwks_of};

/// Path the app is pointed at.
pub const JWKS_PATH: &str = "/eu-west-1_TestPool1/.well-known/jwks.json";
/// Where [`Behaviour::Redirect`] sends the client (it would serve good keys if followed).
pub const MOVED_PATH: &str = "/moved/jwks.json";

/// How the JWKS server answers. Every answer closes the connection afterwards.
#[derive(Debug, Clone)]
pub enum Behaviour {
    /// `200` with this JSON document.
    Keys(Value),
    /// This status with a small JSON body.
    Status(u16),
    /// `200` with a body that is not JSON.
    Garbage,
    /// `200` with a 100 KiB JWKS-looking body and its `Content-Length`.
    Oversize,
    /// `200` with a 100 KiB JWKS-looking body, chunked (no `Content-Length`).
    OversizeChunked,
    /// `200`, chunked, a body that never ends.
    Endless,
    /// `302` to [`MOVED_PATH`], where this document would be served.
    Redirect(Value),
    /// Reads the request and closes the connection without a byte.
    Close,
    /// Reads the request and never answers (keeps the socket open).
    Hang,
    /// Waits this long, then answers as the inner behaviour.
    Delay(Duration, Box<Behaviour>),
    /// Waits until [`JwksServer::release`], then answers as the inner behaviour.
    Held(Box<Behaviour>),
}

#[derive(Debug)]
struct ServerState {
    behaviour: Mutex<Behaviour>,
    requests: AtomicUsize,
    log: Mutex<Vec<(String, Option<String>)>>,
    gate: watch::Sender<bool>,
}

/// A JWKS endpoint on 127.0.0.1:0 that counts its requests. Stops when dropped.
#[derive(Debug)]
pub struct JwksServer {
    addr: SocketAddr,
    state: Arc<ServerState>,
    accept: JoinHandle<()>,
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl JwksServer {
    /// Starts a server that answers as `behaviour`.
    pub async fn start(behaviour: Behaviour) -> Self {
        init_tracing();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind jwks");
        let addr = listener.local_addr().expect("jwks addr");
        let state = Arc::new(ServerState {
            behaviour: Mutex::new(behaviour),
            requests: AtomicUsize::new(0),
            log: Mutex::new(Vec::new()),
            gate: watch::channel(false).0,
        });
        let accept_state = state.clone();
        let accept = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve_connection(stream, accept_state.clone()));
            }
        });
        Self {
            addr,
            state,
            accept,
        }
    }

    /// A server that serves the JWKS of `keys`.
    pub async fn with_keys(keys: &[&SigningKey]) -> Self {
        Self::start(Behaviour::Keys(jwks_of(keys))).await
    }

    /// The JWKS URL.
    pub fn url(&self) -> String {
        format!("http://{}{JWKS_PATH}", self.addr)
    }

    /// Answers from now on as `behaviour`.
    pub fn set(&self, behaviour: Behaviour) {
        *self.state.behaviour.lock().expect("behaviour lock") = behaviour;
    }

    /// Serves the JWKS of `keys` from now on.
    pub fn serve_keys(&self, keys: &[&SigningKey]) {
        self.set(Behaviour::Keys(jwks_of(keys)));
    }

    /// Lets answers held by [`Behaviour::Held`] go.
    pub fn release(&self) {
        self.state.gate.send_replace(true);
    }

    /// Requests received so far (any path).
    pub fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }

    /// Requests received so far for `path`.
    pub fn requests_for(&self, path: &str) -> usize {
        self.state
            .log
            .lock()
            .expect("log lock")
            .iter()
            .filter(|(p, _)| p == path)
            .count()
    }

    /// The `User-Agent` of every request so far.
    pub fn user_agents(&self) -> Vec<Option<String>> {
        self.state
            .log
            .lock()
            .expect("log lock")
            .iter()
            .map(|(_, ua)| ua.clone())
            .collect()
    }

    /// Waits until the server has seen at least `count` requests (fails after 10 s).
    pub async fn wait_for_requests(&self, count: usize) {
        eventually("the JWKS server to be asked", || async {
            self.requests() >= count
        })
        .await;
    }
}

/// Reads one request head; `None` if the client went away first.
async fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 || head.len() > 64 * 1024 {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

async fn serve_connection(mut stream: TcpStream, state: Arc<ServerState>) {
    let Some(head) = read_head(&mut stream).await else {
        return;
    };
    let path = head
        .lines()
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .unwrap_or_default()
        .to_owned();
    let user_agent = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("user-agent")
            .then(|| value.trim().to_owned())
    });
    state.requests.fetch_add(1, Ordering::SeqCst);
    state
        .log
        .lock()
        .expect("log lock")
        .push((path.clone(), user_agent));
    let behaviour = state.behaviour.lock().expect("behaviour lock").clone();
    answer(&mut stream, behaviour, &path, &state).await;
    let _ = stream.shutdown().await;
}

async fn write_full(stream: &mut TcpStream, status: &str, content_type: &str, body: &[u8]) {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body).await;
}

/// A syntactically valid JWKS padded with whitespace to `bytes`.
fn padded_jwks(bytes: usize) -> Vec<u8> {
    let mut body = b"{\"keys\": [".to_vec();
    body.resize(bytes - 2, b' ');
    body.extend_from_slice(b"]}");
    body
}

async fn write_chunked(stream: &mut TcpStream, chunks: impl Iterator<Item = Vec<u8>>) {
    let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    if stream.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    for chunk in chunks {
        let framed = [
            format!("{:x}\r\n", chunk.len()).into_bytes(),
            chunk,
            b"\r\n".to_vec(),
        ]
        .concat();
        if stream.write_all(&framed).await.is_err() {
            return; // the client gave up: what a body cap should make it do
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
}

fn answer<'a>(
    stream: &'a mut TcpStream,
    behaviour: Behaviour,
    path: &'a str,
    state: &'a ServerState,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>> {
    Box::pin(async move {
        match behaviour {
            Behaviour::Keys(document) => {
                write_full(
                    stream,
                    "200 OK",
                    "application/json",
                    document.to_string().as_bytes(),
                )
                .await;
            }
            Behaviour::Status(code) => {
                let status = StatusCode::from_u16(code).expect("status code");
                write_full(
                    stream,
                    &status.to_string(),
                    "application/json",
                    b"{\"message\": \"error\"}",
                )
                .await;
            }
            Behaviour::Garbage => {
                write_full(
                    stream,
                    "200 OK",
                    "text/html",
                    b"<html><body>Service Unavailable</body></html>",
                )
                .await;
            }
            Behaviour::Oversize => {
                write_full(
                    stream,
                    "200 OK",
                    "application/json",
                    &padded_jwks(100 * 1024),
                )
                .await;
            }
            Behaviour::OversizeChunked => {
                let body = padded_jwks(100 * 1024);
                let chunks: Vec<Vec<u8>> = body.chunks(8192).map(<[u8]>::to_vec).collect();
                write_chunked(stream, chunks.into_iter()).await;
            }
            Behaviour::Endless => {
                let first = std::iter::once(b"{\"keys\": [".to_vec());
                let rest = std::iter::repeat_with(|| vec![b' '; 16 * 1024]);
                write_chunked(stream, first.chain(rest)).await;
            }
            Behaviour::Redirect(document) => {
                if path == MOVED_PATH {
                    answer(stream, Behaviour::Keys(document), path, state).await;
                } else {
                    let head = format!(
                        "HTTP/1.1 302 Found\r\nLocation: {MOVED_PATH}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    );
                    let _ = stream.write_all(head.as_bytes()).await;
                }
            }
            Behaviour::Close => {}
            Behaviour::Hang => {
                // Keep the socket open until the client gives up (or the test's runtime ends).
                let mut buf = [0u8; 64];
                while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
            }
            Behaviour::Delay(delay, inner) => {
                tokio::time::sleep(delay).await;
                answer(stream, *inner, path, state).await;
            }
            Behaviour::Held(inner) => {
                let mut gate = state.gate.subscribe();
                let _ = gate.wait_for(|open| *open).await;
                answer(stream, *inner, path, state).await;
            }
        }
    })
}
