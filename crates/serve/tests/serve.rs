//! The serve loop in-process, over raw sockets, with a service of its own: the cap's eviction
//! order, a full table of busy connections, the timeouts, pipelined requests at a stop, the
//! shutdown delay and grace. (The app's black-box tests in the repository's `tests/api/` run
//! the same loop inside the real binary, with signals and file limits.)

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use graceful_serve::{Server, Settings, Stop, Timeouts};
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio::time::Instant;

const HEALTH: &[u8] = b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n";
const HELD: &[u8] = b"GET /held HTTP/1.1\r\nHost: t\r\n\r\n";

/// A running server: `/held` waits for a permit of `gate` before answering, anything else
/// answers at once.
struct Running {
    addr: SocketAddr,
    stop: mpsc::UnboundedSender<Stop>,
    gate: Arc<Semaphore>,
    task: JoinHandle<io::Result<()>>,
}

fn settings(max_connections: usize) -> Settings {
    Settings {
        timeouts: Timeouts {
            header_read: Duration::from_secs(30),
            keep_alive: Duration::from_secs(30),
        },
        max_connections,
        shutdown_delay: Duration::ZERO,
        shutdown_grace: Duration::from_secs(10),
        read_buffer_bytes: 16 * 1024,
    }
}

async fn start(settings: Settings) -> Running {
    let listener =
        graceful_serve::bind("127.0.0.1:0".parse().expect("addr"), 64).expect("bind 127.0.0.1");
    let addr = listener.local_addr().expect("addr");
    let gate = Arc::new(Semaphore::new(0));
    let service = tower::service_fn({
        let gate = gate.clone();
        move |request: Request<Incoming>| {
            let gate = gate.clone();
            async move {
                if request.uri().path() == "/held" {
                    gate.acquire().await.expect("gate open").forget();
                }
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
            }
        }
    });
    let (stop, stops) = mpsc::unbounded_channel();
    let task = tokio::spawn(Server::new(listener, settings).run(service, stops));
    Running {
        addr,
        stop,
        gate,
        task,
    }
}

impl Running {
    async fn stop(self, how: Stop) -> Duration {
        let asked = Instant::now();
        self.stop.send(how).expect("server running");
        tokio::time::timeout(Duration::from_secs(20), self.task)
            .await
            .expect("the server stops")
            .expect("server task")
            .expect("run");
        asked.elapsed()
    }
}

/// Reads one answer: its status and whether it says `Connection: close`; an error if the
/// connection ends first.
async fn read_answer(stream: &mut TcpStream) -> io::Result<(u16, bool)> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let status = head[9..12].parse().map_err(io::Error::other)?;
    let mut body = [0u8; 2];
    stream.read_exact(&mut body).await?;
    Ok((status, head.contains("connection: close")))
}

async fn answer_within(stream: &mut TcpStream, limit: Duration) -> Option<(u16, bool)> {
    tokio::time::timeout(limit, read_answer(stream))
        .await
        .ok()?
        .ok()
}

/// A connection that has had one answer: idle keep-alive.
async fn warm(addr: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(HEALTH).await.expect("write");
    let answer = answer_within(&mut stream, Duration::from_secs(5)).await;
    assert_eq!(answer, Some((200, false)));
    stream
}

/// True once the server has ended the connection (EOF or reset) within `limit`.
async fn ended_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let mut buf = [0u8; 64];
    matches!(
        tokio::time::timeout(limit, stream.read(&mut buf)).await,
        Ok(Ok(0) | Err(_))
    )
}

#[tokio::test]
async fn at_the_cap_a_half_received_head_goes_first_then_the_connection_idle_longest() {
    let server = start(settings(3)).await;
    let mut oldest = warm(server.addr).await;
    let mut newer = warm(server.addr).await;
    let mut slow = TcpStream::connect(server.addr).await.expect("connect");
    slow.write_all(b"GET /health HTTP/1.1\r\nHo")
        .await
        .expect("write");
    tokio::time::sleep(Duration::from_millis(100)).await; // read by the server

    let _first_newcomer = warm(server.addr).await;
    assert!(
        ended_within(&mut slow, Duration::from_secs(5)).await,
        "the half-received head was not the first closed"
    );
    assert!(!ended_within(&mut oldest, Duration::from_millis(100)).await);

    let _second_newcomer = warm(server.addr).await;
    assert!(
        ended_within(&mut oldest, Duration::from_secs(5)).await,
        "the connection idle longest was not the next closed"
    );
    assert!(!ended_within(&mut newer, Duration::from_millis(100)).await);
    assert_eq!(
        server.stop(Stop::Now).await.as_secs(),
        0,
        "idle connections hold the stop up"
    );
}

#[tokio::test]
async fn at_the_cap_with_every_connection_busy_a_new_one_waits_for_a_request_to_finish() {
    let server = start(settings(2)).await;
    let mut busy = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(server.addr).await.expect("connect");
        stream.write_all(HELD).await.expect("write");
        busy.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut newcomer = TcpStream::connect(server.addr).await.expect("connect");
    newcomer.write_all(HEALTH).await.expect("write");
    assert_eq!(
        answer_within(&mut newcomer, Duration::from_millis(500)).await,
        None,
        "served past the cap while every connection was busy"
    );

    server.gate.add_permits(1);
    let answer = answer_within(&mut newcomer, Duration::from_secs(5)).await;
    assert_eq!(
        answer,
        Some((200, false)),
        "not served once a request had finished"
    );
    server.gate.add_permits(1);
    server.stop(Stop::Now).await;
}

