//! `randapi token`: signs a user in to a Cognito user pool and prints an access token.
//!
//! One command instead of the tutorial's `aws cognito-idp` sequence. It speaks the Cognito
//! Identity Provider API itself ([`client`]): `USER_SRP_AUTH` by default ([`srp`]; the only
//! password flow Amplify's default web client allows), `USER_PASSWORD_AUTH` with
//! `--flow password`, `REFRESH_TOKEN_AUTH` with `--refresh-token`; it answers
//! `NEW_PASSWORD_REQUIRED` and adds `SECRET_HASH` for app clients with a secret. It needs none of
//! the server's settings.

mod args;
pub mod client;
mod hints;
mod sign_in;
pub mod srp;

use std::io::Write as _;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::exit::{EXIT_FAILED, EXIT_USAGE};
pub use args::{Flow, TokenArgs};
use client::{AuthenticationResult, CallError};
pub use sign_in::{NoPrompt, Prompt, TerminalPrompt, get_tokens};

/// Why `randapi token` failed; the message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// A flag is missing or wrong.
    #[error("{0}")]
    Usage(String),
    /// Cognito refused, with a hint when the cause is known.
    #[error("Cognito refused: {code}: {message}{}", hint.as_deref().map(|h| format!("\n  hint: {h}")).unwrap_or_default())]
    Refused {
        /// The exception name.
        code: String,
        /// Cognito's message.
        message: String,
        /// What to do about it.
        hint: Option<String>,
    },
    /// Cognito could not be reached or answered something unexpected.
    #[error("{0}")]
    Call(CallError),
    /// Cognito asked for a challenge this command does not answer.
    #[error(
        "Cognito asks for the {0} challenge, which randapi token does not answer (MFA and custom challenges); finish the sign-in with the aws CLI (aws cognito-idp respond-to-auth-challenge) or an Amplify client"
    )]
    Challenge(String),
    /// The SRP computation failed.
    #[error("SRP sign-in failed: {0}")]
    Srp(#[from] srp::SrpError),
}

impl TokenError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            TokenError::Usage(_) => EXIT_USAGE,
            _ => EXIT_FAILED,
        }
    }
}

/// What a successful sign-in prints with `--json`.
#[derive(Debug, serde::Serialize)]
pub struct TokenOutput {
    /// The access token (what randapi accepts).
    pub access_token: String,
    /// The ID token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// The refresh token (not returned by a refresh).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// `Bearer`.
    pub token_type: String,
    /// Lifetime of the access token in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    /// When the access token expires, seconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl TokenOutput {
    fn new(result: AuthenticationResult, now: u64) -> Self {
        Self {
            expires_at: result.expires_in.map(|s| now + s),
            access_token: result.access_token,
            id_token: result.id_token,
            refresh_token: result.refresh_token,
            token_type: result.token_type.unwrap_or_else(|| "Bearer".to_owned()),
            expires_in: result.expires_in,
        }
    }
}

/// Runs `randapi token`: prints the access token (or all tokens with `--json`) on stdout.
pub fn run(args: &TokenArgs) -> ExitCode {
    let outcome = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| TokenError::Usage(format!("cannot start the runtime: {e}")))
        .and_then(|runtime| runtime.block_on(get_tokens(args, &mut TerminalPrompt)));
    let result = match outcome {
        Ok(result) => result,
        Err(error) => {
            eprintln!("randapi token: {error}");
            return ExitCode::from(error.exit_code());
        }
    };
    let output = TokenOutput::new(result, unix_now());
    let text = if args.json {
        match serde_json::to_string_pretty(&output) {
            Ok(json) => json,
            Err(error) => {
                eprintln!("randapi token: cannot encode the tokens: {error}");
                return ExitCode::from(EXIT_FAILED);
            }
        }
    } else {
        output.access_token
    };
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("randapi token: cannot write the token: {error}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_output_has_the_expiry() {
        let output = TokenOutput::new(
            AuthenticationResult {
                access_token: "a".into(),
                id_token: Some("i".into()),
                refresh_token: None,
                expires_in: Some(3600),
                token_type: Some("Bearer".into()),
            },
            1000,
        );
        assert_eq!(
            serde_json::to_value(&output).expect("json"),
            serde_json::json!({"access_token": "a", "id_token": "i", "token_type": "Bearer", "expires_in": 3600, "expires_at": 4600})
        );
    }
}
