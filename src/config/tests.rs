//! The configuration's rules, checked through the same parser the binary uses.

use clap::CommandFactory as _;

use super::*;
use crate::cli::Cli;

const POOL: &str = "--cognito-user-pool-id=eu-west-1_AbCdEf123";
const CLIENTS: &str = "--cognito-client-ids=client-a, client-b";

fn config(flags: &[&str]) -> Result<Config, String> {
    // The base flags, but for those `flags` set (a list flag given twice would append).
    let given = |base: &&str| {
        flags
            .iter()
            .any(|f| f.split('=').next() == base.split('=').next())
    };
    let mut all: Vec<&str> = [POOL, CLIENTS, "--log-format=json"]
        .into_iter()
        .filter(|base| !given(base))
        .collect();
    all.extend_from_slice(flags);
    let args = ServeArgs::from_flags(all)
        .map_err(|e| ConfigError::from_clap(&e).map_or_else(|| e.to_string(), |e| e.variable))?;
    args.into_config().map_err(|e| e.variable)
}

fn failing_variable(flags: &[&str]) -> String {
    match config(flags) {
        Ok(_) => panic!("{flags:?} was accepted"),
        Err(variable) => variable,
    }
}

fn issuer(config: &Config) -> &str {
    match &config.keys {
        KeySource::Cognito { issuer, .. } => issuer,
        KeySource::Dev => panic!("dev keys"),
    }
}

#[test]
fn issuer_and_jwks_url_are_derived_from_the_pool_id() {
    let config = config(&[]).expect("valid");
    assert_eq!(
        config.keys,
        KeySource::Cognito {
            issuer: cognito::EXAMPLE_ISSUER.into(),
            jwks_url: Url::parse(EXAMPLE_JWKS_URL).expect("url"),
        }
    );
    assert_eq!(config.client_ids, ["client-a", "client-b"]);
    assert_eq!(config.port, 3001);
    assert_eq!(config.policy.leeway, Duration::from_secs(60));
    // The crate's defaults are the documented ones.
    assert_eq!(JwksSettings::default(), config.jwks);
}

#[test]
fn the_defaults_are_the_documented_ones() {
    let config = ServeArgs::from_flags(["--dev"])
        .expect("parses")
        .into_config()
        .expect("valid");
    assert_eq!(config.port, 3001);
    assert_eq!(config.host.to_string(), "0.0.0.0");
    assert_eq!(config.cors, CorsOrigins::Any);
    let secs = Duration::from_secs;
    assert_eq!(config.jwks.ttl, secs(3600));
    assert_eq!(config.jwks.cooldown, secs(10));
    assert_eq!(config.jwks.max_stale, secs(24 * 3600));
    assert_eq!(config.jwks.fetch_timeout, secs(5));
    assert_eq!(config.jwks.connect_timeout, secs(2));
    assert_eq!(config.policy.leeway, secs(60));
    assert_eq!(config.request_timeout, secs(10));
    assert_eq!(config.connections.shutdown_grace, secs(20));
    assert_eq!(config.connections.shutdown_delay, secs(5));
    assert_eq!(config.connections.header_read_timeout, secs(10));
    assert_eq!(config.connections.keepalive_timeout, secs(75));
    assert_eq!(config.connections.max_connections, None);
    assert_eq!(config.keys, KeySource::Dev);
    assert_eq!(config.client_ids, [DEV_CLIENT_ID]);
}

#[test]
fn every_value_name_is_its_variable() {
    let command = Cli::command();
    let serve = command.find_subcommand("serve").expect("serve");
    for arg in serve.get_arguments().filter(|a| a.get_env().is_some()) {
        let names = arg.get_value_names().expect("value name");
        assert_eq!(
            names[0].as_str(),
            arg.get_env().and_then(|e| e.to_str()).expect("env"),
        );
    }
}

#[test]
fn issuer_and_jwks_url_can_be_set_apart_for_emulators() {
    let config = config(&[
        "--cognito-issuer=https://cognito-idp.us-east-1.amazonaws.com/us-east-1_x",
        "--cognito-jwks-url=http://127.0.0.1:5000/us-east-1_x/.well-known/jwks.json",
    ])
    .expect("valid");
    assert_eq!(
        issuer(&config),
        "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_x"
    );
    assert!(
        matches!(&config.keys, KeySource::Cognito { jwks_url, .. } if jwks_url.port() == Some(5000))
    );
}

