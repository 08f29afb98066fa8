//! The `Host` header rule of HTTP/1.1 (RFC 9112 §3.2): a request with no `Host`, more than one,
//! or one that is not a valid `host[:port]` gets `400 invalid_request`.

use std::convert::Infallible;
use std::net::Ipv6Addr;

use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Version, header};
use axum::response::{IntoResponse, Response};
use futures_util::future::{BoxFuture, Either};
use tower::{Layer as _, Service, ServiceExt};
use tower_http::cors::CorsLayer;

use super::ApiError;

/// Why the `Host` of a request is refused, or `None` when it is fine.
pub fn host_problem(version: Version, headers: &HeaderMap) -> Option<&'static str> {
    let mut hosts = headers.get_all(header::HOST).iter();
    match (hosts.next(), hosts.next()) {
        // HTTP/1.0 did not require it.
        (None, _) if version >= Version::HTTP_11 => Some("the request has no Host header"),
        (None, _) => None,
        (Some(_), Some(_)) => Some("the request has more than one Host header"),
        (Some(host), None) if !is_valid_host(host.as_bytes()) => {
            Some("the Host header is not a valid host[:port]")
        }
        (Some(_), None) => None,
    }
}

/// `uri-host [ ":" port ]` of RFC 3986 (IP literal, IPv4 address or registered name; the port
/// at most 65535). An empty name is valid: RFC 9112 asks for an empty `Host` when the target
/// has no authority.
pub fn is_valid_host(value: &[u8]) -> bool {
    let (host_ok, port) = if let Some(rest) = value.strip_prefix(b"[") {
        let Some(end) = rest.iter().position(|b| *b == b']') else {
            return false;
        };
        let port = match &rest[end + 1..] {
            [] => None,
            [b':', port @ ..] => Some(port),
            _ => return false,
        };
        (is_ip_literal(&rest[..end]), port)
    } else {
        let (name, port) = match value.iter().rposition(|b| *b == b':') {
            Some(colon) => (&value[..colon], Some(&value[colon + 1..])),
            None => (value, None),
        };
        (is_reg_name(name), port)
    };
    host_ok && port.is_none_or(is_port)
}

fn is_port(port: &[u8]) -> bool {
    port.iter().all(u8::is_ascii_digit)
        && (port.is_empty() || std::str::from_utf8(port).is_ok_and(|p| p.parse::<u16>().is_ok()))
}

fn is_unreserved_or_sub_delim(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=".contains(&b)
}

fn is_reg_name(name: &[u8]) -> bool {
    let mut i = 0;
    while i < name.len() {
        match name[i] {
            b'%' => {
                let hex = name.get(i + 1..i + 3);
                if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                    return false;
                }
                i += 3;
            }
            b if is_unreserved_or_sub_delim(b) => i += 1,
            _ => return false,
        }
    }
    true
}

fn is_ip_literal(inside: &[u8]) -> bool {
    if let Some(future) = inside
        .strip_prefix(b"v")
        .or_else(|| inside.strip_prefix(b"V"))
    {
        // IPvFuture: "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )
        let Some(dot) = future.iter().position(|b| *b == b'.') else {
            return false;
        };
        let (version, address) = (&future[..dot], &future[dot + 1..]);
        return !version.is_empty()
            && version.iter().all(u8::is_ascii_hexdigit)
            && !address.is_empty()
            && address
                .iter()
                .all(|b| *b == b':' || is_unreserved_or_sub_delim(*b));
    }
    std::str::from_utf8(inside).is_ok_and(|text| text.parse::<Ipv6Addr>().is_ok())
}

/// Answers `400 invalid_request` to a request whose `Host` breaks the rule; passes the others
/// on. It sits outside the CORS layer so that a preflight is checked too, and sends its refusal
/// through the same CORS policy, as a simple answer, so a browser can read it. A plain tower
/// layer rather than `from_fn`: the requests that pass cost a header check and nothing else.
#[derive(Debug, Clone)]
pub struct RequireValidHost<S> {
    inner: S,
    cors: Arc<CorsLayer>,
}

impl<S> RequireValidHost<S> {
    /// `inner` behind the rule; refusals get the CORS headers of `cors`.
    pub fn new(inner: S, cors: Arc<CorsLayer>) -> Self {
        Self { inner, cors }
    }
}

impl<S> Service<Request> for RequireValidHost<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<S::Future, BoxFuture<'static, Result<Response, Infallible>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        match host_problem(request.version(), request.headers()) {
            None => Either::Left(self.inner.call(request)),
            Some(message) => {
                let origin = request.headers().get(header::ORIGIN).cloned();
                Either::Right(Box::pin(refuse(self.cors.clone(), origin, message)))
            }
        }
    }
}

async fn refuse(
    cors: Arc<CorsLayer>,
    origin: Option<HeaderValue>,
    message: &'static str,
) -> Result<Response, Infallible> {
    let mut probe = Request::new(Body::empty());
    if let Some(origin) = origin {
        probe.headers_mut().insert(header::ORIGIN, origin);
    }
    let refuse = tower::service_fn(move |_: Request| async move {
        Ok::<_, Infallible>(ApiError::invalid_request(message).into_response())
    });
    cors.layer(refuse).oneshot(probe).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_follow_rfc_3986() {
        for valid in [
            "example.com",
            "example.com:443",
            "127.0.0.1:3001",
            "[::1]",
            "[::1]:8080",
            "[v1.fe80::a+en1]",
            "xn--bcher-kva.example",
            "a%20b",
            "",
            "example.com:",
            "localhost:65535",
        ] {
            assert!(is_valid_host(valid.as_bytes()), "{valid:?} is valid");
        }
        for invalid in [
            "a b",
            "a/b",
            "user@example.com",
            "example.com:http",
            "example.com:65536",
            "example.com:1:2",
            "[::1",
            "[::1]x",
            "[not-ip]",
            "[::1]:x",
            "a%2",
            "a%zz",
            "exa\tmple.com",
            "é.example",
        ] {
            assert!(!is_valid_host(invalid.as_bytes()), "{invalid:?} is invalid");
        }
    }

    #[test]
    fn http_1_1_needs_exactly_one_host() {
        let mut headers = HeaderMap::new();
        assert!(host_problem(Version::HTTP_11, &headers).is_some());
        assert!(host_problem(Version::HTTP_10, &headers).is_none());
        headers.append(header::HOST, HeaderValue::from_static("example.com"));
        assert!(host_problem(Version::HTTP_11, &headers).is_none());
        headers.append(header::HOST, HeaderValue::from_static("example.com"));
        assert!(host_problem(Version::HTTP_11, &headers).is_some());
        assert!(host_problem(Version::HTTP_10, &headers).is_some());
    }
}
