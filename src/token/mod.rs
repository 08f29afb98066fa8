//! `randapi token`: signs a user in to a Cognito user pool and prints an access token.
//!
//! One command instead of the tutorial's `aws cognito-idp` sequence. It speaks the Cognito
//! Identity Provider API itself ([`client`]): `USER_SRP_AUTH` by default ([`srp`]; the only
//! password flow Amplify's default web client allows), `USER_PASSWORD_AUTH` with
//! `--flow password`, `REFRESH_TOKEN_AUTH` with `--refresh-token`; it answers
//! `NEW_PASSWORD_REQUIRED` and adds `SECRET_HASH` for app clients with a secret. It needs none of
//! the server's settings.

pub mod client;
pub mod srp;

use std::collections::HashMap;
use std::io::Write as _;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use url::Url;

use crate::config::region_from_pool_id;
use client::{AuthResponse, AuthenticationResult, CallError, CognitoClient, InitiateAuth};
use srp::{PasswordVerifier, SrpSession};

/// Exit code when Cognito refuses or cannot be reached.
pub const EXIT_FAILED: u8 = 1;
/// Exit code for a usage error (a missing or bad flag).
pub const EXIT_USAGE: u8 = 2;

/// Most challenge rounds followed before giving up (SRP proof, then a new password).
const MAX_ROUNDS: usize = 4;

/// How the password is proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Flow {
    /// `USER_SRP_AUTH`: the password never leaves this machine (Amplify's default).
    Srp,
    /// `USER_PASSWORD_AUTH`: the password is sent to Cognito over TLS (the aws CLI tutorial's).
    Password,
}

impl Flow {
    fn auth_flow(self) -> &'static str {
        match self {
            Flow::Srp => "USER_SRP_AUTH",
            Flow::Password => "USER_PASSWORD_AUTH",
        }
    }

    fn flag(self) -> &'static str {
        match self {
            Flow::Srp => "srp",
            Flow::Password => "password",
        }
    }

    fn other(self) -> Self {
        match self {
            Flow::Srp => Flow::Password,
            Flow::Password => Flow::Srp,
        }
    }
}

/// Flags of `randapi token`.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "Examples:
  export TOKEN=$(randapi token --user-pool-id eu-west-1_AbCdEf123 --client-id 1example23456789abcdefghij --username xyz.abc)
  curl -H \"Authorization: Bearer $TOKEN\" https://api.example.com/

  randapi token --flow password --endpoint-url http://127.0.0.1:5000 --client-id C --username U --json")]
pub struct TokenArgs {
    /// The app client id.
    #[arg(long, env = "COGNITO_CLIENT_ID")]
    pub client_id: String,

    /// The user name (or an alias the pool accepts, such as the e-mail address).
    #[arg(long, required_unless_present = "refresh_token")]
    pub username: Option<String>,

    /// The password (else from COGNITO_PASSWORD, else asked for without echo).
    #[arg(long, env = "COGNITO_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,

    /// The user pool id, e.g. `eu-west-1_AbCdEf123`: needed by `--flow srp`; gives the region.
    #[arg(long, env = "COGNITO_USER_POOL_ID")]
    pub user_pool_id: Option<String>,

    /// AWS region of the pool (default: from --user-pool-id, else AWS_REGION).
    #[arg(long)]
    pub region: Option<String>,

    /// Fallback region.
    #[arg(long, env = "AWS_REGION", hide = true)]
    pub aws_region: Option<String>,

    /// Cognito endpoint, for emulators (default `https://cognito-idp.{region}.amazonaws.com/`).
    #[arg(long)]
    pub endpoint_url: Option<String>,

    /// Sign-in flow: `srp` (USER_SRP_AUTH) or `password` (USER_PASSWORD_AUTH).
    #[arg(long, value_enum, default_value_t = Flow::Srp)]
    pub flow: Flow,

    /// The app client's secret, for clients created with one (adds SECRET_HASH).
    #[arg(long, env = "COGNITO_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: Option<String>,

    /// The new password when Cognito asks for one (NEW_PASSWORD_REQUIRED); else asked for.
    #[arg(long, env = "COGNITO_NEW_PASSWORD", hide_env_values = true)]
    pub new_password: Option<String>,

