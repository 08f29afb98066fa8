//! moto's Cognito emulator (`moto_server`) on 127.0.0.1 and a free port, driven with the aws CLI.
//!
//! The process is killed when the [`Moto`] value is dropped. A missing `moto_server` or `aws`
//! fails the test with the command that installs it (`scripts/cognito.sh`): nothing is skipped.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

/// Region of the pools moto makes (from the aws CLI's region).
pub const REGION: &str = "us-east-1";

/// A program on PATH, or a failure that says how to install it.
pub fn on_path(program: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{program}` is not on PATH. The Cognito end-to-end tests need moto's server, pycognito and the aws CLI: run scripts/cognito.sh first (it pip-installs moto[server]==5.2.1, pycognito==2024.5.1 and, if missing, awscli). These tests never skip."
            )
        })
}

/// A running `moto_server`.
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
}

impl Moto {
    /// Starts `moto_server -H 127.0.0.1 -p 0` and waits for the port it prints.
    pub fn start() -> Moto {
        let program = on_path("moto_server");
        let mut child = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        let stderr = child.stderr.take().expect("stderr is piped");
        let (port_tx, port_rx) = mpsc::channel();
        // Reads werkzeug's " * Running on http://127.0.0.1:<port>" and keeps draining stderr so
        // moto never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut port_tx = Some(port_tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(port) = line
                    .split("Running on http://127.0.0.1:")
                    .nth(1)
                    .and_then(|rest| rest.trim().parse::<u16>().ok())
                    && let Some(tx) = port_tx.take()
                {
                    let _ = tx.send(port);
                }
                if std::env::var_os("TEST_LOG").is_some() {
                    eprintln!("moto: {line}");
                }
            }
        });
        let mut moto = Moto {
            child,
            endpoint: String::new(),
        };
        let port = match port_rx.recv_timeout(Duration::from_secs(60)) {
            Ok(port) => port,
            Err(_) => {
                let status = moto.child.try_wait().ok().flatten();
                panic!(
                    "moto_server did not say which port it listens on within 60 s (exit: {status:?})"
                );
            }
        };
        moto.endpoint = format!("http://127.0.0.1:{port}");
        moto
    }

    /// Runs `aws cognito-idp <args>` against this emulator; the JSON answer or the CLI's stderr.
    pub fn try_aws(&self, args: &[&str]) -> Result<Value, String> {
        let output = Command::new(on_path("aws"))
            .arg("cognito-idp")
            .args(args)
            .args(["--endpoint-url", &self.endpoint, "--output", "json"])
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_PROFILE")
            .env("AWS_DEFAULT_REGION", REGION)
            .env("AWS_REGION", REGION)
            .env("AWS_CONFIG_FILE", "/nonexistent/randapi-e2e/config")
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                "/nonexistent/randapi-e2e/credentials",
            )
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_PAGER", "")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run aws: {e}"))?;
        if !output.status.success() {
            return Err(String::from_utf8_lossy(&output.stderr).into_owned());
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        if stdout.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&stdout).map_err(|e| format!("aws printed no JSON ({e}): {stdout}"))
    }

    /// Like [`Moto::try_aws`], failing the test when the command fails.
    pub fn aws(&self, args: &[&str]) -> Value {
        self.try_aws(args)
            .unwrap_or_else(|stderr| panic!("aws cognito-idp {args:?} failed: {stderr}"))
    }

    /// The JWKS URL of a pool (not under its `iss`: see COGNITO.md).
    pub fn jwks_url(&self, pool_id: &str) -> String {
        format!("{}/{pool_id}/.well-known/jwks.json", self.endpoint)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `iss` moto writes: the real AWS form.
pub fn issuer(pool_id: &str) -> String {
    format!("https://cognito-idp.{REGION}.amazonaws.com/{pool_id}")
}

/// A string field of an aws CLI answer, or a failure naming it.
pub fn field<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no {pointer} in {value}"))
}

/// A user pool with two app clients (`web`, `other`), a client with a secret and a group.
pub struct Pool {
    /// `us-east-1_<32 hex>`.
    pub id: String,
    /// The client randapi accepts.
    pub web_client: String,
    /// Another client of the same pool.
    pub other_client: String,
    /// A client created with `--generate-secret`.
    pub secret_client: String,
    /// Its secret.
    pub secret: String,
}

/// The group of the tutorial.
pub const GROUP: &str = "test-group";

impl Pool {
    /// Creates the pool, its clients and its group with the aws CLI.
    pub fn create(moto: &Moto) -> Pool {
        let pool = moto.aws(&["create-user-pool", "--pool-name", "randapi-e2e"]);
        let id = field(&pool, "/UserPool/Id").to_owned();
        let client = |name: &str, extra: &[&str]| {
            let mut args = vec![
                "create-user-pool-client",
                "--user-pool-id",
                &id,
                "--client-name",
                name,
                "--explicit-auth-flows",
                "ALLOW_USER_PASSWORD_AUTH",
                "ALLOW_USER_SRP_AUTH",
                "ALLOW_REFRESH_TOKEN_AUTH",
                "--read-attributes",
                "email",
            ];
            args.extend_from_slice(extra);
            moto.aws(&args)
        };
        let web_client = field(&client("web", &[]), "/UserPoolClient/ClientId").to_owned();
        let other_client = field(&client("other", &[]), "/UserPoolClient/ClientId").to_owned();
        let with_secret = client("server", &["--generate-secret"]);
        let secret_client = field(&with_secret, "/UserPoolClient/ClientId").to_owned();
        let secret = field(&with_secret, "/UserPoolClient/ClientSecret").to_owned();
        moto.aws(&["create-group", "--user-pool-id", &id, "--group-name", GROUP]);
        Pool {
            id,
            web_client,
            other_client,
            secret_client,
            secret,
        }
    }

    /// The tutorial's self-service path: `sign-up`, then `admin-confirm-sign-up`.
    pub fn sign_up_and_confirm(&self, moto: &Moto, username: &str, password: &str) {
        self.sign_up(moto, username, password);
        moto.aws(&[
            "admin-confirm-sign-up",
            "--user-pool-id",
            &self.id,
            "--username",
            username,
        ]);
    }

    /// `sign-up` alone: the user stays unconfirmed.
    pub fn sign_up(&self, moto: &Moto, username: &str, password: &str) {
        let email = format!("Name=email,Value={username}@example.com");
        moto.aws(&[
            "sign-up",
            "--client-id",
            &self.web_client,
            "--username",
            username,
            "--password",
            password,
            "--user-attributes",
            &email,
        ]);
    }

    /// The administrator's path: `admin-create-user` with a temporary password.
    pub fn admin_create_user(&self, moto: &Moto, username: &str, temporary_password: &str) {
        let email = format!("Name=email,Value={username}@example.com");
        moto.aws(&[
            "admin-create-user",
            "--user-pool-id",
            &self.id,
            "--username",
            username,
            "--temporary-password",
            temporary_password,
            "--user-attributes",
            &email,
            "--message-action",
            "SUPPRESS",
        ]);
    }

    /// `admin-add-user-to-group`.
    pub fn add_to_group(&self, moto: &Moto, username: &str) {
        moto.aws(&[
            "admin-add-user-to-group",
            "--user-pool-id",
            &self.id,
            "--username",
            username,
            "--group-name",
            GROUP,
        ]);
    }

    /// `initiate-auth --auth-flow USER_PASSWORD_AUTH` for a client.
    pub fn initiate_password_auth(
        &self,
        moto: &Moto,
        client_id: &str,
        username: &str,
        password: &str,
    ) -> Value {
        let parameters = format!("USERNAME={username},PASSWORD={password}");
        moto.aws(&[
            "initiate-auth",
            "--client-id",
            client_id,
            "--auth-flow",
            "USER_PASSWORD_AUTH",
            "--auth-parameters",
            &parameters,
        ])
    }
}
