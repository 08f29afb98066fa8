//! The bearer token of a request: `Authorization` header parsing (RFC 6750 §2.1).

use http::{HeaderMap, HeaderValue, header};

use crate::error::AuthError;

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
    // The value is about a kilobyte on every request, so it is read a few times as bytes with
    // loops the compiler vectorises, rather than char by char through `&str` methods (which
    // cost more than the SHA-256 of the token did). The rules are those of `HeaderValue::to_str`
    // (visible ASCII and tab) and of the scheme split.
    let bytes = value.as_bytes();
    if !bytes
        .iter()
        .fold(true, |ok, &b| ok & (is_visible(b) | is_blank(b)))
    {
        return Err(AuthError::InvalidRequest("malformed Authorization header"));
    }
    let value = trim_blanks(bytes);
    let (scheme, rest) = match value.iter().position(|&b| is_blank(b)) {
        Some(at) => (&value[..at], trim_blanks(&value[at + 1..])),
        None => (value, &value[value.len()..]),
    };
    let token = if scheme.eq_ignore_ascii_case(b"bearer") {
        if rest.is_empty() {
            return Err(AuthError::InvalidRequest("bearer token missing"));
        }
        if !rest.iter().fold(true, |ok, &b| ok & is_visible(b)) {
            return Err(AuthError::InvalidRequest("more than one bearer token"));
        }
        rest
    } else if rest.is_empty() && value.iter().filter(|&&b| b == b'.').count() == 2 {
        value
    } else {
        return Err(AuthError::MissingToken);
    };
    // Visible ASCII only (checked above), so this never fails.
    std::str::from_utf8(token)
        .map_err(|_| AuthError::InvalidRequest("malformed Authorization header"))
}

/// A visible ASCII character: no space, tab, control or non-ASCII byte.
fn is_visible(b: u8) -> bool {
    b.wrapping_sub(0x21) < 0x5e
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// `bytes` without the spaces and tabs around it.
fn trim_blanks(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&b| !is_blank(b))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&b| !is_blank(b))
        .map_or(start, |at| at + 1);
    &bytes[start..end.max(start)]
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

    /// The parser before it worked on bytes: `to_str`, then `&str` methods. Kept as the oracle.
    fn reference(value: &HeaderValue) -> Result<&str, AuthError> {
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

    #[test]
    fn the_byte_parser_agrees_with_the_str_parser() {
        let pieces: [&[u8]; 14] = [
            b" ",
            b"\t",
            b"Bearer",
            b"bEaReR",
            b"Basic",
            b"a.b.c",
            b"a.b",
            b".",
            b"x",
            b"\x7f",
            b"\x01",
            b"\xff",
            b"\xc3\xa9",
            b"~+/=",
        ];
        let mut checked = 0;
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    for d in pieces {
                        let bytes = [a, b, c, d].concat();
                        let Ok(value) = HeaderValue::from_bytes(&bytes) else {
                            continue;
                        };
                        assert_eq!(
                            token_from_header_value(&value),
                            reference(&value),
                            "{bytes:?}"
                        );
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 20_000, "only {checked} values were compared");
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
