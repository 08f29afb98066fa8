//! What the serve loop knows about one connection, and the socket wrapper that keeps it current.
//!
//! hyper's own `header_read_timeout` starts as soon as a connection goes idle, so it would also
//! cut idle keep-alive connections at the header timeout; and its `graceful_shutdown` closes a
//! connection whose next request is still in the kernel's receive buffer. So each connection
//! keeps one record ([`Conn`]) of what it is doing, and every rule that reads it is a method
//! here, under the record's lock:
//!
//! - A connection is *busy* from the moment hyper hands a request head to the service until hyper
//!   drops the answer's body; otherwise it is *waiting*, since the end of its last answer (or its
//!   accept), and maybe with the first bytes of a next head.
//! - hyper drops a body once its last bytes are in its own write buffer, before they reach the
//!   socket, so a connection stays *unflushed* until the socket wrapper sees a flush complete.
//! - *Quiet* means waiting, with no bytes of a next head and nothing unflushed: closing it loses
//!   nothing. A connection told to close ends only when quiet, by answering hyper's read with
//!   end-of-file *after* the kernel has said there is nothing to read ([`WatchedIo`]): a request
//!   already in the socket buffer is always read and answered first.
//! - Its place in the eviction order ([`Conn::to_index`]) changes only with those states, and
//!   each change bumps an epoch, so an older place in the queues is known to be stale.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::settings::Timeouts;
use crate::shutdown::Phase;

/// How long a quiet connection told to close may take to do so before it is dropped (a client
/// that does not read its answers can keep hyper from ever reading again).
const SOFT_CLOSE_LIMIT: Duration = Duration::from_secs(1);

/// The eviction queue a connection waits in; the queues are emptied in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// A request head is half-received: what a slow client looks like.
    Head,
    /// Nothing in progress.
    Idle,
}

/// One connection: its record and the wake-up its task listens to.
#[derive(Debug)]
pub(crate) struct Conn {
    record: Mutex<Record>,
    /// Wakes the connection's task when the accept loop evicts it.
    wake: Notify,
}

#[derive(Debug)]
struct Record {
    activity: Activity,
    /// At least one answer has been written: waiting means keep-alive, not a first request.
    served: bool,
    /// An answer was handed to hyper and the socket has not been flushed since.
    unflushed: bool,
    ending: Ending,
    /// Bumped whenever the connection's place in the eviction order changes.
    epoch: u64,
    /// The epoch last given to the eviction queues.
    indexed: Option<u64>,
}

#[derive(Debug, Clone, Copy)]
enum Activity {
    /// No request in progress since `since` (the end of the last answer, or the accept);
    /// `head`: when the first byte of an unfinished request head arrived.
    Waiting {
        since: Instant,
        head: Option<Instant>,
    },
    /// A request is in the service or its answer is being written. `body`: the request has a
    /// body, so bytes read now may be that body; `next_head`: bytes of a next request (without
    /// a body, nothing else can be read) arrived meanwhile.
    Busy { body: bool, next_head: bool },
}

/// How the connection is to end; it only ever moves down this list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    KeepAlive,
    /// The server is draining: answers say `Connection: close`.
    AnswersSayClose,
    /// Close once quiet; dropped if that takes [`SOFT_CLOSE_LIMIT`] past `asked` and the end of
    /// its last answer.
    WhenQuiet {
        asked: Instant,
    },
    /// Drop now.
    Now,
}

impl Ending {
    fn rank(self) -> u8 {
        match self {
            Self::KeepAlive => 0,
            Self::AnswersSayClose => 1,
            Self::WhenQuiet { .. } => 2,
            Self::Now => 3,
        }
    }
}

impl Record {
    fn raise(&mut self, to: Ending) {
        if to.rank() > self.ending.rank() {
            self.ending = to;
            self.epoch += 1;
        }
    }

    fn quiet(&self) -> bool {
        matches!(self.activity, Activity::Waiting { head: None, .. }) && !self.unflushed
    }

    /// The eviction queue this connection belongs in now, if any: waiting and not yet told to
    /// close.
    fn class(&self) -> Option<Class> {
        match self.activity {
            Activity::Waiting { head, .. } if self.ending.rank() < 2 => Some(match head {
                Some(_) => Class::Head,
                None => Class::Idle,
            }),
            _ => None,
        }
    }
}

