//! The real binary (`CARGO_BIN_EXE_randapi`), run with an empty environment but for what a test
//! gives it: signals, exit codes, logs, `randapi token`, `randapi healthcheck`.

use std::process::{ExitStatus, Output, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

use super::{CLIENT_ID, ISSUER, test_log};

/// `randapi <args>` with an empty environment but for `envs`: stdin closed, stdout dropped (shown
/// with `TEST_LOG`), stderr piped. The child is killed if the test drops it.
pub fn randapi(args: &[&str], envs: &[(&str, &str)]) -> Command {
    let mut command = Command::from(std_command(args, envs));
    command.kill_on_drop(true);
    command
}

/// Runs `randapi <args>` to its end, as [`randapi`] but blocking and with stdout captured.
pub fn run_randapi(args: &[&str], envs: &[(&str, &str)]) -> Output {
    std_command(args, envs)
        .stdout(Stdio::piped())
        .output()
        .expect("randapi runs")
}

fn std_command(args: &[&str], envs: &[(&str, &str)]) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_randapi"));
    command
        .args(args)
        .env_clear()
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(if test_log() {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .stderr(Stdio::piped());
    command
}

/// The arguments of a `randapi token` call that names a client, a user and a password but no
/// pool id and no region: it stops at its own usage error, before any network call.
pub fn token_args_without_pool() -> Vec<&'static str> {
    "token --client-id c --username u --password p"
        .split(' ')
        .collect()
}

/// The environment of a server on 127.0.0.1:`port` that trusts the test issuer and
/// [`CLIENT_ID`], with keys from `jwks_url`. Tests append what they change.
pub fn server_env<'a>(port: &'a str, jwks_url: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![
        ("PORT", port),
        ("HOST", "127.0.0.1"),
        ("COGNITO_ISSUER", ISSUER),
        ("COGNITO_JWKS_URL", jwks_url),
        ("COGNITO_CLIENT_IDS", CLIENT_ID),
    ]
}

/// A port that was free a moment ago (the binary cannot report a port 0 it was given).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// Sends `signal` (`TERM`, `INT`, ...) to `child`.
pub fn send_signal(child: &Child, signal: &str) {
    let pid = child.id().expect("the child is running");
    let status = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{signal} {pid}");
}

/// Waits for `child` to exit (fails after 20 s: a bound for hangs, not a speed check).
pub async fn exit_status(child: &mut Child) -> ExitStatus {
    tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("randapi exits")
        .expect("wait for randapi")
}

/// True when nothing accepts connections on 127.0.0.1:`port`.
pub async fn refuses_connections(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).await.is_err()
}

/// The real binary on a free port against `jwks_url`, with JSON logs and `extra` variables, its
/// stdout collected: the child, its port and (once it exits) every line it wrote.
pub fn randapi_with_stdout(
    jwks_url: &str,
    extra: &[(&str, &str)],
) -> (Child, u16, tokio::task::JoinHandle<Vec<String>>) {
    let port = free_port();
    let port_text = port.to_string();
    let mut env = server_env(&port_text, jwks_url);
    env.push(("LOG_FORMAT", "json"));
    env.extend_from_slice(extra);
    let mut child = randapi(&[], &env)
        .stdout(Stdio::piped())
        .spawn()
        .expect("randapi starts");
    drain_stderr(&mut child);
    let lines = stdout_lines(&mut child);
    (child, port, lines)
}

/// Reads the child's piped stdout to its end in the background: every line it wrote, once it
/// exits (or closes stdout).
pub fn stdout_lines(child: &mut Child) -> tokio::task::JoinHandle<Vec<String>> {
    let stdout = child.stdout.take().expect("stdout is piped");
    tokio::spawn(async move {
        let mut all = Vec::new();
        let mut lines = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            all.push(line);
        }
        all
    })
}

/// Copies the child's stderr to ours when `TEST_LOG` is set, else drains it.
pub fn drain_stderr(child: &mut Child) {
    if let Some(stderr) = child.stderr.take() {
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if test_log() {
                    eprintln!("randapi: {line}");
                }
            }
        });
    }
}

/// The text of captured stdout.
pub fn stdout_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The text of captured stderr.
pub fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
