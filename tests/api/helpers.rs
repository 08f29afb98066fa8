//! The harness: an in-process randapi, a JWKS server whose behaviour each test controls, keys and
//! tokens made at run time, and the assertions every refusal must pass.
//!
//! Nothing here is hard-coded crypto: keys come from `randapi::dev::SigningKey::generate`, tokens
//! are signed when the test runs (`exp = now + 300`), and every server binds 127.0.0.1:0.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use randapi::auth::JwksCache;
use randapi::config::ServeArgs;
use randapi::dev::{SigningKey, b64};
use randapi::startup::{Application, StartError};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

/// The issuer the in-process app expects (a Cognito-shaped URL; nothing is fetched from it).
pub const ISSUER: &str = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TestPool1";
/// The app client whose tokens are accepted.
pub const CLIENT_ID: &str = "testclient7h2k9q";
/// A second allowed app client.
pub const OTHER_ALLOWED_CLIENT_ID: &str = "secondclient4m8p";

/// Logs go nowhere unless `TEST_LOG` is set (then to the test writer, at `debug`).
static TRACING: LazyLock<()> = LazyLock::new(|| {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("debug")),
            )
            .with_test_writer()
            .try_init();
    }
});

/// True when `TEST_LOG` asks for logs (child processes then inherit stdout).
pub fn test_log() -> bool {
    std::env::var_os("TEST_LOG").is_some()
}

// ---------------------------------------------------------------------------------------------
// Keys and tokens
// ---------------------------------------------------------------------------------------------

/// A fresh RSA-2048 key with this `kid`.
pub fn key(kid: &str) -> SigningKey {
    SigningKey::generate(kid).expect("RSA key generation")
}

/// Seconds since the Unix epoch: the clock the server checks `exp`, `nbf` and `iat` against.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The JWKS document of `keys`.
pub fn jwks_of(keys: &[&SigningKey]) -> Value {
    randapi::dev::jwks(keys)
}

/// Claims of a valid Cognito access token for this test's issuer and client, `exp = now + 300`.
pub fn claims() -> Value {
    let now = unix_now();
    json!({
        "sub": "5f1d0c6e-sub-4e2b-9f7a-2c3d4e5f6a7b",
        "iss": ISSUER,
        "client_id": CLIENT_ID,
        "origin_jti": "origin-jti-93be1c",
        "event_id": "event-id-4471d2",
        "token_use": "access",
        "scope": "aws.cognito.signin.user.admin",
        "auth_time": now,
        "exp": now + 300,
        "iat": now,
        "jti": "jti-1f6c0a9e-7d2b",
        "username": "user-name-8c1e",
    })
}

/// `claims` with `name` set to `value`.
pub fn with(mut claims: Value, name: &str, value: Value) -> Value {
    claims[name] = value;
    claims
}

/// `claims` without `name`.
pub fn without(mut claims: Value, name: &str) -> Value {
    if let Some(object) = claims.as_object_mut() {
        object.remove(name);
    }
    claims
}

/// A valid access token signed by `key`.
pub fn token(key: &SigningKey) -> String {
    key.sign(&claims()).expect("sign")
}

/// A valid access token signed by `key` but naming another `kid` (for unknown kids: a kid is
/// only a lookup key, so no second RSA key needs generating).
pub fn token_with_kid(key: &SigningKey, kid: &str) -> String {
    signed(key, &json!({"alg": "RS256", "kid": kid}), &claims())
}

/// A token of `header` and `claims` signed RS256 by `key`.
pub fn signed(key: &SigningKey, header: &Value, claims: &Value) -> String {
    key.sign_with(&randapi::dev::RSA_PKCS1_SHA256, header, claims)
        .expect("sign")
}

/// `header.payload.` with the given raw signature segment (may be empty).
pub fn unsigned(header: &Value, claims: &Value, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        b64(header.to_string()),
        b64(claims.to_string())
    )
}

/// A token with an HMAC-SHA256 signature made with `secret` (key-confusion attacks).
pub fn hmac_signed(header: &Value, claims: &Value, secret: &[u8]) -> String {
    use aws_lc_rs::hmac;
    let message = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
    let tag = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, secret),
        message.as_bytes(),
    );
    format!("{message}.{}", b64(tag.as_ref()))
}

