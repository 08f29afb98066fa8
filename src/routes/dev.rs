//! `--dev` routes: the local issuer's JWKS and a token endpoint. Never mounted otherwise.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use serde_json::json;

use super::{ApiError, DEV_JWKS_PATH, DEV_TOKEN_PATH};
use crate::dev::{DEV_TOKEN_LIFETIME, DevIssuer};

async fn jwks(State(issuer): State<Arc<DevIssuer>>) -> Json<serde_json::Value> {
    Json(issuer.jwks())
}

async fn token(State(issuer): State<Arc<DevIssuer>>) -> Response {
    match issuer.access_token(DEV_TOKEN_LIFETIME) {
        Ok(token) => (
            [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
            Json(json!({
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": DEV_TOKEN_LIFETIME.as_secs(),
            })),
        )
            .into_response(),
        Err(_) => ApiError::DEV_TOKEN_FAILED.into_response(),
    }
}

pub(super) fn router(issuer: Arc<DevIssuer>) -> Router {
    Router::new()
        .route(DEV_JWKS_PATH, get(jwks))
        .route(DEV_TOKEN_PATH, get(token))
        .with_state(issuer)
}
