//! The SRP-6a variant behind Cognito's `USER_SRP_AUTH` flow, computed as Amplify
//! (`amazon-cognito-identity-js`, `AuthenticationHelper`) and pycognito (`aws_srp.py`) compute it.
//!
//! The password never leaves this process: the client sends `A = g^a mod N`, Cognito answers with
//! its `B`, a salt and a secret block, and the client proves it knows the password by signing the
//! secret block with a key derived from the shared SRP secret `S`:
//!
//! - `N` is the 3072-bit group of RFC 5054 (appendix A), `g = 2`;
//! - `PAD(n)` is Cognito's padding: the big-endian bytes of `n`, with a `0x00` in front when the
//!   first bit is set (Java's `BigInteger.toByteArray`), not RFC 5054's padding to the length of N;
//! - `k = H(PAD(N) | PAD(g))`, `u = H(PAD(A) | PAD(B))`,
//!   `x = H(PAD(salt) | H(poolName | userIdForSrp | ":" | password))`,
//!   `S = (B - k g^x)^(a + u x) mod N`;
//! - the key is HKDF-SHA256(salt = `PAD(u)`, ikm = `PAD(S)`, info = `"Caldera Derived Key"`),
//!   16 bytes;
//! - `PASSWORD_CLAIM_SIGNATURE = base64(HMAC-SHA256(key, poolName | userIdForSrp | secretBlock |
//!   timestamp))` with the timestamp as `Tue Nov 4 05:09:45 UTC 2026` (day without a leading zero).
//!
//! `H` is SHA-256. `poolName` is the part of the user pool id after the `_`. All of the crypto
//! comes from aws-lc-rs; the big-number arithmetic from `num-bigint`. The test vectors in
//! `tests/fixtures/srp/` come from pycognito and are checked here and in `tests/cognito_e2e.rs`.

use std::sync::LazyLock;

use aws_lc_rs::{digest, hkdf, hmac};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use num_bigint::BigUint;

/// The 3072-bit prime of RFC 5054, appendix A (the one Cognito uses).
const N_HEX: &str = concat!(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD1",
    "29024E088A67CC74020BBEA63B139B22514A08798E3404DD",
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245",
    "E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED",
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3D",
    "C2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F",
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D",
    "670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B",
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9",
    "DE2BCBF6955817183995497CEA956AE515D2261898FA0510",
    "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64",
    "ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7",
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6B",
    "F12FFA06D98A0864D87602733EC86A64521F2B18177B200C",
    "BBE117577A615D6C770988C0BAD946E208E24FA074E5AB31",
    "43DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF",
);

/// HKDF info of Cognito's password key.
const INFO: &[u8] = b"Caldera Derived Key";

/// Length of the derived key in bytes.
const KEY_LEN: usize = 16;

/// Bytes of randomness drawn for the private value `a` (as Amplify and pycognito: 128).
const PRIVATE_BYTES: usize = 128;

struct Group {
    n: BigUint,
    g: BigUint,
    k: BigUint,
}

static GROUP: LazyLock<Group> = LazyLock::new(|| {
    // The constant is valid hex; a failure here would be a typo caught by every test.
    let n = BigUint::parse_bytes(N_HEX.as_bytes(), 16).unwrap_or_default();
    let g = BigUint::from(2u32);
    let k = BigUint::from_bytes_be(&sha256(&[&pad(&n), &pad(&g)]));
    Group { n, g, k }
});

/// Why an SRP step failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SrpError {
    /// The system random generator failed.
    #[error("the system random generator failed")]
    Random,
    /// A challenge parameter is not what Cognito sends.
    #[error("Cognito's {0} is not a hexadecimal number")]
    NotHex(&'static str),
    /// `B mod N` is zero: the server value would let anyone in, so the protocol stops.
    #[error("Cognito's SRP_B is not acceptable (B mod N = 0)")]
    BadServerValue,
    /// `u` is zero: the protocol stops.
    #[error("the SRP scrambling value u is zero")]
    ZeroScrambler,
    /// HKDF refused the request (it cannot for 16 bytes; kept to avoid a panic).
    #[error("key derivation failed")]
    Derivation,
}

/// The client side of one `USER_SRP_AUTH` attempt: the private `a` and public `A`.
pub struct SrpSession {
    pool_name: String,
    a: BigUint,
    big_a: BigUint,
}

