//! The verified claims handed to handlers, and their extractor.

use std::sync::Arc;

use serde::Serialize;

/// What a verified Cognito access token says. The layer puts it in the request's extensions (as
/// [`VerifiedClaims`]); with the `axum` feature handlers take it as an extractor:
///
/// ```
/// # #[cfg(feature = "axum")] {
/// use cognito_auth::AccessTokenClaims;
///
/// async fn whoami(claims: AccessTokenClaims) -> String {
///     claims.sub
/// }
/// # }
/// ```
///
/// On a route without the auth layer the extractor refuses the request (401): it fails closed.
/// `Option<AccessTokenClaims>` is `None` there instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessTokenClaims {
    /// The user (or, for client-credentials tokens, the app client).
    pub sub: String,
    /// The user name; absent in machine-to-machine tokens.
    pub username: Option<String>,
    /// The app client the token was issued to.
    pub client_id: String,
    /// `scope`, split on spaces (U+0020 only, see [`split_scopes`]).
    pub scopes: Vec<String>,
    /// `cognito:groups`.
    pub groups: Vec<String>,
    /// Expiry, Unix seconds.
    pub exp: u64,
    /// Issue time, Unix seconds.
    pub iat: Option<u64>,
    /// Token id.
    pub jti: Option<String>,
}

/// The scope names of a space-separated list: a token's `scope` claim or the configured
/// required scopes (`None`, an absent list, has none).
///
/// RFC 6749 §3.3 separates scope tokens with U+0020 alone, so only that splits: a tab, a newline,
/// a no-break space or any other Unicode space is part of a name (and then matches no configured
/// scope). Empty names (from runs of spaces) are dropped.
pub fn split_scopes(list: Option<&str>) -> Vec<String> {
    list.unwrap_or_default()
        .split(' ')
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The claims as the auth layer stores them in request extensions: shared, so taking them as an
/// extractor copies nothing (`AccessTokenClaims` as an extractor copies the strings).
#[derive(Debug, Clone)]
pub struct VerifiedClaims(pub Arc<AccessTokenClaims>);

impl std::ops::Deref for VerifiedClaims {
    type Target = AccessTokenClaims;

    fn deref(&self) -> &AccessTokenClaims {
        &self.0
    }
}

/// The extractors, through axum-core: a route without the layer refuses (401), so a handler that
/// takes the claims fails closed.
#[cfg(feature = "axum")]
mod extract {
    use std::convert::Infallible;

    use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
    use http::request::Parts;

    use super::{AccessTokenClaims, VerifiedClaims};
    use crate::error::AuthError;

    /// The claims the layer left in the request, if it ran.
    fn verified(parts: &Parts) -> Option<&VerifiedClaims> {
        parts.extensions.get::<VerifiedClaims>()
    }

    impl<S: Send + Sync> FromRequestParts<S> for VerifiedClaims {
        type Rejection = AuthError;

        async fn from_request_parts(
            parts: &mut Parts,
            _state: &S,
        ) -> Result<Self, Self::Rejection> {
            verified(parts).cloned().ok_or(AuthError::MissingToken)
        }
    }

    impl<S: Send + Sync> FromRequestParts<S> for AccessTokenClaims {
        type Rejection = AuthError;

        async fn from_request_parts(
            parts: &mut Parts,
            _state: &S,
        ) -> Result<Self, Self::Rejection> {
            let claims = verified(parts).ok_or(AuthError::MissingToken)?;
            Ok(claims.0.as_ref().clone())
        }
    }

    impl<S: Send + Sync> OptionalFromRequestParts<S> for AccessTokenClaims {
        type Rejection = Infallible;

        async fn from_request_parts(
            parts: &mut Parts,
            _state: &S,
        ) -> Result<Option<Self>, Self::Rejection> {
            Ok(verified(parts).map(|claims| claims.0.as_ref().clone()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::split_scopes;

    #[test]
    fn scopes_split_on_u0020_only() {
        assert_eq!(
            split_scopes(Some("openid  api/read ")),
            ["openid", "api/read"]
        );
        assert!(split_scopes(None).is_empty());
        assert!(split_scopes(Some("")).is_empty());
        assert!(split_scopes(Some("   ")).is_empty());
        for separator in ["\t", "\n", "\r", "\u{a0}", "\u{3000}", "\u{2028}", "\u{85}"] {
            let list = format!("openid{separator}api/read");
            assert_eq!(
                split_scopes(Some(&list)),
                vec![list.clone()],
                "{separator:?}"
            );
        }
    }
}
