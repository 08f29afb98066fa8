//! A small client of the Cognito Identity Provider JSON API: `InitiateAuth` and
//! `RespondToAuthChallenge`, the two calls a user signs in with. They take no AWS signature:
//! the app client id (and its secret hash) identify the caller.
//!
//! Protocol: `POST /` with `Content-Type: application/x-amz-json-1.1` and
//! `X-Amz-Target: AWSCognitoIdentityProviderService.<Operation>`; errors come back as a 4xx/5xx
//! with `{"__type": "<Exception>", "message": "..."}` (see the AWS API reference, "Common Errors").

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

/// Largest response body read (Cognito's answers are a few KiB).
const MAX_BODY: usize = 1024 * 1024;

/// The JSON content type of the AWS JSON 1.1 protocol.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The endpoint could not be reached or the answer not read.
    #[error("cannot reach {endpoint}: {source}")]
    Transport {
        /// The endpoint called.
        endpoint: String,
        /// The cause.
        source: reqwest::Error,
    },
    /// Cognito answered with an error.
    #[error("{code}: {message}")]
    Service {
        /// HTTP status.
        status: u16,
        /// The exception name, e.g. `NotAuthorizedException`.
        code: String,
        /// Cognito's message.
        message: String,
    },
    /// The answer is not what the API documents.
    #[error("unexpected answer from {endpoint}: {detail}")]
    Unexpected {
        /// The endpoint called.
        endpoint: String,
        /// What was wrong.
        detail: String,
    },
}

/// Body of `InitiateAuth`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InitiateAuth<'a> {
    /// `USER_SRP_AUTH`, `USER_PASSWORD_AUTH` or `REFRESH_TOKEN_AUTH`.
    pub auth_flow: &'a str,
    /// The app client id.
    pub client_id: &'a str,
    /// `USERNAME`, `PASSWORD`, `SRP_A`, `REFRESH_TOKEN`, `SECRET_HASH`, ...
    pub auth_parameters: HashMap<&'static str, String>,
}

/// Body of `RespondToAuthChallenge`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RespondToAuthChallenge<'a> {
    /// The app client id.
    pub client_id: &'a str,
    /// The challenge answered, e.g. `PASSWORD_VERIFIER`.
    pub challenge_name: &'a str,
    /// The answers.
    pub challenge_responses: HashMap<&'static str, String>,
    /// The session of the previous step, when Cognito sent one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
}

/// What `InitiateAuth` and `RespondToAuthChallenge` return: tokens or a further challenge.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AuthResponse {
    /// The next challenge, if any.
    pub challenge_name: Option<String>,
    /// Its session.
    pub session: Option<String>,
    /// Its parameters.
    #[serde(default)]
    pub challenge_parameters: HashMap<String, String>,
    /// The tokens, when signing in is done.
    pub authentication_result: Option<AuthenticationResult>,
}

/// The tokens.
#[derive(Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AuthenticationResult {
    /// The access token (what randapi accepts).
    pub access_token: String,
    /// The ID token.
    pub id_token: Option<String>,
    /// The refresh token (absent when refreshing).
    pub refresh_token: Option<String>,
    /// Lifetime of the access token in seconds.
    pub expires_in: Option<u64>,
    /// `Bearer`.
    pub token_type: Option<String>,
}

impl std::fmt::Debug for AuthenticationResult {
    // Tokens stay out of debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthenticationResult")
            .field("expires_in", &self.expires_in)
            .field("token_type", &self.token_type)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(rename = "__type")]
    kind: Option<String>,
    #[serde(alias = "Message")]
    message: Option<String>,
}

/// A Cognito Identity Provider endpoint.
#[derive(Debug, Clone)]
pub struct CognitoClient {
    http: reqwest::Client,
    endpoint: Url,
}