impl std::fmt::Debug for SrpSession {
    // The private value stays out of debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SrpSession")
            .field("pool_name", &self.pool_name)
            .finish_non_exhaustive()
    }
}

/// What Cognito sends in its `PASSWORD_VERIFIER` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordVerifier<'a> {
    /// `USER_ID_FOR_SRP`: the user's internal name, which enters `x` and the signature.
    pub user_id_for_srp: &'a str,
    /// `SRP_B`, hexadecimal.
    pub srp_b: &'a str,
    /// `SALT`, hexadecimal.
    pub salt: &'a str,
    /// `SECRET_BLOCK`, base64 (opaque; returned and signed).
    pub secret_block: &'a str,
}

/// The part of a user pool id after the region: `eu-west-1_AbCdEf123` → `AbCdEf123`.
pub fn pool_name(user_pool_id: &str) -> &str {
    user_pool_id
        .split_once('_')
        .map_or(user_pool_id, |(_, name)| name)
}

impl SrpSession {
    /// Starts an attempt with a fresh random private value.
    ///
    /// `user_pool_id` is the whole id (`eu-west-1_AbCdEf123`) or just the part after `_`.
    ///
    /// # Errors
    ///
    /// [`SrpError::Random`] when the system random generator fails.
    pub fn new(user_pool_id: &str) -> Result<Self, SrpError> {
        loop {
            let mut bytes = [0u8; PRIVATE_BYTES];
            aws_lc_rs::rand::fill(&mut bytes).map_err(|_| SrpError::Random)?;
            let a = BigUint::from_bytes_be(&bytes) % &GROUP.n;
            if let Some(session) = Self::with_private_value(user_pool_id, a) {
                return Ok(session);
            }
        }
    }

    /// An attempt with a given private value `a`: for test vectors and cross-checks only; a
    /// real sign-in must use [`SrpSession::new`]. `None` when `a mod N` is zero.
    pub fn with_private_value(user_pool_id: &str, a: BigUint) -> Option<Self> {
        let a = a % &GROUP.n;
        if a == BigUint::ZERO {
            return None;
        }
        let big_a = GROUP.g.modpow(&a, &GROUP.n);
        Some(Self {
            pool_name: pool_name(user_pool_id).to_owned(),
            a,
            big_a,
        })
    }

    /// `SRP_A` as Cognito expects it: lowercase hex without leading zeros.
    pub fn srp_a(&self) -> String {
        self.big_a.to_str_radix(16)
    }

    /// The 16-byte key derived from the shared secret.
    ///
    /// # Errors
    ///
    /// When `SRP_B` or `SALT` is not hex, `B mod N` or `u` is zero.
    pub fn password_key(
        &self,
        user_id_for_srp: &str,
        password: &str,
        srp_b: &str,
        salt: &str,
    ) -> Result<[u8; KEY_LEN], SrpError> {
        let group = &*GROUP;
        let big_b = parse_hex(srp_b).ok_or(SrpError::NotHex("SRP_B"))?;
        let b_mod_n = &big_b % &group.n;
        if b_mod_n == BigUint::ZERO {
            return Err(SrpError::BadServerValue);
        }
        let u = BigUint::from_bytes_be(&sha256(&[&pad(&self.big_a), &pad(&big_b)]));
        if u == BigUint::ZERO {
            return Err(SrpError::ZeroScrambler);
        }
        // Amplify reads the salt as a number (`new BigInteger(SALT, 16)`) and pads that.
        let salt = parse_hex(salt).ok_or(SrpError::NotHex("SALT"))?;
        let identity = sha256(&[
            self.pool_name.as_bytes(),
            user_id_for_srp.as_bytes(),
            b":",
            password.as_bytes(),
        ]);
        let x = BigUint::from_bytes_be(&sha256(&[&pad(&salt), &identity]));
        // (B - k g^x) mod N, kept non-negative.
        let kgx = (&group.k * group.g.modpow(&x, &group.n)) % &group.n;
        let base = (b_mod_n + &group.n - kgx) % &group.n;
        let exponent = &self.a + &u * &x;
        let shared = base.modpow(&exponent, &group.n);

        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, &pad(&u)).extract(&pad(&shared));
        let okm = prk
            .expand(&[INFO], KeyLen)
            .map_err(|_| SrpError::Derivation)?;
        let mut key = [0u8; KEY_LEN];
        okm.fill(&mut key).map_err(|_| SrpError::Derivation)?;
        Ok(key)
    }

    /// `PASSWORD_CLAIM_SIGNATURE` for a challenge, at `timestamp` (see [`cognito_timestamp`]).
    ///
    /// # Errors
    ///
    /// See [`SrpSession::password_key`].
    pub fn password_claim_signature(
        &self,
        challenge: &PasswordVerifier<'_>,
        password: &str,
        timestamp: &str,
    ) -> Result<String, SrpError> {
        let key = self.password_key(
            challenge.user_id_for_srp,
            password,
            challenge.srp_b,
            challenge.salt,
        )?;
        let key = hmac::Key::new(hmac::HMAC_SHA256, &key);
        let mut context = hmac::Context::with_key(&key);
        context.update(self.pool_name.as_bytes());
        context.update(challenge.user_id_for_srp.as_bytes());
        context.update(&secret_block_bytes(challenge.secret_block));
        context.update(timestamp.as_bytes());
        Ok(STANDARD.encode(context.sign().as_ref()))
    }
}

