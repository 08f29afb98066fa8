//! The accept loop: hyper's HTTP/1 connections with a tokio timer, per-connection timeouts, a
//! connection cap, and a shutdown that loses no request.
//!
//! After [`Stop::Drain`] (SIGTERM) the server keeps accepting and serving for the shutdown
//! delay, and every answer carries `Connection: close`; then it stops accepting, each
//! connection closes once idle (never while a request's bytes wait in its socket buffer), and
//! requests in flight get the shutdown grace. [`Stop::Now`] (SIGINT) skips the delay.

mod conn;
pub mod fd_limit;
mod service;
pub mod shutdown;
mod table;

use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::routes::MAX_HEADER_BYTES;
pub use conn::Timeouts;
use conn::{ConnState, Verdict, WatchedIo};
use service::ConnService;
pub use shutdown::{Lifecycle, Phase, Stop};
pub use table::ConnectionStats;
use table::{Registration, Table};

/// hyper's read buffer: a request head up to [`MAX_HEADER_BYTES`] plus its request line and
/// line ends fits, so the router can answer an oversized head with its JSON 431; anything
/// larger gets hyper's bare 431. This bounds the memory of an unfinished head.
pub const READ_BUFFER_BYTES: usize = MAX_HEADER_BYTES + 1024;

/// How the serve loop behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeSettings {
    /// Per-connection timeouts.
    pub timeouts: Timeouts,
    /// Most connections open at once; at the cap the one idle longest is closed.
    pub max_connections: usize,
    /// After SIGTERM, how long to keep accepting and serving.
    pub shutdown_delay: Duration,
    /// After the delay, how long requests in flight may take.
    pub shutdown_grace: Duration,
}

/// The longest back-off after an accept error.
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_millis(500);

/// A server on `listener`, ready to run.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    settings: ServeSettings,
    table: Arc<Table>,
    lifecycle: Arc<Lifecycle>,
}

impl Server {
    /// Serves on `listener` with `settings`.
    pub fn new(listener: TcpListener, settings: ServeSettings) -> Self {
        Self {
            listener,
            table: Table::new(settings.max_connections),
            settings,
            lifecycle: Arc::new(Lifecycle::new()),
        }
    }

    /// The open-connection count.
    pub fn stats(&self) -> ConnectionStats {
        self.table.stats()
    }

    /// Serves `router` until a stop from `stops`, then shuts down as the module says. A closed
    /// `stops` channel stops nothing.
    ///
    /// # Errors
    ///
    /// Never today: accept errors are logged and retried. Kept for errors that must stop the
    /// process.
    pub async fn run(
        self,
        router: Router,
        mut stops: mpsc::UnboundedReceiver<Stop>,
    ) -> io::Result<()> {
        let Self {
            listener,
            settings,
            table,
            lifecycle,
        } = self;
        let mut http = http1::Builder::new();
        http.timer(TokioTimer::new())
            // The head timeout is the loop's own (see `conn`): hyper's would also end idle
            // keep-alive connections at the head timeout.
            .header_read_timeout(None)
            .max_buf_size(READ_BUFFER_BYTES);
        let accept = Acceptor {
            listener,
            table: table.clone(),
            lifecycle: lifecycle.clone(),
            http: Arc::new(http),
            router,
            timeouts: settings.timeouts,
        };
        let accepting = tokio::spawn(accept.run());

        let mut stop = next_stop(&mut stops).await;
        if stop == Stop::Drain {
            lifecycle.enter(Phase::Draining);
            tracing::info!(
                delay_s = settings.shutdown_delay.as_secs_f64(),
                "SIGTERM: still serving for the shutdown delay; answers now close their connections"
            );
            let delay = tokio::time::sleep(settings.shutdown_delay);
            tokio::pin!(delay);
            while stop == Stop::Drain {
                tokio::select! {
                    () = &mut delay => break,
                    next = next_stop(&mut stops) => stop = next,
                }
            }
        }
        lifecycle.enter(Phase::Closing);
        // The acceptor takes what is already in the listen queue, then drops the listener.
        if let Err(error) = accepting.await {
            tracing::error!(%error, "the accept loop failed");
        }
        table.close_all_when_idle();
        let open = table.open();
        tracing::info!(
            open_connections = open,
            grace_s = settings.shutdown_grace.as_secs_f64(),
            "stopped accepting; closing idle connections and finishing requests in flight"
        );
        if tokio::time::timeout(settings.shutdown_grace, table.all_closed())
            .await
            .is_err()
        {
            tracing::warn!(
                open_connections = table.open(),
                grace_s = settings.shutdown_grace.as_secs_f64(),
                "requests still in flight after the shutdown grace; closing them"
            );
            table.close_all_now();
        }
        Ok(())
    }
}

