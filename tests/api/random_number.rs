//! `GET /` numbers: always in 0..=100 and uniform (a chi-square goodness-of-fit test).

use std::sync::Arc;

use randapi::routes::draw;
use tokio::task::JoinSet;

use crate::common::*;

/// Outcomes 0..=100: 101 bins, so the chi-square statistic of a fair draw has 100 degrees of
/// freedom.
const BINS: usize = 101;

/// The 1 - 10⁻⁶ quantile of the chi-square distribution with 100 degrees of freedom. For an even
/// number k of degrees of freedom the upper tail has a closed form, Q(x) = e^(-x/2) Σ_{i<k/2}
/// (x/2)^i / i!, solved here for Q = 10⁻⁶ (the same formula gives 149.449 for Q = 0.001, as
/// tables do). A fair generator exceeds it once in a million runs, so the two tests that use it
/// do not make CI flaky (at 0.001 they failed one run in 500 between them); a biased one still
/// exceeds it every time with the sample sizes below, as the power checks in the test show: the
/// mistakes there score about 3,800 to 10,500.
const CRITICAL_100_DF_P_1E_6: f64 = 182.127;

/// Pearson's statistic of `counts` against a uniform distribution over [`BINS`] outcomes.
fn chi_square(counts: &[u64; BINS]) -> f64 {
    let total: u64 = counts.iter().sum();
    let expected = total as f64 / BINS as f64;
    counts
        .iter()
        .map(|&observed| (observed as f64 - expected).powi(2) / expected)
        .sum()
}

fn histogram(draws: impl IntoIterator<Item = u64>) -> [u64; BINS] {
    let mut counts = [0u64; BINS];
    for n in draws {
        counts[usize::try_from(n).expect("small")] += 1;
    }
    counts
}

#[tokio::test]
async fn numbers_over_http_stay_in_range_and_fit_a_uniform_distribution() {
    let main = key("key-draws");
    let jwks = JwksServer::with_keys(&[&main]).await;
    let app = Arc::new(spawn_app(&jwks).await);
    let token = Arc::new(token(&main));

    // 2,020 draws: 20 expected per outcome, enough for the chi-square approximation.
    let mut draws = Vec::with_capacity(2020);
    let mut workers = JoinSet::new();
    for _ in 0..4 {
        let (app, token) = (app.clone(), token.clone());
        workers.spawn(async move {
            let mut mine = Vec::with_capacity(505);
            for _ in 0..505 {
                // `assert_random_number` checks the JSON shape and 0..=100.
                mine.push(assert_random_number(
                    &app.get_root(Some(&token)).await,
                    "GET /",
                ));
            }
            mine
        });
    }
    while let Some(mine) = workers.join_next().await {
        draws.extend(mine.expect("worker"));
    }

    assert_eq!(draws.len(), 2020);
    let statistic = chi_square(&histogram(draws));
    assert!(
        statistic < CRITICAL_100_DF_P_1E_6,
        "chi-square {statistic:.1} over HTTP draws"
    );
}

#[test]
fn the_draw_behind_get_root_passes_a_chi_square_test_that_can_fail() {
    const DRAWS: usize = 100_000; // about 990 per outcome

    let fair = histogram((0..DRAWS).map(|_| u64::from(draw())));
    let statistic = chi_square(&fair);
    assert!(
        fair.iter().all(|&count| count > 0),
        "an outcome in 0..=100 never came up: {fair:?}"
    );
    assert!(
        statistic < CRITICAL_100_DF_P_1E_6,
        "chi-square {statistic:.1} >= {CRITICAL_100_DF_P_1E_6} for randapi's draw()"
    );

    // The same test fails for the classic mistakes, so passing it means something.
    type Generator = fn() -> u64;
    let mistakes: [(&str, Generator); 3] = [
        ("a generator of 0..=99", || {
            u64::from(rand::random::<u8>() % 100)
        }),
        ("a byte modulo 101", || {
            u64::from(rand::random::<u8>() % 101)
        }),
        ("a draw that repeats 50 too often", || {
            if rand::random::<u8>() < 8 {
                50
            } else {
                u64::from(draw())
            }
        }),
    ];
    for (name, generator) in mistakes {
        let statistic = chi_square(&histogram((0..DRAWS).map(|_| generator())));
        assert!(
            statistic > CRITICAL_100_DF_P_1E_6,
            "{name} passed the test (chi-square {statistic:.1})"
        );
    }
}

#[tokio::test]
async fn get_random_serves_the_same_number_behind_the_same_token_check() {
    let (key, _jwks, app) = spawn_app_with_key("key-random-path").await;
    let good = token(&key);

    let answer = app
        .get_with_authorization("/random", &[&format!("Bearer {good}")])
        .await;
    assert_random_number(&answer, "GET /random with a token");
    assert_eq!(answer.header("cache-control"), Some("no-store"));

    let answer = app.get("/random").await;
    assert_refusal(
        &answer,
        reqwest::StatusCode::UNAUTHORIZED,
        "unauthorized",
        "missing bearer token",
        Some(r#"Bearer realm="randapi""#),
        &[],
        "GET /random without a token",
    );

    let forged = token_with_kid(&key, "key-unknown");
    let answer = app
        .get_with_authorization("/random", &[&format!("Bearer {forged}")])
        .await;
    assert_invalid_token(
        &answer,
        "signing key not found",
        &forged,
        &app,
        "GET /random, unknown key",
    );
    app.stop().await;
}
