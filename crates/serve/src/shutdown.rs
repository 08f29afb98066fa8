//! Stop requests, and the server's phase after one.

use tokio::sync::mpsc;

/// Why the server is asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// SIGTERM: the platform is replacing the process. Keep serving for the shutdown delay,
    /// while a load balancer may still send traffic here, then close.
    Drain,
    /// SIGINT (Ctrl-C), or a test: skip the delay and close now.
    Now,
}

/// Where the server is in its shutdown. Kept in one place, the server's `watch` channel; every
/// connection holds a receiver, so the channel also tells when the last connection is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Phase {
    /// Normal operation.
    Serving,
    /// A stop was asked: still accepting and serving; every answer closes its connection.
    Draining,
    /// No longer accepting; each connection closes once nothing is left to read or write.
    Closing,
    /// The shutdown grace is over: every connection is dropped.
    Stopped,
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
