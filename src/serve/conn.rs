//! What the serve loop knows about one connection, and the socket wrapper that keeps it current.
//!
//! hyper's own `header_read_timeout` starts as soon as a connection goes idle, so it would also
//! cut idle keep-alive connections at the header timeout; and its `graceful_shutdown` closes a
//! connection whose next request is still in the kernel's receive buffer. So the loop keeps its
//! own small record per connection instead: whether a request is in progress, when the
//! connection went idle, and when the first byte of an unfinished request head arrived. The
//! socket wrapper ([`WatchedIo`]) updates it on every read, and closes an idle connection only by
//! answering a read with end-of-file *after* the kernel has said there is nothing to read.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::shutdown::Lifecycle;

/// Time zero of the nanosecond stamps kept in atomics.
static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);

/// `now` as nanoseconds since [`EPOCH`], plus one so that 0 can mean "never".
fn stamp(now: Instant) -> u64 {
    u64::try_from(now.saturating_duration_since(*EPOCH).as_nanos())
        .unwrap_or(u64::MAX - 1)
        .saturating_add(1)
}

fn unstamp(stamp: u64) -> Option<Instant> {
    (stamp != 0).then(|| *EPOCH + Duration::from_nanos(stamp - 1))
}

/// How long a connection told to close while idle may take to do so before it is dropped (a
/// client that does not read its answers can keep hyper from ever reading again).
const SOFT_CLOSE_LIMIT: Duration = Duration::from_secs(1);

const OPEN: u8 = 0;
const CLOSE_WHEN_IDLE: u8 = 1;
const CLOSE_NOW: u8 = 2;

/// The timeouts a connection lives by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// A request head must be complete this long after its first byte (or, for the first
    /// request, after the connection was accepted).
    pub header_read: Duration,
    /// An idle connection that has served a request is closed after this long.
    pub keep_alive: Duration,
}

impl Timeouts {
    /// How often a connection re-reads its record: often enough that no deadline is missed by
    /// more than this, as every deadline starts at least this far in the future.
    fn cadence(&self) -> Duration {
        self.header_read.min(self.keep_alive)
    }
}

/// What the loop decides about a connection when it looks at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Leave it be.
    Keep,
    /// Close it once nothing is left to read (idle past its timeout).
    CloseWhenIdle,
    /// Drop it now (a request head took too long, or it was told to close and did not).
    Drop,
}

/// The record of one connection. Written by its own task (the socket wrapper and the service),
/// read by the accept loop when it looks for a connection to close.
#[derive(Debug)]
pub struct ConnState {
    lifecycle: Arc<Lifecycle>,
    accepted: u64,
    /// A request is inside the application or its answer is still being written.
    busy: AtomicBool,
    /// The request in progress has a body: bytes read during it may be that body.
    body_in_flight: AtomicBool,
    /// Bytes of a next request were read while the current one was in progress.
    next_head_read: AtomicBool,
    /// At least one answer has been written.
    served: AtomicBool,
    /// An answer was handed to hyper and the socket has not yet been flushed since: its bytes
    /// may still sit in hyper's write buffer.
    unflushed: AtomicBool,
    /// When the last answer was finished (0: never).
    idle_since: AtomicU64,
    /// When the first byte of the unfinished request head arrived (0: no unfinished head).
    head_since: AtomicU64,
    close: AtomicU8,
    close_requested_at: AtomicU64,
    /// Wakes the connection's task when someone else asks it to close.
    pub(crate) wake: Notify,
}

impl ConnState {
    /// A connection accepted now.
    pub fn new(lifecycle: Arc<Lifecycle>) -> Self {
        Self {
            lifecycle,
            accepted: stamp(Instant::now()),
            busy: AtomicBool::new(false),
            body_in_flight: AtomicBool::new(false),
            next_head_read: AtomicBool::new(false),
            served: AtomicBool::new(false),
            unflushed: AtomicBool::new(false),
            idle_since: AtomicU64::new(0),
            head_since: AtomicU64::new(0),
            close: AtomicU8::new(OPEN),
            close_requested_at: AtomicU64::new(0),
            wake: Notify::new(),
        }
    }

