//! The JWKS cache from the outside: fetch counts, cooldown, rotation, TTL, stale-if-error and
//! every way a JWKS endpoint can misbehave (the README's "A JWKS cache that survives the real world").

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::common::*;

const UNKNOWN_KEY: &str = "signing key not found";

#[tokio::test]
async fn a_cold_start_with_200_concurrent_requests_makes_one_fetch() {
    let main = key("key-cold");
    // A slow JWKS so that every request arrives before the keys do.
    let jwks = JwksServer::start(Behaviour::Delay(
        Duration::from_millis(500),
        Box::new(Behaviour::Keys(jwks_of(&[&main]))),
    ))
    .await;
    let app = Arc::new(
        spawn_app_with(&jwks, |config| {
            config.jwks.cooldown = Duration::from_millis(100)
        })
        .await,
    );
    let token = Arc::new(token(&main));

    let mut requests = JoinSet::new();
    for _ in 0..200 {
        let (app, token) = (app.clone(), token.clone());
        requests.spawn(async move { app.get_root(Some(&token)).await });
    }
    let mut served = 0;
    while let Some(answer) = requests.join_next().await {
        assert_random_number(&answer.expect("request task"), "a cold request");
        served += 1;
    }

    assert_eq!(served, 200);
    assert_eq!(jwks.requests(), 1, "JWKS requests for 200 cold requests");
    assert_eq!(app.jwks.fetch_count(), 1);
}

#[tokio::test]
async fn an_unknown_kid_is_fetched_once_then_held_back_by_the_cooldown() {
    let main = key("key-known");
    let jwks = JwksServer::with_keys(&[&main]).await;
    // Long enough that the five requests below fit in it even on a loaded machine.
    let cooldown = Duration::from_secs(2);
    let app = spawn_app_with(&jwks, |config| {
        config.jwks.cooldown = Duration::from_secs(2)
    })
    .await;
    let known = token(&main);
    let unknown = token_with_kid(&main, "key-unknown-1");
    assert_random_number(&app.get_root(Some(&known)).await, "warm-up");
    assert_eq!(jwks.requests(), 1);
    pass(cooldown + Duration::from_millis(50)).await;

    // The first unknown kid makes one fetch.
    let started = Instant::now();
    assert_invalid_token(
        &app.get_root(Some(&unknown)).await,
        UNKNOWN_KEY,
        &unknown,
        &app,
        "first",
    );
    assert_eq!(
        jwks.requests(),
        2,
        "the first unknown kid did not fetch once"
    );

    // Within the cooldown: unknown kids make no fetch, known kids keep working.
    let another = token_with_kid(&main, "key-unknown-2");
    for (token, case) in [
        (&unknown, "the same unknown kid"),
        (&another, "another unknown kid"),
    ] {
        assert_invalid_token(
            &app.get_root(Some(token)).await,
            UNKNOWN_KEY,
            token,
            &app,
            case,
        );
        assert_random_number(
            &app.get_root(Some(&known)).await,
            "a known kid in the cooldown",
        );
    }
    assert!(
        started.elapsed() < cooldown,
        "the machine was too slow to stay inside the cooldown; the count below would mislead"
    );
    assert_eq!(jwks.requests(), 2, "fetches within the cooldown");

    // After the cooldown: one more fetch.
    pass(cooldown.saturating_sub(started.elapsed()) + Duration::from_millis(50)).await;
    assert_invalid_token(
        &app.get_root(Some(&unknown)).await,
        UNKNOWN_KEY,
        &unknown,
        &app,
        "after",
    );
    assert_eq!(jwks.requests(), 3, "fetches after the cooldown");
    assert_eq!(app.jwks.fetch_count(), 3);
}

#[tokio::test]
async fn concurrent_requests_with_the_same_unknown_kid_make_one_fetch() {
    let main = key("key-old");
    let rotated = key("key-new");
    let jwks = JwksServer::with_keys(&[&main]).await;
    let app = Arc::new(
        spawn_app_with(&jwks, |config| {
            config.jwks.cooldown = Duration::from_millis(100)
        })
        .await,
    );
    assert_random_number(&app.get_root(Some(&token(&main))).await, "warm-up");
    pass(Duration::from_millis(150)).await;
    // The new key appears, and the JWKS is slow: all requests pile up behind one fetch.
    jwks.set(Behaviour::Delay(
        Duration::from_millis(300),
        Box::new(Behaviour::Keys(jwks_of(&[&main, &rotated]))),
    ));

    let token = Arc::new(token(&rotated));
    let mut requests = JoinSet::new();
    for _ in 0..50 {
        let (app, token) = (app.clone(), token.clone());
        requests.spawn(async move { app.get_root(Some(&token)).await });
    }
    while let Some(answer) = requests.join_next().await {
        assert_random_number(&answer.expect("task"), "a request with the new kid");
    }
    assert_eq!(jwks.requests(), 2, "one start-up fetch and one refetch");
}

