//! The open-file limit: raised to the hard limit at start, and the default connection cap that is
//! derived from it.

use std::io;

/// File descriptors kept free for everything that is not a client connection: stdio, the
/// listener, the runtime's epoll and wake-up descriptors, the signal pipe, what the service
/// itself opens (an HTTP client's sockets and DNS look-ups, files a TLS stack reads), and the
/// connection accepted at the cap while the one it displaces closes.
pub const RESERVED_FDS: u64 = 40;

/// The `RLIMIT_NOFILE` of this process before and after [`raise_to_hard_limit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileLimit {
    /// Soft limit found at start.
    pub soft_before: u64,
    /// Soft limit now in force.
    pub soft: u64,
    /// Hard limit.
    pub hard: u64,
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit (an unprivileged process may) and returns
/// both. The `rlimit` crate wraps `getrlimit`/`setrlimit` safely and knows the platforms whose
/// hard limit is not the real one (macOS), so no `unsafe` is needed here.
///
/// # Errors
///
/// When the limit cannot be read or set.
pub fn raise_to_hard_limit() -> io::Result<FileLimit> {
    let (soft_before, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE)?;
    let soft = rlimit::increase_nofile_limit(u64::MAX)?;
    Ok(FileLimit {
        soft_before,
        soft,
        hard,
    })
}

/// The connection cap for a soft file limit of `soft`: what is left after [`RESERVED_FDS`], and
/// at least half of a very small limit.
pub fn default_max_connections(soft: u64) -> usize {
    let cap = if soft > 2 * RESERVED_FDS {
        soft - RESERVED_FDS
    } else {
        (soft / 2).max(1)
    };
    usize::try_from(cap).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_room_for_everything_else() {
        assert_eq!(default_max_connections(512), 472);
        assert_eq!(default_max_connections(65_535), 65_495);
        assert_eq!(default_max_connections(64), 32);
        assert_eq!(default_max_connections(1), 1);
    }

    #[test]
    fn raising_never_lowers_the_limit() {
        let limit = raise_to_hard_limit().expect("getrlimit");
        assert!(limit.soft >= limit.soft_before);
        assert!(limit.soft <= limit.hard);
    }
}