impl Conn {
    /// A connection accepted `now`, whose server is in `phase`.
    pub(crate) fn new(now: Instant, phase: Phase) -> Arc<Self> {
        let conn = Arc::new(Self {
            record: Mutex::new(Record {
                activity: Activity::Waiting {
                    since: now,
                    head: None,
                },
                served: false,
                unflushed: false,
                ending: Ending::KeepAlive,
                epoch: 0,
                indexed: None,
            }),
            wake: Notify::new(),
        });
        conn.follow(phase);
        conn
    }

    fn lock(&self) -> MutexGuard<'_, Record> {
        // Every method leaves the record whole, so a poisoned lock still holds a valid one.
        self.record.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Bytes arrived from the client.
    pub(crate) fn bytes_read(&self) {
        let mut record = self.lock();
        match &mut record.activity {
            Activity::Busy {
                body: false,
                next_head,
            } => *next_head = true,
            Activity::Busy { body: true, .. } | Activity::Waiting { head: Some(_), .. } => {}
            Activity::Waiting { head, .. } => {
                *head = Some(Instant::now());
                record.epoch += 1;
            }
        }
    }

    /// A request head was parsed and handed to the service.
    pub(crate) fn request_started(&self, has_body: bool) {
        let mut record = self.lock();
        record.activity = Activity::Busy {
            body: has_body,
            next_head: false,
        };
        record.epoch += 1;
    }

    /// The answer was handed to hyper whole (or abandoned): its bytes may still sit in hyper's
    /// write buffer until the next flush.
    pub(crate) fn request_finished(&self) {
        let now = Instant::now();
        let mut record = self.lock();
        let next_head = matches!(
            record.activity,
            Activity::Busy {
                next_head: true,
                ..
            }
        );
        record.activity = Activity::Waiting {
            since: now,
            head: next_head.then_some(now),
        };
        record.served = true;
        record.unflushed = true;
        record.epoch += 1;
    }

    /// hyper flushed the socket: every answer it was given is with the kernel now.
    fn flushed(&self) {
        self.lock().unflushed = false;
    }

    /// The connection should end at hyper's next read that finds nothing.
    fn ends_at_empty_read(&self) -> bool {
        let record = self.lock();
        record.ending.rank() >= 2 && record.quiet()
    }

    /// Answers sent now should say `Connection: close`.
    pub(crate) fn answers_say_close(&self) -> bool {
        self.lock().ending.rank() >= 1
    }

    /// Takes the server's phase into account.
    pub(crate) fn follow(&self, phase: Phase) {
        let mut record = self.lock();
        match phase {
            Phase::Serving => {}
            Phase::Draining => record.raise(Ending::AnswersSayClose),
            Phase::Closing => record.raise(Ending::WhenQuiet {
                asked: Instant::now(),
            }),
            Phase::Stopped => record.raise(Ending::Now),
        }
    }

    /// Where this connection should now be in the eviction queues, if it is not there yet.
    pub(crate) fn to_index(&self) -> Option<(Class, u64)> {
        let mut record = self.lock();
        let class = record.class()?;
        let epoch = record.epoch;
        (record.indexed != Some(epoch)).then(|| {
            record.indexed = Some(epoch);
            (class, epoch)
        })
    }

    /// Closes the connection to make room for another, if it is still where the queues saw it
    /// (`epoch`): at once if a request head is half-received (that is what a slow client looks
    /// like), else once quiet (an answer still being flushed goes out first).
    pub(crate) fn evict_if(&self, epoch: u64) -> bool {
        let mut record = self.lock();
        let head = match record.activity {
            Activity::Waiting { head, .. } if record.epoch == epoch && record.class().is_some() => {
                head
            }
            _ => return false,
        };
        record.raise(match head {
            Some(_) => Ending::Now,
            None => Ending::WhenQuiet {
                asked: Instant::now(),
            },
        });
        drop(record);
        self.wake.notify_one();
        true
    }

    /// Whether the queues' entry of `epoch` still places this connection.
    pub(crate) fn is_at(&self, epoch: u64) -> bool {
        let record = self.lock();
        record.epoch == epoch && record.class().is_some()
    }

    /// Completes when the accept loop has evicted the connection.
    pub(crate) async fn evicted(&self) {
        self.wake.notified().await;
    }

