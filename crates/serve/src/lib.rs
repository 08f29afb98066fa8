//! An HTTP/1 accept loop for hyper that a service can be left to in production: per-connection
//! timeouts, a connection cap that closes the idle longest first, and a shutdown that loses no
//! request whose bytes reached the server.
//!
//! It serves any tower `Service<Request<hyper::body::Incoming>>` (an axum `Router` is one) whose
//! answers have any `http_body::Body`. Everything it does comes from [`Settings`]:
//!
//! - **Timeouts.** A connection must send a complete request head within
//!   [`Timeouts::header_read`] (from its accept, or from the first byte of each later request),
//!   or it is closed without an answer; an idle keep-alive connection is closed after
//!   [`Timeouts::keep_alive`].
//! - **A cap.** At [`Settings::max_connections`] a new connection closes the one whose
//!   half-received request head started longest ago, else the one idle longest; if every
//!   connection is busy it waits for one to finish. Found without a scan, so the cost of an
//!   eviction does not grow with the cap. Out of descriptors (EMFILE), it closes an idle
//!   connection and backs off.
//! - **Stopping.** [`Stop::Drain`] (SIGTERM): keep serving for [`Settings::shutdown_delay`]
//!   with `Connection: close` on every answer, then stop accepting, close each connection once
//!   nothing is left to read or write on it, and give requests in flight
//!   [`Settings::shutdown_grace`]. [`Stop::Now`] skips the delay. Waiting costs no CPU.
//! - **A deep accept queue.** [`bind`] listens with the backlog it is given, and
//!   [`listen_backlog`] is the kernel's largest, where `TcpListener::bind` asks for 128.
//!
//! ```
//! use std::convert::Infallible;
//! use std::time::Duration;
//!
//! use graceful_serve::{Server, Settings, Stop, Timeouts};
//! use http::{Request, Response};
//! use hyper::body::Incoming;
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let addr = "127.0.0.1:0".parse().expect("an address");
//! let listener = graceful_serve::bind(addr, graceful_serve::listen_backlog())?;
//! let addr = listener.local_addr()?;
//! let server = Server::new(listener, Settings {
//!     timeouts: Timeouts {
//!         header_read: Duration::from_secs(10),
//!         keep_alive: Duration::from_secs(75),
//!     },
//!     max_connections: 1024,
//!     shutdown_delay: Duration::from_secs(5),
//!     shutdown_grace: Duration::from_secs(20),
//!     read_buffer_bytes: 16 * 1024,
//! });
//! let hello = tower::service_fn(|_: Request<Incoming>| async {
//!     Ok::<_, Infallible>(Response::new(String::from("hello\n")))
//! });
//! // `graceful_serve::os_signals()?` in a real server: SIGTERM drains, SIGINT stops now.
//! let (stop, stops) = tokio::sync::mpsc::unbounded_channel();
//! let serving = tokio::spawn(server.run(hello, stops));
//!
//! let mut client = tokio::net::TcpStream::connect(addr).await?;
//! client.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await?;
//! let mut answer = vec![0; 1024];
//! let n = client.read(&mut answer).await?;
//! assert!(answer[..n].starts_with(b"HTTP/1.1 200 OK"));
//!
//! let _ = stop.send(Stop::Now);
//! serving.await.expect("the server task")?;
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]
#![deny(unsafe_code)]

mod conn;
mod eviction;
pub mod fd_limit;
mod listen;
mod server;
mod service;
mod settings;
mod shutdown;

pub use listen::{SOMAXCONN, bind, listen_backlog};
pub use server::{ConnectionStats, Server};
pub use settings::{Settings, Timeouts};
pub use shutdown::{Stop, os_signals, when};
