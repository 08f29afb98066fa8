//! SIGTERM and SIGINT against the real binary, with requests sitting in socket buffers: no
//! request whose bytes reached the server before the signal goes unanswered.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::common::raw::*;
use crate::common::{
    Behaviour, JwksServer, exit_status, free_port, jwks_of, key, refuses_connections, send_signal,
    server_env, token,
};

const ROUNDS: usize = 20;
const CONNECTIONS: usize = 32;

/// The failure this guards against, repeated: one request written on each of 32 idle keep-alive
/// connections, then SIGTERM at once. Every request gets its whole answer, then the server
/// closes each connection and exits 0.
#[tokio::test]
async fn sigterm_answers_every_request_already_written_on_idle_keep_alive_connections() {
    for round in 0..ROUNDS {
        let mut server = start_dev(&[("SHUTDOWN_DELAY", "300ms"), ("SHUTDOWN_GRACE", "5s")]).await;
        let mut connections = Vec::with_capacity(CONNECTIONS);
        for _ in 0..CONNECTIONS {
            connections.push(warm_connection(server.port).await);
        }
        for stream in &mut connections {
            stream.write_all(HEALTH).await.expect("write the request");
        }

        send_signal(&server.child, "TERM");

        for (i, stream) in connections.iter_mut().enumerate() {
            let answer = tokio::time::timeout(Duration::from_secs(10), read_answer(stream))
                .await
                .unwrap_or_else(|_| panic!("round {round}, connection {i}: no answer"))
                .unwrap_or_else(|e| panic!("round {round}, connection {i}: request lost: {e}"));
            assert_eq!(answer.status, 200, "round {round}, connection {i}");
            assert_eq!(
                answer.body, r#"{"status":"ok"}"#,
                "round {round}, connection {i}"
            );
            assert!(
                ended_within(stream, Duration::from_secs(10)).await,
                "round {round}, connection {i}: the server kept the connection open"
            );
        }
        let status = exit_status(&mut server.child).await;
        assert_eq!(status.code(), Some(0), "round {round}: {status}");
    }
}

/// During the shutdown delay the server still accepts and answers, and every answer closes its
/// connection; after it, new connections are refused and the process exits 0.
#[tokio::test]
async fn during_the_shutdown_delay_new_and_idle_connections_are_served_with_connection_close() {
    let mut server = start_dev(&[("SHUTDOWN_DELAY", "2s"), ("SHUTDOWN_GRACE", "5s")]).await;
    let mut idle = warm_connection(server.port).await;
    let mut untouched = warm_connection(server.port).await;

    let signalled = Instant::now();
    send_signal(&server.child, "TERM");
    tokio::time::sleep(Duration::from_millis(300)).await;

    // A connection opened after the signal.
    let mut fresh = TcpStream::connect(("127.0.0.1", server.port))
        .await
        .expect("still accepting during the delay");
    let answer = exchange(&mut fresh, HEALTH).await.expect("answer");
    assert_eq!(answer.status, 200);
    assert!(
        answer.closes(),
        "an answer after SIGTERM keeps the connection: {answer:?}"
    );
    assert!(ended_within(&mut fresh, Duration::from_secs(5)).await);

    // A keep-alive connection from before the signal.
    let answer = exchange(&mut idle, HEALTH).await.expect("answer");
    assert_eq!(answer.status, 200);
    assert!(
        answer.closes(),
        "an answer after SIGTERM keeps the connection: {answer:?}"
    );
    assert!(ended_within(&mut idle, Duration::from_secs(5)).await);

    // An idle connection is left open during the delay and closed after it.
    assert!(
        !ended_within(&mut untouched, Duration::from_millis(500)).await,
        "an idle connection was closed during the shutdown delay"
    );
    assert!(ended_within(&mut untouched, Duration::from_secs(10)).await);
    assert!(
        signalled.elapsed() >= Duration::from_secs(2),
        "idle connections were closed before the shutdown delay ended"
    );
    let status = exit_status(&mut server.child).await;
    assert_eq!(status.code(), Some(0), "{status}");
    assert!(refuses_connections(server.port).await);
}

#[derive(Default)]
struct Tally {
    answered: AtomicUsize,
    answered_after_signal_with_close: AtomicUsize,
}