#[test]
fn region_comes_from_cognito_region_then_aws_region() {
    let pool = "--cognito-user-pool-id=AbCdEf123";
    let with_region = config(&[pool, "--cognito-region=us-west-2"]).expect("valid");
    assert!(issuer(&with_region).contains("us-west-2"));
    let with_aws_region = config(&[pool, "--aws-region=ap-south-1"]).expect("valid");
    assert!(issuer(&with_aws_region).contains("ap-south-1"));
    assert_eq!(failing_variable(&[pool]), "COGNITO_USER_POOL_ID");
}

#[test]
fn each_bad_value_names_its_variable() {
    let cases: &[(&[&str], &str)] = &[
        (&["--cognito-client-ids= , "], "COGNITO_CLIENT_IDS"),
        (&["--port=70000"], "PORT"),
        (&["--port=abc"], "PORT"),
        (&["--host=localhost:80"], "HOST"),
        (&["--cognito-issuer=not a url"], "COGNITO_ISSUER"),
        (&["--cognito-jwks-url=ftp://x/y"], "COGNITO_JWKS_URL"),
        (&["--cognito-jwks-url=https://u:p@x/y"], "COGNITO_JWKS_URL"),
        (&["--cognito-region=mars"], "COGNITO_REGION"),
        (
            &["--cognito-user-pool-id=eu-west-1_a/b"],
            "COGNITO_USER_POOL_ID",
        ),
        (&["--log-format=xml"], "LOG_FORMAT"),
        (
            &["--cors-allowed-origins=https://a.example/path"],
            "CORS_ALLOWED_ORIGINS",
        ),
        (&["--cors-allowed-origins=,"], "CORS_ALLOWED_ORIGINS"),
        (
            &["--cors-allowed-headers=trace parent"],
            "CORS_ALLOWED_HEADERS",
        ),
        (
            &["--cors-allowed-headers=traceparent,"],
            "CORS_ALLOWED_HEADERS",
        ),
        (&["--cors-allowed-headers=x-é"], "CORS_ALLOWED_HEADERS"),
        (&["--jwks-ttl=soon"], "JWKS_TTL"),
        (&["--jwks-cooldown=0s"], "JWKS_COOLDOWN"),
        (&["--jwks-max-stale=10m"], "JWKS_MAX_STALE"),
        (&["--clock-leeway=5m"], "CLOCK_LEEWAY"),
        (&["--request-timeout=x"], "REQUEST_TIMEOUT"),
        (&["--shutdown-delay=later"], "SHUTDOWN_DELAY"),
        (&["--header-read-timeout=0s"], "HEADER_READ_TIMEOUT"),
        (&["--keepalive-timeout=x"], "KEEPALIVE_TIMEOUT"),
        (&["--max-connections=0"], "MAX_CONNECTIONS"),
        (&["--max-connections=many"], "MAX_CONNECTIONS"),
    ];
    for (flags, variable) in cases {
        assert_eq!(failing_variable(flags), *variable, "{flags:?}");
    }
    let no_clients = ServeArgs::from_flags([POOL]).expect("parses");
    assert_eq!(
        no_clients.into_config().expect_err("refused").variable,
        "COGNITO_CLIENT_IDS"
    );
    // With nothing set, the first thing named is the client ids (what the README asks for first).
    let nothing = ServeArgs::from_flags(Vec::<String>::new()).expect("parses");
    assert_eq!(
        nothing.into_config().expect_err("refused").variable,
        "COGNITO_CLIENT_IDS"
    );
    let no_pool = ServeArgs::from_flags([CLIENTS]).expect("parses");
    assert_eq!(
        no_pool.into_config().expect_err("refused").variable,
        "COGNITO_USER_POOL_ID"
    );
}

#[test]
fn the_connection_settings_take_zero_delay_and_a_cap() {
    let config = config(&["--shutdown-delay=0s", "--max-connections=100"]).expect("valid");
    assert_eq!(config.connections.shutdown_delay, Duration::ZERO);
    assert_eq!(config.connections.max_connections, Some(100));
}

#[test]
fn the_error_message_names_the_variable_and_an_example() {
    let error = ServeArgs::from_flags([POOL])
        .expect("parses")
        .into_config()
        .expect_err("refused");
    let text = error.to_string();
    assert!(text.contains("COGNITO_CLIENT_IDS"), "{text}");
    assert!(text.contains("--cognito-client-ids"), "{text}");
    assert!(text.contains("Example: COGNITO_CLIENT_IDS="), "{text}");

    let clap_error = ServeArgs::from_flags(["--jwks-ttl", "soon"]).expect_err("refused");
    let text = ConfigError::from_clap(&clap_error)
        .expect("a configuration error")
        .to_string();
    assert_eq!(
        text,
        "configuration error: JWKS_TTL (flag --jwks-ttl) is not a duration like 10s, 500ms or 1h. Example: JWKS_TTL=1h"
    );
    let clap_error = ServeArgs::from_flags(["--log-format", "xml"]).expect_err("refused");
    let text = ConfigError::from_clap(&clap_error)
        .expect("a configuration error")
        .to_string();
    assert!(
        text.ends_with("must be one of json, text. Example: LOG_FORMAT=json"),
        "{text}"
    );
}

