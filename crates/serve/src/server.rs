//! The accept loop, the task of each connection, and the shutdown.
//!
//! Open connections are counted by a `Semaphore`, one permit each (as in tokio's mini-redis
//! server): at the cap a new connection evicts the idle longest and waits for its permit, or, if
//! every connection is busy, waits for a permit or for a connection to go idle, without polling.
//! The shutdown phase lives in one `watch` channel; every connection task holds a receiver, so
//! the sender's `closed()` is "the last connection is gone" (as hyper-util's `GracefulShutdown`
//! and axum's `serve` count theirs).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use http::{Request, Response};
use http_body::Body;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use pin_project_lite::pin_project;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::time::Instant;
use tower_service::Service;

use crate::conn::{Conn, WatchedIo};
use crate::eviction::Eviction;
use crate::service::{BoxError, ConnService};
use crate::settings::{Settings, Timeouts};
use crate::shutdown::{Phase, Stop};

/// The longest back-off after an accept error.
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_millis(500);

/// hyper refuses a smaller read buffer.
const MIN_READ_BUFFER_BYTES: usize = 8 * 1024;

/// A server on a listener, ready to run.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    settings: Settings,
    slots: Arc<Semaphore>,
    phase: watch::Sender<Phase>,
}

/// A cheap, cloneable view of the open-connection count, for a metrics gauge. It stays current
/// while the server runs.
#[derive(Debug, Clone)]
pub struct ConnectionStats {
    slots: Arc<Semaphore>,
    max: usize,
}

impl ConnectionStats {
    /// Client connections open now (those accepted while stopping, past the cap, not counted).
    pub fn open(&self) -> usize {
        self.max.saturating_sub(self.slots.available_permits())
    }

    /// The connection cap.
    pub fn max(&self) -> usize {
        self.max
    }
}

impl Server {
    /// Serves on `listener` (from [`bind`](crate::bind) for a deep accept queue) with
    /// `settings`. The cap is at least 1 and at most what a semaphore holds.
    pub fn new(listener: TcpListener, mut settings: Settings) -> Self {
        settings.max_connections = settings.max_connections.clamp(1, Semaphore::MAX_PERMITS);
        settings.read_buffer_bytes = settings.read_buffer_bytes.max(MIN_READ_BUFFER_BYTES);
        Self {
            listener,
            slots: Arc::new(Semaphore::new(settings.max_connections)),
            settings,
            phase: watch::channel(Phase::Serving).0,
        }
    }

    /// The open-connection count and the cap.
    pub fn stats(&self) -> ConnectionStats {
        ConnectionStats {
            slots: self.slots.clone(),
            max: self.settings.max_connections,
        }
    }

    /// Serves `service` on every connection until a stop arrives on `stops`, then shuts down:
    ///
    /// - [`Stop::Drain`] (SIGTERM): for the shutdown delay, keep accepting and serving, every
    ///   answer saying `Connection: close`; a [`Stop::Now`] ends the delay early.
    /// - Then stop accepting (connections already in the listen queue are still taken), close
    ///   each connection once nothing is left to read or write on it, and give requests in
    ///   flight the shutdown grace before dropping their connections.
    ///
    /// A closed `stops` channel stops nothing.
    ///
    /// # Errors
    ///
    /// Never today: accept errors are logged and retried. Kept for errors that must stop the
    /// process.
    pub async fn run<S, B>(
        self,
        service: S,
        mut stops: mpsc::UnboundedReceiver<Stop>,
    ) -> io::Result<()>
    where
        S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        let Self {
            listener,
            settings,
            slots,
            phase,
        } = self;
        let mut http = http1::Builder::new();
        http.timer(TokioTimer::new())
            // The head timeout is the loop's own (see `conn`): hyper's would also end idle
            // keep-alive connections at the head timeout.
            .header_read_timeout(None)
            .max_buf_size(settings.read_buffer_bytes);
        let eviction = Arc::new(Eviction::default());
        let connect: Connect = Box::new({
            let eviction = eviction.clone();
            move |io, conn| {
                Box::pin(Indexed {
                    inner: http
                        .serve_connection(io, ConnService::new(service.clone(), conn.clone())),
                    conn,
                    eviction: eviction.clone(),
                })
            }
        });
        let acceptor = Acceptor {
            listener,
            stats: ConnectionStats {
                slots,
                max: settings.max_connections,
            },
            eviction,
            phase: phase.subscribe(),
            connect,
            timeouts: settings.timeouts,
        };
        let accepting = tokio::spawn(acceptor.run());

