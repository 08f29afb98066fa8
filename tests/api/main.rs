//! Black-box tests of randapi's HTTP contract, one test binary.

#[path = "../common/mod.rs"]
mod common;
mod connections;
mod edge_answers;
mod http_contract;
mod key_cache;
mod metrics;
mod pools;
mod process;
mod random_number;
mod request_log;
mod shutdown;
mod token_rules;
mod verification;
