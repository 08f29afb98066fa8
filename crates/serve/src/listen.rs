//! The listening socket, with an accept queue as deep as the kernel allows.
//!
//! `tokio::net::TcpListener::bind` listens with a backlog of 128 (mio copies the standard
//! library's value), whatever the kernel would allow. When more connections arrive at once than
//! the queue holds, the kernel drops their SYNs (`ListenOverflows` in `nstat`), and each such
//! client waits for TCP's SYN retransmit: a request that takes a second for no visible reason.

use std::io;
use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpSocket};

/// Linux's `SOMAXCONN` since 5.4 (it was 128 before); glibc's header says the same, musl's
/// still says 128, so it is written here rather than taken from the C library.
pub const SOMAXCONN: u32 = 4096;

/// Where Linux keeps the largest backlog it grants (`net.core.somaxconn`).
const SOMAXCONN_SYSCTL: &str = "/proc/sys/net/core/somaxconn";

/// The deepest accept queue to ask [`bind`] for: [`SOMAXCONN`] or the kernel's
/// `net.core.somaxconn`, whichever is lower ([`SOMAXCONN`] where the kernel's value cannot be
/// read). In a container the kernel's value is the network namespace's: 4096 on Linux 5.4 and
/// later unless the platform sets it (ECS task definitions can, with `systemControls`).
pub fn listen_backlog() -> u32 {
    let kernel = std::fs::read_to_string(SOMAXCONN_SYSCTL)
        .ok()
        .and_then(|text| text.trim().parse::<u32>().ok());
    backlog_for(kernel)
}

fn backlog_for(kernel: Option<u32>) -> u32 {
    kernel.map_or(SOMAXCONN, |kernel| kernel.clamp(1, SOMAXCONN))
}

/// Binds `addr` and listens with an accept queue of `backlog` (the kernel caps it at
/// `net.core.somaxconn`; [`listen_backlog`] asks for as much as it grants), with `SO_REUSEADDR`
/// on Unix as `TcpListener::bind` sets it.
///
/// # Errors
///
/// When the socket cannot be made, bound (address in use, not ours) or put to listen.
pub fn bind(addr: SocketAddr, backlog: u32) -> io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backlog_is_the_lower_of_the_two_limits() {
        assert_eq!(backlog_for(Some(4096)), 4096);
        assert_eq!(backlog_for(Some(128)), 128);
        assert_eq!(backlog_for(Some(65_535)), SOMAXCONN);
        assert_eq!(backlog_for(Some(0)), 1);
        assert_eq!(backlog_for(None), SOMAXCONN);
    }

    #[tokio::test]
    async fn bind_listens_on_the_address() {
        let listener = bind("127.0.0.1:0".parse().expect("addr"), 16).expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (connected, accepted) =
            tokio::join!(tokio::net::TcpStream::connect(addr), listener.accept());
        connected.expect("connect");
        accepted.expect("accept");
    }
}
