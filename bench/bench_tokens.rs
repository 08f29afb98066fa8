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
use std::time::Duration;

use cognito_auth::local_issuer::{SigningKey, access_claims, jwks};
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
        // A Cognito access token for user `i` of the pool: each token is distinct.
        let mut claims = access_claims(issuer, client_id, now, Duration::from_secs(7200));
        claims["sub"] = json!(format!("7c9e6679-7425-40de-944b-{i:012}"));
        claims["jti"] = json!(format!("3f2a6b1e-5c4d-4e8f-9a0b-{i:012}"));
        claims["username"] = json!(format!("bench-user-{i}"));
        let token = key.sign(&claims)?;
        writeln!(out, "{token}")?;
    }
    out.flush()?;
    Ok(())
}
