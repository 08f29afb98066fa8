//! For the unit tests: a JWKS served on 127.0.0.1 whose body a test can change.

use std::sync::{Arc, Mutex};

use reqwest::Url;
use serde_json::Value;

/// Serves `GET /jwks.json` with the current value of `body` on 127.0.0.1 until the runtime
/// stops; its URL.
pub(crate) async fn serve_jwks(body: Arc<Mutex<Value>>) -> Url {
    let app = axum::Router::new().route(
        "/jwks.json",
        axum::routing::get(move || {
            let text = body.lock().map(|v| v.to_string()).unwrap_or_default();
            std::future::ready(text)
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    Url::parse(&format!("http://{addr}/jwks.json")).expect("url")
}
