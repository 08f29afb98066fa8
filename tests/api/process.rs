//! The real binary: graceful shutdown on SIGTERM and SIGINT, configuration errors, `--dev`.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::task::JoinSet;

use crate::common::*;

#[tokio::test]
async fn sigterm_lets_requests_in_flight_finish_then_exits_0() {
    let main = key("key-term");
    let next = key("key-term-next");
    let jwks = JwksServer::with_keys(&[&main]).await;
    let port = free_port();
    let (jwks_url, port_text) = (jwks.url(), port.to_string());
    let mut env = server_env(&port_text, &jwks_url);
    env.extend([
        ("JWKS_COOLDOWN", "100ms"),
        ("JWKS_FETCH_TIMEOUT", "20s"),
        ("LOG_FORMAT", "json"),
        ("SHUTDOWN_DELAY", "200ms"),
    ]);
    let mut child = randapi(&[], &env).spawn().expect("randapi starts");
    drain_stderr(&mut child);
    let base = format!("http://127.0.0.1:{port}");
    let client = http_client();
    let main_token = token(&main);
    eventually_authorized(&client, &base, &main_token).await;
    assert_eq!(jwks.requests(), 1);

    // Slow requests: a new kid makes randapi refetch, and the JWKS holds that answer back.
    jwks.set(Behaviour::Held(Box::new(Behaviour::Keys(jwks_of(&[
        &main, &next,
    ])))));
    pass(Duration::from_millis(150)).await; // past the cooldown
    let next_token = token(&next);
    // Under load: this many requests, each on its own connection, are inside randapi at SIGTERM.
    const IN_FLIGHT: usize = 64;
    let mut in_flight = JoinSet::new();
    for _ in 0..IN_FLIGHT {
        let (client, base, token) = (http_client(), base.clone(), next_token.clone());
        in_flight.spawn(async move {
            // Warm a connection first: the server has accepted and served it, so the request
            // below is read at once and is surely in flight when SIGTERM comes.
            let health = client
                .get(format!("{base}/health"))
                .send()
                .await
                .expect("health");
            assert_eq!(health.status(), StatusCode::OK);
            health.text().await.expect("health body");
            let response = client
                .get(format!("{base}/"))
                .bearer_auth(token)
                .send()
                .await
                .expect("an in-flight request gets an answer");
            Answer::read(response).await
        });
    }
    jwks.wait_for_requests(2).await; // the refetch is held: requests are inside randapi
    pass(Duration::from_millis(300)).await; // the other requests are read too

    // Act
    send_signal(&child, "TERM");

    // Assert: randapi stops accepting while the held requests are still in flight ...
    eventually("new connections to be refused", || {
        refuses_connections(port)
    })
    .await;
    assert!(
        in_flight.try_join_next().is_none(),
        "a request finished before the JWKS answered"
    );
    assert!(
        child.try_wait().expect("try_wait").is_none(),
        "randapi exited with requests in flight"
    );
    // ... and finishes them with their answers once the keys arrive.
    jwks.release();
    let mut answered = 0;
    while let Some(answer) = in_flight.join_next().await {
        assert_random_number(&answer.expect("task"), "a request in flight at SIGTERM");
        answered += 1;
    }
    assert_eq!(answered, IN_FLIGHT);
    let status = exit_status(&mut child).await;
    assert_eq!(
        status.code(),
        Some(0),
        "exit status after SIGTERM: {status}"
    );
    assert!(refuses_connections(port).await);
}

#[tokio::test]
async fn sigint_stops_the_server_and_exits_0() {
    let port = free_port();
    let port_text = port.to_string();
    // A grace far above the exit bound below: the idle keep-alive connection that `client`
    // leaves open must not hold the exit up.
    let mut child = randapi(
        &["--dev"],
        &[
            ("PORT", &port_text),
            ("HOST", "127.0.0.1"),
            ("SHUTDOWN_GRACE", "60s"),
        ],
    )
    .spawn()
    .expect("randapi starts");
    drain_stderr(&mut child);
    let client = http_client();
    let health = format!("http://127.0.0.1:{port}/health");
    eventually("randapi to serve", || async {
        client
            .get(&health)
            .send()
            .await
            .is_ok_and(|r| r.status() == StatusCode::OK)
    })
    .await;
    // The container health check agrees.
    assert_eq!(
        healthcheck(&port_text).await,
        Some(0),
        "healthcheck of a live server"
    );

    send_signal(&child, "INT");

    let status = exit_status(&mut child).await;
    assert_eq!(status.code(), Some(0), "exit status after SIGINT: {status}");
    assert!(refuses_connections(port).await);
    assert_eq!(
        healthcheck(&port_text).await,
        Some(1),
        "healthcheck of a stopped server"
    );
}

/// Exit code of `randapi healthcheck` against `port`.
async fn healthcheck(port: &str) -> Option<i32> {
    let child = randapi(&["healthcheck", "--timeout", "3s"], &[("PORT", port)])
        .spawn()
        .expect("randapi healthcheck starts");
    tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .expect("healthcheck ends")
        .expect("healthcheck output")
        .status
        .code()
}