    /// Get new tokens with a refresh token (REFRESH_TOKEN_AUTH) instead of a password.
    #[arg(long, conflicts_with_all = ["password", "new_password"])]
    pub refresh_token: Option<String>,

    /// Print all tokens and their expiry as JSON instead of the access token alone.
    #[arg(long)]
    pub json: bool,
}

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

/// What was asked, for the hints.
struct Context<'a> {
    flow: Flow,
    refreshing: bool,
    client_id: &'a str,
    username: Option<&'a str>,
    user_pool_id: Option<&'a str>,
    has_secret: bool,
}

fn refused(error: CallError, context: &Context<'_>) -> TokenError {
    match error {
        CallError::Service { code, message, .. } => {
            let hint = hint(&code, &message, context);
            TokenError::Refused {
                code,
                message,
                hint,
            }
        }
        other => TokenError::Call(other),
    }
}

/// A hint for a Cognito error, when the cause is known.
fn hint(code: &str, message: &str, context: &Context<'_>) -> Option<String> {
    let lower = message.to_ascii_lowercase();
    let user = context.username.unwrap_or("<username>");
    let pool = context.user_pool_id.unwrap_or("<user-pool-id>");
    let flow_disabled = lower.contains("flow not enabled")
        || lower.contains("not enabled for")
        || lower.contains("auth method not supported")
        || code == "UnsupportedOperationException";
    if flow_disabled && !context.refreshing {
        let other = context.flow.other();
        return Some(format!(
            "the app client does not allow {}; try --flow {} ({}), or enable ALLOW_{} on the app client (aws cognito-idp update-user-pool-client --explicit-auth-flows ...)",
            context.flow.auth_flow(),
            other.flag(),
            other.auth_flow(),
            context.flow.auth_flow()
        ));
    }
    match code {
        "UserNotConfirmedException" => Some(format!(
            "the user has signed up but is not confirmed: confirm with the code Cognito sent (aws cognito-idp confirm-sign-up), or as an administrator: aws cognito-idp admin-confirm-sign-up --user-pool-id {pool} --username {user}"
        )),
        "PasswordResetRequiredException" => Some(format!(
            "an administrator reset this password: aws cognito-idp forgot-password --client-id {} --username {user}, then confirm-forgot-password",
            context.client_id
        )),
        "UserNotFoundException" => Some(format!(
            "no user {user} in the pool of app client {}: check --username and --client-id (and --region/--endpoint-url)",
            context.client_id
        )),
        "ResourceNotFoundException" => Some(format!(
            "no app client {} here: check --client-id and the region ({}); a client id belongs to one pool in one region",
            context.client_id,
            "--region, --user-pool-id or AWS_REGION"
        )),
        "InvalidPasswordException" => Some(
            "the new password does not meet the pool's password policy (length, digits, symbols, upper and lower case)".to_owned(),
        ),
        "TooManyRequestsException" | "LimitExceededException" => {
            Some("Cognito is throttling; wait a little and try again".to_owned())
        }
        "NotAuthorizedException" if lower.contains("secret") => {
            Some(if context.has_secret {
                "the SECRET_HASH does not match: check --client-secret (COGNITO_CLIENT_SECRET) and that --username is the name the user signed up with".to_owned()
            } else {
                "this app client has a secret: pass --client-secret (or set COGNITO_CLIENT_SECRET)".to_owned()
            })
        }
        "NotAuthorizedException" if context.refreshing => Some(
            "the refresh token is expired, revoked or from another app client: sign in again with the password".to_owned(),
        ),
        "NotAuthorizedException" if lower.contains("disabled") => {
            Some("the user is disabled: aws cognito-idp admin-enable-user".to_owned())
        }
        "NotAuthorizedException" if lower.contains("incorrect username or password") => Some(format!(
            "wrong password for {user} (or, when the pool hides user existence, no such user); a password reset: aws cognito-idp admin-set-user-password --user-pool-id {pool} --username {user} --password ... --permanent"
        )),
        "InvalidParameterException" if context.refreshing && context.has_secret => Some(
            "with a client secret, the refresh needs --username (the name the user signed in with) for SECRET_HASH".to_owned(),
        ),
        _ => None,
    }
}

