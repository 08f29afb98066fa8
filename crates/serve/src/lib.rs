#![doc = include_str!("../README.md")]
#![warn(missing_docs)]
#![deny(unsafe_code)]

mod conn;
mod eviction;
pub mod fd_limit;
mod listen;
mod server;
mod service;
mod settings;
mod shutdown;

pub use listen::{SOMAXCONN, bind, listen_backlog};
pub use server::{ConnectionStats, Server};
pub use settings::{Settings, Timeouts};
pub use shutdown::{Stop, os_signals, when};
