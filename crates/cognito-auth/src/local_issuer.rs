//! A local issuer (feature `local-issuer`): an RSA key made at run time that signs tokens shaped
//! like Cognito's access tokens and publishes its public key as a JWKS. For tests, examples and
//! development modes; verifying tokens never needs it. Nothing here is written anywhere: the key
//! lives as long as the value.

use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RsaEncoding};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

/// RS256, the one way Cognito signs. (Tests that forge other algorithms pass their own
/// `aws_lc_rs::signature` encoding to [`SigningKey::sign_with`].)
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

/// The claims of a valid Cognito access token from `issuer` for the app client `client_id`,
/// issued at `now` (Unix seconds) and valid for `lifetime`: every claim Cognito puts in an
/// access token, with fixed values for the user. Tests, benchmarks and fuzz corpora start from
/// this one shape and change single claims from there.
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

/// Seconds since the Unix epoch (the clock of `exp`, `nbf` and `iat`).
pub fn unix_now() -> u64 {
    crate::verifier::unix_now()
}

/// A [`SigningKey`] with its JWKS served on 127.0.0.1 by this process, named as an issuer: a
/// user pool that needs no network, for doc tests, examples and tests. The server answers every
/// request with the JWKS and stops when the value is dropped.
#[derive(Debug)]
pub struct LocalIssuer {
    key: SigningKey,
    pool: crate::settings::UserPool,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for LocalIssuer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl LocalIssuer {
    /// A fresh key whose JWKS is served on 127.0.0.1 (a free port), as the issuer
    /// `http://127.0.0.1:{port}/local` of tokens for `client_id`.
    ///
    /// # Errors
    ///
    /// When no port can be bound or no key made.
    pub async fn start(client_id: &str) -> std::io::Result<Self> {
        let key = SigningKey::generate("local-key-1").map_err(std::io::Error::other)?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let body = jwks(&[&key]).to_string();
        let server = tokio::spawn(serve(listener, body));
        let issuer = format!("http://{addr}/local");
        let jwks_url = reqwest::Url::parse(&crate::settings::jwks_url(&issuer))
            .map_err(std::io::Error::other)?;
        Ok(Self {
            key,
            pool: crate::settings::UserPool {
                issuer,
                jwks_url,
                client_ids: vec![client_id.to_owned()],
            },
            server,
        })
    }

    /// The user pool of this issuer: its issuer, JWKS URL and client id.
    pub fn pool(&self) -> crate::settings::UserPool {
        self.pool.clone()
    }

    /// The signing key.
    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    /// The claims of a valid access token of this issuer, issued now, valid for an hour.
    pub fn claims(&self) -> Value {
        let client = self.pool.client_ids.first().map_or("", String::as_str);
        access_claims(
            &self.pool.issuer,
            client,
            unix_now(),
            Duration::from_secs(3600),
        )
    }

    /// A valid access token of this issuer ([`LocalIssuer::claims`], signed).
    ///
    /// # Errors
    ///
    /// When the crypto library fails to sign.
    pub fn access_token(&self) -> Result<String, KeyError> {
        self.key.sign(&self.claims())
    }
}

/// Answers every connection with `body` as JSON, once its request head has arrived, then closes.
async fn serve(listener: tokio::net::TcpListener, body: String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let answer = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    while let Ok((mut stream, _)) = listener.accept().await {
        let answer = answer.clone();
        tokio::spawn(async move {
            let mut head = Vec::with_capacity(1024);
            let mut buf = [0; 1024];
            // Bounded: a head over 8 KiB, or a closed stream, gets no answer.
            while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 8 * 1024 {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let _ = stream.write_all(answer.as_bytes()).await;
            let _ = stream.shutdown().await;
        });
    }
}