/// The endpoint from `--endpoint-url`, or the region's public Cognito endpoint.
fn endpoint(args: &TokenArgs) -> Result<Url, TokenError> {
    if let Some(raw) = args.endpoint_url.as_deref().map(str::trim) {
        let url = Url::parse(raw).map_err(|_| {
            TokenError::Usage(format!(
                "--endpoint-url {raw:?} is not an absolute URL; example: http://127.0.0.1:5000"
            ))
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(TokenError::Usage(format!(
                "--endpoint-url {raw:?} must be an http(s) URL with a host"
            )));
        }
        return Ok(url);
    }
    let region = args
        .region
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .or_else(|| args.user_pool_id.as_deref().and_then(region_from_pool_id))
        .or_else(|| {
            args.aws_region
                .as_deref()
                .map(str::trim)
                .filter(|r| !r.is_empty())
        })
        .ok_or_else(|| {
            TokenError::Usage(
                "no region: pass --region eu-west-1, or --user-pool-id eu-west-1_AbCdEf123, or set AWS_REGION (or --endpoint-url for an emulator)".to_owned(),
            )
        })?;
    if region_from_pool_id(&format!("{region}_x")).is_none() {
        return Err(TokenError::Usage(format!(
            "{region:?} is not an AWS region name; example: --region eu-west-1"
        )));
    }
    Url::parse(&format!("https://cognito-idp.{region}.amazonaws.com/"))
        .map_err(|_| TokenError::Usage(format!("{region:?} is not an AWS region name")))
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

fn unix_now() -> u64 {
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
    let endpoint = endpoint(args)?;
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
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: TokenArgs,
    }

    fn parse(flags: &[&str]) -> TokenArgs {
        let mut argv = vec!["token"];
        argv.extend_from_slice(flags);
        Wrapper::try_parse_from(argv).expect("flags parse").args
    }

    fn context(flow: Flow) -> Context<'static> {
        Context {
            flow,
            refreshing: false,
            client_id: "client",
            username: Some("xyz.abc"),
            user_pool_id: Some("eu-west-1_AbCdEf123"),
            has_secret: false,
        }
    }

    #[test]
    fn the_command_line_with_the_token_subcommand_is_consistent() {
        use clap::CommandFactory;
        crate::cli::Cli::command().debug_assert();
        let cli = crate::cli::Cli::try_parse_from([
            "randapi",
            "token",
            "--client-id",
            "c",
            "--username",
            "u",
        ])
        .expect("parses without any server setting");
        assert!(matches!(cli.command, Some(crate::cli::Command::Token(_))));
    }

    #[test]
    fn the_region_comes_from_the_flag_then_the_pool_then_aws_region() {
        let args = parse(&[
            "--client-id",
            "c",
            "--username",
            "u",
            "--region",
            "ap-south-1",
            "--user-pool-id",
            "eu-west-1_AbC",
        ]);
        assert_eq!(
            endpoint(&args).expect("endpoint").as_str(),
            "https://cognito-idp.ap-south-1.amazonaws.com/"
        );
        let args = parse(&[
            "--client-id",
            "c",
            "--username",
            "u",
            "--user-pool-id",
            "eu-west-1_AbC",
        ]);
        assert_eq!(
            endpoint(&args).expect("endpoint").as_str(),
            "https://cognito-idp.eu-west-1.amazonaws.com/"
        );
        let args = TokenArgs {
            user_pool_id: None,
            aws_region: Some("us-west-2".into()),
            ..args
        };
        assert_eq!(
            endpoint(&args).expect("endpoint").as_str(),
            "https://cognito-idp.us-west-2.amazonaws.com/"
        );
        let args = TokenArgs {
            aws_region: None,
            ..args
        };
        assert!(matches!(endpoint(&args), Err(TokenError::Usage(m)) if m.contains("no region")));
    }

    #[test]
    fn an_endpoint_url_overrides_the_region() {
        let args = parse(&[
            "--client-id",
            "c",
            "--username",
            "u",
            "--endpoint-url",
            "http://127.0.0.1:5000",
        ]);
        assert_eq!(
            endpoint(&args).expect("endpoint").as_str(),
            "http://127.0.0.1:5000/"
        );
        let args = TokenArgs {
            endpoint_url: Some("ftp://x".into()),
            ..args
        };
        assert!(matches!(endpoint(&args), Err(TokenError::Usage(_))));
    }

    #[test]
    fn bad_regions_are_usage_errors() {
        let args = parse(&[
            "--client-id",
            "c",
            "--username",
            "u",
            "--region",
            "Europe/Paris",
        ]);
        assert!(matches!(endpoint(&args), Err(TokenError::Usage(_))));
    }

    #[test]
    fn the_default_flow_is_srp_and_a_username_or_refresh_token_is_required() {
        assert_eq!(
            parse(&["--client-id", "c", "--username", "u"]).flow,
            Flow::Srp
        );
        assert!(Wrapper::try_parse_from(["token", "--client-id", "c"]).is_err());
        assert!(
            Wrapper::try_parse_from(["token", "--client-id", "c", "--refresh-token", "r"]).is_ok()
        );
        assert!(
            Wrapper::try_parse_from([
                "token",
                "--client-id",
                "c",
                "--refresh-token",
                "r",
                "--password",
                "p"
            ])
            .is_err()
        );
    }

    #[test]
    fn a_disabled_flow_suggests_the_other_flow() {
        let hint = hint(
            "InvalidParameterException",
            "USER_PASSWORD_AUTH flow not enabled for this client",
            &context(Flow::Password),
        )
        .expect("hint");
        assert!(hint.contains("--flow srp"), "{hint}");
        let hint = hint_for(
            "NotAuthorizedException",
            "USER_SRP_AUTH is not enabled for the client.",
            Flow::Srp,
        );
        assert!(hint.contains("--flow password"), "{hint}");
    }

    fn hint_for(code: &str, message: &str, flow: Flow) -> String {
        hint(code, message, &context(flow)).expect("a hint")
    }

    #[test]
    fn known_errors_have_hints() {
        let unconfirmed = hint_for(
            "UserNotConfirmedException",
            "User is not confirmed.",
            Flow::Srp,
        );
        assert!(
            unconfirmed.contains(
                "aws cognito-idp admin-confirm-sign-up --user-pool-id eu-west-1_AbCdEf123 --username xyz.abc"
            ),
            "{unconfirmed}"
        );
        assert!(
            hint_for(
                "NotAuthorizedException",
                "Incorrect username or password.",
                Flow::Password
            )
            .contains("wrong password")
        );
        assert!(
            hint_for(
                "UserNotFoundException",
                "User does not exist.",
                Flow::Password
            )
            .contains("no user xyz.abc")
        );
        assert!(
            hint_for(
                "ResourceNotFoundException",
                "User pool client x does not exist.",
                Flow::Srp
            )
            .contains("--client-id")
        );
        assert!(
            hint_for(
                "NotAuthorizedException",
                "Unable to verify secret hash for client c",
                Flow::Srp
            )
            .contains("--client-secret")
        );
        assert_eq!(hint("SomethingElse", "?", &context(Flow::Srp)), None);
    }

    #[test]
    fn refused_errors_print_the_hint_on_its_own_line() {
        let error = refused(
            CallError::Service {
                status: 400,
                code: "UserNotConfirmedException".into(),
                message: "User is not confirmed.".into(),
            },
            &context(Flow::Password),
        );
        let text = error.to_string();
        assert!(
            text.starts_with(
                "Cognito refused: UserNotConfirmedException: User is not confirmed.\n  hint: "
            ),
            "{text}"
        );
        assert_eq!(error.exit_code(), EXIT_FAILED);
    }

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
        let args = parse(&[
            "--client-id",
            "c",
            "--username",
            "u",
            "--password",
            "p",
            "--endpoint-url",
            "http://127.0.0.1:9",
        ]);
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
        let args = parse(&[
            "--client-id",
            "c",
            "--username",
            "u",
            "--flow",
            "password",
            "--endpoint-url",
            "http://127.0.0.1:9",
        ]);
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