    /// Bytes arrived from the client.
    fn on_bytes(&self) {
        if self.busy.load(Ordering::Relaxed) {
            if !self.body_in_flight.load(Ordering::Relaxed) {
                // A request without a body is complete once its head is parsed: these bytes
                // belong to the next one.
                self.next_head_read.store(true, Ordering::Relaxed);
            }
        } else if self.head_since.load(Ordering::Relaxed) == 0 {
            self.head_since
                .store(stamp(Instant::now()), Ordering::Relaxed);
        }
    }

    /// A request head was parsed and handed to the application.
    pub fn request_started(&self, has_body: bool) {
        self.busy.store(true, Ordering::Relaxed);
        self.body_in_flight.store(has_body, Ordering::Relaxed);
        self.next_head_read.store(false, Ordering::Relaxed);
        self.head_since.store(0, Ordering::Relaxed);
    }

    /// The answer to the request in progress was handed to hyper (or abandoned). hyper drops
    /// the body when its last bytes are in its write buffer, not yet on the socket: the
    /// connection is not quiet until the next flush ([`ConnState::flushed`]).
    pub fn request_finished(&self) {
        let now = stamp(Instant::now());
        self.unflushed.store(true, Ordering::Relaxed);
        self.served.store(true, Ordering::Relaxed);
        self.idle_since.store(now, Ordering::Relaxed);
        if self.next_head_read.swap(false, Ordering::Relaxed) {
            self.head_since.store(now, Ordering::Relaxed);
        }
        self.busy.store(false, Ordering::Relaxed);
    }

    /// hyper flushed the socket: every answer it was given has been written to the kernel.
    fn flushed(&self) {
        self.unflushed.store(false, Ordering::Relaxed);
    }

    /// No request in progress, no bytes of one received and no answer left in hyper's buffer:
    /// nothing would be lost by closing.
    fn is_quiet(&self) -> bool {
        !self.busy.load(Ordering::Relaxed)
            && self.head_since.load(Ordering::Relaxed) == 0
            && !self.unflushed.load(Ordering::Relaxed)
    }

    /// No request in progress (an unfinished head may have arrived).
    pub fn is_idle(&self) -> bool {
        !self.busy.load(Ordering::Relaxed)
    }

    /// Since when this connection has made no progress: the first byte of its unfinished head,
    /// else the end of its last answer, else its accept. `None` while a request is in progress.
    pub fn idle_since(&self) -> Option<Instant> {
        if !self.is_idle() {
            return None;
        }
        let head = self.head_since.load(Ordering::Relaxed);
        let idle = self.idle_since.load(Ordering::Relaxed);
        unstamp(if head != 0 {
            head
        } else if idle != 0 {
            idle
        } else {
            self.accepted
        })
    }

