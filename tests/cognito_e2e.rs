//! End to end against a Cognito emulator: moto's `moto_server` (installed by `scripts/cognito.sh`)
//! on 127.0.0.1 and a free port, driven with the aws CLI exactly as the tutorial does, and
//! randapi configured with that pool's issuer, JWKS URL and first client.
//!
//! Also `randapi token` (the binary) against the same emulator, and its SRP arithmetic against
//! pycognito run live. Nothing here skips: a missing tool fails with the command to install it.
//! moto does not verify SRP proofs (its `SRP_B` and `SALT` are random UUIDs and it only checks
//! that a signature is present), so the SRP proof itself is checked against pycognito instead.

mod common;
#[path = "cognito_e2e/moto.rs"]
mod moto;

use std::process::{Command, Output, Stdio};

use common::{
    TestApp, assert_invalid_token, assert_random_number, run_randapi as randapi,
    stderr_of as stderr, stdout_of as stdout, token_args_without_pool,
};
use moto::{GROUP, Moto, Pool, field, issuer};
use randapi::config::LogFormat;
use randapi::token::srp::{self, PasswordVerifier, SrpSession};
use serde_json::Value;

const PASSWORD: &str = "Passw0rd!";
const TEMPORARY_PASSWORD: &str = "Temp0rary!Pass";
const NEW_PASSWORD: &str = "N3w-Passw0rd!";
const ID_TOKEN_REASON: &str = "token is an ID token; send the access token";

