//! `GET /`: a random number for an authenticated caller.

use axum::Json;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use rand::Rng;
use serde::{Deserialize, Serialize};

use cognito_auth::VerifiedClaims;

/// The answer of `GET /`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RandomNumber {
    /// Uniform in `0..=100`.
    pub random_number: u8,
}

/// Draws a number uniformly in `0..=100` from the thread's CSPRNG (ChaCha, seeded by the OS).
pub fn draw() -> u8 {
    rand::rng().random_range(0..=100)
}

/// `GET /`: the caller is authenticated by the layer; its claims prove it.
pub async fn random_number(_claims: VerifiedClaims) -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Json(RandomNumber {
            random_number: draw(),
        }),
    )
}