impl CognitoClient {
    /// A client of `endpoint` (e.g. `https://cognito-idp.eu-west-1.amazonaws.com/`).
    ///
    /// # Errors
    ///
    /// When the HTTP client cannot be built.
    pub fn new(endpoint: Url) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("randapi-token/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { http, endpoint })
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    /// `InitiateAuth`.
    ///
    /// # Errors
    ///
    /// See [`CallError`].
    pub async fn initiate_auth(&self, body: &InitiateAuth<'_>) -> Result<AuthResponse, CallError> {
        self.call("InitiateAuth", body).await
    }

    /// `RespondToAuthChallenge`.
    ///
    /// # Errors
    ///
    /// See [`CallError`].
    pub async fn respond_to_auth_challenge(
        &self,
        body: &RespondToAuthChallenge<'_>,
    ) -> Result<AuthResponse, CallError> {
        self.call("RespondToAuthChallenge", body).await
    }

    async fn call(
        &self,
        operation: &str,
        body: &impl Serialize,
    ) -> Result<AuthResponse, CallError> {
        let endpoint = self.endpoint.to_string();
        let transport = |source| CallError::Transport {
            endpoint: endpoint.clone(),
            source,
        };
        let body = serde_json::to_vec(body).map_err(|e| CallError::Unexpected {
            endpoint: endpoint.clone(),
            detail: format!("cannot encode the request: {e}"),
        })?;
        let mut response = self
            .http
            .post(self.endpoint.clone())
            .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE)
            .header(
                "X-Amz-Target",
                format!("AWSCognitoIdentityProviderService.{operation}"),
            )
            .body(body)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        let error_type = response
            .headers()
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if bytes.len() + chunk.len() > MAX_BODY {
                return Err(CallError::Unexpected {
                    endpoint,
                    detail: format!("the answer is larger than {MAX_BODY} bytes"),
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| CallError::Unexpected {
                endpoint,
                detail: format!(
                    "{operation} answered {status} with a body that is not its JSON: {e}"
                ),
            });
        }
        let parsed: Option<ErrorBody> = serde_json::from_slice(&bytes).ok();
        let code = parsed
            .as_ref()
            .and_then(|b| b.kind.clone())
            .or(error_type)
            .map(|kind| exception_name(&kind).to_owned());
        match code {
            Some(code) => Err(CallError::Service {
                status: status.as_u16(),
                code,
                message: parsed.and_then(|b| b.message).unwrap_or_default(),
            }),
            None => Err(CallError::Unexpected {
                endpoint,
                detail: format!(
                    "{operation} answered {status} without an AWS error (is --endpoint-url a Cognito endpoint?)"
                ),
            }),
        }
    }
}

/// `com.amazonaws...#NotAuthorizedException:http://...` → `NotAuthorizedException`.
fn exception_name(kind: &str) -> &str {
    let kind = kind.rsplit_once('#').map_or(kind, |(_, name)| name);
    kind.split_once(':').map_or(kind, |(name, _)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exception_names_lose_their_namespace_and_suffix() {
        assert_eq!(
            exception_name("NotAuthorizedException"),
            "NotAuthorizedException"
        );
        assert_eq!(
            exception_name("com.amazonaws.cognito.identity.idp.model#UserNotConfirmedException"),
            "UserNotConfirmedException"
        );
        assert_eq!(
            exception_name("ResourceNotFoundException:http://internal.amazon.com/"),
            "ResourceNotFoundException"
        );
    }

    #[test]
    fn requests_are_the_documented_json() {
        let body = InitiateAuth {
            auth_flow: "USER_PASSWORD_AUTH",
            client_id: "c",
            auth_parameters: HashMap::from([("USERNAME", "u".to_owned())]),
        };
        assert_eq!(
            serde_json::to_value(&body).expect("json"),
            serde_json::json!({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": "c", "AuthParameters": {"USERNAME": "u"}})
        );
        let body = RespondToAuthChallenge {
            client_id: "c",
            challenge_name: "NEW_PASSWORD_REQUIRED",
            challenge_responses: HashMap::new(),
            session: None,
        };
        assert_eq!(
            serde_json::to_value(&body).expect("json"),
            serde_json::json!({"ClientId": "c", "ChallengeName": "NEW_PASSWORD_REQUIRED", "ChallengeResponses": {}})
        );
    }

    #[test]
    fn answers_parse_with_or_without_tokens() {
        let challenge: AuthResponse = serde_json::from_str(
            r#"{"ChallengeName":"PASSWORD_VERIFIER","ChallengeParameters":{"SRP_B":"ab"},"Session":"s"}"#,
        )
        .expect("parses");
        assert_eq!(
            challenge.challenge_name.as_deref(),
            Some("PASSWORD_VERIFIER")
        );
        assert!(challenge.authentication_result.is_none());
        let tokens: AuthResponse = serde_json::from_str(
            r#"{"AuthenticationResult":{"AccessToken":"a","IdToken":"i","ExpiresIn":3600,"TokenType":"Bearer"},"ChallengeParameters":{}}"#,
        )
        .expect("parses");
        let result = tokens.authentication_result.expect("tokens");
        assert_eq!(result.access_token, "a");
        assert_eq!(result.refresh_token, None);
        assert!(!format!("{result:?}").contains("\"a\""));
    }
}