#[tokio::test]
async fn a_request_that_outlives_the_shutdown_grace_does_not_keep_the_process_alive() {
    let main = key("key-grace");
    let jwks = JwksServer::start(Behaviour::Hang).await;
    let port = free_port();
    let (jwks_url, port_text) = (jwks.url(), port.to_string());
    let mut env = server_env(&port_text, &jwks_url);
    env.extend([
        ("JWKS_FETCH_TIMEOUT", "60s"),
        ("REQUEST_TIMEOUT", "60s"),
        ("SHUTDOWN_GRACE", "500ms"),
        ("SHUTDOWN_DELAY", "200ms"),
    ]);
    let mut child = randapi(&[], &env).spawn().expect("randapi starts");
    drain_stderr(&mut child);
    let base = format!("http://127.0.0.1:{port}");
    let client = http_client();
    crate::common::raw::wait_until_serving(port).await;
    // This request waits for keys from a JWKS that never answers.
    let stuck = tokio::spawn({
        let (client, token) = (client.clone(), token(&main));
        async move {
            client
                .get(format!("{base}/"))
                .bearer_auth(token)
                .send()
                .await
        }
    });
    jwks.wait_for_requests(1).await;
    pass(Duration::from_millis(200)).await;

    send_signal(&child, "TERM");

    // Exits after the grace (bounded generously here; this is not a speed check), with 0: the
    // platform asked it to stop, and it did.
    let status = exit_status(&mut child).await;
    assert_eq!(status.code(), Some(0), "exit status: {status}");
    let outcome = stuck.await.expect("task");
    assert!(
        outcome.is_err(),
        "the stuck request got an answer: {outcome:?}"
    );
}

#[tokio::test]
async fn a_bad_configuration_exits_with_code_2_and_names_the_variable() {
    let pool = ("COGNITO_USER_POOL_ID", "eu-west-1_AbCdEf123");
    let clients = ("COGNITO_CLIENT_IDS", "1example23456789abcdefghij");
    type Case<'a> = (Vec<(&'a str, &'a str)>, Vec<&'a str>, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (vec![pool], vec![], "COGNITO_CLIENT_IDS", "no client ids"),
        (
            vec![pool, ("COGNITO_CLIENT_IDS", " , ")],
            vec![],
            "COGNITO_CLIENT_IDS",
            "blank client ids",
        ),
        (
            vec![clients],
            vec![],
            "COGNITO_USER_POOL_ID",
            "neither pool id nor issuer",
        ),
        (
            vec![pool, clients, ("COGNITO_JWKS_URL", "not a url")],
            vec![],
            "COGNITO_JWKS_URL",
            "a JWKS URL that is not a URL",
        ),
        (
            vec![
                pool,
                clients,
                ("COGNITO_JWKS_URL", "ftp://keys.example/jwks.json"),
            ],
            vec![],
            "COGNITO_JWKS_URL",
            "an ftp JWKS URL",
        ),
        (
            vec![
                clients,
                ("COGNITO_ISSUER", "cognito-idp.eu-west-1.amazonaws.com/x"),
            ],
            vec![],
            "COGNITO_ISSUER",
            "an issuer without a scheme",
        ),
        (
            vec![pool, clients],
            vec!["--cognito-jwks-url", "::bad::"],
            "COGNITO_JWKS_URL",
            "a bad URL given as a flag",
        ),
        (
            vec![pool, clients, ("PORT", "http")],
            vec![],
            "PORT",
            "a port that is not a number",
        ),
        (
            vec![pool, clients, ("JWKS_TTL", "soon")],
            vec![],
            "JWKS_TTL",
            "a TTL that is not a duration",
        ),
        (
            vec![pool, clients, ("CLOCK_LEEWAY", "5m")],
            vec![],
            "CLOCK_LEEWAY",
            "a leeway over 60 s",
        ),
    ];
    for (envs, args, variable, case) in cases {
        let child = randapi(&args, &envs).spawn().expect("randapi starts");
        let output = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("{case}: randapi started serving instead of exiting"))
            .expect("output");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{case}: exit code; stderr: {stderr}"
        );
        assert!(
            stderr.contains(variable),
            "{case}: stderr does not name {variable}: {stderr}"
        );
        assert!(
            stderr.contains("Example:"),
            "{case}: stderr shows no example: {stderr}"
        );
        assert_eq!(
            stderr.trim().lines().count(),
            1,
            "{case}: one paragraph: {stderr}"
        );
    }
}