    /// Looks at the record at `now`: asks an idle connection past its timeout to close, and
    /// says when to look again, or `None` when the connection must be dropped now (its head
    /// took too long, it did not close when told, or the server is stopping).
    pub(crate) fn review(&self, now: Instant, timeouts: &Timeouts) -> Option<Instant> {
        let mut record = self.lock();
        // Every deadline starts at least this far from the moment it starts, so looking this
        // often misses none, even one that started after this look.
        let mut next = now + timeouts.header_read.min(timeouts.keep_alive);
        let (since, head) = match (record.ending, record.activity) {
            (Ending::Now, _) => return None,
            // A request in progress is never timed out here (that is the service's business).
            (_, Activity::Busy { .. }) => return Some(next),
            (_, Activity::Waiting { since, head }) => (since, head),
        };
        if let (Ending::WhenQuiet { asked }, None) = (record.ending, head) {
            let limit = asked.max(since) + SOFT_CLOSE_LIMIT;
            if now >= limit {
                return None;
            }
            next = next.min(limit);
        }
        let deadline = match head {
            Some(first_byte) => first_byte + timeouts.header_read,
            None if record.served => since + timeouts.keep_alive,
            None => since + timeouts.header_read,
        };
        if now < deadline {
            return Some(next.min(deadline));
        }
        if head.is_some() {
            return None;
        }
        record.raise(Ending::WhenQuiet { asked: now });
        Some(next.min(now + SOFT_CLOSE_LIMIT))
    }
}

/// A client socket that keeps its connection's record current, and ends a connection told to
/// close by reporting end-of-file once it is quiet and the kernel has nothing more to read.
#[derive(Debug)]
pub(crate) struct WatchedIo {
    stream: TcpStream,
    conn: Arc<Conn>,
}

