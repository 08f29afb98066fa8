//! Black-box tests of randapi's contract (CONTRACT.md), one test binary.

mod connections;
mod edge_answers;
mod helpers;
mod http_contract;
mod key_cache;
mod process;
mod random_number;
mod raw;
mod shutdown;
mod token_rules;
mod verification;
