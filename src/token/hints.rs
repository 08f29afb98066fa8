//! What to do about Cognito's refusals: a hint per known error, naming the flag or command.

use super::TokenError;
use super::args::Flow;
use super::client::CallError;

/// What was asked, for the hints.
pub(crate) struct Context<'a> {
    pub(crate) flow: Flow,
    pub(crate) refreshing: bool,
    pub(crate) client_id: &'a str,
    pub(crate) username: Option<&'a str>,
    pub(crate) user_pool_id: Option<&'a str>,
    pub(crate) has_secret: bool,
}

pub(crate) fn refused(error: CallError, context: &Context<'_>) -> TokenError {
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
pub(crate) fn hint(code: &str, message: &str, context: &Context<'_>) -> Option<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(error.exit_code(), crate::exit::EXIT_FAILED);
    }
}
