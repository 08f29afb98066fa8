//! The command line: `randapi` (or `randapi serve`) serves, `randapi healthcheck` probes a running server,
//! `randapi token` signs in to Cognito and prints an access token. The exit codes are in
//! [`crate::exit`].

use std::process::ExitCode;
use std::time::Duration;

use std::ffi::OsString;

use clap::{CommandFactory as _, FromArgMatches as _, Parser, Subcommand};

use crate::config::{ConfigError, ServeArgs};
use crate::exit::{EXIT_FAILED, EXIT_USAGE};
use crate::startup::Application;
use crate::telemetry;
use crate::token::TokenArgs;

/// A random-number API protected by Amazon Cognito access tokens.
#[derive(Debug, Parser)]
#[command(name = "randapi", version, about, long_about = None)]
pub struct Cli {
    /// What to do; plain `randapi` (or `randapi --port 8080 ...`) is `randapi serve`.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (the default: `randapi` alone serves).
    Serve(Box<ServeArgs>),
    /// Ask the local `/health` and exit 0 if it answers 200, else 1 (for container health checks).
    Healthcheck(HealthcheckArgs),
    /// Sign in to a Cognito user pool and print an access token (needs no server settings).
    Token(Box<TokenArgs>),
}

/// Flags of `randapi healthcheck`.
#[derive(Debug, clap::Args)]
pub struct HealthcheckArgs {
    /// Port of the server to probe on 127.0.0.1.
    #[arg(long, env = "PORT", default_value_t = 3001)]
    pub port: u16,
    /// Give up after this long.
    #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

/// The command line with `serve` inserted when no subcommand is named, so the server's settings
/// are parsed (and their variables read) only when serving: a bad `PORT` must not stop
/// `randapi token` or `randapi healthcheck --help`.
pub fn with_default_subcommand(mut argv: Vec<OsString>) -> Vec<OsString> {
    let first = argv.get(1).and_then(|arg| arg.to_str());
    let names_itself = match first {
        None => false,
        Some("-h" | "--help" | "-V" | "--version") => true,
        Some(name) => Cli::command().find_subcommand(name).is_some(),
    };
    if !names_itself {
        argv.insert(1.min(argv.len()), OsString::from("serve"));
    }
    argv
}

/// Drops the variable of an argument without a default when it is set but blank.
fn unset_if_empty(arg: clap::Arg) -> clap::Arg {
    let blank = arg
        .get_env()
        .and_then(std::env::var_os)
        .is_some_and(|value| value.to_str().is_some_and(|v| v.trim().is_empty()));
    if blank && arg.get_default_values().is_empty() {
        arg.env(None::<&str>)
    } else {
        arg
    }
}

/// Parses the command line and runs it.
pub fn main() -> ExitCode {
    let argv = with_default_subcommand(std::env::args_os().collect());
    let serving = argv.get(1).is_some_and(|arg| arg == "serve");
    // An empty optional variable counts as unset (a task definition may list it with no value).
    let command = Cli::command().mut_subcommand("serve", |serve| serve.mut_args(unset_if_empty));
    let parsed = command
        .try_get_matches_from(argv)
        .and_then(|matches| Cli::from_arg_matches(&matches));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(error) => match ConfigError::from_clap(&error) {
            // A bad server setting: one line naming the variable, with an example.
            Some(config_error) if serving => {
                eprintln!("randapi: {config_error}");
                return ExitCode::from(EXIT_USAGE);
            }
            // Help, version and usage errors, as clap prints them (usage errors exit 2).
            _ => error.exit(),
        },
    };
    match cli.command {
        Command::Serve(args) => serve(*args),
        Command::Healthcheck(args) => healthcheck(&args),
        Command::Token(args) => crate::token::run(&args),
    }
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

fn serve(args: ServeArgs) -> ExitCode {
    let checked = args
        .into_config()
        .and_then(|config| Ok((config, telemetry::filter_from_env()?)));
    let (config, filter) = match checked {
        Ok(checked) => checked,
        Err(error) => {
            eprintln!("randapi: {error}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    telemetry::init(config.log_format, filter);
    let outcome = runtime()
        .map_err(crate::startup::StartError::from)
        .and_then(|runtime| {
            runtime.block_on(async {
                let app = Application::build(config).await?;
                app.run_until_stopped().await
            })
        });
    telemetry::flush();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "randapi stopped");
            eprintln!("randapi: {error}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}

/// Probes `http://127.0.0.1:{port}/health`.
fn healthcheck(args: &HealthcheckArgs) -> ExitCode {
    let url = format!("http://127.0.0.1:{}/health", args.port);
    let probe = async {
        let client = reqwest::Client::builder()
            .timeout(args.timeout)
            .connect_timeout(args.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        client
            .get(&url)
            .send()
            .await
            .map(|response| response.status())
    };
    let status = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
        .and_then(|runtime| runtime.block_on(probe).map_err(|e| e.to_string()));
    match status {
        Ok(status) if status.is_success() => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("randapi healthcheck: {url} answered {status}");
            ExitCode::from(EXIT_FAILED)
        }
        Err(error) => {
            eprintln!("randapi healthcheck: {url}: {error}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn the_command_line_is_consistent_and_token_needs_no_server_setting() {
        Cli::command().debug_assert();
        let cli = Cli::try_parse_from(["randapi", "token", "--client-id", "c", "--username", "u"])
            .expect("parses without any server setting");
        assert!(matches!(cli.command, Command::Token(_)));
    }

    #[test]
    fn without_a_subcommand_randapi_serves() {
        let cases: [(&[&str], &[&str]); 6] = [
            (&["randapi"], &["randapi", "serve"]),
            (&["randapi", "--dev"], &["randapi", "serve", "--dev"]),
            (
                &["randapi", "serve", "--dev"],
                &["randapi", "serve", "--dev"],
            ),
            (&["randapi", "token", "-h"], &["randapi", "token", "-h"]),
            (&["randapi", "healthcheck"], &["randapi", "healthcheck"]),
            (&["randapi", "--version"], &["randapi", "--version"]),
        ];
        for (given, expected) in cases {
            assert_eq!(with_default_subcommand(argv(given)), argv(expected));
        }
        let cli = Cli::try_parse_from(with_default_subcommand(argv(&["randapi", "--dev"])))
            .expect("parses");
        assert!(matches!(cli.command, Command::Serve(args) if args.dev));
    }
}