#[tokio::test]
async fn a_key_added_to_the_jwks_is_picked_up_by_the_unknown_kid_refetch() {
    let main = key("key-current");
    let next = key("key-next");
    let jwks = JwksServer::with_keys(&[&main]).await;
    let app = spawn_app_with(&jwks, |config| {
        config.jwks.cooldown = Duration::from_millis(100)
    })
    .await;
    assert_random_number(&app.get_root(Some(&token(&main))).await, "the current key");

    jwks.serve_keys(&[&main, &next]); // Cognito rotates
    pass(Duration::from_millis(150)).await;

    assert_random_number(&app.get_root(Some(&token(&next))).await, "the new key");
    assert_random_number(&app.get_root(Some(&token(&main))).await, "the old key");
    assert_eq!(jwks.requests(), 2);
}

#[tokio::test]
async fn a_flood_of_random_kids_is_bounded_by_the_cooldown() {
    // The attacker's signatures are real; only the kids are random.
    let attacker = Arc::new(key("key-flood"));
    for (behaviour, expected, case) in [
        (
            Behaviour::Status(500),
            StatusCode::SERVICE_UNAVAILABLE,
            "a JWKS answering 500",
        ),
        (
            Behaviour::Keys(jwks_of(&[&attacker])),
            StatusCode::UNAUTHORIZED,
            "a healthy JWKS",
        ),
    ] {
        let jwks = JwksServer::start(behaviour).await;
        let cooldown = Duration::from_millis(500);
        let app = Arc::new(
            spawn_app_with(&jwks, |config| {
                config.jwks.cooldown = Duration::from_millis(500)
            })
            .await,
        );

        // 300 requests with random kids over about a second, ten at a time.
        let started = Instant::now();
        for round in 0..30 {
            let mut requests = JoinSet::new();
            for i in 0..10 {
                let (app, attacker) = (app.clone(), attacker.clone());
                requests.spawn(async move {
                    let kid = format!("random-kid-{round}-{i}-{}", rand::random::<u64>());
                    let token = signed(&attacker, &json!({"alg": "RS256", "kid": kid}), &claims());
                    (app.get_root(Some(&token)).await, token)
                });
            }
            while let Some(outcome) = requests.join_next().await {
                let (answer, token) = outcome.expect("task");
                assert_eq!(answer.status, expected, "{case}: {}", answer.body);
                assert_no_leak(&answer, &secrets_of(&token), case);
            }
            pass(Duration::from_millis(30)).await;
        }
        let elapsed = started.elapsed();

        // One fetch at start, then at most one per started cooldown period.
        let bound = 1 + (elapsed.as_millis() / cooldown.as_millis()) as usize + 1;
        let fetches = jwks.requests();
        assert!(
            fetches <= bound,
            "{case}: {fetches} fetches in {elapsed:?} with a {cooldown:?} cooldown (bound {bound})"
        );
        assert!(fetches >= 1, "{case}: no fetch at all");
    }
}

#[tokio::test]
async fn keys_that_are_down_at_start_recover_without_a_restart() {
    let main = key("key-recover");
    let jwks = JwksServer::start(Behaviour::Status(503)).await;
    let app = spawn_app_with(&jwks, |config| {
        config.jwks.cooldown = Duration::from_millis(200)
    })
    .await;
    let token = token(&main);

    assert_keys_unavailable(&app.get_root(Some(&token)).await, &token, &app, "JWKS down");

    jwks.serve_keys(&[&main]);
    eventually("the app to recover", || async {
        app.get_root(Some(&token)).await.status == StatusCode::OK
    })
    .await;
    assert_random_number(&app.get_root(Some(&token)).await, "after recovery");
}

