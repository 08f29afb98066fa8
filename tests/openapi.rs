//! `GET /openapi.json` serves `src/openapi.json` byte for byte, without a token, and the
//! document agrees with the running router on what each documented path answers without a token.

use std::collections::BTreeSet;
use std::path::Path;

use randapi::config::ServeArgs;
use randapi::startup::Application;

fn dev_args() -> ServeArgs {
    let flags = [
        "--port=0",
        "--host=127.0.0.1",
        "--log-format=json",
        "--shutdown-grace=1s",
        "--dev",
    ];
    ServeArgs::from_flags(flags).expect("flags parse")
}

struct Server {
    base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    async fn start() -> Self {
        let config = dev_args().into_config().expect("valid --dev configuration");
        let app = Application::build(config).await.expect("server builds");
        let base = format!("http://{}", app.local_addr());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            app.run_until(async move {
                let _ = stopped.await;
            })
            .await
            .expect("server runs");
        });
        Self {
            base,
            stop: Some(stop),
            task,
        }
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await.expect("server task ends");
    }
}

fn document_on_disk() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/openapi.json");
    std::fs::read_to_string(&path).expect("src/openapi.json is readable")
}

#[tokio::test]
async fn served_document_is_the_file_and_parses() {
    let server = Server::start().await;
    let client = reqwest::Client::new();

    let response = client
        .get(format!("{}/openapi.json", server.base))
        .send()
        .await
        .expect("GET /openapi.json");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "content type"
    );
    let body = response.text().await.expect("body");
    assert_eq!(body, document_on_disk(), "served body equals the file");

    let doc: serde_json::Value = serde_json::from_str(&body).expect("document parses");
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
        let status = client
            .get(format!("{}{path}", server.base))
            .send()
            .await
            .expect("GET")
            .status();
        let documented = get["responses"].get(status.as_str()).is_some();
        assert!(documented, "GET {path} answered {status}, not documented");
    }

    // An undocumented path answers the documented 404 body.
    let response = client
        .get(format!("{}/no-such-route", server.base))
        .send()
        .await
        .expect("GET /no-such-route");
    assert_eq!(response.status(), 404);
    let body: serde_json::Value = response.json().await.expect("json 404 body");
    assert_eq!(
        body,
        doc["components"]["responses"]["NotFound"]["content"]["application/json"]["example"]
    );

    server.stop().await;
}
