//! The sign-in: the first call (password, SRP or refresh token), then the challenges Cognito
//! asks (SRP proof, new password) until it hands out tokens.

use std::collections::HashMap;

use super::args::{Flow, TokenArgs};
use super::client::{
    self, AuthResponse, AuthenticationResult, CallError, CognitoClient, InitiateAuth,
};
use super::hints::{Context, refused};
use super::srp::{self, PasswordVerifier, SrpSession};
use super::{TokenError, unix_now};

/// Most challenge rounds followed before giving up (SRP proof, then a new password).
const MAX_ROUNDS: usize = 4;

/// Where secrets come from when no flag or variable gave them: a terminal prompt without echo.
pub trait Prompt {
    /// Asks for a secret.
    ///
    /// # Errors
    ///
    /// When there is no terminal to ask on.
    fn secret(&mut self, question: &str) -> std::io::Result<String>;
}

/// Prompts on the controlling terminal (`/dev/tty`), never echoing.
#[derive(Debug, Default)]
pub struct TerminalPrompt;

impl Prompt for TerminalPrompt {
    fn secret(&mut self, question: &str) -> std::io::Result<String> {
        rpassword::prompt_password(question)
    }
}

/// A prompt that always fails (non-interactive callers).
#[derive(Debug, Default)]
pub struct NoPrompt;

impl Prompt for NoPrompt {
    fn secret(&mut self, _question: &str) -> std::io::Result<String> {
        Err(std::io::Error::other("no terminal"))
    }
}

fn ask(prompt: &mut dyn Prompt, question: &str, how: &str) -> Result<String, TokenError> {
    let answer = prompt
        .secret(question)
        .map_err(|e| TokenError::Usage(format!("{how} (cannot prompt: {e})")))?;
    if answer.is_empty() {
        return Err(TokenError::Usage(format!("empty answer; {how}")));
    }
    Ok(answer)
}

/// Signs in and returns the tokens.
///
/// # Errors
///
/// See [`TokenError`].
pub async fn get_tokens(
    args: &TokenArgs,
    prompt: &mut dyn Prompt,
) -> Result<AuthenticationResult, TokenError> {
    let client_id = args.client_id.trim();
    if client_id.is_empty() {
        return Err(TokenError::Usage(
            "--client-id (COGNITO_CLIENT_ID) is empty; example: --client-id 1example23456789abcdefghij"
                .to_owned(),
        ));
    }
    let endpoint = super::args::endpoint(args)?;
    let cognito = CognitoClient::new(endpoint)
        .map_err(|e| TokenError::Usage(format!("cannot build the HTTP client: {e}")))?;
    let username = args.username.as_deref().map(str::trim);
    let secret = args.client_secret.as_deref().filter(|s| !s.is_empty());
    let context = Context {
        flow: args.flow,
        refreshing: args.refresh_token.is_some(),
        client_id,
        username,
        user_pool_id: args.user_pool_id.as_deref(),
        has_secret: secret.is_some(),
    };
    let secret_hash = |name: &str| secret.map(|s| srp::secret_hash(s, name, client_id));

    if let Some(refresh_token) = &args.refresh_token {
        let mut parameters = HashMap::from([("REFRESH_TOKEN", refresh_token.clone())]);
        if let Some(hash) = username.and_then(secret_hash) {
            parameters.insert("SECRET_HASH", hash);
        }
        let response = cognito
            .initiate_auth(&InitiateAuth {
                auth_flow: "REFRESH_TOKEN_AUTH",
                client_id,
                auth_parameters: parameters,
            })
            .await
            .map_err(|e| refused(e, &context))?;
        return finish(&cognito, response, args, None, prompt, &context).await;
    }

    let username = username.filter(|u| !u.is_empty()).ok_or_else(|| {
        TokenError::Usage("--username is required (or --refresh-token)".to_owned())
    })?;
    let srp_session = match args.flow {
        Flow::Srp => {
            let pool = args
                .user_pool_id
                .as_deref()
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .ok_or_else(|| {
                    TokenError::Usage(
                        "--flow srp needs the user pool id (--user-pool-id or COGNITO_USER_POOL_ID, e.g. eu-west-1_AbCdEf123): its name enters the password proof; or use --flow password if the app client allows USER_PASSWORD_AUTH".to_owned(),
                    )
                })?;
            if !pool.contains('_') {
                return Err(TokenError::Usage(format!(
                    "--user-pool-id {pool:?} is not a pool id like eu-west-1_AbCdEf123"
                )));
            }
            Some(SrpSession::new(pool)?)
        }
        Flow::Password => None,
    };
    let password = match &args.password {
        Some(p) if !p.is_empty() => p.clone(),
        _ => ask(
            prompt,
            &format!("Password for {username}: "),
            "no password: pass --password or set COGNITO_PASSWORD",
        )?,
    };

    let mut parameters = HashMap::from([("USERNAME", username.to_owned())]);
    match &srp_session {
        Some(session) => parameters.insert("SRP_A", session.srp_a()),
        None => parameters.insert("PASSWORD", password.clone()),
    };
    if let Some(hash) = secret_hash(username) {
        parameters.insert("SECRET_HASH", hash);
    }
    let response = cognito
        .initiate_auth(&InitiateAuth {
            auth_flow: args.flow.auth_flow(),
            client_id,
            auth_parameters: parameters,
        })
        .await
        .map_err(|e| refused(e, &context))?;
    let login = Login {
        username,
        password: &password,
        srp: srp_session.as_ref(),
    };
    finish(&cognito, response, args, Some(&login), prompt, &context).await
}