#[tokio::test]
async fn known_keys_keep_working_while_refreshes_fail() {
    let main = key("key-stale");
    let jwks = JwksServer::with_keys(&[&main]).await;
    let app = spawn_app_with(&jwks, |config| {
        config.jwks.ttl = Duration::from_millis(500);
        config.jwks.cooldown = Duration::from_millis(100);
    })
    .await;
    let token = token(&main);
    assert_random_number(&app.get_root(Some(&token)).await, "fresh keys");

    jwks.set(Behaviour::Status(500));
    // The background refresh (before the TTL) fails, and its retries fail too.
    jwks.wait_for_requests(3).await;
    pass(Duration::from_millis(600)).await; // past the TTL of the good set

    for _ in 0..5 {
        assert_random_number(
            &app.get_root(Some(&token)).await,
            "stale keys while refreshes fail",
        );
    }
    assert!(jwks.requests() >= 3);
}

#[tokio::test]
async fn a_key_removed_from_the_jwks_stops_being_accepted_after_the_ttl_refresh() {
    let kept = key("key-kept");
    let removed = key("key-removed");
    let jwks = JwksServer::with_keys(&[&kept, &removed]).await;
    let app = spawn_app_with(&jwks, |config| {
        config.jwks.ttl = Duration::from_millis(500);
        config.jwks.cooldown = Duration::from_secs(10);
    })
    .await;
    let removed_token = token(&removed);
    assert_random_number(
        &app.get_root(Some(&removed_token)).await,
        "before the removal",
    );

    jwks.serve_keys(&[&kept]);
    // No request drives this: the background refresh does, and the cooldown (10 s) keeps
    // request-driven refetches out of it.
    jwks.wait_for_requests(2).await;
    eventually("the removed key to be refused", || async {
        app.get_root(Some(&removed_token)).await.status == StatusCode::UNAUTHORIZED
    })
    .await;

    assert_invalid_token(
        &app.get_root(Some(&removed_token)).await,
        UNKNOWN_KEY,
        &removed_token,
        &app,
        "a removed key",
    );
    assert_random_number(&app.get_root(Some(&token(&kept))).await, "the kept key");
}

#[tokio::test]
async fn a_hanging_jwks_does_not_hang_requests() {
    let main = key("key-hang");
    let jwks = JwksServer::start(Behaviour::Hang).await;
    let app = spawn_app_with(&jwks, |config| {
        config.jwks.fetch_timeout = Duration::from_millis(500)
    })
    .await;
    let token = token(&main);

    // A bound for hangs, not a speed check: far above the 500 ms fetch timeout.
    let answer = tokio::time::timeout(Duration::from_secs(10), app.get_root(Some(&token)))
        .await
        .expect("the request finished although the JWKS hangs");

    assert_keys_unavailable(&answer, &token, &app, "a hanging JWKS");
}

/// Every broken answer a JWKS endpoint can give.
fn broken_answers(good: &serde_json::Value) -> Vec<(Behaviour, &'static str)> {
    vec![
        (Behaviour::Status(500), "500"),
        (Behaviour::Status(404), "404"),
        (Behaviour::Status(204), "204"),
        (Behaviour::Garbage, "an HTML body"),
        (Behaviour::Oversize, "a 100 KiB body with Content-Length"),
        (Behaviour::OversizeChunked, "a 100 KiB chunked body"),
        (Behaviour::Endless, "an endless body"),
        (Behaviour::Redirect(good.clone()), "a 302 to good keys"),
        (Behaviour::Close, "a closed connection"),
        (Behaviour::Keys(json!({"keys": []})), "an empty key set"),
        (Behaviour::Keys(json!({"keys": {}})), "keys not an array"),
        (Behaviour::Keys(json!([good])), "a JSON array"),
        (
            Behaviour::Keys(json!({"keys": [{"kty": "oct", "kid": "k", "k": "c2VjcmV0"}]})),
            "only an HMAC key",
        ),
    ]
}

