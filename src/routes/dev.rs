//! `--dev` routes: the local issuer's JWKS and a token endpoint. Never mounted otherwise.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use serde_json::json;

use super::{DEV_JWKS_PATH, DEV_TOKEN_PATH};
use crate::auth::ErrorBody;
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
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(ErrorBody {
                error: "server_error",
                message: "could not sign a token",
            }),
        )
            .into_response(),
    }
}

pub(super) fn router(issuer: Arc<DevIssuer>) -> Router {
    Router::new()
        .route(DEV_JWKS_PATH, get(jwks))
        .route(DEV_TOKEN_PATH, get(token))
        .with_state(issuer)
}
