//! Keys and tokens: RSA keys made at run time, the claims of a valid access token, and the
//! forged, tampered and malformed tokens the verification tests send.
//!
//! Nothing here is hard-coded crypto: keys come from `randapi::dev::SigningKey::generate` and
//! tokens are signed when the test runs.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::signature::RSA_PKCS1_SHA256;
use randapi::dev::{SigningKey, access_claims, b64};
use serde_json::{Value, json};

/// The issuer the in-process app expects (a Cognito-shaped URL; nothing is fetched from it).
pub const ISSUER: &str = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TestPool1";
/// The app client whose tokens are accepted.
pub const CLIENT_ID: &str = "testclient7h2k9q";
/// A second allowed app client.
pub const OTHER_ALLOWED_CLIENT_ID: &str = "secondclient4m8p";

/// Seconds since the Unix epoch, the clock of `exp`, `nbf` and `iat`.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs()
}

/// A fresh RSA-2048 key with this `kid`.
pub fn key(kid: &str) -> SigningKey {
    SigningKey::generate(kid).expect("RSA key generation")
}

/// The JWKS document of `keys`.
pub fn jwks_of(keys: &[&SigningKey]) -> Value {
    randapi::dev::jwks(keys)
}

/// Claims of a valid Cognito access token for this test's issuer and client, `exp = now + 300`
/// (the shared fixture of `randapi::dev`).
pub fn claims() -> Value {
    access_claims(ISSUER, CLIENT_ID, now(), Duration::from_secs(300))
}

/// `{"alg": "RS256", "kid": kid}`, the header Cognito writes.
pub fn header(kid: &str) -> Value {
    json!({"alg": "RS256", "kid": kid})
}

/// `claims` with `name` set to `value`.
pub fn with(mut claims: Value, name: &str, value: Value) -> Value {
    claims[name] = value;
    claims
}

/// `claims` without `name`.
pub fn without(mut claims: Value, name: &str) -> Value {
    if let Some(object) = claims.as_object_mut() {
        object.remove(name);
    }
    claims
}

/// A valid access token signed by `key`.
pub fn token(key: &SigningKey) -> String {
    key.sign(&claims()).expect("sign")
}

/// A valid access token signed by `key` but naming another `kid` (for unknown kids: a kid is
/// only a lookup key, so no second RSA key needs generating).
pub fn token_with_kid(key: &SigningKey, kid: &str) -> String {
    signed(key, &header(kid), &claims())
}

/// A token of `header` and `claims` signed RS256 by `key`.
pub fn signed(key: &SigningKey, header: &Value, claims: &Value) -> String {
    key.sign_with(&RSA_PKCS1_SHA256, header, claims)
        .expect("sign")
}

/// `header.payload.` with the given raw signature segment (may be empty).
pub fn unsigned(header: &Value, claims: &Value, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        b64(header.to_string()),
        b64(claims.to_string())
    )
}

/// A token with an HMAC-SHA256 signature made with `secret` (key-confusion attacks).
pub fn hmac_signed(header: &Value, claims: &Value, secret: &[u8]) -> String {
    use aws_lc_rs::hmac;
    let message = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
    let tag = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, secret),
        message.as_bytes(),
    );
    format!("{message}.{}", b64(tag.as_ref()))
}

fn der_length(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
}

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    der_length(content.len(), &mut out);
    out.extend_from_slice(content);
    out
}

fn der_unsigned_integer(bytes: &[u8]) -> Vec<u8> {
    let mut content = Vec::with_capacity(bytes.len() + 1);
    if bytes.first().is_some_and(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(bytes);
    der(0x02, &content)
}

/// The public key of `key` in the encodings an attacker might use as an HMAC secret:
/// PKCS#1 `RSAPublicKey` DER, SubjectPublicKeyInfo DER, and SubjectPublicKeyInfo PEM.
pub fn public_key_encodings(key: &SigningKey) -> Vec<(&'static str, Vec<u8>)> {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    let jwk = key.jwk();
    let decode = |field: &str| {
        URL_SAFE_NO_PAD
            .decode(jwk[field].as_str().expect("jwk field"))
            .expect("base64url")
    };
    let (n, e) = (decode("n"), decode("e"));
    let pkcs1 = der(
        0x30,
        &[der_unsigned_integer(&n), der_unsigned_integer(&e)].concat(),
    );
    // AlgorithmIdentifier { rsaEncryption, NULL }
    let algorithm: &[u8] = &[
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];
    let bit_string = der(0x03, &[&[0u8][..], &pkcs1].concat());
    let spki = der(0x30, &[algorithm, &bit_string].concat());
    let body = STANDARD.encode(&spki);
    let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
    for line in body.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).expect("base64 is ascii"));
        pem.push('\n');
    }
    pem.push_str("-----END PUBLIC KEY-----\n");
    vec![
        ("the PKCS#1 DER of the public key", pkcs1),
        ("the SubjectPublicKeyInfo DER of the public key", spki),
        ("the PEM of the public key", pem.into_bytes()),
    ]
}
