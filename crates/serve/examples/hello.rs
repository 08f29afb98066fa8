//! The smallest server on graceful-serve: `GET /` answers `hello`, `GET /health` answers
//! `{"status":"ok"}`, anything else 404. No log, no allocation per answer: the benchmarks use it
//! as the floor a server on this loop can reach.
//!
//!   cargo run --release -p graceful-serve --example hello -- 8080     # or PORT=8080
//!   HOST=0.0.0.0 PORT=8080 cargo run --release -p graceful-serve --example hello
//!
//! Listens on 127.0.0.1 unless `HOST` says otherwise, on the port given as the first argument,
//! else `PORT`, else 3000. SIGTERM drains for 5 s, SIGINT stops at once.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use graceful_serve::{Server, Settings, Timeouts, fd_limit};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;

fn answer(request: &Request<Incoming>) -> Response<Full<Bytes>> {
    let (status, body): (StatusCode, &'static [u8]) = match (request.method(), request.uri().path())
    {
        (&Method::GET, "/") => (StatusCode::OK, b"hello\n"),
        (&Method::GET, "/health") => (StatusCode::OK, br#"{"status":"ok"}"#),
        _ => (StatusCode::NOT_FOUND, b""),
    };
    let mut response = Response::new(Full::new(Bytes::from_static(body)));
    *response.status_mut() = status;
    response
}

fn setting<T: std::str::FromStr>(argument: Option<String>, variable: &str, default: T) -> T {
    match argument.or_else(|| std::env::var(variable).ok()) {
        Some(text) => text.parse().unwrap_or_else(|_| {
            eprintln!("hello: {variable} is not valid; using the default");
            default
        }),
        None => default,
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = setting(std::env::args().nth(1), "PORT", 3000_u16);
    let host = setting(None, "HOST", IpAddr::V4(Ipv4Addr::LOCALHOST));
    let max_connections = match fd_limit::raise_to_hard_limit() {
        Ok(limit) => fd_limit::default_max_connections(limit.soft),
        Err(_) => fd_limit::default_max_connections(1024),
    };
    let listener = graceful_serve::bind(
        SocketAddr::new(host, port),
        graceful_serve::listen_backlog(),
    )?;
    let server = Server::new(
        listener,
        Settings {
            timeouts: Timeouts {
                header_read: Duration::from_secs(10),
                keep_alive: Duration::from_secs(75),
            },
            max_connections,
            shutdown_delay: Duration::from_secs(5),
            shutdown_grace: Duration::from_secs(20),
            read_buffer_bytes: 16 * 1024,
        },
    );
    let service = tower::service_fn(|request: Request<Incoming>| async move {
        Ok::<_, Infallible>(answer(&request))
    });
    server.run(service, graceful_serve::os_signals()?).await
}
