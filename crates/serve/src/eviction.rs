//! Which connection to close when the cap is reached, found without looking at the others.
//!
//! Two queues in the order connections entered them: those with a half-received request head
//! (by the head's first byte), then idle ones (by the end of their last answer, or their
//! accept). A connection enters a queue each time its state changes (see
//! [`Conn::to_index`]); its older entries are left behind and skipped when met, because their
//! epoch is no longer the connection's. Entries are added in time order, so the first entry
//! still current is the one waiting longest: eviction pops from the front, and each entry is
//! pushed once and popped or dropped once, whatever the number of connections. A queue that
//! grows to more than twice its current entries (plus a little) is swept, so stale entries
//! cost memory in proportion to the connections, not to the requests served.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use tokio::sync::Notify;

use crate::conn::{Class, Conn};

/// Entries a queue may hold beyond twice its current ones before it is swept.
const SWEEP_SLACK: usize = 64;

#[derive(Debug, Default)]
pub(crate) struct Eviction {
    queues: Mutex<Queues>,
    /// Told when a connection enters a queue while the accept loop waits for one.
    candidate: Notify,
}

#[derive(Debug, Default)]
struct Queues {
    heads: Queue,
    idle: Queue,
    /// The accept loop waits for a connection to evict.
    waiting: bool,
}

#[derive(Debug, Default)]
struct Queue {
    entries: VecDeque<Entry>,
    /// Entries still current at the last sweep.
    current: usize,
}

#[derive(Debug)]
struct Entry {
    conn: Weak<Conn>,
    epoch: u64,
}

impl Entry {
    fn current(&self) -> Option<Arc<Conn>> {
        self.conn.upgrade().filter(|conn| conn.is_at(self.epoch))
    }
}

impl Queue {
    fn push(&mut self, entry: Entry) {
        self.entries.push_back(entry);
        if self.entries.len() > 2 * self.current + SWEEP_SLACK {
            self.entries.retain(|entry| entry.current().is_some());
            self.current = self.entries.len();
        }
    }

    /// Evicts the first connection still where its entry says.
    fn evict_first(&mut self) -> bool {
        while let Some(entry) = self.entries.pop_front() {
            if let Some(conn) = entry.conn.upgrade()
                && conn.evict_if(entry.epoch)
            {
                self.current = self.current.saturating_sub(1);
                return true;
            }
        }
        false
    }
}

impl Eviction {
    fn lock(&self) -> MutexGuard<'_, Queues> {
        // Pushes and pops leave the queues whole, so a poisoned lock still holds valid ones.
        self.queues.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Puts `conn` at the back of its queue, if it has moved since it was last put there.
    pub(crate) fn update(&self, conn: &Arc<Conn>) {
        let Some((class, epoch)) = conn.to_index() else {
            return;
        };
        let entry = Entry {
            conn: Arc::downgrade(conn),
            epoch,
        };
        let wake = {
            let mut queues = self.lock();
            match class {
                Class::Head => queues.heads.push(entry),
                Class::Idle => queues.idle.push(entry),
            }
            std::mem::take(&mut queues.waiting)
        };
        if wake {
            self.candidate.notify_one();
        }
    }

    /// Closes the connection with a half-received head whose first byte came longest ago, else
    /// the one idle longest. False when every connection is busy or already closing.
    pub(crate) fn evict_one(&self) -> bool {
        let mut queues = self.lock();
        queues.heads.evict_first() || queues.idle.evict_first()
    }

    /// Completes once a connection may have entered a queue since the last [`Eviction::evict_one`]
    /// found none.
    pub(crate) async fn candidate(&self) {
        self.lock().waiting = true;
        // `notify_one` keeps a permit when nobody waits yet, so an entry pushed between the
        // line above and this one is not missed.
        self.candidate.notified().await;
    }

    /// Entries held, stale ones included (tests check the bound).
    #[cfg(test)]
    fn len(&self) -> usize {
        let queues = self.lock();
        queues.heads.entries.len() + queues.idle.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use tokio::time::Instant;

    use super::*;
    use crate::shutdown::Phase;

    fn accepted(eviction: &Eviction) -> Arc<Conn> {
        let conn = Conn::new(Instant::now(), Phase::Serving);
        eviction.update(&conn);
        conn
    }

    /// Serves one request on `conn` and puts it back in the queues.
    fn serve_one(eviction: &Eviction, conn: &Arc<Conn>) {
        conn.request_started(false);
        eviction.update(conn);
        conn.request_finished();
        eviction.update(conn);
    }

    /// Told to close (an evicted connection's answers say so).
    fn evicted(conn: &Conn) -> bool {
        conn.answers_say_close()
    }

    #[tokio::test(start_paused = true)]
    async fn half_heads_go_first_then_the_idle_longest() {
        let eviction = Eviction::default();
        let first = accepted(&eviction);
        tokio::time::advance(std::time::Duration::from_secs(1)).await;
        let second = accepted(&eviction);
        let slow = accepted(&eviction);
        let busy = accepted(&eviction);
        busy.request_started(false);
        eviction.update(&busy);
        serve_one(&eviction, &first); // now idle since after `second`
        slow.bytes_read();
        eviction.update(&slow);

        assert!(eviction.evict_one());
        assert!(evicted(&slow), "the half-received head goes first");
        assert!(eviction.evict_one());
        assert!(evicted(&second), "then the connection idle longest");
        assert!(!evicted(&first));
        assert!(eviction.evict_one());
        assert!(evicted(&first));
        assert!(!eviction.evict_one(), "a busy connection is never evicted");
        assert!(!evicted(&busy));
    }

    #[tokio::test(start_paused = true)]
    async fn stale_entries_stay_bounded_by_the_connections() {
        let eviction = Eviction::default();
        let conns: Vec<_> = (0..10).map(|_| accepted(&eviction)).collect();
        for _ in 0..1000 {
            for conn in &conns {
                serve_one(&eviction, conn);
            }
        }
        assert!(
            eviction.len() <= 2 * conns.len() + 2 * SWEEP_SLACK,
            "{} entries for {} connections after 10,000 requests",
            eviction.len(),
            conns.len()
        );
        drop(conns);
        assert!(!eviction.evict_one(), "closed connections are skipped");
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiting_accept_loop_is_told_of_a_new_candidate() {
        let eviction = Arc::new(Eviction::default());
        let busy = Conn::new(Instant::now(), Phase::Serving);
        busy.request_started(false);
        assert!(!eviction.evict_one());
        let waiter = tokio::spawn({
            let eviction = eviction.clone();
            async move { eviction.candidate().await }
        });
        tokio::task::yield_now().await;
        busy.request_finished();
        eviction.update(&busy);
        tokio::time::timeout(std::time::Duration::from_secs(1), waiter)
            .await
            .expect("woken")
            .expect("task");
        assert!(eviction.evict_one());
    }
}
