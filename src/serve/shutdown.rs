//! The server's life after a stop signal: serving, draining (still accepting, every answer says
//! `Connection: close`), closing (no more accepting; idle connections end) and stopped.

use std::sync::atomic::{AtomicU8, Ordering};

use tokio::sync::{mpsc, watch};

/// Why the server is asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// SIGTERM: the platform is replacing the task. Keep serving for the shutdown delay, while
    /// the load balancer still sends traffic here, then close.
    Drain,
    /// SIGINT (Ctrl-C), or a test: skip the delay and close now.
    Now,
}

/// Where the server is in its shutdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Normal operation.
    Serving = 0,
    /// A stop was asked: still accepting and serving; every answer closes its connection.
    Draining = 1,
    /// No longer accepting; each connection closes once idle; requests in flight finish
    /// within the grace period.
    Closing = 2,
}

/// The shutdown phase, readable without a lock on every answer, and watchable by connections.
#[derive(Debug)]
pub struct Lifecycle {
    phase: AtomicU8,
    changed: watch::Sender<Phase>,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Self::new()
    }
}

impl Lifecycle {
    /// A server that is serving.
    pub fn new() -> Self {
        Self {
            phase: AtomicU8::new(Phase::Serving as u8),
            changed: watch::channel(Phase::Serving).0,
        }
    }

    /// Moves to `phase` (never backwards).
    pub fn enter(&self, phase: Phase) {
        let previous = self.phase.fetch_max(phase as u8, Ordering::SeqCst);
        if previous < phase as u8 {
            self.changed.send_replace(phase);
        }
    }

    /// A stop was asked: answers should close their connections.
    pub fn draining(&self) -> bool {
        self.phase.load(Ordering::Relaxed) >= Phase::Draining as u8
    }

    /// Accepting has stopped: idle connections should close.
    pub fn closing(&self) -> bool {
        self.phase.load(Ordering::Relaxed) >= Phase::Closing as u8
    }

    /// Notified at each change of phase.
    pub fn subscribe(&self) -> watch::Receiver<Phase> {
        self.changed.subscribe()
    }
}

/// Sends [`Stop::Drain`] on each SIGTERM and [`Stop::Now`] on each SIGINT, for as long as the
/// receiver lives.
///
/// # Errors
///
/// When the signal handlers cannot be installed.
#[cfg(unix)]
pub fn os_signals() -> std::io::Result<mpsc::UnboundedReceiver<Stop>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let stop = tokio::select! {
                Some(()) = terminate.recv() => Stop::Drain,
                Some(()) = interrupt.recv() => Stop::Now,
                else => return,
            };
            if tx.send(stop).is_err() {
                return;
            }
        }
    });
    Ok(rx)
}

/// Sends [`Stop::Now`] on each Ctrl-C (no SIGTERM off Unix).
///
/// # Errors
///
/// Never; the signature matches the Unix one.
#[cfg(not(unix))]
pub fn os_signals() -> std::io::Result<mpsc::UnboundedReceiver<Stop>> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            if tx.send(Stop::Now).is_err() {
                return;
            }
        }
    });
    Ok(rx)
}

/// A stop channel fed by one future: [`Stop::Now`] when it completes.
pub fn when(signal: impl Future<Output = ()> + Send + 'static) -> mpsc::UnboundedReceiver<Stop> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        signal.await;
        let _ = tx.send(Stop::Now);
    });
    rx
}