#[tokio::test]
async fn dev_mode_prints_a_working_curl_line_and_serves_fresh_tokens() {
    let port = free_port();
    let port_text = port.to_string();
    let mut child = randapi(&["--dev"], &[("PORT", &port_text), ("HOST", "127.0.0.1")])
        .spawn()
        .expect("randapi --dev starts");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let mut banner = String::new();
    let curl_line = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = lines.next_line().await.expect("stderr line") {
            banner.push_str(&line);
            banner.push('\n');
            if line.contains("curl ") {
                return line;
            }
        }
        panic!("randapi --dev exited without a curl line: {banner}");
    })
    .await
    .expect("a curl line on stderr");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    assert!(banner.contains("DEVELOPMENT MODE"), "{banner}");

    // The line is `curl -H 'Authorization: Bearer <token>' http://127.0.0.1:<port>/`.
    let printed_token = curl_line
        .split("Authorization: Bearer ")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a token in the curl line");
    let base = format!("http://127.0.0.1:{port}");
    assert!(
        curl_line.trim_end().ends_with(&format!("{base}/")),
        "{curl_line}"
    );
    let client = http_client();
    let call = |token: String| {
        let client = client.clone();
        let url = format!("{base}/");
        async move {
            let response = client
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .expect("GET /");
            Answer::read(response).await
        }
    };

    assert_random_number(&call(printed_token.to_owned()).await, "the printed token");

    let fresh: Value = client
        .get(format!("{base}/dev/token"))
        .send()
        .await
        .expect("GET /dev/token")
        .json()
        .await
        .expect("token JSON");
    assert_eq!(fresh["token_type"], "Bearer");
    let fresh_token = fresh["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned();
    assert_ne!(fresh_token, printed_token);
    assert_random_number(&call(fresh_token).await, "a token from /dev/token");
    assert_eq!(
        call("not.a.token".into()).await.status,
        StatusCode::UNAUTHORIZED
    );

    send_signal(&child, "TERM");
    let status = exit_status(&mut child).await;
    assert_eq!(status.code(), Some(0), "exit status: {status}");
}

#[tokio::test]
async fn tokens_never_reach_the_logs_even_at_trace_level() {
    let main = key("key-logs");
    let jwks = JwksServer::with_keys(&[&main]).await;
    let (mut child, port, logs) = randapi_with_stdout(&jwks.url(), &[("RUST_LOG", "trace")]);
    let base = format!("http://127.0.0.1:{port}");
    let client = http_client();
    let valid = token(&main);
    let tokens = [
        valid.clone(),
        main.sign(&with(claims(), "exp", serde_json::json!(1)))
            .expect("sign"),
        token_with_kid(&main, "key-logs-unknown"),
        format!("{}.{}", valid, "extra"),
    ];
    eventually_authorized(&client, &base, &valid).await;
    for token in &tokens {
        for value in [format!("Bearer {token}"), format!("Bearer {token} {token}")] {
            client
                .get(format!("{base}/"))
                .header("authorization", value)
                .send()
                .await
                .expect("answer");
        }
    }
    send_signal(&child, "TERM");
    assert_eq!(exit_status(&mut child).await.code(), Some(0));
    let logs = logs.await.expect("logs").join("\n");

    assert!(
        logs.contains("jwks fetched"),
        "the logs were not captured: {logs}"
    );
    // One structured line per request: method, path, status, latency, and `sub` when known.
    let request_lines: Vec<Value> = logs
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["message"] == "request")
        .collect();
    let served = request_lines
        .iter()
        .find(|line| line["status"] == 200 && line["path"] == "/")
        .unwrap_or_else(|| panic!("no request line for a 200 on /: {logs}"));
    assert_eq!(served["method"], "GET");
    assert_eq!(served["sub"], claims()["sub"]);
    assert_eq!(served["client_id"], CLIENT_ID);
    assert!(served["latency_ms"].is_number(), "{served}");
    assert!(
        request_lines
            .iter()
            .any(|line| line["status"] == 401 && line["reason"] == "token expired"),
        "no request line with the refusal reason: {logs}"
    );
    for token in &tokens {
        for (i, part) in token.split('.').enumerate().filter(|(_, p)| p.len() >= 8) {
            assert!(
                !logs.contains(part),
                "segment {i} of a token is in the logs"
            );
        }
    }
}

#[tokio::test]
async fn a_bad_server_variable_stops_only_the_server() {
    let run = |args: &[&str]| {
        let child = randapi(args, &[("PORT", "abc")])
            .spawn()
            .expect("randapi starts");
        async move {
            tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
                .await
                .expect("randapi exits")
                .expect("output")
        }
    };
    for args in [&[][..], &["serve"][..], &["--dev"][..]] {
        let output = run(args).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("PORT (flag --port)") && stderr.contains("Example: PORT=3001"),
            "{args:?}: {stderr}"
        );
    }
    // The token command reads no server variable: it gets as far as its own usage error.
    let output = run(&token_args_without_pool()).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no region") && !stderr.contains("PORT"),
        "{stderr}"
    );
    for args in [&["token", "--help"][..], &["healthcheck", "--help"][..]] {
        let output = run(args).await;
        assert_eq!(output.status.code(), Some(0), "{args:?}");
    }
}
