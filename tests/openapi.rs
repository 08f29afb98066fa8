//! `GET /openapi.json` serves `src/openapi.json` byte for byte, without a token, and the
//! document agrees with the running router on what each documented path answers without a token.

use std::collections::BTreeSet;
use std::path::Path;

mod common;

use common::{TestApp, dev_config};

fn document_on_disk() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/openapi.json");
    std::fs::read_to_string(&path).expect("src/openapi.json is readable")
}

#[tokio::test]
async fn served_document_is_the_file_and_parses() {
    let app = TestApp::spawn(dev_config()).await;

    let answer = app.get("/openapi.json").await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.header("content-type"),
        Some("application/json"),
        "content type"
    );
    assert_eq!(
        answer.body,
        document_on_disk(),
        "served body equals the file"
    );

    let doc = answer.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let scheme = &doc["components"]["securitySchemes"]["cognitoAccessToken"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
    assert_eq!(scheme["bearerFormat"], "JWT");
    let get_root = &doc["paths"]["/"]["get"];
    assert_eq!(
        get_root["security"][0]["cognitoAccessToken"],
        serde_json::json!([])
    );
    let codes: BTreeSet<&str> = get_root["responses"]
        .as_object()
        .expect("responses")
        .keys()
        .map(String::as_str)
        .collect();
    for code in ["200", "400", "401", "403", "431", "503"] {
        assert!(codes.contains(code), "GET / documents {code}");
    }
    for open in ["/health", "/openapi.json"] {
        assert_eq!(
            doc["paths"][open]["get"]["security"],
            serde_json::json!([]),
            "GET {open} needs no token"
        );
    }

    // What each documented GET answers without a token is one of its documented statuses.
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let Some(get) = item.get("get") else { continue };
        let status = app.get(path).await.status;
        let documented = get["responses"].get(status.as_str()).is_some();
        assert!(documented, "GET {path} answered {status}, not documented");
    }

    // An undocumented path answers the documented 404 body.
    let answer = app.get("/no-such-route").await;
    assert_eq!(answer.status, 404);
    assert_eq!(
        answer.json(),
        doc["components"]["responses"]["NotFound"]["content"]["application/json"]["example"]
    );

    app.stop().await;
}