/// 8 clients loop on keep-alive connections through SIGTERM and the end of the delay, writing
/// `batch` requests at a time (more than one: pipelined) and reconnecting when told to close. A
/// request written before the delay ended must be answered, unless an answer before it on its
/// connection said `Connection: close` (RFC 9112 §9.6: the client knows to send it again); only
/// a connection refused, or one closed unanswered after the delay, ends a client.
async fn clients_lose_no_request_on_sigterm(batch: usize) {
    const CLIENTS: usize = 8;
    const DELAY: Duration = Duration::from_millis(500);
    let requests = HEALTH.repeat(batch);
    for round in 0..3 {
        let mut server = start_dev(&[("SHUTDOWN_DELAY", "500ms"), ("SHUTDOWN_GRACE", "5s")]).await;
        let port = server.port;
        let tally = Arc::new(Tally::default());
        let signal_at: Arc<std::sync::OnceLock<Instant>> = Arc::default();
        let mut clients = JoinSet::new();
        for client in 0..CLIENTS {
            let (tally, signal_at, requests) = (tally.clone(), signal_at.clone(), requests.clone());
            clients.spawn(async move {
                let mut stream: Option<TcpStream> = None;
                loop {
                    let mut current = match stream.take() {
                        Some(stream) => stream,
                        None => match TcpStream::connect(("127.0.0.1", port)).await {
                            Ok(stream) => stream,
                            Err(_) => return, // no longer accepting: the client stops
                        },
                    };
                    if current.write_all(&requests).await.is_err() {
                        continue; // closed before the requests left: nothing was sent
                    }
                    let written = Instant::now();
                    let mut keep = true;
                    for request in 0..batch {
                        let outcome = tokio::time::timeout(
                            Duration::from_secs(10),
                            read_answer(&mut current),
                        )
                        .await
                        .expect("an answer or an end within 10 s");
                        let answer = match outcome {
                            Ok(answer) => answer,
                            Err(error) => {
                                let delay_over = signal_at.get().map(|at| *at + DELAY);
                                assert!(
                                    request == 0 && delay_over.is_some_and(|over| written >= over),
                                    "client {client}: request {request} of {batch}, written before the shutdown delay ended, was lost: {error}"
                                );
                                return;
                            }
                        };
                        assert_eq!(answer.status, 200, "client {client}");
                        tally.answered.fetch_add(1, Ordering::Relaxed);
                        if answer.closes() {
                            if signal_at
                                .get()
                                .is_some_and(|at| written > *at + Duration::from_millis(100))
                            {
                                tally
                                    .answered_after_signal_with_close
                                    .fetch_add(1, Ordering::Relaxed);
                            }
                            assert!(ended_within(&mut current, Duration::from_secs(10)).await);
                            keep = false;
                            break;
                        }
                    }
                    if keep {
                        stream = Some(current);
                    }
                }
            });
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        // Stamped before the signal is sent, so "written before the delay ended" is judged
        // conservatively.
        signal_at.set(Instant::now()).expect("once");
        send_signal(&server.child, "TERM");
        while let Some(outcome) = clients.join_next().await {
            outcome.unwrap_or_else(|e| panic!("round {round}: {e}"));
        }
        let status = exit_status(&mut server.child).await;
        assert_eq!(status.code(), Some(0), "round {round}: {status}");
        assert!(tally.answered.load(Ordering::Relaxed) > 0);
        assert!(
            tally
                .answered_after_signal_with_close
                .load(Ordering::Relaxed)
                > 0,
            "round {round}: no answer after the signal said Connection: close"
        );
    }
}

#[tokio::test]
async fn looping_keep_alive_clients_lose_no_request_on_sigterm() {
    clients_lose_no_request_on_sigterm(1).await;
}

#[tokio::test]
async fn pipelining_clients_lose_no_request_on_sigterm() {
    clients_lose_no_request_on_sigterm(3).await;
}

/// SIGINT skips the shutdown delay: with a 60 s delay the process still exits at once, after
/// answering a request that was already written, and an idle connection does not hold it up.
#[tokio::test]
async fn sigint_skips_the_shutdown_delay_but_still_answers_written_requests() {
    let mut server = start_dev(&[("SHUTDOWN_DELAY", "60s"), ("SHUTDOWN_GRACE", "60s")]).await;
    let mut idle = warm_connection(server.port).await;
    let mut busy = warm_connection(server.port).await;
    busy.write_all(HEALTH).await.expect("write");

    send_signal(&server.child, "INT");

    let answer = tokio::time::timeout(Duration::from_secs(10), read_answer(&mut busy))
        .await
        .expect("an answer")
        .expect("the written request is answered");
    assert_eq!(answer.status, 200);
    assert!(ended_within(&mut idle, Duration::from_secs(10)).await);
    // Bounded by 20 s in `exit_status`, far below the 60 s delay.
    let status = exit_status(&mut server.child).await;
    assert_eq!(status.code(), Some(0), "{status}");
    assert!(refuses_connections(server.port).await);
}

/// CPU seconds (user + system) the process has used so far, from `/proc/<pid>/stat` (in clock
/// ticks of 1/100 s, Linux's `USER_HZ` on every architecture it runs on here).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc stat");
    // The command name may hold spaces: count fields after its closing parenthesis.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .expect("a stat line");
    let ticks = |i: usize| fields[i].parse::<f64>().expect("a tick count");
    (ticks(11) + ticks(12)) / 100.0
}

