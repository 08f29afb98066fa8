//! The command line: `randapi` serves, `randapi healthcheck` probes a running server,
//! `randapi token` signs in to Cognito and prints an access token.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::config::ServeArgs;
use crate::startup::Application;
use crate::telemetry;
use crate::token::TokenArgs;

/// A random-number API protected by Amazon Cognito access tokens.
#[derive(Debug, Parser)]
#[command(name = "randapi", version, about, long_about = None)]
pub struct Cli {
    /// What to do; without a subcommand, serve the API.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Settings of the server.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
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

/// Exit code for a configuration that stops the start.
pub const EXIT_CONFIG: u8 = 2;

/// Parses the command line and runs it.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Healthcheck(args)) => healthcheck(&args),
        // The server's settings are flattened at the top level but only checked when serving.
        Some(Command::Token(args)) => crate::token::run(&args),
        None => serve(&cli.serve),
    }
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

fn serve(args: &ServeArgs) -> ExitCode {
    let config = match args.validate() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("randapi: {error}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let filter = match telemetry::filter_from_env() {
        Ok(filter) => filter,
        Err(error) => {
            eprintln!("randapi: {error}");
            return ExitCode::from(EXIT_CONFIG);
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
            ExitCode::FAILURE
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
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("randapi healthcheck: {url}: {error}");
            ExitCode::FAILURE
        }
    }
}
