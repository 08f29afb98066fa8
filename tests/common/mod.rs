//! The one test harness, shared by every test binary (`tests/api`, `tests/cognito_e2e.rs`,
//! `tests/openapi.rs`). docs/testing.md, "Writing a test", shows how to use it.
//!
//! - [`app`]: randapi in process from a typed `Config`, and the [`Answer`] of a request;
//! - [`jwks_server`]: a JWKS endpoint whose answers each test controls;
//! - [`tokens`]: keys made at run time, the claims of a valid access token, forged tokens;
//! - [`assertions`]: what every refusal and every random number must look like;
//! - [`binary`]: the real binary, its signals and exit codes;
//! - [`raw`]: HTTP/1.1 over raw sockets, and the binary in `--dev` mode, for the serve loop.
//!
//! Every server binds 127.0.0.1:0 and is stopped when its value is dropped.

// Each test binary uses a part of the harness; the rest would be dead code in that binary.
#![allow(dead_code, unused_imports)]

pub mod app;
pub mod assertions;
pub mod binary;
pub mod jwks_server;
pub mod raw;
pub mod tokens;

use std::sync::LazyLock;

pub use app::*;
pub use assertions::*;
pub use binary::*;
pub use jwks_server::*;
pub use tokens::*;

/// Logs go nowhere unless `TEST_LOG` is set (then to the test writer, at `debug`).
static TRACING: LazyLock<()> = LazyLock::new(|| {
    if test_log() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("debug")),
            )
            .with_test_writer()
            .try_init();
    }
});

/// Sends the in-process app's logs to the test output when `TEST_LOG` is set.
pub fn init_tracing() {
    LazyLock::force(&TRACING);
}

/// True when `TEST_LOG` asks for logs (child processes then inherit stdout).
pub fn test_log() -> bool {
    std::env::var_os("TEST_LOG").is_some()
}
