//! The app: randapi started in process from a typed [`Config`] on 127.0.0.1:0, stopped through
//! `run_until(<signal>)`, and the [`Answer`] every request is read into.
//!
//! Start from [`config`] (production defaults, the test issuer and clients, a JWKS URL) or
//! [`dev_config`], change the typed fields a test needs, and pass it to [`TestApp::spawn`]:
//!
//! ```ignore
//! let app = spawn_app_with(&jwks, |config| config.jwks.cooldown = Duration::from_millis(100)).await;
//! ```

use std::time::Duration;

use cognito_auth::JwksCache;
use randapi::config::{Config, KeySource, ServeArgs};
use randapi::startup::{Application, StartError};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use randapi::dev::SigningKey;

use super::{CLIENT_ID, ISSUER, JwksServer, OTHER_ALLOWED_CLIENT_ID, init_tracing, key};

/// The configuration of an app that trusts tokens of [`ISSUER`] for [`CLIENT_ID`] and
/// [`OTHER_ALLOWED_CLIENT_ID`], signed by the keys at `jwks_url`. Everything else is the
/// production default, but for the address (127.0.0.1:0), JSON logs and a 5 s shutdown grace.
pub fn config(jwks_url: &str) -> Config {
    config_with_flags(jwks_url, &[])
}

/// A configuration as [`config`]'s, for another issuer, JWKS and app clients (an emulator's
/// pool, say).
pub fn cognito_config(issuer: &str, jwks_url: &str, client_ids: &[&str]) -> Config {
    from_flags(&[
        format!("--cognito-issuer={issuer}"),
        format!("--cognito-jwks-url={jwks_url}"),
        format!("--cognito-client-ids={}", client_ids.join(",")),
    ])
}

/// As [`config`], with `flags` parsed on top as `randapi serve` parses them: for a test about how
/// a value is read (the typed fields skip the parsing).
pub fn config_with_flags(jwks_url: &str, flags: &[&str]) -> Config {
    let mut all = vec![
        format!("--cognito-issuer={ISSUER}"),
        format!("--cognito-jwks-url={jwks_url}"),
        format!("--cognito-client-ids={CLIENT_ID},{OTHER_ALLOWED_CLIENT_ID}"),
    ];
    all.extend(flags.iter().map(|flag| (*flag).to_owned()));
    from_flags(&all)
}

/// The configuration of `--dev` mode (embedded issuer) on 127.0.0.1:0.
pub fn dev_config() -> Config {
    from_flags(&["--dev".to_owned()])
}

/// The configuration `randapi serve` gets from `flags` (clap parses them, the environment is not
/// read), on 127.0.0.1:0 with JSON logs and a short shutdown grace.
fn from_flags(flags: &[String]) -> Config {
    let local = [
        "--host=127.0.0.1",
        "--port=0",
        "--log-format=json",
        "--shutdown-grace=5s",
    ];
    ServeArgs::from_flags(
        local
            .iter()
            .map(|flag| (*flag).to_owned())
            .chain(flags.iter().cloned()),
    )
    .expect("the test flags parse")
    .into_config()
    .expect("the test configuration is valid")
}

/// Starts randapi with [`config`] against `jwks`.
pub async fn spawn_app(jwks: &JwksServer) -> TestApp {
    TestApp::spawn(config(&jwks.url())).await
}

/// Starts randapi with [`config`] against `jwks`, changed by `edit`.
pub async fn spawn_app_with(jwks: &JwksServer, edit: impl FnOnce(&mut Config)) -> TestApp {
    let mut config = config(&jwks.url());
    edit(&mut config);
    TestApp::spawn(config).await
}

/// The start of most tests: a fresh key `kid`, a JWKS server serving it, and an app with
/// [`config`] that trusts that server. Keep the server alive as long as the app (`_jwks`).
pub async fn spawn_app_with_key(kid: &str) -> (SigningKey, JwksServer, TestApp) {
    let key = key(kid);
    let jwks = JwksServer::with_keys(&[&key]).await;
    let app = spawn_app(&jwks).await;
    (key, jwks, app)
}

/// A running in-process randapi. Stops when dropped (or with [`TestApp::stop`], which also
/// checks that it stopped cleanly).
pub struct TestApp {
    /// `http://127.0.0.1:port`.
    pub base: String,
    /// The app's key cache (counts its fetches).
    pub jwks: JwksCache,
    /// The JWKS URL the app was given (must never appear in an answer); `None` in `--dev` mode.
    pub jwks_url: Option<String>,
    client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), StartError>>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// An HTTP client for tests: no proxy, no redirects, a generous timeout so a hang fails a test
/// instead of stalling the run.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client")
}

/// An answer, read whole.
#[derive(Debug)]
pub struct Answer {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body text.
    pub body: String,
}

impl Answer {
    /// Reads `response` whole.
    pub async fn read(response: reqwest::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.expect("body");
        Self {
            status,
            headers,
            body,
        }
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.body))
    }
}

impl TestApp {
    /// Starts randapi with `config` (use [`config`] or [`dev_config`] and change fields).
    pub async fn spawn(config: Config) -> Self {
        init_tracing();
        let jwks_url = match &config.keys {
            KeySource::Cognito { jwks_url, .. } => Some(jwks_url.to_string()),
            KeySource::Dev => None,
        };
        let app = Application::build(config).await.expect("app builds");
        let base = format!("http://{}", app.local_addr());
        let jwks = app.jwks().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        Self {
            base,
            jwks,
            jwks_url,
            client: http_client(),
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// `GET /` with `Authorization: Bearer <token>`, or without the header.
    pub async fn get_root(&self, token: Option<&str>) -> Answer {
        match token {
            Some(token) => {
                self.get_with_authorization("/", &[&format!("Bearer {token}")])
                    .await
            }
            None => self.get("/").await,
        }
    }

    /// `GET path` without credentials.
    pub async fn get(&self, path: &str) -> Answer {
        self.request(reqwest::Method::GET, path, HeaderMap::new())
            .await
    }

    /// `GET path` with one `Authorization` header per value, verbatim.
    pub async fn get_with_authorization(&self, path: &str, values: &[&str]) -> Answer {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(
                reqwest::header::AUTHORIZATION,
                HeaderValue::from_str(value).expect("header value"),
            );
        }
        self.request(reqwest::Method::GET, path, headers).await
    }

    /// Any request with these headers.
    pub async fn request(&self, method: reqwest::Method, path: &str, headers: HeaderMap) -> Answer {
        let response = self
            .client
            .request(method, format!("{}{path}", self.base))
            .headers(headers)
            .send()
            .await
            .expect("request reaches the app");
        Answer::read(response).await
    }

    /// Stops the app and checks that it stopped cleanly.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("app stops")
                .expect("app task")
                .expect("app stops without error");
        }
    }
}
