//! `--dev`: an embedded local issuer, so the API runs and can be called without an AWS account.
//!
//! An RSA key is made at start and never written anywhere. Its JWKS is served by the same
//! process and fetched over HTTP through the same cache and verifier as production; tokens carry
//! the claims a Cognito access token carries. [`SigningKey`] (the `cognito-auth` crate's) is also
//! what the tests sign with.

use std::time::Duration;

use serde_json::{Value, json};

/// The signing key, the JWKS and the claims fixture of the tests, benchmarks and `--dev`: the
/// `cognito-auth` crate's local issuer (feature `local-issuer`).
pub use cognito_auth::local_issuer::{
    KeyError, RSA_PKCS1_SHA256, SigningKey, access_claims, b64, jwks, unix_now,
};

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
