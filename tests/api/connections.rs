//! Connection hygiene against the real binary: the header-read and keep-alive timeouts (set
//! small through the environment), slow clients, oversized heads, the connection cap under
//! a 512-file limit, and the depth of the accept queue.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::Command;
use tokio::time::Instant;

use crate::common::raw::*;
use crate::common::{drain_stderr, exit_status, free_port, randapi, send_signal, stdout_lines};

const TIMEOUTS: &[(&str, &str)] = &[
    ("HEADER_READ_TIMEOUT", "500ms"),
    ("KEEPALIVE_TIMEOUT", "2s"),
    ("SHUTDOWN_DELAY", "0s"),
];

async fn stop(mut server: Running) {
    send_signal(&server.child, "INT");
    let status = exit_status(&mut server.child).await;
    assert_eq!(status.code(), Some(0), "{status}");
}

#[tokio::test]
async fn a_connection_that_sends_nothing_or_half_a_head_is_closed_after_the_header_timeout() {
    let server = start_dev(TIMEOUTS).await;
    let mut silent = TcpStream::connect(("127.0.0.1", server.port))
        .await
        .expect("connect");
    let mut partial = TcpStream::connect(("127.0.0.1", server.port))
        .await
        .expect("connect");
    partial
        .write_all(b"GET /health HTTP/1.1\r\nHost: randapi.test\r\n")
        .await
        .expect("write");
    let mut after_a_request = warm_connection(server.port).await;
    after_a_request
        .write_all(b"GET /health HTTP/1.1\r\nHo")
        .await
        .expect("write");

    for (name, stream) in [
        ("silent", &mut silent),
        ("partial head", &mut partial),
        ("partial second head", &mut after_a_request),
    ] {
        // Closed, and without an answer (`ended_within` fails on any byte).
        assert!(
            ended_within(stream, Duration::from_secs(10)).await,
            "{name}: still open"
        );
    }
    stop(server).await;
}

#[tokio::test]
async fn a_slow_loris_client_is_closed_before_it_finishes_its_head() {
    let server = start_dev(TIMEOUTS).await;
    let mut stream = TcpStream::connect(("127.0.0.1", server.port))
        .await
        .expect("connect");
    let started = Instant::now();
    let mut closed = false;
    // One byte every 100 ms: the 44-byte head would take 4.4 s against a 500 ms timeout.
    for byte in HEALTH {
        if stream.write_all(&[*byte]).await.is_err() {
            closed = true;
            break;
        }
        let mut buf = [0u8; 256];
        match tokio::time::timeout(Duration::from_millis(100), stream.read(&mut buf)).await {
            Err(_) => {}
            Ok(Ok(0)) | Ok(Err(_)) => {
                closed = true;
                break;
            }
            Ok(Ok(n)) => panic!(
                "the slow head was answered: {:?}",
                String::from_utf8_lossy(&buf[..n])
            ),
        }
    }
    assert!(
        closed,
        "a head dripped over {:?} was read to the end",
        started.elapsed()
    );
    stop(server).await;
}

#[tokio::test]
async fn idle_keep_alive_connections_outlive_the_header_timeout_and_close_at_the_keep_alive_timeout()
 {
    let server = start_dev(TIMEOUTS).await;
    let mut stream = warm_connection(server.port).await;
    // Idle for three header timeouts: still usable.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let answer = exchange(&mut stream, HEALTH)
        .await
        .expect("an idle keep-alive connection was closed at the header timeout");
    assert_eq!(answer.status, 200);
    let answered = Instant::now();
    assert!(
        ended_within(&mut stream, Duration::from_secs(15)).await,
        "an idle connection outlived the keep-alive timeout"
    );
    assert!(
        answered.elapsed() >= Duration::from_millis(1500),
        "closed {:?} after the answer, before the 2 s keep-alive timeout",
        answered.elapsed()
    );
    stop(server).await;
}