impl WatchedIo {
    pub(crate) fn new(stream: TcpStream, conn: Arc<Conn>) -> Self {
        Self { stream, conn }
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
            Poll::Ready(Ok(())) if buf.filled().len() > before => {
                this.conn.bytes_read();
                Poll::Ready(Ok(()))
            }
            Poll::Pending if this.conn.ends_at_empty_read() => Poll::Ready(Ok(())),
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
        // hyper flushes its IO only once its write buffer is empty (hyper 1.x, `proto/h1/io.rs`
        // `poll_flush`), so every answer it was given is with the kernel now.
        let flushed = Pin::new(&mut self.stream).poll_flush(cx);
        if let Poll::Ready(Ok(())) = flushed {
            self.conn.flushed();
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

    fn conn() -> Arc<Conn> {
        Conn::new(Instant::now(), Phase::Serving)
    }

    fn quiet(conn: &Conn) -> bool {
        conn.lock().quiet()
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_connection_has_the_header_timeout_to_send_its_first_head() {
        let conn = conn();
        let now = Instant::now();
        assert_eq!(
            conn.review(now, &TIMEOUTS),
            Some(now + TIMEOUTS.header_read)
        );
        assert!(!conn.answers_say_close());
        let later = now + Duration::from_secs(11);
        assert_eq!(
            conn.review(later, &TIMEOUTS),
            Some(later + SOFT_CLOSE_LIMIT)
        );
        assert!(conn.ends_at_empty_read(), "told to close once quiet");
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_keep_alive_connection_has_the_keep_alive_timeout() {
        let conn = conn();
        conn.request_started(false);
        conn.request_finished();
        conn.flushed();
        let now = Instant::now();
        assert!(
            conn.review(now + Duration::from_secs(60), &TIMEOUTS)
                .is_some()
        );
        assert!(!conn.ends_at_empty_read());
        conn.review(now + Duration::from_secs(76), &TIMEOUTS);
        assert!(conn.ends_at_empty_read());
    }

    #[tokio::test(start_paused = true)]
    async fn an_unfinished_head_is_dropped_after_the_header_timeout() {
        let conn = conn();
        conn.request_started(false);
        conn.request_finished();
        conn.flushed();
        conn.bytes_read();
        assert!(!quiet(&conn));
        let now = Instant::now();
        assert_eq!(conn.review(now + Duration::from_secs(11), &TIMEOUTS), None);
    }

    #[tokio::test(start_paused = true)]
    async fn bytes_read_during_a_bodiless_request_start_the_next_head() {
        let conn = conn();
        conn.request_started(false);
        conn.bytes_read();
        conn.request_finished();
        conn.flushed();
        assert!(!quiet(&conn));
        assert_eq!(conn.to_index().map(|(class, _)| class), Some(Class::Head));
        let with_body = self::conn();
        with_body.request_started(true);
        with_body.bytes_read();
        with_body.request_finished();
        with_body.flushed();
        assert!(quiet(&with_body));
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_is_flushed_before_the_connection_counts_as_quiet() {
        let conn = conn();
        conn.request_started(false);
        conn.follow(Phase::Closing);
        // hyper drops the body once its bytes are in its own write buffer.
        conn.request_finished();
        assert!(
            !conn.ends_at_empty_read(),
            "an answer still in hyper's buffer would be cut off"
        );
        conn.flushed();
        assert!(conn.ends_at_empty_read());
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_in_flight_after_a_close_request_is_not_polled_in_a_loop() {
        let conn = conn();
        conn.follow(Phase::Closing);
        conn.request_started(false);
        // Long after the soft-close limit, the request is still in progress: the connection's
        // next look is a full interval away, not in the past (which made its task spin).
        let later = Instant::now() + Duration::from_secs(30);
        assert_eq!(
            conn.review(later, &TIMEOUTS),
            Some(later + TIMEOUTS.header_read)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_soft_close_limit_runs_from_the_end_of_the_answer() {
        let conn = conn();
        conn.request_started(false);
        conn.follow(Phase::Closing);
        tokio::time::advance(SOFT_CLOSE_LIMIT + Duration::from_millis(100)).await;
        conn.request_finished();
        let finished = Instant::now();
        assert_eq!(
            conn.review(finished, &TIMEOUTS),
            Some(finished + SOFT_CLOSE_LIMIT)
        );
        let past = finished + SOFT_CLOSE_LIMIT + Duration::from_millis(10);
        assert_eq!(conn.review(past, &TIMEOUTS), None);
    }

    #[tokio::test(start_paused = true)]
    async fn the_phases_change_answers_then_close_then_drop() {
        let conn = conn();
        conn.follow(Phase::Draining);
        assert!(conn.answers_say_close());
        assert!(
            !conn.ends_at_empty_read(),
            "idle connections stay open while draining"
        );
        conn.follow(Phase::Closing);
        assert!(conn.ends_at_empty_read());
        conn.follow(Phase::Serving);
        assert!(conn.ends_at_empty_read(), "an ending never goes back");
        conn.follow(Phase::Stopped);
        assert_eq!(conn.review(Instant::now(), &TIMEOUTS), None);
        let late = Conn::new(Instant::now(), Phase::Closing);
        assert!(late.ends_at_empty_read(), "accepted after the stop");
    }

    #[tokio::test(start_paused = true)]
    async fn the_eviction_place_follows_the_state_and_goes_stale() {
        let conn = conn();
        let (class, first) = conn.to_index().expect("a new connection is evictable");
        assert_eq!(class, Class::Idle);
        assert_eq!(conn.to_index(), None, "offered once per epoch");
        conn.bytes_read();
        assert!(!conn.is_at(first));
        let (class, head) = conn.to_index().expect("a half head is evictable");
        assert_eq!(class, Class::Head);
        conn.request_started(false);
        assert_eq!(conn.to_index(), None, "a busy connection is never evicted");
        assert!(!conn.evict_if(head));
        conn.request_finished();
        let (_, idle) = conn.to_index().expect("idle again");
        assert!(conn.evict_if(idle));
        assert!(!conn.evict_if(idle), "evicted once");
        assert_eq!(conn.to_index(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn eviction_drops_a_half_head_at_once_and_closes_an_idle_one_when_quiet() {
        let slow = conn();
        slow.bytes_read();
        let (_, epoch) = slow.to_index().expect("indexed");
        assert!(slow.evict_if(epoch));
        assert_eq!(slow.review(Instant::now(), &TIMEOUTS), None);
        let idle = conn();
        let (_, epoch) = idle.to_index().expect("indexed");
        assert!(idle.evict_if(epoch));
        assert!(idle.review(Instant::now(), &TIMEOUTS).is_some());
        assert!(idle.ends_at_empty_read());
    }
}