fn der_length(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
}

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    der_length(content.len(), &mut out);
    out.extend_from_slice(content);
    out
}

fn der_unsigned_integer(bytes: &[u8]) -> Vec<u8> {
    let mut content = Vec::with_capacity(bytes.len() + 1);
    if bytes.first().is_some_and(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(bytes);
    der(0x02, &content)
}

/// The public key of `key` in the encodings an attacker might use as an HMAC secret:
/// PKCS#1 `RSAPublicKey` DER, SubjectPublicKeyInfo DER, and SubjectPublicKeyInfo PEM.
pub fn public_key_encodings(key: &SigningKey) -> Vec<(&'static str, Vec<u8>)> {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    let jwk = key.jwk();
    let decode = |field: &str| {
        URL_SAFE_NO_PAD
            .decode(jwk[field].as_str().expect("jwk field"))
            .expect("base64url")
    };
    let (n, e) = (decode("n"), decode("e"));
    let pkcs1 = der(
        0x30,
        &[der_unsigned_integer(&n), der_unsigned_integer(&e)].concat(),
    );
    // AlgorithmIdentifier { rsaEncryption, NULL }
    let algorithm: &[u8] = &[
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];
    let bit_string = der(0x03, &[&[0u8][..], &pkcs1].concat());
    let spki = der(0x30, &[algorithm, &bit_string].concat());
    let body = STANDARD.encode(&spki);
    let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
    for line in body.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).expect("base64 is ascii"));
        pem.push('\n');
    }
    pem.push_str("-----END PUBLIC KEY-----\n");
    vec![
        ("the PKCS#1 DER of the public key", pkcs1),
        ("the SubjectPublicKeyInfo DER of the public key", spki),
        ("the PEM of the public key", pem.into_bytes()),
    ]
}

// ---------------------------------------------------------------------------------------------
// The JWKS server
// ---------------------------------------------------------------------------------------------

/// Path the app is pointed at.
pub const JWKS_PATH: &str = "/eu-west-1_TestPool1/.well-known/jwks.json";
/// Where [`Behaviour::Redirect`] sends the client (it would serve good keys if followed).
pub const MOVED_PATH: &str = "/moved/jwks.json";

/// How the JWKS server answers. Every answer closes the connection afterwards.
#[derive(Debug, Clone)]
pub enum Behaviour {
    /// `200` with this JSON document.
    Keys(Value),
    /// This status with a small JSON body.
    Status(u16),
    /// `200` with a body that is not JSON.
    Garbage,
    /// `200` with a 100 KiB JWKS-looking body and its `Content-Length`.
    Oversize,
    /// `200` with a 100 KiB JWKS-looking body, chunked (no `Content-Length`).
    OversizeChunked,
    /// `200`, chunked, a body that never ends.
    Endless,
    /// `302` to [`MOVED_PATH`], where this document would be served.
    Redirect(Value),
    /// Reads the request and closes the connection without a byte.
    Close,
    /// Reads the request and never answers (keeps the socket open).
    Hang,
    /// Waits this long, then answers as the inner behaviour.
    Delay(Duration, Box<Behaviour>),
    /// Waits until [`JwksServer::release`], then answers as the inner behaviour.
    Held(Box<Behaviour>),
}

#[derive(Debug)]
struct ServerState {
    behaviour: Mutex<Behaviour>,
    requests: AtomicUsize,
    log: Mutex<Vec<(String, Option<String>)>>,
    gate: watch::Sender<bool>,
}

