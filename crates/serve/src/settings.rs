//! What the caller decides: every limit of the serve loop comes in here.

use std::time::Duration;

/// How the serve loop behaves. Nothing has a hidden default: the caller chooses every value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Per-connection timeouts.
    pub timeouts: Timeouts,
    /// Most connections open at once. At the cap a new connection closes the one idle longest;
    /// if every connection is busy, it waits for one to finish.
    pub max_connections: usize,
    /// After [`Stop::Drain`](crate::Stop::Drain), how long to keep accepting and serving, every
    /// answer saying `Connection: close`.
    pub shutdown_delay: Duration,
    /// Once accepting has stopped, how long requests in flight may take before their
    /// connections are dropped.
    pub shutdown_grace: Duration,
    /// hyper's read buffer, which bounds what an unfinished request head can hold in memory; a
    /// head that does not fit gets hyper's bare `431`. At least 8 KiB (hyper's own floor).
    pub read_buffer_bytes: usize,
}

/// The timeouts a connection lives by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// A request head must be complete this long after its first byte (or, for a connection's
    /// first request, after the connection was accepted).
    pub header_read: Duration,
    /// An idle connection that has served a request is closed after this long.
    pub keep_alive: Duration,
}
