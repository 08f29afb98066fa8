//! One JWKS signing key, made once per fetched set into jsonwebtoken's [`DecodingKey`].
//!
//! The key is also checked once, when the set is fetched, by aws-lc-rs (the library jsonwebtoken
//! verifies with): a JWK whose numbers aws-lc-rs refuses (an even modulus, a bad exponent) is
//! skipped then, so it is an unknown key to a token, never a signature that cannot verify.

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind};

/// An RS256 verification key built from a JWK's `n` and `e`.
pub struct VerifyingKey {
    decoding: DecodingKey,
}

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("modulus_bits", &self.modulus_bits())
            .finish_non_exhaustive()
    }
}

impl VerifyingKey {
    /// The key of modulus `n` and exponent `e` (big-endian, leading zeros already stripped).
    ///
    /// # Errors
    ///
    /// When aws-lc-rs refuses the components (it also refuses keys outside 2048..=8192 bits).
    pub fn from_components(n: &[u8], e: &[u8]) -> Result<Self, &'static str> {
        RsaPublicKeyComponents { n, e }
            .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
            .map_err(|_| "RSA key rejected")?;
        Ok(Self {
            decoding: DecodingKey::from_rsa_raw_components(n, e),
        })
    }

    /// True when `signature` (the token's third segment, base64url) is a valid RS256 signature
    /// of `message` (the first two segments with their dot) by this key. jsonwebtoken decodes
    /// the segment and verifies.
    pub fn verify_rs256(&self, message: &[u8], signature: &str) -> bool {
        jsonwebtoken::crypto::verify(signature, message, &self.decoding, Algorithm::RS256)
            .unwrap_or(false)
    }

    fn components(&self) -> (&[u8], &[u8]) {
        match self.decoding.kind() {
            DecodingKeyKind::RsaModulusExponent { n, e } => (n, e),
            DecodingKeyKind::SecretOrDer(bytes) => (bytes, &[]),
        }
    }

    /// True when both keys have the same modulus and exponent.
    pub fn same_key(&self, other: &Self) -> bool {
        self.components() == other.components()
    }

    /// Size of the modulus in bits.
    pub fn modulus_bits(&self) -> usize {
        self.components().0.len() * 8
    }
}