/// A JWKS endpoint on 127.0.0.1:0 that counts its requests. Stops when dropped.
#[derive(Debug)]
pub struct JwksServer {
    addr: SocketAddr,
    state: Arc<ServerState>,
    accept: JoinHandle<()>,
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl JwksServer {
    /// Starts a server that answers as `behaviour`.
    pub async fn start(behaviour: Behaviour) -> Self {
        LazyLock::force(&TRACING);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind jwks");
        let addr = listener.local_addr().expect("jwks addr");
        let state = Arc::new(ServerState {
            behaviour: Mutex::new(behaviour),
            requests: AtomicUsize::new(0),
            log: Mutex::new(Vec::new()),
            gate: watch::channel(false).0,
        });
        let accept_state = state.clone();
        let accept = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve_connection(stream, accept_state.clone()));
            }
        });
        Self {
            addr,
            state,
            accept,
        }
    }

    /// A server that serves the JWKS of `keys`.
    pub async fn with_keys(keys: &[&SigningKey]) -> Self {
        Self::start(Behaviour::Keys(jwks_of(keys))).await
    }

    /// The JWKS URL.
    pub fn url(&self) -> String {
        format!("http://{}{JWKS_PATH}", self.addr)
    }

    /// Answers from now on as `behaviour`.
    pub fn set(&self, behaviour: Behaviour) {
        *self.state.behaviour.lock().expect("behaviour lock") = behaviour;
    }

    /// Serves the JWKS of `keys` from now on.
    pub fn serve_keys(&self, keys: &[&SigningKey]) {
        self.set(Behaviour::Keys(jwks_of(keys)));
    }

    /// Lets answers held by [`Behaviour::Held`] go.
    pub fn release(&self) {
        self.state.gate.send_replace(true);
    }

    /// Requests received so far (any path).
    pub fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }

    /// Requests received so far for `path`.
    pub fn requests_for(&self, path: &str) -> usize {
        self.state
            .log
            .lock()
            .expect("log lock")
            .iter()
            .filter(|(p, _)| p == path)
            .count()
    }

    /// The `User-Agent` of every request so far.
    pub fn user_agents(&self) -> Vec<Option<String>> {
        self.state
            .log
            .lock()
            .expect("log lock")
            .iter()
            .map(|(_, ua)| ua.clone())
            .collect()
    }

    /// Waits until the server has seen at least `count` requests (fails after 10 s).
    pub async fn wait_for_requests(&self, count: usize) {
        eventually("the JWKS server to be asked", || async {
            self.requests() >= count
        })
        .await;
    }
}

/// Reads one request head; `None` if the client went away first.
async fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 || head.len() > 64 * 1024 {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

async fn serve_connection(mut stream: TcpStream, state: Arc<ServerState>) {
    let Some(head) = read_head(&mut stream).await else {
        return;
    };
    let path = head
        .lines()
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .unwrap_or_default()
        .to_owned();
    let user_agent = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("user-agent")
            .then(|| value.trim().to_owned())
    });
    state.requests.fetch_add(1, Ordering::SeqCst);
    state
        .log
        .lock()
        .expect("log lock")
        .push((path.clone(), user_agent));
    let behaviour = state.behaviour.lock().expect("behaviour lock").clone();
    answer(&mut stream, behaviour, &path, &state).await;
    let _ = stream.shutdown().await;
}

async fn write_full(stream: &mut TcpStream, status: &str, content_type: &str, body: &[u8]) {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body).await;
}

/// A syntactically valid JWKS padded with whitespace to `bytes`.
fn padded_jwks(bytes: usize) -> Vec<u8> {
    let mut body = b"{\"keys\": [".to_vec();
    body.resize(bytes - 2, b' ');
    body.extend_from_slice(b"]}");
    body
}