#[tokio::test]
async fn an_endless_head_gets_431_and_the_server_stops_reading() {
    let server = start_dev(&[]).await;
    let mut stream = TcpStream::connect(("127.0.0.1", server.port))
        .await
        .expect("connect");
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: randapi.test\r\nX-Filler: ")
        .await
        .expect("write");
    // 400 KB of one header value, never finished: the server must answer (or close) long
    // before it has it all.
    let chunk = vec![b'a'; 4096];
    let mut sent = 0;
    let mut refused = false;
    for _ in 0..100 {
        match tokio::time::timeout(Duration::from_secs(5), stream.write_all(&chunk)).await {
            Ok(Ok(())) => sent += chunk.len(),
            Ok(Err(_)) | Err(_) => {
                refused = true;
                break;
            }
        }
    }
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        refused || answer.starts_with("HTTP/1.1 431"),
        "sent {sent} bytes of one head; answer {answer:?}"
    );
    if !answer.is_empty() {
        assert!(answer.starts_with("HTTP/1.1 431"), "{answer:?}");
    }
    stop(server).await;
}

/// `randapi --dev` under `prlimit --nofile=LIMIT:LIMIT` with `envs`, its stdout (the JSON log)
/// collected until it exits.
async fn start_limited(
    limit: u32,
    envs: &[(&str, &str)],
) -> (
    tokio::process::Child,
    u16,
    tokio::task::JoinHandle<Vec<String>>,
) {
    let port = free_port();
    let port_text = port.to_string();
    let nofile = format!("--nofile={limit}:{limit}");
    let mut child = Command::new("prlimit")
        .args([
            nofile.as_str(),
            "--",
            env!("CARGO_BIN_EXE_randapi"),
            "--dev",
        ])
        .env_clear()
        .envs([
            ("PORT", port_text.as_str()),
            ("HOST", "127.0.0.1"),
            ("LOG_FORMAT", "json"),
            // Long timeouts: only the cap may close these connections.
            ("HEADER_READ_TIMEOUT", "60s"),
            ("KEEPALIVE_TIMEOUT", "60s"),
            ("SHUTDOWN_DELAY", "0s"),
        ])
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("prlimit (util-linux) runs randapi");
    let logs = stdout_lines(&mut child);
    wait_until_serving(port).await;
    (child, port, logs)
}

/// Opens `count` connections: even ones served once (idle keep-alive), odd ones silent.
async fn hold(port: u16, count: usize) -> Vec<TcpStream> {
    let mut held = Vec::with_capacity(count);
    for i in 0..count {
        let stream = if i % 2 == 0 {
            warm_connection(port).await
        } else {
            TcpStream::connect(("127.0.0.1", port))
                .await
                .expect("connect")
        };
        held.push(stream);
    }
    held
}

/// `GET /health` on a new connection, within 3 s.
async fn health_within_3s(port: u16, case: &str) {
    let asked = Instant::now();
    let answer = tokio::time::timeout(Duration::from_secs(3), async {
        let mut stream = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        exchange(&mut stream, HEALTH).await
    })
    .await
    .unwrap_or_else(|_| panic!("{case}: GET /health not answered within 3 s"))
    .unwrap_or_else(|e| panic!("{case}: {e}"));
    assert_eq!(answer.status, 200, "{case}");
    eprintln!("{case}: GET /health answered in {:?}", asked.elapsed());
}

