//! The bearer token of a request: `Authorization` header parsing (RFC 6750 §2.1).

use axum::http::{HeaderMap, HeaderValue, header};

use super::error::AuthError;

/// The token of an `Authorization` header value.
///
/// Accepted: `Bearer <token>` with the scheme in any case (RFC 7235), and, as API Gateway's JWT
/// authorizer does, a bare JWT with no scheme (three dot-separated segments, no space).
///
/// # Errors
///
/// [`AuthError::MissingToken`] for another scheme; [`AuthError::InvalidRequest`] for `Bearer`
/// with no token, or with more than one.
pub(crate) fn token_from_header_value(value: &HeaderValue) -> Result<&str, AuthError> {
    let value = value
        .to_str()
        .map_err(|_| AuthError::InvalidRequest("malformed Authorization header"))?
        .trim_matches(|c| c == ' ' || c == '\t');
    let (scheme, rest) = match value.split_once([' ', '\t']) {
        Some((scheme, rest)) => (scheme, rest.trim_matches(|c| c == ' ' || c == '\t')),
        None => (value, ""),
    };
    if scheme.eq_ignore_ascii_case("bearer") {
        if rest.is_empty() {
            return Err(AuthError::InvalidRequest("bearer token missing"));
        }
        if rest.contains([' ', '\t']) {
            return Err(AuthError::InvalidRequest("more than one bearer token"));
        }
        return Ok(rest);
    }
    if rest.is_empty() && value.bytes().filter(|b| *b == b'.').count() == 2 {
        return Ok(value);
    }
    Err(AuthError::MissingToken)
}

/// The bearer token of a request's headers.
///
/// # Errors
///
/// As [`token_from_header_value`], plus [`AuthError::MissingToken`] without the header and
/// [`AuthError::InvalidRequest`] when it appears more than once (RFC 6750 §3.1).
pub(crate) fn bearer_token(headers: &HeaderMap) -> Result<&str, AuthError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    match (values.next(), values.next()) {
        (None, _) => Err(AuthError::MissingToken),
        (Some(_), Some(_)) => Err(AuthError::InvalidRequest(
            "more than one Authorization header",
        )),
        (Some(value), None) => token_from_header_value(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(value: &'static str) -> Result<&'static str, AuthError> {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static(value));
        let found = bearer_token(&headers)?.to_owned();
        // Hand back the same text as a slice of the static input, for easy comparisons.
        value
            .find(found.as_str())
            .map(|at| &value[at..at + found.len()])
            .ok_or(AuthError::MissingToken)
    }

    #[test]
    fn the_scheme_is_case_insensitive() {
        assert_eq!(token("Bearer a.b.c"), Ok("a.b.c"));
        assert_eq!(token("bearer a.b.c"), Ok("a.b.c"));
        assert_eq!(token("BEARER   a.b.c  "), Ok("a.b.c"));
    }

    #[test]
    fn a_bare_jwt_is_accepted_as_api_gateway_does() {
        assert_eq!(token("a.b.c"), Ok("a.b.c"));
    }

    #[test]
    fn other_schemes_are_missing_credentials() {
        assert_eq!(token("Basic dXNlcjpwYXNz"), Err(AuthError::MissingToken));
        assert_eq!(token("Token a.b.c"), Err(AuthError::MissingToken));
        assert_eq!(token("abc"), Err(AuthError::MissingToken));
        let headers = HeaderMap::new();
        assert_eq!(bearer_token(&headers), Err(AuthError::MissingToken));
    }

    #[test]
    fn malformed_bearer_headers_are_invalid_requests() {
        for value in ["Bearer", "Bearer   ", "bearer a.b.c d.e.f"] {
            assert!(
                matches!(token(value), Err(AuthError::InvalidRequest(_))),
                "{value} was not an invalid request"
            );
        }
        let mut headers = HeaderMap::new();
        headers.append(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer a.b.c"),
        );
        headers.append(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer a.b.c"),
        );
        assert!(matches!(
            bearer_token(&headers),
            Err(AuthError::InvalidRequest(_))
        ));
        let mut opaque = HeaderMap::new();
        opaque.insert(
            header::AUTHORIZATION,
            HeaderValue::from_bytes(b"Bearer \xff").expect("obs-text"),
        );
        assert!(matches!(
            bearer_token(&opaque),
            Err(AuthError::InvalidRequest(_))
        ));
    }
}