/// The bytes of `SECRET_BLOCK` that enter the signature: its base64 decoding. moto sends a UUID
/// there, which is not base64, and does not check the signature; such a block is signed as its
/// UTF-8 bytes so that the exchange can still be run against moto.
fn secret_block_bytes(secret_block: &str) -> Vec<u8> {
    STANDARD
        .decode(secret_block)
        .unwrap_or_else(|_| secret_block.as_bytes().to_vec())
}

/// `SECRET_HASH` for app clients with a secret: `base64(HMAC-SHA256(secret, username | client_id))`.
pub fn secret_hash(client_secret: &str, username: &str, client_id: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, client_secret.as_bytes());
    let mut context = hmac::Context::with_key(&key);
    context.update(username.as_bytes());
    context.update(client_id.as_bytes());
    STANDARD.encode(context.sign().as_ref())
}

/// The `TIMESTAMP` of a password claim: `"%a %b %-d %H:%M:%S UTC %Y"` in UTC, e.g.
/// `Tue Nov 4 05:09:45 UTC 2026`; Cognito rejects a day with a leading zero.
pub fn cognito_timestamp(unix_seconds: u64) -> String {
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = unix_seconds / 86_400;
    let seconds = unix_seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    let weekday = WEEKDAYS[(days % 7) as usize];
    let month_name = MONTHS[(month - 1) as usize];
    format!(
        "{weekday} {month_name} {day} {:02}:{:02}:{:02} UTC {year}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// Year, month (1-12) and day (1-31) of a day count since 1970-01-01 (H. Hinnant's
/// `civil_from_days`, for days on or after the epoch).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

struct KeyLen;

impl hkdf::KeyType for KeyLen {
    fn len(&self) -> usize {
        KEY_LEN
    }
}

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut context = digest::Context::new(&digest::SHA256);
    for part in parts {
        context.update(part);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(context.finish().as_ref());
    out
}

/// Cognito's padding: minimal big-endian bytes, with a leading zero byte when the top bit is set.
fn pad(n: &BigUint) -> Vec<u8> {
    let mut bytes = n.to_bytes_be();
    if bytes.first().is_some_and(|b| b & 0x80 != 0) {
        bytes.insert(0, 0);
    }
    bytes
}

fn parse_hex(value: &str) -> Option<BigUint> {
    let value = value.trim();
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    BigUint::parse_bytes(value.as_bytes(), 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Vectors computed by pycognito's `AWSSRP` (see `tests/fixtures/srp/pycognito_vectors.py`).
    const VECTORS: &str = include_str!("../../tests/fixtures/srp/pycognito_vectors.json");

    #[derive(serde::Deserialize)]
    struct Vector {
        pool_id: String,
        client_id: String,
        client_secret: String,
        username: String,
        user_id_for_srp: String,
        password: String,
        a: String,
        srp_b: String,
        salt: String,
        secret_block: String,
        unix_time: u64,
        srp_a: String,
        hkdf_key: String,
        timestamp: String,
        signature: String,
        secret_hash: String,
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn group_constants_match_cognito() {
        // k as Amplify and pycognito compute it: H("00" + N_HEX + "02").
        assert_eq!(
            GROUP.k.to_str_radix(16),
            "538282c4354742d7cbbde2359fcf67f9f5b3a6b08791e5011b43b8a5b66d9ee6"
        );
        assert_eq!(GROUP.n.bits(), 3072);
    }

    #[test]
    fn rust_values_equal_pycognito_vectors() {
        let vectors: Vec<Vector> = serde_json::from_str(VECTORS).expect("fixture parses");
        assert!(vectors.len() >= 5, "the fixture holds the vectors");
        for (i, v) in vectors.iter().enumerate() {
            let a = BigUint::parse_bytes(v.a.as_bytes(), 16).expect("a is hex");
            let session = SrpSession::with_private_value(&v.pool_id, a).expect("a is not zero");
            assert_eq!(session.srp_a(), v.srp_a, "vector {i}: A");
            let key = session
                .password_key(&v.user_id_for_srp, &v.password, &v.srp_b, &v.salt)
                .expect("key");
            assert_eq!(hex(&key), v.hkdf_key, "vector {i}: HKDF key");
            let timestamp = cognito_timestamp(v.unix_time);
            assert_eq!(timestamp, v.timestamp, "vector {i}: timestamp");
            let challenge = PasswordVerifier {
                user_id_for_srp: &v.user_id_for_srp,
                srp_b: &v.srp_b,
                salt: &v.salt,
                secret_block: &v.secret_block,
            };
            let signature = session
                .password_claim_signature(&challenge, &v.password, &timestamp)
                .expect("signature");
            assert_eq!(signature, v.signature, "vector {i}: signature");
            assert_eq!(
                secret_hash(&v.client_secret, &v.username, &v.client_id),
                v.secret_hash,
                "vector {i}: SECRET_HASH"
            );
        }
    }

    #[test]
    fn a_wrong_password_gives_another_signature() {
        let session = SrpSession::new("us-east-1_AbCdEf123").expect("random");
        let challenge = PasswordVerifier {
            user_id_for_srp: "user",
            srp_b: "abcdef0123456789",
            salt: "0f1e2d3c",
            secret_block: "c2VjcmV0",
        };
        let ts = cognito_timestamp(1_795_478_793);
        let right = session.password_claim_signature(&challenge, "right", &ts);
        let wrong = session.password_claim_signature(&challenge, "wrong", &ts);
        assert_ne!(right, wrong);
    }

    #[test]
    fn fresh_sessions_have_fresh_public_values() {
        let one = SrpSession::new("us-east-1_x").expect("random");
        let two = SrpSession::new("us-east-1_x").expect("random");
        assert_ne!(one.srp_a(), two.srp_a());
    }

    #[test]
    fn bad_server_values_are_refused() {
        let session = SrpSession::new("us-east-1_x").expect("random");
        assert_eq!(
            session.password_key("u", "p", "zz", "01"),
            Err(SrpError::NotHex("SRP_B"))
        );
        assert_eq!(
            session.password_key("u", "p", "01", ""),
            Err(SrpError::NotHex("SALT"))
        );
        assert_eq!(
            session.password_key("u", "p", "0", "01"),
            Err(SrpError::BadServerValue)
        );
        assert_eq!(
            session.password_key("u", "p", N_HEX, "01"),
            Err(SrpError::BadServerValue)
        );
    }

    #[test]
    fn timestamps_have_no_leading_zero_in_the_day() {
        assert_eq!(cognito_timestamp(0), "Thu Jan 1 00:00:00 UTC 1970");
        // 2026-11-04 05:09:45 UTC, a Wednesday.
        assert_eq!(
            cognito_timestamp(1_793_768_985),
            "Wed Nov 4 05:09:45 UTC 2026"
        );
        // 2024-02-29 23:59:59 UTC, a Thursday (leap day).
        assert_eq!(
            cognito_timestamp(1_709_251_199),
            "Thu Feb 29 23:59:59 UTC 2024"
        );
    }

    #[test]
    fn padding_adds_a_zero_byte_only_when_the_top_bit_is_set() {
        assert_eq!(pad(&BigUint::from(0x7fu32)), [0x7f]);
        assert_eq!(pad(&BigUint::from(0x80u32)), [0x00, 0x80]);
        assert_eq!(pad(&BigUint::ZERO), [0x00]);
    }

    #[test]
    fn pool_names_are_the_part_after_the_region() {
        assert_eq!(pool_name("eu-west-1_AbCdEf123"), "AbCdEf123");
        assert_eq!(pool_name("AbCdEf123"), "AbCdEf123");
    }
}
