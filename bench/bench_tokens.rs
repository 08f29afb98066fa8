//! Makes the key, JWKS and tokens of the benchmark (`bench/run.sh`) and of the fuzz corpus.
//!
//! ```text
//! cargo run --release --example bench_tokens -- <out-dir> <count> <issuer> <client-id>
//! ```
//!
//! Writes `<out-dir>/jwks.json` (one fresh RSA-2048 key, Cognito-shaped JWK) and
//! `<out-dir>/tokens.txt`: `<count>` distinct Cognito-shaped access tokens signed with it, one per
//! line, valid for two hours. The key is made at run time and never written; the tokens are test
//! tokens for a throwaway local issuer.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use randapi::dev::{SigningKey, jwks};
use serde_json::json;

/// Seconds since the Unix epoch.
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, count, issuer, client_id] = args.as_slice() else {
        eprintln!("usage: bench_tokens <out-dir> <count> <issuer> <client-id>");
        return ExitCode::from(2);
    };
    let Ok(count) = count.parse::<usize>() else {
        eprintln!("bench_tokens: <count> must be a number");
        return ExitCode::from(2);
    };
    match write(&PathBuf::from(dir), count, issuer, client_id) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench_tokens: {error}");
            ExitCode::FAILURE
        }
    }
}

fn write(
    dir: &std::path::Path,
    count: usize,
    issuer: &str,
    client_id: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(dir)?;
    let key = SigningKey::generate("bench-key-1")?;
    std::fs::write(dir.join("jwks.json"), jwks(&[&key]).to_string())?;
    let now = unix_now();
    let mut out = std::io::BufWriter::new(std::fs::File::create(dir.join("tokens.txt"))?);
    for i in 0..count {
        // Shaped like a Cognito access token for a user of the pool.
        let token = key.sign(&json!({
            "sub": format!("7c9e6679-7425-40de-944b-{i:012}"),
            "iss": issuer,
            "client_id": client_id,
            "origin_jti": format!("b1f0c2a4-{i:08}"),
            "event_id": format!("e4d909c2-{i:08}"),
            "token_use": "access",
            "scope": "aws.cognito.signin.user.admin",
            "auth_time": now,
            "exp": now + 7200,
            "iat": now,
            "jti": format!("3f2a6b1e-5c4d-4e8f-9a0b-{i:012}"),
            "username": format!("bench-user-{i}"),
        }))?;
        writeln!(out, "{token}")?;
    }
    out.flush()?;
    Ok(())
}