#[tokio::test]
async fn each_broken_jwks_answer_gives_503_at_a_cold_start() {
    let main = key("key-broken-cold");
    let token = token(&main);
    for (behaviour, case) in broken_answers(&jwks_of(&[&main])) {
        let jwks = JwksServer::start(behaviour).await;
        let app = spawn_app_with(&jwks, |config| {
            config.jwks.fetch_timeout = Duration::from_secs(2)
        })
        .await;

        let answer = app.get_root(Some(&token)).await;

        assert_keys_unavailable(&answer, &token, &app, case);
        assert_eq!(
            jwks.requests_for(MOVED_PATH),
            0,
            "{case}: a redirect was followed"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn each_broken_jwks_answer_leaves_the_good_keys_in_place() {
    let main = key("key-broken-warm");
    let rotated = key("key-broken-new");
    let good = jwks_of(&[&main]);
    let known = token(&main);
    let unknown = token(&rotated);
    for (behaviour, case) in broken_answers(&jwks_of(&[&main, &rotated])) {
        let jwks = JwksServer::start(Behaviour::Keys(good.clone())).await;
        let app = spawn_app_with(&jwks, |config| {
            config.jwks.cooldown = Duration::from_millis(100);
            config.jwks.fetch_timeout = Duration::from_secs(2);
        })
        .await;
        assert_random_number(&app.get_root(Some(&known)).await, case);
        jwks.set(behaviour);
        pass(Duration::from_millis(150)).await;

        // An unknown kid makes the cache fetch; the broken answer must not become the key set.
        let answer = app.get_root(Some(&unknown)).await;
        assert_keys_unavailable(&answer, &unknown, &app, case);
        assert_eq!(jwks.requests(), 2, "{case}: fetches");
        assert_eq!(
            jwks.requests_for(MOVED_PATH),
            0,
            "{case}: a redirect was followed"
        );

        assert_random_number(&app.get_root(Some(&known)).await, case);
        app.stop().await;
    }
}

#[tokio::test]
async fn jwks_requests_name_randapi_as_their_user_agent() {
    let (main, jwks, app) = spawn_app_with_key("key-ua").await;
    assert_random_number(&app.get_root(Some(&token(&main))).await, "warm-up");

    let agents = jwks.user_agents();
    assert_eq!(agents.len(), 1);
    assert!(
        agents[0]
            .as_deref()
            .is_some_and(|ua| ua.starts_with("randapi/")),
        "User-Agent {:?}",
        agents[0]
    );
}

#[tokio::test]
async fn known_keys_stop_being_trusted_after_the_max_stale_age() {
    let main = key("key-max-stale");
    let jwks = JwksServer::with_keys(&[&main]).await;
    let app = spawn_app_with(&jwks, |config| {
        config.jwks.ttl = Duration::from_millis(200);
        config.jwks.max_stale = Duration::from_millis(800);
        config.jwks.cooldown = Duration::from_millis(100);
    })
    .await;
    let token = token(&main);
    assert_random_number(&app.get_root(Some(&token)).await, "fresh keys");

    jwks.set(Behaviour::Status(500));
    eventually("stale keys to be dropped", || async {
        app.get_root(Some(&token)).await.status == StatusCode::SERVICE_UNAVAILABLE
    })
    .await;

    assert_keys_unavailable(
        &app.get_root(Some(&token)).await,
        &token,
        &app,
        "past max stale",
    );
}

#[tokio::test]
async fn a_failed_fetch_is_logged_with_its_cause() {
    // Nothing listens on this port: the connection is refused.
    let closed = free_port();
    let jwks_url = format!("http://127.0.0.1:{closed}/jwks.json");
    let (mut child, port, lines) = randapi_with_stdout(&jwks_url, &[("SHUTDOWN_DELAY", "0s")]);
    crate::common::raw::wait_until_serving(port).await;
    // The start-up fetch was refused at once; a request for a key asks again.
    let answer = http_client()
        .get(format!("http://127.0.0.1:{port}/"))
        .bearer_auth(token(&key("key-refused")))
        .send()
        .await
        .expect("answer");
    assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
    send_signal(&child, "TERM");
    assert_eq!(exit_status(&mut child).await.code(), Some(0));

    let failures: Vec<serde_json::Value> = lines
        .await
        .expect("stdout")
        .iter()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|line| line["message"] == "jwks fetch failed")
        .collect();
    assert!(!failures.is_empty(), "no failed fetch was logged");
    for failure in &failures {
        assert_eq!(failure["level"], "WARN", "{failure}");
        let error = failure["error"].as_str().expect("an error field");
        // reqwest's own message ("error sending request for url") is not enough: the cause under
        // it is what an operator needs.
        assert!(
            error.contains("error sending request") && error.contains("Connection refused"),
            "the cause is not named: {error}"
        );
        assert_eq!(failure["url"], jwks_url.as_str(), "{failure}");
    }
}
