//! `GET /openapi.json`: the OpenAPI 3.1 description of the API, served without a token.
//!
//! The document is `src/openapi.json` (inside `src/` so the Docker build context, which holds only the crate, has it), embedded at build time,
//! so the binary always serves the description it was built with.

use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;

/// The OpenAPI document, byte for byte as kept in the repository.
pub const OPENAPI_JSON: &str = include_str!("../openapi.json");

/// `GET /openapi.json`: the embedded document as `application/json`.
pub async fn openapi_json() -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        OPENAPI_JSON,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_document_is_openapi_3_1_json() {
        let doc: serde_json::Value =
            serde_json::from_str(OPENAPI_JSON).expect("openapi.json parses");
        assert_eq!(doc["openapi"], "3.1.0");
        for path in ["/", "/health", "/openapi.json"] {
            assert!(
                doc["paths"][path]["get"].is_object(),
                "GET {path} documented"
            );
        }
        assert_eq!(
            doc["components"]["securitySchemes"]["cognitoAccessToken"]["bearerFormat"],
            "JWT"
        );
    }
}
