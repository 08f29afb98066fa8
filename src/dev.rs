//! `--dev`: an embedded local issuer, so the API runs and can be called without an AWS account.
//!
//! An RSA key is made at start and never written anywhere. Its JWKS is served by the same
//! process and fetched over HTTP through the same cache and verifier as production; tokens carry
//! the claims a Cognito access token carries. [`SigningKey`] is also what the tests sign with.

use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RsaEncoding};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::auth::unix_now;

/// RS256, the one way Cognito signs. (Tests that forge other algorithms pass their own
/// `aws_lc_rs::signature` encoding to [`SigningKey::sign_with`]; the crate exports none.)
pub use aws_lc_rs::signature::RSA_PKCS1_SHA256;

/// Key generation or signing failed in the crypto library.
#[derive(Debug, thiserror::Error)]
#[error("RSA key operation failed")]
pub struct KeyError;

/// An RSA-2048 signing key with a `kid`, made at run time.
#[derive(Debug)]
pub struct SigningKey {
    pair: KeyPair,
    kid: String,
}

/// Base64url without padding, as JWTs use.
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl SigningKey {
    /// A fresh key.
    ///
    /// # Errors
    ///
    /// When the crypto library cannot make a key.
    pub fn generate(kid: impl Into<String>) -> Result<Self, KeyError> {
        let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError)?;
        Ok(Self {
            pair,
            kid: kid.into(),
        })
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK, shaped like Cognito's.
    pub fn jwk(&self) -> Value {
        let public = self.pair.public_key();
        json!({
            "alg": "RS256",
            "e": b64(public.exponent().big_endian_without_leading_zero()),
            "kid": self.kid,
            "kty": "RSA",
            "n": b64(public.modulus().big_endian_without_leading_zero()),
            "use": "sig",
        })
    }

    /// The signature of `message` with `encoding`, base64url.
    ///
    /// # Errors
    ///
    /// When the crypto library fails to sign.
    pub fn signature(
        &self,
        encoding: &'static dyn RsaEncoding,
        message: &[u8],
    ) -> Result<String, KeyError> {
        let mut signature = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(encoding, &SystemRandom::new(), message, &mut signature)
            .map_err(|_| KeyError)?;
        Ok(b64(signature))
    }

    /// A compact JWT of `header` and `claims` signed with `encoding`, whatever the header says.
    ///
    /// # Errors
    ///
    /// When the crypto library fails to sign.
    pub fn sign_with(
        &self,
        encoding: &'static dyn RsaEncoding,
        header: &Value,
        claims: &Value,
    ) -> Result<String, KeyError> {
        let message = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
        let signature = self.signature(encoding, message.as_bytes())?;
        Ok(format!("{message}.{signature}"))
    }

    /// An RS256 JWT of `claims` with this key's `kid`, as Cognito signs.
    ///
    /// # Errors
    ///
    /// When the crypto library fails to sign.
    pub fn sign(&self, claims: &Value) -> Result<String, KeyError> {
        self.sign_with(
            &RSA_PKCS1_SHA256,
            &json!({"alg": "RS256", "kid": self.kid}),
            claims,
        )
    }
}

/// The JWKS document of `keys`.
pub fn jwks(keys: &[&SigningKey]) -> Value {
    json!({ "keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>() })
}

/// The local issuer of `--dev` mode.
#[derive(Debug)]
pub struct DevIssuer {
    key: SigningKey,
    issuer: String,
    client_id: String,
}

/// How long a `--dev` token lives (Cognito's default access-token lifetime).
pub const DEV_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

impl DevIssuer {
    /// An issuer named `issuer` whose tokens carry `client_id`, with a fresh key.
    ///
    /// # Errors
    ///
    /// When the crypto library cannot make a key.
    pub fn new(issuer: String, client_id: String) -> Result<Self, KeyError> {
        Ok(Self {
            key: SigningKey::generate("randapi-dev")?,
            issuer,
            client_id,
        })
    }

    /// The issuer (`iss`).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The JWKS this issuer serves.
    pub fn jwks(&self) -> Value {
        jwks(&[&self.key])
    }

    /// A fresh access token for the user `dev-user`, shaped like Cognito's.
    ///
    /// # Errors
    ///
    /// When the crypto library fails to sign.
    pub fn access_token(&self, lifetime: Duration) -> Result<String, KeyError> {
        let mut claims = access_claims(&self.issuer, &self.client_id, unix_now(), lifetime);
        claims["sub"] = json!("00000000-0000-4000-8000-00000000dev0");
        claims["username"] = json!("dev-user");
        // Two tokens asked for in the same second still differ.
        claims["jti"] = json!(format!("dev-{}", rand::random::<u64>()));
        self.key.sign(&claims)
    }
}

/// The claims of a valid Cognito access token from `issuer` for the app client `client_id`,
/// issued at `now` (Unix seconds) and valid for `lifetime`: every claim Cognito puts in an
/// access token, with fixed values for the user. `--dev`, the tests, the benchmark tools and the
/// fuzz corpus all start from this one shape and change single claims from there.
pub fn access_claims(issuer: &str, client_id: &str, now: u64, lifetime: Duration) -> Value {
    json!({
        "sub": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
        "iss": issuer,
        "client_id": client_id,
        "origin_jti": "b1f0c2a4-93be-4c1e-8d2f-0a1b2c3d4e5f",
        "event_id": "e4d909c2-4471-4d2a-9b7c-5e6f7a8b9c0d",
        "token_use": "access",
        "scope": "aws.cognito.signin.user.admin",
        "auth_time": now,
        "exp": now + lifetime.as_secs(),
        "iat": now,
        "jti": "3f2a6b1e-5c4d-4e8f-9a0b-1f6c0a9e7d2b",
        "username": "user-8c1e",
    })
}
