//! The open connections: how many, which has been idle longest, and closing them all.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;

use super::conn::ConnState;
use super::shutdown::Lifecycle;

/// A cheap, cloneable view of the connection count, for metrics ("open connections" gauge).
#[derive(Debug, Clone)]
pub struct ConnectionStats {
    open: Arc<AtomicUsize>,
    max: usize,
}

impl ConnectionStats {
    /// Client connections open now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// The connection cap (`MAX_CONNECTIONS`).
    pub fn max(&self) -> usize {
        self.max
    }
}

/// Every open connection, by id.
#[derive(Debug)]
pub struct Table {
    conns: Mutex<HashMap<u64, Arc<ConnState>>>,
    open: Arc<AtomicUsize>,
    max: usize,
    next_id: AtomicU64,
    closed: Notify,
}

/// A connection's place in the [`Table`]; dropping it removes the connection.
#[derive(Debug)]
pub struct Registration {
    table: Arc<Table>,
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.table
            .conns
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.id);
        self.table.open.fetch_sub(1, Ordering::Relaxed);
        self.table.closed.notify_waiters();
    }
}

impl Table {
    /// An empty table for at most `max` connections.
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            conns: Mutex::new(HashMap::new()),
            open: Arc::new(AtomicUsize::new(0)),
            max,
            next_id: AtomicU64::new(0),
            closed: Notify::new(),
        })
    }

    /// The count, for metrics.
    pub fn stats(&self) -> ConnectionStats {
        ConnectionStats {
            open: self.open.clone(),
            max: self.max,
        }
    }

    /// Open connections.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// The cap.
    pub fn max(&self) -> usize {
        self.max
    }

    /// Adds a connection accepted now.
    pub fn register(self: &Arc<Self>, lifecycle: Arc<Lifecycle>) -> (Arc<ConnState>, Registration) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let state = Arc::new(ConnState::new(lifecycle));
        self.conns
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, state.clone());
        self.open.fetch_add(1, Ordering::Relaxed);
        (
            state,
            Registration {
                table: self.clone(),
                id,
            },
        )
    }

    /// Closes the connection that has been idle longest (not one with a request in progress,
    /// nor one already told to close). False when there is none.
    pub fn evict_longest_idle(&self) -> bool {
        let victim = {
            let conns = self.conns.lock().unwrap_or_else(PoisonError::into_inner);
            conns
                .values()
                .filter(|conn| !conn.close_requested())
                .filter_map(|conn| conn.idle_since().map(|since| (since, conn)))
                .min_by_key(|(since, _)| *since)
                .map(|(_, conn)| conn.clone())
        };
        match victim {
            Some(conn) => {
                conn.evict();
                true
            }
            None => false,
        }
    }

    /// Tells every connection to close once idle.
    pub fn close_all_when_idle(&self) {
        for conn in self
            .conns
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
        {
            conn.request_close();
        }
    }

    /// Drops every connection now.
    pub fn close_all_now(&self) {
        for conn in self
            .conns
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
        {
            conn.close_now();
        }
    }

    /// Waits until a connection closes, or `limit` passes.
    pub async fn wait_for_a_close(&self, limit: Duration) {
        let _ = tokio::time::timeout(limit, self.closed.notified()).await;
    }

    /// Waits until no connection is open.
    pub async fn all_closed(&self) {
        loop {
            let notified = self.closed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.open() == 0 {
                return;
            }
            notified.await;
        }
    }
}