#[test]
fn cors_origins_are_normalised() {
    let config = config(&["--cors-allowed-origins=https://App.Example.com, http://localhost:5173"])
        .expect("valid");
    assert_eq!(
        config.cors,
        CorsOrigins::List(vec![
            "https://app.example.com".into(),
            "http://localhost:5173".into()
        ])
    );
}

#[test]
fn cors_allowed_headers_are_lowercased_names_added_to_the_fixed_two() {
    let listed = config(&["--cors-allowed-headers=TraceParent, x-request-id"]).expect("valid");
    assert_eq!(listed.cors_headers, ["traceparent", "x-request-id"]);
    // The Fetch standard's wildcard (any header but authorization, on calls without credentials).
    let wildcard = config(&["--cors-allowed-headers=*"]).expect("valid");
    assert_eq!(wildcard.cors_headers, ["*"]);
    assert!(config(&[]).expect("valid").cors_headers.is_empty());
    let clap_error = ServeArgs::from_flags(["--cors-allowed-headers", "a:b"]).expect_err("refused");
    let text = ConfigError::from_clap(&clap_error)
        .expect("a configuration error")
        .to_string();
    assert_eq!(
        text,
        "configuration error: CORS_ALLOWED_HEADERS (flag --cors-allowed-headers) must be comma-separated header names. Example: CORS_ALLOWED_HEADERS=traceparent"
    );
}

#[test]
fn scopes_and_groups_are_space_separated() {
    let config = config(&[
        "--cognito-required-scopes=api/read  api/write",
        "--cognito-required-groups=admins",
    ])
    .expect("valid");
    assert_eq!(config.policy.required_scopes, ["api/read", "api/write"]);
    assert_eq!(config.policy.required_groups, ["admins"]);
}

#[test]
fn dev_mode_needs_no_cognito_settings() {
    let config = ServeArgs::from_flags(["--dev"])
        .expect("parses")
        .into_config()
        .expect("valid");
    assert_eq!(config.client_ids, [DEV_CLIENT_ID]);
    assert_eq!(config.keys, KeySource::Dev);
}

#[test]
fn metrics_interval_and_token_cache_bound() {
    let config = config(&[]).expect("valid");
    assert_eq!(config.metrics_interval, Some(Duration::from_secs(60)));
    assert_eq!(config.token_cache_max_bytes, 32 * 1024 * 1024);
    let off = self::config(&["--metrics-interval=0", "--token-cache-max-bytes=0"]).expect("valid");
    assert_eq!(off.metrics_interval, None);
    assert_eq!(off.token_cache_max_bytes, 0);
    let set =
        self::config(&["--metrics-interval=5s", "--token-cache-max-bytes=512KiB"]).expect("valid");
    assert_eq!(set.metrics_interval, Some(Duration::from_secs(5)));
    assert_eq!(set.token_cache_max_bytes, 512 * 1024);
    for interval in ["soon", "100ms", "-1s"] {
        let flag = format!("--metrics-interval={interval}");
        assert_eq!(failing_variable(&[&flag]), "METRICS_INTERVAL", "{interval}");
    }
    for bytes in ["lots", "2GiB", "1 TB", "-5", "99999999999999999999", "MiB"] {
        let flag = format!("--token-cache-max-bytes={bytes}");
        assert_eq!(
            failing_variable(&[&flag]),
            "TOKEN_CACHE_MAX_BYTES",
            "{bytes}"
        );
    }
}