#[tokio::test]
async fn a_silent_connection_meets_the_header_timeout_and_an_idle_one_the_keep_alive_timeout() {
    let mut settings = settings(16);
    settings.timeouts = Timeouts {
        header_read: Duration::from_millis(300),
        keep_alive: Duration::from_millis(1200),
    };
    let server = start(settings).await;
    let mut silent = TcpStream::connect(server.addr).await.expect("connect");
    let mut idle = warm(server.addr).await;
    let answered = Instant::now();
    assert!(ended_within(&mut silent, Duration::from_secs(5)).await);
    assert!(ended_within(&mut idle, Duration::from_secs(5)).await);
    let idle_for = answered.elapsed();
    assert!(
        idle_for >= Duration::from_millis(1100),
        "an idle keep-alive connection was closed after {idle_for:?}"
    );
    server.stop(Stop::Now).await;
}

/// Clients write three requests at once on each of 16 connections, over and over, while the
/// server is stopped. A request written before the stop may go unanswered only after an answer
/// that said `Connection: close` (RFC 9112 §9.6: the client then knows to send it again); no
/// answer is cut off.
#[tokio::test]
async fn pipelined_requests_are_answered_or_follow_an_answer_that_said_close() {
    for round in 0..10 {
        let server = start(settings(64)).await;
        let addr = server.addr;
        let stopped_at: Arc<std::sync::OnceLock<Instant>> = Arc::default();
        let mut clients = tokio::task::JoinSet::new();
        for _ in 0..16 {
            let stopped_at = stopped_at.clone();
            clients.spawn(async move {
                let mut answered = 0;
                loop {
                    let Ok(mut stream) = TcpStream::connect(addr).await else {
                        return answered;
                    };
                    if stream.write_all(&HEALTH.repeat(3)).await.is_err() {
                        continue;
                    }
                    let written = Instant::now();
                    for i in 0..3 {
                        match read_answer(&mut stream).await {
                            Ok((200, false)) => answered += 1,
                            Ok((200, true)) => {
                                answered += 1;
                                assert!(ended_within(&mut stream, Duration::from_secs(5)).await);
                                break;
                            }
                            Ok(other) => panic!("answer {other:?}"),
                            Err(error) => {
                                assert!(
                                    i == 0 && stopped_at.get().is_some_and(|at| written >= *at),
                                    "request {i} of 3 lost without an answer saying close: {error}"
                                );
                                return answered;
                            }
                        }
                    }
                }
            });
        }
        tokio::time::sleep(Duration::from_millis(50 + 20 * round)).await;
        stopped_at.set(Instant::now()).expect("once");
        server.stop(Stop::Now).await;
        let mut answered = 0;
        while let Some(client) = clients.join_next().await {
            answered += client.expect("client");
        }
        assert!(answered > 0, "round {round}: nothing was served");
    }
}

/// The bytes of a next request that arrive while one is in progress keep the connection open
/// through a stop: the rest of that head may come after the stop, and it is answered.
#[tokio::test]
async fn a_head_pipelined_behind_a_request_in_progress_is_answered_after_a_stop() {
    let server = start(settings(16)).await;
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    stream.write_all(HELD).await.expect("write");
    tokio::time::sleep(Duration::from_millis(100)).await;
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHo")
        .await
        .expect("write");
    tokio::time::sleep(Duration::from_millis(100)).await; // read during the first request
    server.gate.add_permits(1);
    assert_eq!(
        answer_within(&mut stream, Duration::from_secs(5)).await,
        Some((200, false))
    );

    let (stop, task) = (server.stop, server.task);
    stop.send(Stop::Now).expect("running");
    tokio::time::sleep(Duration::from_millis(200)).await;
    stream.write_all(b"st: t\r\n\r\n").await.expect("write");
    assert_eq!(
        answer_within(&mut stream, Duration::from_secs(5)).await,
        Some((200, true)),
        "the half-received head was dropped at the stop"
    );
    task.await.expect("task").expect("run");
}

#[tokio::test]
async fn draining_answers_say_close_and_the_grace_ends_a_stuck_request() {
    let mut settings = settings(16);
    settings.shutdown_delay = Duration::from_millis(300);
    settings.shutdown_grace = Duration::from_millis(300);
    let server = start(settings).await;
    let mut stuck = TcpStream::connect(server.addr).await.expect("connect");
    stuck.write_all(HELD).await.expect("write");
    let mut idle = warm(server.addr).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (addr, stop, task) = (server.addr, server.stop, server.task);
    stop.send(Stop::Drain).expect("running");
    tokio::time::sleep(Duration::from_millis(50)).await;

    let mut fresh = TcpStream::connect(addr)
        .await
        .expect("accepting during the delay");
    fresh.write_all(HEALTH).await.expect("write");
    assert_eq!(
        answer_within(&mut fresh, Duration::from_secs(5)).await,
        Some((200, true))
    );
    assert!(
        !ended_within(&mut idle, Duration::from_millis(100)).await,
        "an idle connection was closed during the delay"
    );
    assert!(ended_within(&mut idle, Duration::from_secs(5)).await);
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("the grace ends the run")
        .expect("task")
        .expect("run");
    assert!(ended_within(&mut stuck, Duration::from_secs(1)).await);
    assert!(TcpStream::connect(addr).await.is_err(), "still listening");
}
