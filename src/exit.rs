//! The exit codes of every subcommand (`serve`, `healthcheck`, `token`), in one place that both
//! the command line and the subcommands import.

/// Exit code for a failure: Cognito refused, the server stopped with an error, a probe failed.
pub const EXIT_FAILED: u8 = 1;
/// Exit code for a usage error: a bad configuration, flag or variable stops the start.
pub const EXIT_USAGE: u8 = 2;