#[test]
fn extra_pools_are_named_in_json_and_checked() {
    let flag = |json: &str| format!("--cognito-extra-pools={json}");
    let config = config(&[&flag(
        r#"[{"userPoolId": "us-east-1_XyZ789", "clientIds": ["c1", " c2 "]},
            {"userPoolId": "local_5U65e7Q1", "region": "eu-central-1", "clientIds": ["c3"]},
            {"issuer": "http://127.0.0.1:9229/local_pool", "jwksUrl": "http://127.0.0.1:9229/jwks.json", "clientIds": ["c4"]}]"#,
    )])
    .expect("valid");
    let pools: Vec<(&str, &str, Vec<&str>)> = config
        .extra_pools
        .iter()
        .map(|p| {
            let ids = p.client_ids.iter().map(String::as_str).collect();
            (p.issuer.as_str(), p.jwks_url.as_str(), ids)
        })
        .collect();
    assert_eq!(
        pools,
        [
            (
                "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_XyZ789",
                "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_XyZ789/.well-known/jwks.json",
                vec!["c1", "c2"]
            ),
            (
                "https://cognito-idp.eu-central-1.amazonaws.com/local_5U65e7Q1",
                "https://cognito-idp.eu-central-1.amazonaws.com/local_5U65e7Q1/.well-known/jwks.json",
                vec!["c3"]
            ),
            (
                "http://127.0.0.1:9229/local_pool",
                "http://127.0.0.1:9229/jwks.json",
                vec!["c4"]
            ),
        ]
    );
    // Unset, blank-free empty list: no extra pool; the first pool's variables are unchanged.
    assert!(self::config(&[]).expect("valid").extra_pools.is_empty());
    assert!(
        self::config(&[&flag("[]")])
            .expect("valid")
            .extra_pools
            .is_empty()
    );
    assert_eq!(issuer(&config), cognito::EXAMPLE_ISSUER);
}

#[test]
fn a_bad_extra_pool_names_the_variable_the_pool_and_the_member() {
    let problem = |json: &str| -> String {
        let flags = [
            POOL.to_owned(),
            CLIENTS.to_owned(),
            format!("--cognito-extra-pools={json}"),
        ];
        match ServeArgs::from_flags(flags).map(ServeArgs::into_config) {
            Err(clap) => ConfigError::from_clap(&clap)
                .expect("a configuration error")
                .to_string(),
            Ok(Err(config)) => config.to_string(),
            Ok(Ok(_)) => panic!("{json} was accepted"),
        }
    };
    let cases = [
        ("not json", "must be a JSON array of pools"),
        (r#"{"userPoolId": "x"}"#, "must be a JSON array of pools"),
        ("[5]", "pool 1: it is not a JSON object"),
        (
            r#"[{"clientIds": ["c"]}]"#,
            "pool 1: it needs userPoolId or issuer",
        ),
        (
            r#"[{"userPoolId": "us-east-1_A", "clientIds": ["c"]}, {"userPoolId": "us-east-1_B"}]"#,
            "pool 2: clientIds must be a non-empty array",
        ),
        (
            r#"[{"userPoolId": "us-east-1_A", "clientIds": []}]"#,
            "pool 1: clientIds must be a non-empty array",
        ),
        (
            r#"[{"userPoolId": "us-east-1_A", "clientIds": ["c"], "clientId": "c"}]"#,
            "pool 1: it has a member other than",
        ),
        (
            r#"[{"userPoolId": "local_A", "clientIds": ["c"]}]"#,
            "pool 1: userPoolId does not start with a region",
        ),
        (
            r#"[{"userPoolId": "us-east-1_A/b", "clientIds": ["c"]}]"#,
            "pool 1: userPoolId has characters",
        ),
        (
            r#"[{"userPoolId": "A", "region": "mars", "clientIds": ["c"]}]"#,
            "pool 1: region is not an AWS region name",
        ),
        (
            r#"[{"issuer": "ftp://x/y", "clientIds": ["c"]}]"#,
            "pool 1: issuer must be an http(s) URL",
        ),
        (
            r#"[{"issuer": "https://x.example/p", "jwksUrl": "https://u:p@x/y", "clientIds": ["c"]}]"#,
            "pool 1: jwksUrl must be an http(s) URL",
        ),
        (
            r#"[{"userPoolId": 5, "clientIds": ["c"]}]"#,
            "pool 1: userPoolId, region, issuer and jwksUrl must be non-empty strings",
        ),
        (
            r#"[{"userPoolId": "eu-west-1_AbCdEf123", "clientIds": ["c"]}]"#,
            "names an issuer twice",
        ),
        (
            r#"[{"userPoolId": "us-east-1_A", "clientIds": ["c"]}, {"issuer": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_A", "clientIds": ["d"]}]"#,
            "names an issuer twice",
        ),
    ];
    for (json, expected) in cases {
        let text = problem(json);
        assert!(
            text.starts_with(
                "configuration error: COGNITO_EXTRA_POOLS (flag --cognito-extra-pools) "
            ),
            "{text}"
        );
        assert!(text.contains(expected), "{json}: {text}");
        assert!(
            text.ends_with(&format!(
                "Example: COGNITO_EXTRA_POOLS={EXAMPLE_EXTRA_POOLS}"
            )),
            "{text}"
        );
        // The value is never echoed (only its shape is described).
        for secret in ["us-east-1_A/b", "ftp://x/y", "u:p@x", "mars", "clientId\""] {
            assert!(!text.contains(secret), "{text} echoes {secret}");
        }
    }
}
