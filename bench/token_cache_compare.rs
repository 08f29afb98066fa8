//! Chooses the verified-token cache by measurement: moka (`sync::Cache`, W-TinyLFU, weigher,
//! per-entry expiry) against quick_cache (`sync::Cache`, CLOCK-Pro-like, weighter), both bounded
//! in bytes, on the three request mixes of `bench/`:
//!
//! - `hit`: every thread reads one hot key (one client re-sending one token);
//! - `zipf`: Zipf(s = 1.0) over 100,000 users, a miss inserts; the hit ratio is printed beside
//!   the ideal one (the share of requests that go to the N most popular users, N = the entries
//!   the bound holds);
//! - `scan`: a cycle over 50,000 distinct tokens, more than the bound holds: every request is a
//!   miss and an insert (the cost a miss adds to the RS256 check).
//!
//! ```text
//! cargo run --release --example token_cache_compare
//! ```
//!
//! Two threads (the Fargate task and this machine have two cores); each figure is the median of
//! five rounds.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};

/// Bytes charged per entry: what `TokenCache` charges a Cognito-shaped access token.
const ENTRY_BYTES: u32 = 512;
/// The bound used for `zipf` and `scan`: 5 MiB holds 10,240 entries.
const BOUND_BYTES: u64 = 5 * 1024 * 1024;
const USERS: usize = 100_000;
const SCAN: usize = 50_000;
const THREADS: usize = 2;
const OPS: usize = 400_000;

type Key = [u8; 32];

/// Makes a cache bounded to the given bytes.
type Maker = fn(u64) -> Box<dyn Candidate>;

#[derive(Clone)]
struct Value(#[allow(dead_code)] Arc<[u8; 64]>);

trait Candidate: Send + Sync {
    fn get(&self, key: &Key) -> Option<Value>;
    fn insert(&self, key: Key, value: Value);
}

struct Moka(moka::sync::Cache<Key, Value>);
struct Quick(quick_cache::sync::Cache<Key, Value, Weight>);

#[derive(Clone)]
struct Weight;
impl quick_cache::Weighter<Key, Value> for Weight {
    fn weight(&self, _: &Key, _: &Value) -> u64 {
        u64::from(ENTRY_BYTES)
    }
}

impl Candidate for Moka {
    fn get(&self, key: &Key) -> Option<Value> {
        self.0.get(key)
    }
    fn insert(&self, key: Key, value: Value) {
        self.0.insert(key, value);
    }
}

impl Candidate for Quick {
    fn get(&self, key: &Key) -> Option<Value> {
        self.0.get(key)
    }
    fn insert(&self, key: Key, value: Value) {
        self.0.insert(key, value);
    }
}

struct Expiry;
impl moka::Expiry<Key, Value> for Expiry {
    fn expire_after_create(&self, _: &Key, _: &Value, _: Instant) -> Option<Duration> {
        Some(Duration::from_secs(3600))
    }
}

fn moka(bytes: u64) -> Moka {
    Moka(
        moka::sync::Cache::builder()
            .max_capacity(bytes)
            .weigher(|_, _| ENTRY_BYTES)
            .expire_after(Expiry)
            .build(),
    )
}

fn quick(bytes: u64) -> Quick {
    let entries = (bytes / u64::from(ENTRY_BYTES)) as usize;
    Quick(quick_cache::sync::Cache::with_weighter(
        entries, bytes, Weight,
    ))
}

fn key(i: usize) -> Key {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &i.to_le_bytes());
    let mut key = [0; 32];
    key.copy_from_slice(digest.as_ref());
    key
}

fn value() -> Value {
    Value(Arc::new([7; 64]))
}

/// Runs each thread's key sequence (a miss inserts); returns ns per request and the hits.
fn run(cache: &dyn Candidate, keys: &[Vec<usize>], table: &[Key]) -> (f64, usize) {
    let started = Instant::now();
    let hits: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = keys
            .iter()
            .map(|seq| {
                scope.spawn(move || {
                    let mut hits = 0;
                    for &i in seq {
                        let k = &table[i];
                        if cache.get(k).is_some() {
                            hits += 1;
                        } else {
                            cache.insert(*k, value());
                        }
                    }
                    hits
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    let ops: usize = keys.iter().map(Vec::len).sum();
    let ns = started.elapsed().as_nanos() as f64 / ops as f64 * THREADS as f64;
    (ns, hits)
}

fn zipf_sequences(seed: u64) -> (Vec<Vec<usize>>, Vec<f64>) {
    let weights: Vec<f64> = (1..=USERS).map(|r| 1.0 / r as f64).collect();
    let total: f64 = weights.iter().sum();
    let mut cdf = Vec::with_capacity(USERS);
    let mut acc = 0.0;
    for w in &weights {
        acc += w / total;
        cdf.push(acc);
    }
    let seqs = (0..THREADS)
        .map(|t| {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed + t as u64);
            (0..OPS)
                .map(|_| {
                    let u: f64 = rng.random();
                    cdf.partition_point(|c| *c < u).min(USERS - 1)
                })
                .collect()
        })
        .collect();
    (seqs, cdf)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let table: Vec<Key> = (0..USERS.max(SCAN)).map(key).collect();
    let candidates: [(&str, Maker); 2] = [
        ("moka 0.12", |b| Box::new(moka(b))),
        ("quick_cache 0.7", |b| Box::new(quick(b))),
    ];
    let held = (BOUND_BYTES / u64::from(ENTRY_BYTES)) as usize;
    println!(
        "{THREADS} threads, {OPS} requests per thread per round, median of 5 rounds; bound {} MiB = {held} entries of {ENTRY_BYTES} B",
        BOUND_BYTES / 1024 / 1024
    );
    println!(
        "| cache | hit ns/req | zipf ns/req | zipf hit ratio | ideal | scan (all miss) ns/req |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for (name, make) in candidates {
        let mut hit = vec![];
        let mut zipf = vec![];
        let mut ratio = vec![];
        let mut scan = vec![];
        let mut ideal = 0.0;
        for round in 0..5 {
            let cache = make(BOUND_BYTES);
            let hot = vec![vec![0usize; OPS]; THREADS];
            run(cache.as_ref(), &hot, &table);
            hit.push(run(cache.as_ref(), &hot, &table).0);

            let cache = make(BOUND_BYTES);
            let (seqs, cdf) = zipf_sequences(round);
            // Warm-up with one pass, then measure a second pass of the same distribution.
            run(cache.as_ref(), &seqs, &table);
            let (seqs, _) = zipf_sequences(round + 100);
            let (ns, hits) = run(cache.as_ref(), &seqs, &table);
            zipf.push(ns);
            ratio.push(hits as f64 / (OPS * THREADS) as f64);
            ideal = cdf[held - 1];

            let cache = make(BOUND_BYTES);
            let cycle: Vec<Vec<usize>> = (0..THREADS)
                .map(|t| (0..OPS).map(|i| (i * THREADS + t) % SCAN).collect())
                .collect();
            let (ns, _) = run(cache.as_ref(), &cycle, &table);
            scan.push(ns);
        }
        println!(
            "| {name} | {:.0} | {:.0} | {:.1} % | {:.1} % | {:.0} |",
            median(hit),
            median(zipf),
            median(ratio) * 100.0,
            ideal * 100.0,
            median(scan)
        );
    }
}
