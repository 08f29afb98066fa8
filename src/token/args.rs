//! The flags of `randapi token`, and the Cognito endpoint they name.

use url::Url;

use super::TokenError;
use crate::cognito;

/// How the password is proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Flow {
    /// `USER_SRP_AUTH`: the password never leaves this machine (Amplify's default).
    Srp,
    /// `USER_PASSWORD_AUTH`: the password is sent to Cognito over TLS (the aws CLI tutorial's).
    Password,
}

impl Flow {
    pub(crate) fn auth_flow(self) -> &'static str {
        match self {
            Flow::Srp => "USER_SRP_AUTH",
            Flow::Password => "USER_PASSWORD_AUTH",
        }
    }

    pub(crate) fn flag(self) -> &'static str {
        match self {
            Flow::Srp => "srp",
            Flow::Password => "password",
        }
    }

    pub(crate) fn other(self) -> Self {
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

/// The endpoint from `--endpoint-url`, or the region's public Cognito endpoint.
pub(crate) fn endpoint(args: &TokenArgs) -> Result<Url, TokenError> {
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
        .or_else(|| {
            args.user_pool_id
                .as_deref()
                .and_then(cognito::region_from_pool_id)
        })
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
    if !cognito::is_region(region) {
        return Err(TokenError::Usage(format!(
            "{region:?} is not an AWS region name; example: --region eu-west-1"
        )));
    }
    Url::parse(&cognito::idp_endpoint(region))
        .map_err(|_| TokenError::Usage(format!("{region:?} is not an AWS region name")))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: TokenArgs,
    }

    pub(crate) fn parse(flags: &[&str]) -> TokenArgs {
        // Every test names the same client and user; `flags` add what it is about.
        let mut argv = vec!["token", "--client-id", "c", "--username", "u"];
        argv.extend_from_slice(flags);
        Wrapper::try_parse_from(argv).expect("flags parse").args
    }

    #[test]
    fn the_region_comes_from_the_flag_then_the_pool_then_aws_region() {
        let args = parse(&["--region", "ap-south-1", "--user-pool-id", "eu-west-1_AbC"]);
        assert_eq!(
            endpoint(&args).expect("endpoint").as_str(),
            "https://cognito-idp.ap-south-1.amazonaws.com/"
        );
        let args = parse(&["--user-pool-id", "eu-west-1_AbC"]);
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
        let args = parse(&["--endpoint-url", "http://127.0.0.1:5000"]);
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
        let args = parse(&["--region", "Europe/Paris"]);
        assert!(matches!(endpoint(&args), Err(TokenError::Usage(_))));
    }

    #[test]
    fn the_default_flow_is_srp_and_a_username_or_refresh_token_is_required() {
        assert_eq!(parse(&[]).flow, Flow::Srp);
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
}
