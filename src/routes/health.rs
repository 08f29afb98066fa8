//! `GET /health`: liveness for container health checks. It never calls Cognito.

use axum::Json;
use serde_json::{Value, json};

/// `{"status": "ok"}` while the process serves requests.
pub async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}