    /// Asks the connection to close as soon as it is quiet (or now, if it is mid-head).
    pub fn request_close(&self) {
        if self
            .close
            .compare_exchange(OPEN, CLOSE_WHEN_IDLE, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
        {
            self.close_requested_at
                .store(stamp(Instant::now()), Ordering::Relaxed);
        }
        self.wake.notify_one();
    }

    /// Drops the connection at once (the shutdown grace is over).
    pub fn close_now(&self) {
        self.close.store(CLOSE_NOW, Ordering::Relaxed);
        self.wake.notify_one();
    }

    /// The connection was asked to close.
    pub fn close_requested(&self) -> bool {
        self.close.load(Ordering::Relaxed) != OPEN
    }

    /// Answers sent now should say `Connection: close`.
    pub fn answer_with_close(&self) -> bool {
        self.close_requested() || self.lifecycle.draining()
    }

    /// When the connection should next look at its record.
    pub fn next_check(&self, now: Instant, timeouts: &Timeouts) -> Instant {
        let mut next = now + timeouts.cadence();
        if let Some(deadline) = self.deadline(timeouts) {
            next = next.min(deadline);
        }
        if let Some(limit) = self.soft_close_deadline() {
            next = next.min(limit);
        }
        next
    }

    /// When an idle connection that was told to close is dropped if it has not closed itself:
    /// [`SOFT_CLOSE_LIMIT`] after it was told or after it went idle, whichever is later. `None`
    /// while a request is in progress (its answer is never cut short this way) or if it was
    /// not told to close.
    fn soft_close_deadline(&self) -> Option<Instant> {
        if !self.is_idle() {
            return None;
        }
        let asked = self.close_requested_at.load(Ordering::Relaxed);
        let idle = self.idle_since.load(Ordering::Relaxed);
        unstamp(asked)
            .map(|_| asked.max(idle))
            .and_then(unstamp)
            .map(|t| t + SOFT_CLOSE_LIMIT)
    }

    fn deadline(&self, timeouts: &Timeouts) -> Option<Instant> {
        if !self.is_idle() {
            return None;
        }
        let head = self.head_since.load(Ordering::Relaxed);
        if head != 0 {
            return unstamp(head).map(|t| t + timeouts.header_read);
        }
        if self.served.load(Ordering::Relaxed) {
            unstamp(self.idle_since.load(Ordering::Relaxed)).map(|t| t + timeouts.keep_alive)
        } else {
            unstamp(self.accepted).map(|t| t + timeouts.header_read)
        }
    }

    /// What to do with the connection at `now`.
    pub fn verdict(&self, now: Instant, timeouts: &Timeouts) -> Verdict {
        let close = self.close.load(Ordering::Relaxed);
        if close == CLOSE_NOW {
            return Verdict::Drop;
        }
        if !self.is_idle() {
            return Verdict::Keep;
        }
        let mid_head = self.head_since.load(Ordering::Relaxed) != 0;
        // A quiet connection told to close ends at its next read; if hyper is not reading (its
        // client does not take the answers), it is dropped. A half-received head keeps its
        // header timeout.
        if close == CLOSE_WHEN_IDLE
            && !mid_head
            && self.soft_close_deadline().is_some_and(|limit| now >= limit)
        {
            return Verdict::Drop;
        }
        match self.deadline(timeouts) {
            Some(deadline) if now >= deadline && mid_head => Verdict::Drop,
            Some(deadline) if now >= deadline => Verdict::CloseWhenIdle,
            _ => Verdict::Keep,
        }
    }

    /// Closes the connection to make room for another: at once if a request head is
    /// half-received (that is what a slow client looks like), else once it is quiet (an answer
    /// still being flushed goes out first).
    pub fn evict(&self) {
        if self.is_idle() && self.head_since.load(Ordering::Relaxed) != 0 {
            self.close_now();
        } else {
            self.request_close();
        }
    }

    /// The connection should be dropped without waiting.
    pub fn must_drop(&self) -> bool {
        self.close.load(Ordering::Relaxed) == CLOSE_NOW
    }
}

/// A client socket that keeps its connection's [`ConnState`] current, and ends an idle
/// connection that was asked to close by reporting end-of-file once the kernel has nothing more
/// to read: a request already in the socket buffer is always read and answered first.
#[derive(Debug)]
pub struct WatchedIo {
    stream: TcpStream,
    state: Arc<ConnState>,
}

impl WatchedIo {
    /// Wraps `stream`.
    pub fn new(stream: TcpStream, state: Arc<ConnState>) -> Self {
        Self { stream, state }
    }
}

impl AsyncRead for WatchedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.state.on_bytes();
                }
                Poll::Ready(Ok(()))
            }
            // Nothing to read: if the connection is quiet and should close, this is its end.
            Poll::Pending if this.state.close_requested() && this.state.is_quiet() => {
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

impl AsyncWrite for WatchedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // hyper flushes its IO only once its write buffer is empty, so every answer it was
        // given is with the kernel now.
        let flushed = Pin::new(&mut self.stream).poll_flush(cx);
        if let Poll::Ready(Ok(())) = flushed {
            self.state.flushed();
        }
        flushed
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUTS: Timeouts = Timeouts {
        header_read: Duration::from_secs(10),
        keep_alive: Duration::from_secs(75),
    };

    fn conn() -> ConnState {
        ConnState::new(Arc::new(Lifecycle::new()))
    }

    #[test]
    fn a_new_connection_has_the_header_timeout_to_send_its_first_head() {
        let conn = conn();
        let now = Instant::now();
        assert_eq!(conn.verdict(now, &TIMEOUTS), Verdict::Keep);
        assert_eq!(
            conn.verdict(now + Duration::from_secs(11), &TIMEOUTS),
            Verdict::CloseWhenIdle
        );
    }

    #[test]
    fn an_idle_keep_alive_connection_has_the_keep_alive_timeout() {
        let conn = conn();
        conn.request_started(false);
        conn.request_finished();
        let now = Instant::now();
        assert_eq!(
            conn.verdict(now + Duration::from_secs(60), &TIMEOUTS),
            Verdict::Keep
        );
        assert_eq!(
            conn.verdict(now + Duration::from_secs(76), &TIMEOUTS),
            Verdict::CloseWhenIdle
        );
    }

    #[test]
    fn an_unfinished_head_is_dropped_after_the_header_timeout() {
        let conn = conn();
        conn.request_started(false);
        conn.request_finished();
        conn.on_bytes();
        let now = Instant::now();
        assert!(!conn.is_quiet());
        assert_eq!(
            conn.verdict(now + Duration::from_secs(11), &TIMEOUTS),
            Verdict::Drop
        );
    }

    #[test]
    fn bytes_read_during_a_bodiless_request_start_the_next_head() {
        let conn = conn();
        conn.request_started(false);
        conn.on_bytes();
        conn.request_finished();
        assert!(!conn.is_quiet());
        let with_body = self::conn();
        with_body.request_started(true);
        with_body.on_bytes();
        with_body.request_finished();
        with_body.flushed();
        assert!(with_body.is_quiet());
    }

    #[test]
    fn an_answer_is_flushed_before_the_connection_counts_as_quiet() {
        let conn = conn();
        conn.request_started(false);
        conn.request_close();
        // hyper drops the body once its bytes are in its own write buffer.
        conn.request_finished();
        assert!(conn.is_idle());
        assert!(
            !conn.is_quiet(),
            "an answer still in hyper's buffer would be cut off"
        );
        conn.flushed();
        assert!(conn.is_quiet());
    }

    #[test]
    fn a_request_in_flight_after_a_close_request_is_not_polled_in_a_loop() {
        let conn = conn();
        conn.request_close();
        conn.request_started(false);
        // Long after the soft-close limit, the request is still in progress: the connection's
        // next look is a cadence away, not in the past (which made its task spin).
        let later = Instant::now() + Duration::from_secs(30);
        assert!(conn.next_check(later, &TIMEOUTS) >= later + TIMEOUTS.cadence());
        assert_eq!(conn.verdict(later, &TIMEOUTS), Verdict::Keep);
    }

    #[test]
    fn the_soft_close_limit_runs_from_the_end_of_the_answer() {
        let conn = conn();
        conn.request_started(false);
        conn.request_close();
        std::thread::sleep(SOFT_CLOSE_LIMIT + Duration::from_millis(100));
        conn.request_finished();
        let finished = Instant::now();
        assert_eq!(conn.verdict(finished, &TIMEOUTS), Verdict::Keep);
        assert!(conn.next_check(finished, &TIMEOUTS) > finished);
        assert_eq!(
            conn.verdict(
                finished + SOFT_CLOSE_LIMIT + Duration::from_millis(10),
                &TIMEOUTS
            ),
            Verdict::Drop
        );
    }

    #[test]
    fn a_request_in_progress_is_never_timed_out() {
        let conn = conn();
        conn.request_started(false);
        let later = Instant::now() + Duration::from_secs(3600);
        assert_eq!(conn.verdict(later, &TIMEOUTS), Verdict::Keep);
        assert!(conn.idle_since().is_none());
    }

    #[test]
    fn a_close_request_that_is_not_honoured_ends_in_a_drop() {
        let conn = conn();
        conn.request_close();
        let now = Instant::now();
        assert_eq!(conn.verdict(now, &TIMEOUTS), Verdict::Keep);
        assert_eq!(
            conn.verdict(now + SOFT_CLOSE_LIMIT + Duration::from_millis(1), &TIMEOUTS),
            Verdict::Drop
        );
        conn.close_now();
        assert!(conn.must_drop());
    }
}
