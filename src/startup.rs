//! Start-up: bind, build the key cache and the router, serve until a signal.

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use graceful_serve::{ConnectionStats, Server, Stop, fd_limit};
use tokio::sync::mpsc;
use url::Url;

use cognito_auth::{Authenticator, BuildError, JwksCache, UserPool};

use crate::config::{Config, KeySource};
use crate::dev::{DEV_TOKEN_LIFETIME, DevIssuer};
use crate::metrics::Metrics;
use crate::routes::{AppState, DEV_JWKS_PATH, DEV_TOKEN_PATH, MAX_HEADER_BYTES, app};

/// hyper's read buffer: a request head up to [`MAX_HEADER_BYTES`] plus its request line and
/// line ends fits, so the router can answer an oversized head with its JSON 431; anything
/// larger gets hyper's bare 431. This bounds the memory of an unfinished head.
const READ_BUFFER_BYTES: usize = MAX_HEADER_BYTES + 1024;

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The listen address is taken or not ours (`HOST`/`PORT`).
    #[error("cannot listen on {addr} (check HOST and PORT): {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: io::Error,
    },
    /// The authenticator could not be built (the JWKS HTTP client, or the pools).
    #[error("cannot build the authenticator: {0}")]
    Auth(#[from] BuildError),
    /// `--dev` could not make its key.
    #[error("cannot make the development signing key")]
    DevKey,
    /// Serving failed.
    #[error("server error: {0}")]
    Serve(#[from] io::Error),
}

/// A bound, ready server.
pub struct Application {
    server: Server,
    addr: SocketAddr,
    listen_backlog: u32,
    app: crate::routes::App,
    auth: Arc<Authenticator>,
    metrics: Arc<Metrics>,
    metrics_interval: Option<std::time::Duration>,
    dev: Option<Arc<DevIssuer>>,
}

/// The `User-Agent` of randapi's JWKS requests (some WAFs block requests without one).
pub const USER_AGENT: &str = concat!("randapi/", env!("CARGO_PKG_VERSION"), " (jwks-fetch)");

/// An address this process can reach its own listener on.
fn loopback_for(addr: SocketAddr) -> SocketAddr {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, addr.port())
}