/// The next stop asked for; never, once nobody can ask.
async fn next_stop(stops: &mut mpsc::UnboundedReceiver<Stop>) -> Stop {
    match stops.recv().await {
        Some(stop) => stop,
        None => std::future::pending().await,
    }
}

struct Acceptor {
    listener: TcpListener,
    table: Arc<Table>,
    lifecycle: Arc<Lifecycle>,
    http: Arc<http1::Builder>,
    router: Router,
    timeouts: Timeouts,
}

impl Acceptor {
    async fn run(self) {
        let mut phase = self.lifecycle.subscribe();
        let mut backoff = Duration::ZERO;
        let mut last_error_log: Option<Instant> = None;
        loop {
            let accepted = tokio::select! {
                biased;
                _ = phase.wait_for(|phase| *phase >= Phase::Closing) => break,
                accepted = self.listener.accept() => accepted,
            };
            match accepted {
                Ok((stream, _)) => {
                    backoff = Duration::ZERO;
                    self.admit().await;
                    self.spawn(stream);
                }
                Err(error) if is_per_connection(&error) => {}
                Err(error) => {
                    // Out of descriptors (EMFILE/ENFILE) or buffers: close an idle connection,
                    // wait a little longer each time, and log at most once a second.
                    if last_error_log.is_none_or(|at| at.elapsed() >= Duration::from_secs(1)) {
                        tracing::warn!(
                            %error,
                            open_connections = self.table.open(),
                            "accept failed; closing the longest-idle connection and backing off"
                        );
                        last_error_log = Some(Instant::now());
                    }
                    self.table.evict_longest_idle();
                    backoff = (backoff * 2).clamp(Duration::from_millis(5), MAX_ACCEPT_BACKOFF);
                    tokio::time::sleep(backoff).await;
                }
            }
        }
        // Connections that completed their handshake before the stop are served (or closed
        // quietly if they send nothing) rather than reset with the listener.
        while let Some(Ok((stream, _))) =
            futures_util::FutureExt::now_or_never(self.listener.accept())
        {
            self.spawn(stream);
        }
    }

    /// Waits until a new connection may be served: below the cap, or once the connection idle
    /// longest has been told to close.
    async fn admit(&self) {
        let max = self.table.max();
        loop {
            let open = self.table.open();
            if open < max {
                return;
            }
            // A few connections may still be closing after an eviction; past that, wait.
            if open < max + fd_limit::EVICTION_SLACK as usize && self.table.evict_longest_idle() {
                return;
            }
            self.table.wait_for_a_close(Duration::from_millis(20)).await;
        }
    }

    fn spawn(&self, stream: TcpStream) {
        let (state, registration) = self.table.register(self.lifecycle.clone());
        if self.lifecycle.closing() {
            state.request_close();
        }
        tokio::spawn(serve_connection(
            stream,
            state,
            registration,
            self.http.clone(),
            self.router.clone(),
            self.timeouts,
        ));
    }
}

fn is_per_connection(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}

async fn serve_connection(
    stream: TcpStream,
    state: Arc<ConnState>,
    _registration: Registration,
    http: Arc<http1::Builder>,
    router: Router,
    timeouts: Timeouts,
) {
    // No TCP_NODELAY: each answer goes out in one write anyway, and measured with
    // bench/run.sh it cost about 4 µs of CPU per request for no latency gain we could see.
    let io = TokioIo::new(WatchedIo::new(stream, state.clone()));
    let connection = http.serve_connection(io, ConnService::new(router, state.clone()));
    tokio::pin!(connection);
    loop {
        if state.must_drop() {
            return;
        }
        let next_check = state.next_check(Instant::now(), &timeouts);
        // The connection first: it is what every wake-up is nearly always for.
        tokio::select! {
            biased;
            outcome = connection.as_mut() => {
                if let Err(error) = outcome {
                    tracing::debug!(%error, "connection ended with an error");
                }
                return;
            }
            // Eviction, the end of the shutdown delay (`Table::close_all_when_idle`) or the end
            // of the grace: look at the record again.
            () = state.wake.notified() => {}
            () = tokio::time::sleep_until(next_check) => {
                match state.verdict(Instant::now(), &timeouts) {
                    Verdict::Keep => {}
                    Verdict::CloseWhenIdle => state.request_close(),
                    Verdict::Drop => return,
                }
            }
        }
    }
}