/// randapi configured as the README says for moto: issuer and JWKS URL apart, the first client.
async fn start_api(moto: &Moto, pool: &Pool, required_groups: &[&str]) -> TestApp {
    let mut config = common::cognito_config(
        &issuer(&pool.id),
        &moto.jwks_url(&pool.id),
        &[&pool.web_client],
    );
    config.policy.required_groups = required_groups.iter().map(|g| (*g).to_owned()).collect();
    config.log_format = LogFormat::Text;
    TestApp::spawn(config).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tutorial_sequence_gives_tokens_that_randapi_judges_as_promised() {
    let moto = Moto::start();
    let pool = Pool::create(&moto);

    // The tutorial, step by step: sign-up, admin-confirm-sign-up, initiate-auth USER_PASSWORD_AUTH.
    pool.sign_up_and_confirm(&moto, "xyz.abc", PASSWORD);
    let signed_in = pool.initiate_password_auth(&moto, &pool.web_client, "xyz.abc", PASSWORD);
    let access = field(&signed_in, "/AuthenticationResult/AccessToken").to_owned();
    let id = field(&signed_in, "/AuthenticationResult/IdToken").to_owned();

    // The administrator's path: admin-create-user, initiate-auth -> NEW_PASSWORD_REQUIRED,
    // respond-to-auth-challenge.
    pool.admin_create_user(&moto, "temp.user", TEMPORARY_PASSWORD);
    pool.add_to_group(&moto, "temp.user");
    let challenge =
        pool.initiate_password_auth(&moto, &pool.web_client, "temp.user", TEMPORARY_PASSWORD);
    assert_eq!(field(&challenge, "/ChallengeName"), "NEW_PASSWORD_REQUIRED");
    let session = field(&challenge, "/Session");
    let responses = format!("USERNAME=temp.user,NEW_PASSWORD={NEW_PASSWORD}");
    let answered = moto.aws(&[
        "respond-to-auth-challenge",
        "--client-id",
        &pool.web_client,
        "--challenge-name",
        "NEW_PASSWORD_REQUIRED",
        "--session",
        session,
        "--challenge-responses",
        &responses,
    ]);
    let member_access = field(&answered, "/AuthenticationResult/AccessToken").to_owned();

    // The same user through the pool's other app client.
    let other = pool.initiate_password_auth(&moto, &pool.other_client, "xyz.abc", PASSWORD);
    let other_access = field(&other, "/AuthenticationResult/AccessToken").to_owned();

    let api = start_api(&moto, &pool, &[]).await;

    let answer = api.get_root(Some(&access)).await;
    assert_random_number(&answer, "the access token is accepted");

    let answer = api.get_root(Some(&member_access)).await;
    assert_random_number(
        &answer,
        "the NEW_PASSWORD_REQUIRED path's token is accepted",
    );

    let answer = api.get_root(Some(&id)).await;
    assert_invalid_token(
        &answer,
        ID_TOKEN_REASON,
        &id,
        &api,
        "the ID token is refused",
    );

    let answer = api.get_root(Some(&other_access)).await;
    assert_invalid_token(
        &answer,
        "client_id not allowed",
        &other_access,
        &api,
        "another client's token is refused",
    );
    api.stop().await;

    // With COGNITO_REQUIRED_GROUPS: the group's member passes, the other user is forbidden.
    let api = start_api(&moto, &pool, &[GROUP]).await;
    let answer = api.get_root(Some(&member_access)).await;
    assert_random_number(&answer, &format!("a member of {GROUP} is accepted"));
    let answer = api.get_root(Some(&access)).await;
    assert_eq!(
        answer.status, 403,
        "a non-member is forbidden: {}",
        answer.body
    );
    let challenge = answer.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert_eq!(answer.json()["error"], "insufficient_scope");
    api.stop().await;
}

/// `randapi token` against moto's `pool` as the app client `client`, with `extra` arguments.
fn randapi_token(
    moto: &Moto,
    pool: &Pool,
    client: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> Output {
    let mut args = vec![
        "token",
        "--endpoint-url",
        &moto.endpoint,
        "--user-pool-id",
        &pool.id,
        "--client-id",
        client,
    ];
    args.extend_from_slice(extra);
    randapi(&args, env)
}

/// The arguments that sign `user` in with `password` through `flow` (`password` or `srp`).
fn sign_in_args<'a>(user: &'a str, password: &'a str, flow: &'a str) -> [&'a str; 6] {
    ["--username", user, "--password", password, "--flow", flow]
}

/// The access token `randapi token` printed: one line, a JWT, nothing else.
fn printed_token(output: &Output) -> String {
    assert!(
        output.status.success(),
        "randapi token failed: {}",
        stderr(output)
    );
    let out = stdout(output);
    let token = out.strip_suffix('\n').unwrap_or(&out);
    assert!(
        !token.contains('\n'),
        "more than the token on stdout: {out}"
    );
    assert_eq!(token.split('.').count(), 3, "not a JWT: {token}");
    token.to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn randapi_token_signs_in_to_moto_with_every_flow() {
    let moto = Moto::start();
    let pool = Pool::create(&moto);
    pool.sign_up_and_confirm(&moto, "xyz.abc", PASSWORD);
    let api = start_api(&moto, &pool, &[]).await;
    let run = |extra: &[&str], env: &[(&str, &str)]| {
        randapi_token(&moto, &pool, &pool.web_client, extra, env)
    };

    // USER_SRP_AUTH, the default, with the password from COGNITO_PASSWORD.
    let srp_token = printed_token(&run(
        &["--username", "xyz.abc"],
        &[("COGNITO_PASSWORD", PASSWORD)],
    ));
    assert_random_number(
        &api.get_root(Some(&srp_token)).await,
        "the SRP flow's access token is accepted",
    );

    // USER_PASSWORD_AUTH with --json: every token and the expiry.
    let output = run(
        &[
            &sign_in_args("xyz.abc", PASSWORD, "password")[..],
            &["--json"],
        ]
        .concat(),
        &[],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let tokens: Value = serde_json::from_str(&stdout(&output)).expect("--json prints JSON");
    let access = tokens["access_token"].as_str().expect("access_token");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 3600, "moto's fixed lifetime");
    assert!(tokens["expires_at"].as_u64().is_some(), "{tokens}");
    assert!(tokens["id_token"].as_str().is_some(), "{tokens}");
    let refresh = tokens["refresh_token"].as_str().expect("refresh_token");
    assert_random_number(
        &api.get_root(Some(access)).await,
        "the password flow's access token is accepted",
    );
    let id_token = tokens["id_token"].as_str().unwrap_or_default();
    let answer = api.get_root(Some(id_token)).await;
    assert_invalid_token(
        &answer,
        ID_TOKEN_REASON,
        id_token,
        &api,
        "its ID token is not",
    );

    // REFRESH_TOKEN_AUTH: no password, no user name.
    let refreshed = printed_token(&run(&["--refresh-token", refresh], &[]));
    assert_random_number(
        &api.get_root(Some(&refreshed)).await,
        "the refreshed access token is accepted",
    );

    // NEW_PASSWORD_REQUIRED, answered with --new-password, through both flows; afterwards the
    // new password is the one that works.
    for (user, flow) in [("new.srp", "srp"), ("new.password", "password")] {
        pool.admin_create_user(&moto, user, TEMPORARY_PASSWORD);
        let token = printed_token(&run(
            &[
                &sign_in_args(user, TEMPORARY_PASSWORD, flow)[..],
                &["--new-password", NEW_PASSWORD],
            ]
            .concat(),
            &[],
        ));
        assert_random_number(
            &api.get_root(Some(&token)).await,
            &format!("{user}: token after the new password"),
        );
        let again = run(&sign_in_args(user, NEW_PASSWORD, "password"), &[]);
        printed_token(&again);
        let old = run(&sign_in_args(user, TEMPORARY_PASSWORD, "password"), &[]);
        assert_eq!(
            old.status.code(),
            Some(1),
            "{user}: the temporary password is spent"
        );
    }

    // An unconfirmed user: the error names the exception and the command that confirms.
    pool.sign_up(&moto, "pending.user", PASSWORD);
    for flow in ["password", "srp"] {
        let output = run(&sign_in_args("pending.user", PASSWORD, flow), &[]);
        assert_eq!(output.status.code(), Some(1), "{flow}: {}", stderr(&output));
        assert!(stdout(&output).is_empty(), "nothing on stdout on failure");
        let message = stderr(&output);
        assert!(message.contains("UserNotConfirmedException"), "{message}");
        assert!(
            message.contains(&format!(
                "aws cognito-idp admin-confirm-sign-up --user-pool-id {} --username pending.user",
                pool.id
            )),
            "{message}"
        );
    }

    // A wrong password (the password flow: moto does not check SRP proofs).
    let output = run(&sign_in_args("xyz.abc", "wrong", "password"), &[]);
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(
        message.contains("NotAuthorizedException: Incorrect username or password."),
        "{message}"
    );
    assert!(message.contains("hint: wrong password"), "{message}");

    // A client id that does not exist.
    let output = randapi_token(
        &moto,
        &pool,
        "doesnotexist0000000000000",
        &sign_in_args("xyz.abc", PASSWORD, "password"),
        &[],
    );
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(message.contains("ResourceNotFoundException"), "{message}");
    assert!(message.contains("--client-id"), "{message}");

    // An app client with a secret: SECRET_HASH from --client-secret; a wrong secret is refused.
    let with_secret = |secret: &str| {
        randapi_token(
            &moto,
            &pool,
            &pool.secret_client,
            &[
                "--username",
                "xyz.abc",
                "--password",
                PASSWORD,
                "--client-secret",
                secret,
            ],
            &[],
        )
    };
    printed_token(&with_secret(&pool.secret));
    let output = with_secret("not-the-secret");
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("NotAuthorizedException"),
        "{}",
        stderr(&output)
    );

    api.stop().await;
}

#[test]
fn randapi_token_needs_no_server_settings_but_its_own() {
    // No COGNITO_CLIENT_IDS, no pool id: `randapi` alone would stop with a configuration error,
    // `randapi token` only asks for what it needs.
    let serve = randapi(&[], &[]);
    assert_eq!(
        serve.status.code(),
        Some(2),
        "serve mode checks its settings"
    );
    assert!(stderr(&serve).contains("COGNITO_CLIENT_IDS"));

    let token_without_pool =
        |extra: &[&str]| randapi(&[&token_args_without_pool()[..], extra].concat(), &[]);
    let output = token_without_pool(&["--region", "eu-west-1"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(message.contains("--user-pool-id"), "{message}");
    assert!(!message.contains("COGNITO_CLIENT_IDS"), "{message}");

    let output = token_without_pool(&["--flow", "password"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("no region"), "{}", stderr(&output));
}

#[test]
fn srp_values_equal_pycognito_run_live() {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/srp/pycognito_vectors.py"
    );
    let python = moto::on_path("python3");
    let output = Command::new(python)
        .arg(script)
        .stdin(Stdio::null())
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "pycognito did not compute the vectors (run scripts/cognito.sh, which installs pycognito==2024.5.1): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let live: Value = serde_json::from_slice(&output.stdout).expect("the script prints JSON");
    let committed: Value =
        serde_json::from_str(include_str!("fixtures/srp/pycognito_vectors.json"))
            .expect("the fixture parses");
    assert_eq!(
        live, committed,
        "the committed fixture is what pycognito computes today"
    );

    let vectors = live.as_array().expect("a list");
    assert!(vectors.len() >= 5);
    for v in vectors {
        let s = |name: &str| v[name].as_str().unwrap_or_else(|| panic!("{name} in {v}"));
        let a = num_bigint_from_hex(s("a"));
        let session = SrpSession::with_private_value(s("pool_id"), a).expect("a is not zero");
        assert_eq!(session.srp_a(), s("srp_a"), "A");
        let key = session
            .password_key(s("user_id_for_srp"), s("password"), s("srp_b"), s("salt"))
            .expect("key");
        let key_hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(key_hex, s("hkdf_key"), "HKDF key");
        let timestamp = srp::cognito_timestamp(v["unix_time"].as_u64().expect("unix_time"));
        assert_eq!(timestamp, s("timestamp"));
        let challenge = PasswordVerifier {
            user_id_for_srp: s("user_id_for_srp"),
            srp_b: s("srp_b"),
            salt: s("salt"),
            secret_block: s("secret_block"),
        };
        assert_eq!(
            session
                .password_claim_signature(&challenge, s("password"), &timestamp)
                .expect("signature"),
            s("signature")
        );
        assert_eq!(
            srp::secret_hash(s("client_secret"), s("username"), s("client_id")),
            s("secret_hash")
        );
    }
}

fn num_bigint_from_hex(hex: &str) -> num_bigint::BigUint {
    num_bigint::BigUint::parse_bytes(hex.as_bytes(), 16).expect("hex")
}