async fn write_chunked(stream: &mut TcpStream, chunks: impl Iterator<Item = Vec<u8>>) {
    let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    if stream.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    for chunk in chunks {
        let framed = [
            format!("{:x}\r\n", chunk.len()).into_bytes(),
            chunk,
            b"\r\n".to_vec(),
        ]
        .concat();
        if stream.write_all(&framed).await.is_err() {
            return; // the client gave up: what a body cap should make it do
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
}

fn answer<'a>(
    stream: &'a mut TcpStream,
    behaviour: Behaviour,
    path: &'a str,
    state: &'a ServerState,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>> {
    Box::pin(async move {
        match behaviour {
            Behaviour::Keys(document) => {
                write_full(
                    stream,
                    "200 OK",
                    "application/json",
                    document.to_string().as_bytes(),
                )
                .await;
            }
            Behaviour::Status(code) => {
                let status = StatusCode::from_u16(code).expect("status code");
                write_full(
                    stream,
                    &status.to_string(),
                    "application/json",
                    b"{\"message\": \"error\"}",
                )
                .await;
            }
            Behaviour::Garbage => {
                write_full(
                    stream,
                    "200 OK",
                    "text/html",
                    b"<html><body>Service Unavailable</body></html>",
                )
                .await;
            }
            Behaviour::Oversize => {
                write_full(
                    stream,
                    "200 OK",
                    "application/json",
                    &padded_jwks(100 * 1024),
                )
                .await;
            }
            Behaviour::OversizeChunked => {
                let body = padded_jwks(100 * 1024);
                let chunks: Vec<Vec<u8>> = body.chunks(8192).map(<[u8]>::to_vec).collect();
                write_chunked(stream, chunks.into_iter()).await;
            }
            Behaviour::Endless => {
                let first = std::iter::once(b"{\"keys\": [".to_vec());
                let rest = std::iter::repeat_with(|| vec![b' '; 16 * 1024]);
                write_chunked(stream, first.chain(rest)).await;
            }
            Behaviour::Redirect(document) => {
                if path == MOVED_PATH {
                    write_full(
                        stream,
                        "200 OK",
                        "application/json",
                        document.to_string().as_bytes(),
                    )
                    .await;
                } else {
                    let head = format!(
                        "HTTP/1.1 302 Found\r\nLocation: {MOVED_PATH}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    );
                    let _ = stream.write_all(head.as_bytes()).await;
                }
            }
            Behaviour::Close => {}
            Behaviour::Hang => {
                // Keep the socket open until the client gives up (or the test's runtime ends).
                let mut buf = [0u8; 64];
                while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
            }
            Behaviour::Delay(delay, inner) => {
                tokio::time::sleep(delay).await;
                answer(stream, *inner, path, state).await;
            }
            Behaviour::Held(inner) => {
                let mut gate = state.gate.subscribe();
                let _ = gate.wait_for(|open| *open).await;
                answer(stream, *inner, path, state).await;
            }
        }
    })
}

// ---------------------------------------------------------------------------------------------
// The app
// ---------------------------------------------------------------------------------------------

/// Settings of one in-process app; everything else is the production default.
#[derive(Debug, Clone, Default)]
pub struct AppOptions {
    /// `JWKS_COOLDOWN`, default `10s`.
    pub cooldown: Option<&'static str>,
    /// `JWKS_TTL`, default `1h`.
    pub ttl: Option<&'static str>,
    /// `JWKS_FETCH_TIMEOUT`, default `5s`.
    pub fetch_timeout: Option<&'static str>,
    /// `CLOCK_LEEWAY`, default `60s`.
    pub leeway: Option<&'static str>,
    /// `COGNITO_REQUIRED_SCOPES`.
    pub scopes: Option<&'static str>,
    /// `COGNITO_REQUIRED_GROUPS`.
    pub groups: Option<&'static str>,
    /// `CORS_ALLOWED_ORIGINS`, default `*`.
    pub cors: Option<&'static str>,
    /// `JWKS_MAX_STALE`, default `24h`.
    pub max_stale: Option<&'static str>,
    /// `REQUEST_TIMEOUT`, default `10s`.
    pub request_timeout: Option<&'static str>,
}

impl AppOptions {
    /// Sets `JWKS_COOLDOWN`.
    pub fn cooldown(mut self, value: &'static str) -> Self {
        self.cooldown = Some(value);
        self
    }
    /// Sets `JWKS_TTL`.
    pub fn ttl(mut self, value: &'static str) -> Self {
        self.ttl = Some(value);
        self
    }
    /// Sets `JWKS_FETCH_TIMEOUT`.
    pub fn fetch_timeout(mut self, value: &'static str) -> Self {
        self.fetch_timeout = Some(value);
        self
    }
    /// Sets `CLOCK_LEEWAY`.
    pub fn leeway(mut self, value: &'static str) -> Self {
        self.leeway = Some(value);
        self
    }
    /// Sets `COGNITO_REQUIRED_SCOPES`.
    pub fn scopes(mut self, value: &'static str) -> Self {
        self.scopes = Some(value);
        self
    }
    /// Sets `COGNITO_REQUIRED_GROUPS`.
    pub fn groups(mut self, value: &'static str) -> Self {
        self.groups = Some(value);
        self
    }
    /// Sets `CORS_ALLOWED_ORIGINS`.
    pub fn cors(mut self, value: &'static str) -> Self {
        self.cors = Some(value);
        self
    }
    /// Sets `JWKS_MAX_STALE`.
    pub fn max_stale(mut self, value: &'static str) -> Self {
        self.max_stale = Some(value);
        self
    }
    /// Sets `REQUEST_TIMEOUT`.
    pub fn request_timeout(mut self, value: &'static str) -> Self {
        self.request_timeout = Some(value);
        self
    }
}

/// A running in-process randapi. Stops when dropped (or with [`TestApp::stop`]).
pub struct TestApp {
    /// `http://127.0.0.1:port`.
    pub base: String,
    /// The app's key cache (counts its fetches).
    pub jwks: JwksCache,
    /// The JWKS URL the app was given (must never appear in an answer).
    pub jwks_url: String,
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

/// The `ServeArgs` of an app pointed at `jwks_url` with `options`, as the flags would give them
/// (the process environment is not read).
pub fn serve_args(jwks_url: &str, options: &AppOptions) -> ServeArgs {
    let mut flags = vec![
        "--port=0".to_owned(),
        "--host=127.0.0.1".to_owned(),
        format!("--cognito-issuer={ISSUER}"),
        format!("--cognito-jwks-url={jwks_url}"),
        format!("--cognito-client-ids={CLIENT_ID},{OTHER_ALLOWED_CLIENT_ID}"),
        "--log-format=json".to_owned(),
        "--shutdown-grace=5s".to_owned(),
    ];
    let options = [
        ("--cors-allowed-origins", options.cors),
        ("--jwks-ttl", options.ttl),
        ("--jwks-cooldown", options.cooldown),
        ("--jwks-max-stale", options.max_stale),
        ("--jwks-fetch-timeout", options.fetch_timeout),
        ("--clock-leeway", options.leeway),
        ("--request-timeout", options.request_timeout),
        ("--cognito-required-scopes", options.scopes),
        ("--cognito-required-groups", options.groups),
    ];
    for (flag, value) in options {
        if let Some(value) = value {
            flags.push(format!("{flag}={value}"));
        }
    }
    ServeArgs::from_flags(flags).expect("test flags parse")
}

/// Starts randapi on 127.0.0.1:0 against `jwks`.
pub async fn spawn_app(jwks: &JwksServer, options: AppOptions) -> TestApp {
    spawn_app_at(&jwks.url(), options).await
}

/// Starts randapi on 127.0.0.1:0 against the JWKS at `jwks_url`.
pub async fn spawn_app_at(jwks_url: &str, options: AppOptions) -> TestApp {
    LazyLock::force(&TRACING);
    let config = serve_args(jwks_url, &options)
        .into_config()
        .expect("test configuration is valid");
    let app = Application::build(config).await.expect("app builds");
    let base = format!("http://{}", app.local_addr());
    let jwks = app.jwks().clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    TestApp {
        base,
        jwks,
        jwks_url: jwks_url.to_owned(),
        client: http_client(),
        stop: Some(stop),
        task: Some(task),
    }
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

async fn read_answer(response: reqwest::Response) -> Answer {
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.text().await.expect("body");
    Answer {
        status,
        headers,
        body,
    }
}

impl TestApp {
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
        read_answer(response).await
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

// ---------------------------------------------------------------------------------------------
// Assertions
// ---------------------------------------------------------------------------------------------

/// Strings of a token that an answer must never contain: the token, its segments, every string
/// claim and header value (except the few fixed words such as `RS256` and `access`).
pub fn secrets_of(token: &str) -> Vec<String> {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut secrets = vec![token.to_owned()];
    for (index, segment) in token.split('.').enumerate() {
        if segment.len() >= 8 {
            secrets.push(segment.to_owned());
        }
        if index > 1 {
            continue;
        }
        let Some(Value::Object(object)) = URL_SAFE_NO_PAD
            .decode(segment)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        else {
            continue;
        };
        for (name, value) in object {
            if matches!(name.as_str(), "alg" | "typ" | "token_use") {
                continue;
            }
            let mut strings = Vec::new();
            collect_strings(&value, &mut strings);
            secrets.extend(strings.into_iter().filter(|s| s.len() >= 6));
        }
    }
    secrets
}

fn collect_strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

/// Checks a refusal: status, `{error, message}` JSON body with exactly these values, the
/// challenge (`None` = no `WWW-Authenticate`), and that neither body nor headers leak `secrets`.
pub fn assert_refusal(
    answer: &Answer,
    status: StatusCode,
    error: &str,
    message: &str,
    challenge: Option<&str>,
    secrets: &[String],
    case: &str,
) {
    assert_eq!(
        answer.status, status,
        "{case}: status (body {})",
        answer.body
    );
    assert!(
        answer
            .header("content-type")
            .is_some_and(|v| v.starts_with("application/json")),
        "{case}: error body is JSON, got {:?}",
        answer.header("content-type")
    );
    let body = answer.json();
    assert_eq!(
        body,
        json!({"error": error, "message": message}),
        "{case}: body"
    );
    assert_eq!(
        answer.header("www-authenticate"),
        challenge,
        "{case}: WWW-Authenticate"
    );
    assert_no_leak(answer, secrets, case);
}

/// Neither the body nor any header value of `answer` contains one of `secrets`.
pub fn assert_no_leak(answer: &Answer, secrets: &[String], case: &str) {
    for secret in secrets {
        assert!(
            !answer.body.contains(secret.as_str()),
            "{case}: the body echoes {secret:?}: {}",
            answer.body
        );
        for (name, value) in &answer.headers {
            let value = String::from_utf8_lossy(value.as_bytes());
            // A 403 challenge names the configured scopes: configuration, not the token.
            let value = match value.split_once(", scope=") {
                Some((before, _)) if name == "www-authenticate" => before.to_owned(),
                _ => value.into_owned(),
            };
            assert!(
                !value.contains(secret.as_str()),
                "{case}: header {name} echoes {secret:?}"
            );
        }
    }
}

/// The challenge of a 401 `invalid_token` with `reason`.
pub fn invalid_token_challenge(reason: &str) -> String {
    format!(r#"Bearer realm="randapi", error="invalid_token", error_description="{reason}""#)
}

/// Checks a 401 `invalid_token` refusal with `reason`, leaking nothing of `token` or `app`.
pub fn assert_invalid_token(answer: &Answer, reason: &str, token: &str, app: &TestApp, case: &str) {
    let mut secrets = secrets_of(token);
    secrets.push(app.jwks_url.clone());
    assert_refusal(
        answer,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        reason,
        Some(&invalid_token_challenge(reason)),
        &secrets,
        case,
    );
}

/// Checks a 503 for missing keys: `Retry-After` in whole seconds (at least 1), no challenge.
pub fn assert_keys_unavailable(answer: &Answer, token: &str, app: &TestApp, case: &str) {
    let mut secrets = secrets_of(token);
    secrets.push(app.jwks_url.clone());
    assert_refusal(
        answer,
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
        "signing keys are not available yet; try again",
        None,
        &secrets,
        case,
    );
    let retry_after: u64 = answer
        .header("retry-after")
        .unwrap_or_else(|| panic!("{case}: 503 without Retry-After"))
        .parse()
        .unwrap_or_else(|_| panic!("{case}: Retry-After is not a number of seconds"));
    assert!(retry_after >= 1, "{case}: Retry-After {retry_after}");
}

/// Checks a 200 with `{"randomNumber": n}`, `n` in 0..=100; returns `n`.
pub fn assert_random_number(answer: &Answer, case: &str) -> u64 {
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "{case}: body {}",
        answer.body
    );
    assert!(
        answer
            .header("content-type")
            .is_some_and(|v| v.starts_with("application/json")),
        "{case}: content-type {:?}",
        answer.header("content-type")
    );
    let body = answer.json();
    let object = body.as_object().expect("object body");
    assert_eq!(object.len(), 1, "{case}: only randomNumber in {body}");
    let n = body["randomNumber"]
        .as_u64()
        .unwrap_or_else(|| panic!("{case}: randomNumber is not an integer: {body}"));
    assert!(n <= 100, "{case}: {n} out of 0..=100");
    n
}

/// Polls `check` every 20 ms until it holds; fails after 10 s (a bound for hangs, not a speed
/// assertion).
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if check().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sleeps for `duration` (for cooldowns and TTLs to pass).
pub async fn pass(duration: Duration) {
    tokio::time::sleep(duration).await;
}