        let mut stop = next_stop(&mut stops).await;
        if stop == Stop::Drain {
            phase.send_replace(Phase::Draining);
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
        phase.send_replace(Phase::Closing);
        // The acceptor takes what is already in the listen queue, then drops the listener.
        if let Err(error) = accepting.await {
            tracing::error!(%error, "the accept loop failed");
        }
        let open = phase.receiver_count();
        tracing::info!(
            open_connections = open,
            grace_s = settings.shutdown_grace.as_secs_f64(),
            "stopped accepting; closing idle connections and finishing requests in flight"
        );
        if tokio::time::timeout(settings.shutdown_grace, phase.closed())
            .await
            .is_err()
        {
            tracing::warn!(
                open_connections = phase.receiver_count(),
                grace_s = settings.shutdown_grace.as_secs_f64(),
                "requests still in flight after the shutdown grace; closing them"
            );
            phase.send_replace(Phase::Stopped);
            phase.closed().await;
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

/// Completes once the server no longer accepts (or is gone).
async fn closing(phase: &mut watch::Receiver<Phase>) {
    let _ = phase.wait_for(|phase| *phase >= Phase::Closing).await;
}

/// A permit of `slots`; never, if the semaphore were closed (it is not).
async fn acquire(slots: &Arc<Semaphore>) -> OwnedSemaphorePermit {
    match slots.clone().acquire_owned().await {
        Ok(permit) => permit,
        Err(_) => std::future::pending().await,
    }
}

/// hyper's connection on one socket, its place in the eviction queues kept current.
type Connection = Pin<Box<dyn Future<Output = hyper::Result<()>> + Send>>;

/// Makes the [`Connection`] of a socket: built in [`Server::run`], where the service's type is
/// known, so the accept loop needs none.
type Connect = Box<dyn Fn(TokioIo<WatchedIo>, Arc<Conn>) -> Connection + Send>;

struct Acceptor {
    listener: TcpListener,
    stats: ConnectionStats,
    eviction: Arc<Eviction>,
    phase: watch::Receiver<Phase>,
    connect: Connect,
    timeouts: Timeouts,
}

impl Acceptor {
    async fn run(mut self) {
        let mut backoff = Duration::ZERO;
        let mut last_warning: Option<Instant> = None;
        loop {
            let accepted = tokio::select! {
                biased;
                () = closing(&mut self.phase) => break,
                accepted = self.listener.accept() => accepted,
            };
            match accepted {
                Ok((stream, _)) => {
                    backoff = Duration::ZERO;
                    let slot = tokio::select! {
                        biased;
                        // Accepted before the stop: served, outside the count.
                        () = closing(&mut self.phase) => None,
                        slot = free_slot(&self.stats.slots, &self.eviction) => Some(slot),
                    };
                    self.spawn(stream, slot);
                }
                Err(error) if is_per_connection(&error) => {}
                Err(error) => {
                    // Out of descriptors (EMFILE/ENFILE) or buffers: close an idle connection,
                    // wait a little longer each time, and log at most once a second.
                    if last_warning.is_none_or(|at| at.elapsed() >= Duration::from_secs(1)) {
                        tracing::warn!(
                            %error,
                            open_connections = self.stats.open(),
                            "accept failed; closing the longest-idle connection and backing off"
                        );
                        last_warning = Some(Instant::now());
                    }
                    self.eviction.evict_one();
                    backoff = (backoff * 2).clamp(Duration::from_millis(5), MAX_ACCEPT_BACKOFF);
                    tokio::time::sleep(backoff).await;
                }
            }
        }
        // Connections that completed their handshake before the stop are served (or closed
        // quietly if they send nothing) rather than reset with the listener.
        let mut cx = Context::from_waker(Waker::noop());
        while let Poll::Ready(Ok((stream, _))) = self.listener.poll_accept(&mut cx) {
            let slot = self.stats.slots.clone().try_acquire_owned().ok();
            self.spawn(stream, slot);
        }
    }

    fn spawn(&self, stream: TcpStream, slot: Option<OwnedSemaphorePermit>) {
        let mut phase = self.phase.clone();
        let conn = Conn::new(Instant::now(), *phase.borrow_and_update());
        // No TCP_NODELAY: each answer goes out in one write anyway, and measured with
        // bench/run.sh it cost about 4 µs of CPU per request for no latency gain we could see.
        let io = TokioIo::new(WatchedIo::new(stream, conn.clone()));
        let connection = (self.connect)(io, conn.clone());
        let timeouts = self.timeouts;
        tokio::spawn(async move {
            let _slot = slot;
            serve_connection(connection, &conn, phase, &timeouts).await;
        });
    }
}

/// A permit for a new connection: at once below the cap; at the cap, once the connection idle
/// longest has closed, or, while every connection is busy, once one frees its permit or goes
/// idle (and is then evicted).
async fn free_slot(slots: &Arc<Semaphore>, eviction: &Eviction) -> OwnedSemaphorePermit {
    loop {
        if let Ok(slot) = slots.clone().try_acquire_owned() {
            return slot;
        }
        if eviction.evict_one() {
            return acquire(slots).await;
        }
        tokio::select! {
            slot = acquire(slots) => return slot,
            () = eviction.candidate() => {}
        }
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

pin_project! {
    /// hyper's connection, which after each poll puts the connection where it now belongs in
    /// the eviction queues: every state change that makes it evictable happens inside hyper.
    struct Indexed<F> {
        #[pin]
        inner: F,
        conn: Arc<Conn>,
        eviction: Arc<Eviction>,
    }
}

impl<F: Future> Future for Indexed<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let polled = this.inner.poll(cx);
        if polled.is_pending() {
            this.eviction.update(this.conn);
        }
        polled
    }
}

/// Drives one connection until hyper ends it or its record says to drop it.
async fn serve_connection(
    mut connection: Connection,
    conn: &Conn,
    mut phase: watch::Receiver<Phase>,
    timeouts: &Timeouts,
) {
    let Some(mut next_look) = conn.review(Instant::now(), timeouts) else {
        return;
    };
    loop {
        tokio::select! {
            biased;
            // The phase first: an answer finished in the same wake-up already says close. A
            // server dropped without a shutdown drops its connections too.
            changed = phase.changed() => conn.follow(match changed {
                Ok(()) => *phase.borrow_and_update(),
                Err(_) => Phase::Stopped,
            }),
            outcome = connection.as_mut() => {
                if let Err(error) = outcome {
                    tracing::debug!(%error, "connection ended with an error");
                }
                return;
            }
            () = conn.evicted() => {}
            () = tokio::time::sleep_until(next_look) => {}
        }
        match conn.review(Instant::now(), timeouts) {
            Some(next) => next_look = next,
            None => return,
        }
    }
}
