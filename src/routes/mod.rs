//! The HTTP surface: routes and the layers every request passes.

mod access_log;
mod dev;
mod error;
mod health;
mod host;
mod middleware;
mod openapi;
mod random_number;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::routing::get;
use cognito_auth::{Authenticator, CognitoAuthLayer};
use hyper::body::Incoming;
use tower::ServiceBuilder;
use tower::layer::layer_fn;
use tower_http::cors::{AllowHeaders, AllowOrigin, Cors, CorsLayer};
use tower_http::map_request_body::{MapRequestBody, MapRequestBodyLayer};
use tower_http::set_header::{SetResponseHeader, SetResponseHeaderLayer};

use crate::config::CorsOrigins;
use crate::dev::DevIssuer;
use crate::metrics::Metrics;

use access_log::LogRequest;
use health::health;
use host::RequireValidHost;
use middleware::{LimitHeaderSize, LimitRequestTime};
use openapi::openapi_json;
use random_number::random_number;

pub use error::ApiError;
pub(crate) use middleware::MAX_HEADER_BYTES;
pub use random_number::draw;

/// What the router needs.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Token checks for protected routes.
    pub auth: Arc<Authenticator>,
    /// The local issuer, in `--dev` mode only.
    pub dev: Option<Arc<DevIssuer>>,
    /// Allowed browser origins.
    pub cors: CorsOrigins,
    /// Request headers allowed across origins besides `authorization` and `content-type`.
    pub cors_headers: Vec<HeaderName>,
    /// Upper bound on one request.
    pub request_timeout: Duration,
    /// Where each answer is counted.
    pub metrics: Arc<Metrics>,
}

/// Path of the `--dev` JWKS.
pub const DEV_JWKS_PATH: &str = "/dev/.well-known/jwks.json";
/// Path that hands out `--dev` tokens.
pub const DEV_TOKEN_PATH: &str = "/dev/token";

fn cors(origins: &CorsOrigins, headers: &[HeaderName]) -> CorsLayer {
    let allow_origin = match origins {
        CorsOrigins::Any => AllowOrigin::any(),
        CorsOrigins::List(list) => {
            AllowOrigin::list(list.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
        }
    };
    // `authorization` is listed by name: the Fetch standard does not let `*` cover it.
    CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods([Method::GET, Method::HEAD, Method::OPTIONS])
        .allow_headers(AllowHeaders::list(
            [header::AUTHORIZATION, header::CONTENT_TYPE]
                .into_iter()
                .chain(headers.to_vec()),
        ))
        .expose_headers([header::WWW_AUTHENTICATE, header::RETRY_AFTER])
        .max_age(Duration::from_secs(600))
}

async fn not_found() -> ApiError {
    ApiError::NOT_FOUND
}

async fn method_not_allowed() -> ApiError {
    // axum adds the `Allow` header of the route.
    ApiError::METHOD_NOT_ALLOWED
}

/// The routes: `GET /` (and `GET /random`) behind the Cognito layer, `GET /health` open, and in
/// `--dev` mode the local issuer's JWKS and token routes. [`app`] puts the request-wide layers
/// around it.
fn router(state: &AppState) -> Router {
    // The 405 of `/` is inside the Cognito layer, so a request without a valid token gets 401
    // whatever its method.
    let protected = Router::new()
        .route("/", get(random_number))
        // The same handler where API Gateway's `OPTIONS /{proxy+}` route catches the preflight.
        .route("/random", get(random_number))
        .method_not_allowed_fallback(method_not_allowed)
        .route_layer(CognitoAuthLayer::new(state.auth.clone()));
    let mut open = Router::new()
        .route("/health", get(health))
        .route("/openapi.json", get(openapi_json));
    if let Some(issuer) = state.dev.clone() {
        open = open.merge(dev::router(issuer));
    }
    protected
        .merge(open.method_not_allowed_fallback(method_not_allowed))
        .fallback(not_found)
}

/// The whole HTTP service, as the serve loop runs it: the routes inside the request-wide
/// layers, outermost first.
pub type App = MapRequestBody<
    SetResponseHeader<
        LogRequest<RequireValidHost<Cors<LimitHeaderSize<LimitRequestTime<Router>>>>>,
        HeaderValue,
    >,
    fn(Incoming) -> Body,
>;

/// The application: [`router`] inside the layers every request passes. They wrap the router once,
/// not through `Router::layer`, which wraps each route's boxed service again and so costs a box
/// and a clone per layer on every request.
pub fn app(state: AppState) -> App {
    let cors = cors(&state.cors, &state.cors_headers);
    let host_cors = Arc::new(cors.clone());
    ServiceBuilder::new()
        // The layers below take axum's `Body`, as the router does; hyper hands over `Incoming`.
        .layer(MapRequestBodyLayer::new(Body::new as fn(Incoming) -> Body))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("x-content-type-options"),
            HeaderValue::from_static("nosniff"),
        ))
        .layer(layer_fn(|inner| {
            LogRequest::new(inner, state.metrics.clone())
        }))
        .layer(layer_fn(|inner| {
            RequireValidHost::new(inner, host_cors.clone())
        }))
        // Outside the header limit so a browser can read the 431 too.
        .layer(cors)
        .layer(layer_fn(LimitHeaderSize::new))
        .layer(layer_fn(|inner| {
            LimitRequestTime::new(inner, state.request_timeout)
        }))
        .service(router(&state))
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::response::IntoResponse as _;
    use tower::{Layer as _, ServiceExt as _};

    use super::*;

    // What a browser's preflight learns: the fixed two headers, then the configured ones.
    async fn allowed_headers(extra: &[HeaderName]) -> String {
        let preflight = Request::options("/")
            .header(header::ORIGIN, "https://app.example.com")
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
            .header(
                header::ACCESS_CONTROL_REQUEST_HEADERS,
                "authorization,traceparent",
            )
            .body(Body::empty())
            .expect("request");
        let inner = tower::service_fn(|_: Request<Body>| async {
            Ok::<_, Infallible>(StatusCode::NO_CONTENT.into_response())
        });
        let answer = cors(&CorsOrigins::Any, extra)
            .layer(inner)
            .oneshot(preflight)
            .await
            .expect("answered");
        let allowed = answer.headers().get(header::ACCESS_CONTROL_ALLOW_HEADERS);
        allowed
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }

    #[tokio::test]
    async fn the_preflight_allows_the_configured_headers_after_the_fixed_two() {
        assert_eq!(allowed_headers(&[]).await, "authorization,content-type");
        let extra = [HeaderName::from_static("traceparent")];
        assert_eq!(
            allowed_headers(&extra).await,
            "authorization,content-type,traceparent"
        );
    }
}