/// Requests still waiting for the JWKS well past the end of the shutdown delay (so the close the
/// server asked of every connection is older than its one-second soft-close limit): each still
/// gets its whole answer once the keys arrive, and while they wait the server does not spin
/// (it once polled every such connection in a loop, a core's worth of CPU, and could drop an
/// answer hyper had buffered but not yet written).
#[tokio::test]
async fn answers_finished_long_after_the_shutdown_delay_are_written_whole() {
    const ROUNDS: usize = 10;
    const IN_FLIGHT: usize = 64;
    let key = key("key-drain");
    let token = token(&key);
    let request =
        format!("GET / HTTP/1.1\r\nHost: randapi.test\r\nAuthorization: Bearer {token}\r\n\r\n");
    for round in 0..ROUNDS {
        let jwks =
            JwksServer::start(Behaviour::Held(Box::new(Behaviour::Keys(jwks_of(&[&key]))))).await;
        let port = free_port();
        let (jwks_url, port_text) = (jwks.url(), port.to_string());
        let mut env = server_env(&port_text, &jwks_url);
        env.extend([
            ("JWKS_FETCH_TIMEOUT", "30s"),
            ("REQUEST_TIMEOUT", "30s"),
            ("SHUTDOWN_DELAY", "200ms"),
            ("SHUTDOWN_GRACE", "20s"),
        ]);
        let mut child = crate::common::randapi(&[], &env)
            .spawn()
            .expect("randapi starts");
        crate::common::drain_stderr(&mut child);
        wait_until_serving(port).await;
        let mut connections = Vec::with_capacity(IN_FLIGHT);
        for _ in 0..IN_FLIGHT {
            let mut stream = TcpStream::connect(("127.0.0.1", port))
                .await
                .expect("connect");
            stream
                .write_all(request.as_bytes())
                .await
                .expect("write the request");
            connections.push(stream);
        }
        tokio::time::sleep(Duration::from_millis(300)).await; // read, waiting for the keys

        send_signal(&child, "TERM");
        // Past the delay and the soft-close limit that follows the close request.
        tokio::time::sleep(Duration::from_millis(700)).await;
        let pid = child.id().expect("running");
        let before = cpu_seconds(pid);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let waiting_cpu = cpu_seconds(pid) - before;
        assert!(
            waiting_cpu < 0.5,
            "round {round}: {waiting_cpu:.2} s of CPU in 1.5 s while requests waited for keys"
        );
        jwks.release();

        for (i, stream) in connections.iter_mut().enumerate() {
            let answer = tokio::time::timeout(Duration::from_secs(20), read_answer(stream))
                .await
                .unwrap_or_else(|_| panic!("round {round}, connection {i}: no answer"))
                .unwrap_or_else(|e| panic!("round {round}, connection {i}: answer lost: {e}"));
            assert_eq!(answer.status, 200, "round {round}, connection {i}");
            assert!(answer.closes(), "round {round}, connection {i}");
            assert!(
                answer.body.starts_with(r#"{"randomNumber":"#),
                "{}",
                answer.body
            );
        }
        let status = exit_status(&mut child).await;
        assert_eq!(status.code(), Some(0), "round {round}: {status}");
    }
}