/// The goal: a process limited to 512 files, a client holding 532 idle connections, and
/// a new `GET /health` still answered within 3 s. The server logs the limits it found and never
/// runs out of descriptors.
#[tokio::test]
async fn under_a_512_file_limit_532_idle_connections_do_not_lock_out_a_new_client() {
    let (mut child, port, logs) = start_limited(512, &[]).await;
    let mut held = hold(port, 532).await;

    health_within_3s(port, "532 idle connections, 512 files").await;

    // The oldest connection was one of those closed.
    let mut first = held.swap_remove(0);
    assert!(
        ended_within(&mut first, Duration::from_secs(10)).await,
        "the connection idle longest was not closed"
    );

    send_signal(&child, "INT");
    let status = exit_status(&mut child).await;
    assert_eq!(status.code(), Some(0), "{status}");
    drop(held);
    let logs = logs.await.expect("logs").join("\n");
    let limit_line = logs
        .lines()
        .find(|line| line.contains("open-file limit"))
        .unwrap_or_else(|| panic!("the limits are not logged: {logs}"));
    assert!(limit_line.contains("\"soft_limit\":512"), "{limit_line}");
    assert!(limit_line.contains("\"hard_limit\":512"), "{limit_line}");
    assert!(
        !logs.contains("accept failed"),
        "the server ran out of descriptors: {logs}"
    );
}

/// A `MAX_CONNECTIONS` above what the file limit allows: accept fails with EMFILE. The server
/// frees a descriptor by closing an idle connection, backs off instead of spinning, logs it at
/// most once a second, and still answers.
#[tokio::test]
async fn running_out_of_descriptors_backs_off_and_recovers() {
    let (mut child, port, logs) = start_limited(128, &[("MAX_CONNECTIONS", "10000")]).await;
    let started = Instant::now();
    let held = hold(port, 160).await;

    health_within_3s(port, "160 idle connections, 128 files, no cap").await;

    send_signal(&child, "INT");
    let status = exit_status(&mut child).await;
    assert_eq!(status.code(), Some(0), "{status}");
    let elapsed = started.elapsed();
    drop(held);
    let logs = logs.await.expect("logs").join("\n");
    let warnings = logs.matches("accept failed").count();
    assert!(warnings >= 1, "EMFILE was never hit: {logs}");
    assert!(
        warnings as u64 <= elapsed.as_secs() + 1,
        "{warnings} accept warnings in {elapsed:?}: the loop spins"
    );
}

/// The accept queue is as deep as the kernel allows: the lower of Linux's `SOMAXCONN` (4096)
/// and `net.core.somaxconn`, seen from outside as the listening socket's Send-Q in `ss`, and
/// the start log says so. (`TcpListener::bind` gave 128: a burst of connects overflowed it.)
#[tokio::test]
async fn the_listening_socket_has_the_deepest_accept_queue_the_kernel_allows() {
    let port = free_port();
    let port_text = port.to_string();
    let envs = [
        ("PORT", port_text.as_str()),
        ("HOST", "127.0.0.1"),
        ("LOG_FORMAT", "json"),
    ];
    let mut child = randapi(&["--dev"], &envs)
        .stdout(Stdio::piped())
        .spawn()
        .expect("randapi starts");
    drain_stderr(&mut child);
    let logs = stdout_lines(&mut child);
    wait_until_serving(port).await;
    let somaxconn: u32 = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .expect("net.core.somaxconn")
        .trim()
        .parse()
        .expect("a number");
    let expected = somaxconn.min(4096);

    let ss = Command::new("ss")
        .args(["-ltnH", &format!("sport = :{port}")])
        .output()
        .await
        .expect("ss (iproute2) runs");
    let listing = String::from_utf8_lossy(&ss.stdout);
    // State, Recv-Q (connections waiting to be accepted), Send-Q (the backlog), address.
    let send_q: Vec<&str> = listing
        .lines()
        .filter_map(|line| line.split_whitespace().nth(2))
        .collect();
    assert_eq!(send_q, [expected.to_string()], "ss -ltn: {listing}");

    send_signal(&child, "INT");
    assert_eq!(exit_status(&mut child).await.code(), Some(0));
    let logs = logs.await.expect("logs").join("\n");
    let listening = logs
        .lines()
        .find(|line| line.contains("\"listening\""))
        .unwrap_or_else(|| panic!("no start line: {logs}"));
    assert!(
        listening.contains(&format!("\"listen_backlog\":{expected}")),
        "{listening}"
    );
}