struct Login<'a> {
    username: &'a str,
    password: &'a str,
    srp: Option<&'a SrpSession>,
}

/// Answers challenges until Cognito hands out tokens.
async fn finish(
    cognito: &CognitoClient,
    mut response: AuthResponse,
    args: &TokenArgs,
    login: Option<&Login<'_>>,
    prompt: &mut dyn Prompt,
    context: &Context<'_>,
) -> Result<AuthenticationResult, TokenError> {
    let client_id = context.client_id;
    let secret = args.client_secret.as_deref().filter(|s| !s.is_empty());
    for _ in 0..MAX_ROUNDS {
        if let Some(result) = response.authentication_result.take() {
            return Ok(result);
        }
        let challenge = response.challenge_name.take().ok_or_else(|| {
            TokenError::Call(CallError::Unexpected {
                endpoint: cognito.endpoint().to_string(),
                detail: "neither tokens nor a challenge in the answer".to_owned(),
            })
        })?;
        let parameters = &response.challenge_parameters;
        // Cognito's internal user name (a UUID for pools that sign in by e-mail) is the one to
        // answer with and to hash.
        let internal_username = parameters
            .get("USERNAME")
            .map(String::as_str)
            .or(login.map(|l| l.username))
            .unwrap_or_default()
            .to_owned();
        let mut responses: HashMap<&'static str, String> =
            HashMap::from([("USERNAME", internal_username.clone())]);
        match (challenge.as_str(), login) {
            (
                "PASSWORD_VERIFIER",
                Some(Login {
                    password,
                    srp: Some(session),
                    ..
                }),
            ) => {
                let get = |name: &'static str| {
                    parameters.get(name).map(String::as_str).ok_or_else(|| {
                        TokenError::Call(CallError::Unexpected {
                            endpoint: cognito.endpoint().to_string(),
                            detail: format!("PASSWORD_VERIFIER without {name}"),
                        })
                    })
                };
                let verifier = PasswordVerifier {
                    user_id_for_srp: get("USER_ID_FOR_SRP")?,
                    srp_b: get("SRP_B")?,
                    salt: get("SALT")?,
                    secret_block: get("SECRET_BLOCK")?,
                };
                let timestamp = srp::cognito_timestamp(unix_now());
                let signature =
                    session.password_claim_signature(&verifier, password, &timestamp)?;
                responses.insert(
                    "PASSWORD_CLAIM_SECRET_BLOCK",
                    verifier.secret_block.to_owned(),
                );
                responses.insert("PASSWORD_CLAIM_SIGNATURE", signature);
                responses.insert("TIMESTAMP", timestamp);
            }
            ("NEW_PASSWORD_REQUIRED", _) => {
                let new_password = match &args.new_password {
                    Some(p) if !p.is_empty() => p.clone(),
                    _ => {
                        let how = "Cognito requires a new password (NEW_PASSWORD_REQUIRED): pass --new-password or set COGNITO_NEW_PASSWORD";
                        let first = ask(
                            prompt,
                            "Cognito requires a new password. New password: ",
                            how,
                        )?;
                        let again = ask(prompt, "New password again: ", how)?;
                        if first != again {
                            return Err(TokenError::Usage(
                                "the two new passwords differ".to_owned(),
                            ));
                        }
                        first
                    }
                };
                responses.insert("NEW_PASSWORD", new_password);
            }
            (other, _) => return Err(TokenError::Challenge(other.to_owned())),
        }
        if let Some(secret) = secret {
            responses.insert(
                "SECRET_HASH",
                srp::secret_hash(secret, &internal_username, client_id),
            );
        }
        response = cognito
            .respond_to_auth_challenge(&client::RespondToAuthChallenge {
                client_id,
                challenge_name: &challenge,
                challenge_responses: responses,
                session: response.session.take(),
            })
            .await
            .map_err(|e| refused(e, context))?;
    }
    Err(TokenError::Call(CallError::Unexpected {
        endpoint: cognito.endpoint().to_string(),
        detail: format!("still no tokens after {MAX_ROUNDS} challenges"),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::EXIT_USAGE;
    use crate::token::args::tests::parse;

    /// The error `get_tokens` gives for `args`, with no terminal to prompt on.
    fn usage_error(args: &TokenArgs) -> TokenError {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(get_tokens(args, &mut NoPrompt))
            .expect_err("refused")
    }

    #[test]
    fn srp_without_a_pool_id_is_a_usage_error_before_any_call() {
        let args = parse(&["--password", "p", "--endpoint-url", "http://127.0.0.1:9"]);
        let args = TokenArgs {
            user_pool_id: None,
            ..args
        };
        let error = usage_error(&args);
        assert!(
            matches!(&error, TokenError::Usage(m) if m.contains("--user-pool-id")),
            "{error}"
        );
        assert_eq!(error.exit_code(), EXIT_USAGE);
    }

    #[test]
    fn without_a_password_or_terminal_the_error_says_how_to_give_one() {
        let args = parse(&["--flow", "password", "--endpoint-url", "http://127.0.0.1:9"]);
        let args = TokenArgs {
            password: None,
            ..args
        };
        let error = usage_error(&args);
        assert!(
            matches!(&error, TokenError::Usage(m) if m.contains("COGNITO_PASSWORD")),
            "{error}"
        );
    }
}