impl Application {
    /// Binds the listener (port 0 picks a free port) and builds everything the server needs.
    /// Keys are not fetched here: [`Application::run_until`] starts that in the background, so the
    /// server listens at once.
    ///
    /// # Errors
    ///
    /// See [`StartError`].
    pub async fn build(config: Config) -> Result<Self, StartError> {
        let wanted = SocketAddr::new(config.host, config.port);
        let listen_backlog = graceful_serve::listen_backlog();
        let listener =
            graceful_serve::bind(wanted, listen_backlog).map_err(|source| StartError::Bind {
                addr: wanted,
                source,
            })?;
        let addr = listener.local_addr()?;
        let server = Server::new(
            listener,
            config
                .connections
                .settings(READ_BUFFER_BYTES, default_max_connections),
        );

        let (issuer, jwks_url, dev) = match &config.keys {
            KeySource::Cognito { issuer, jwks_url } => (issuer.clone(), jwks_url.clone(), None),
            // The embedded issuer is named after the address just bound, and its keys are
            // fetched from this process over HTTP, through the same cache as Cognito's.
            KeySource::Dev => {
                let base = format!("http://{}", loopback_for(addr));
                let issuer = format!("{base}/dev");
                let jwks_url = Url::parse(&format!("{base}{DEV_JWKS_PATH}"))
                    .map_err(|_| StartError::DevKey)?;
                let client_id = config.client_ids.first().cloned().unwrap_or_default();
                let dev =
                    DevIssuer::new(issuer.clone(), client_id).map_err(|_| StartError::DevKey)?;
                (issuer, jwks_url, Some(Arc::new(dev)))
            }
        };
        let first = UserPool {
            issuer,
            jwks_url,
            client_ids: config.client_ids.clone(),
        };
        let metrics = Arc::new(Metrics::default());
        let auth = Arc::new(
            Authenticator::builder(std::iter::once(first).chain(config.extra_pools.clone()))
                .policy(config.policy.clone())
                .jwks(config.jwks.clone())
                .token_cache_bytes(config.token_cache_max_bytes)
                .observer(metrics.clone())
                .realm("randapi")
                .user_agent(USER_AGENT)
                .build()?,
        );
        let app = app(AppState {
            auth: auth.clone(),
            dev: dev.clone(),
            cors: config.cors.clone(),
            cors_headers: config.cors_headers.clone(),
            request_timeout: config.request_timeout,
            metrics: metrics.clone(),
        });
        Ok(Self {
            server,
            addr,
            listen_backlog,
            app,
            auth,
            metrics,
            metrics_interval: config.metrics_interval,
            dev,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The key cache of the first pool (tests count its fetches).
    pub fn jwks(&self) -> &JwksCache {
        &self.auth.jwks()[0]
    }

    /// The open-connection count and the cap, for an "open connections" gauge. Clone it before
    /// running the server; it stays current while the server runs.
    pub fn connection_stats(&self) -> ConnectionStats {
        self.server.stats()
    }

    /// Serves until SIGTERM or SIGINT, then shuts down: after SIGTERM it keeps serving for the
    /// shutdown delay; SIGINT skips the delay.
    ///
    /// # Errors
    ///
    /// When the signal handlers cannot be installed, or serving fails.
    pub async fn run_until_stopped(self) -> Result<(), StartError> {
        let stops = graceful_serve::os_signals()?;
        self.run(stops).await
    }

    /// Serves until `signal` completes, then shuts down without the delay: stops accepting,
    /// closes idle connections, lets requests in flight finish (up to the shutdown grace).
    ///
    /// # Errors
    ///
    /// When serving fails.
    pub async fn run_until(
        self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartError> {
        self.run(graceful_serve::when(signal)).await
    }

    /// Serves until a stop arrives on `stops` ([`Stop::Drain`] for SIGTERM's behaviour,
    /// [`Stop::Now`] for SIGINT's).
    ///
    /// # Errors
    ///
    /// When serving fails.
    pub async fn run(self, stops: mpsc::UnboundedReceiver<Stop>) -> Result<(), StartError> {
        // The keys are warmed at once, in the background so the server listens meanwhile (a
        // request that comes first waits for the same fetch); then kept fresh.
        let keys = self.auth.clone();
        let refresher = tokio::spawn(async move {
            if let Err(error) = keys.hydrate().await {
                tracing::warn!(%error, "jwks: no keys at start; retrying after the cooldown");
            }
            keys.run_refresher().await;
        });
        let sweeper = tokio::spawn(self.auth.clone().run_sweeper());
        let connections = self.server.stats();
        self.metrics
            .report_open_connections(move || connections.open());
        let metrics = self.metrics_interval.map(|every| {
            tokio::spawn(crate::metrics::run(
                every,
                self.metrics.clone(),
                self.auth.clone(),
            ))
        });
        // Configuration, not a secret: logged once at start, never per request.
        let jwks_urls: Vec<&str> = self.auth.jwks().iter().map(|c| c.url().as_str()).collect();
        tracing::info!(
            addr = %self.addr,
            jwks_url = %jwks_urls.join(" "),
            max_connections = self.server.stats().max(),
            listen_backlog = self.listen_backlog,
            "listening"
        );
        if let Some(dev) = &self.dev {
            self.announce_dev(dev);
        }
        let outcome = self.server.run(self.app, stops).await;
        refresher.abort();
        sweeper.abort();
        if let Some(metrics) = metrics {
            metrics.abort();
        }
        tracing::info!("stopped");
        outcome.map_err(StartError::from)
    }

    fn announce_dev(&self, dev: &DevIssuer) {
        let base = format!("http://{}", loopback_for(self.addr));
        tracing::warn!(
            issuer = dev.issuer(),
            "DEVELOPMENT MODE: tokens come from an embedded issuer, not Cognito. Never use --dev in production."
        );
        match dev.access_token(DEV_TOKEN_LIFETIME) {
            Ok(token) => eprintln!(
                "\n  randapi is running in DEVELOPMENT MODE (--dev): an embedded issuer signs tokens; not for production.\n\n  Try it (this token is valid for {} minutes; get a fresh one from {base}{DEV_TOKEN_PATH}):\n\n  curl -H 'Authorization: Bearer {token}' {base}/\n",
                DEV_TOKEN_LIFETIME.as_secs() / 60
            ),
            Err(_) => tracing::error!("could not sign a development token"),
        }
    }
}

/// The connection cap when `MAX_CONNECTIONS` is not set: raises the soft open-file limit to the
/// hard one, logs both, and keeps a reserve for everything that is not a client connection.
fn default_max_connections() -> usize {
    match fd_limit::raise_to_hard_limit() {
        Ok(limit) => {
            let max = fd_limit::default_max_connections(limit.soft);
            tracing::info!(
                soft_limit_before = limit.soft_before,
                soft_limit = limit.soft,
                hard_limit = limit.hard,
                max_connections = max,
                "open-file limit"
            );
            max
        }
        Err(error) => {
            let max = fd_limit::default_max_connections(1024);
            tracing::warn!(%error, max_connections = max, "cannot read the open-file limit; assuming 1024");
            max
        }
    }
}
