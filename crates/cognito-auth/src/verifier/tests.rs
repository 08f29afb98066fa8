use std::time::Duration;

use serde_json::{Value, json};

use super::*;

const ISSUER: &str = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123";
const NOW: u64 = 1_800_000_000;

fn policy() -> TokenPolicy {
    TokenPolicy {
        required_scopes: vec![],
        required_groups: vec![],
        leeway: Duration::from_secs(60),
    }
}

/// The pool of these tests: [`ISSUER`], for `client-a` and `client-b`.
fn pool() -> UserPool {
    UserPool {
        issuer: ISSUER.into(),
        jwks_url: reqwest::Url::parse(&crate::jwks_url(ISSUER)).expect("url"),
        client_ids: vec!["client-a".into(), "client-b".into()],
    }
}

/// A verifier of [`pool`]'s tokens under `policy`.
fn verifier(policy: TokenPolicy) -> Verifier {
    Verifier::new(&[pool()], policy)
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).expect("json"))
}

/// A syntactically valid token with a dummy signature: these tests cover everything but
/// the signature, which the integration tests sign for real.
fn token_with(header: &Value, claims: &Value) -> String {
    format!("{}.{}.c2lnbmF0dXJl", b64(header), b64(claims))
}

fn claims() -> Value {
    json!({
        "sub": "3a5c440d-1568-4285-917d-e771c794d6a2",
        "iss": ISSUER,
        "client_id": "client-a",
        "token_use": "access",
        "scope": "aws.cognito.signin.user.admin",
        "exp": NOW + 300,
        "iat": NOW - 10,
        "jti": "ac82dace",
        "username": "xyz.abc",
    })
}

fn header() -> Value {
    json!({"alg": "RS256", "kid": "key-1"})
}

fn check(verifier: &Verifier, claims: &Value) -> Result<AccessTokenClaims, AuthError> {
    let token = token_with(&header(), claims);
    let parsed = verifier.parse(&token).map_err(AuthError::InvalidToken)?;
    verifier
        .check_claims(parsed, NOW)
        .map(|(claims, _kid)| claims)
}

fn with(mut base: Value, key: &str, value: Value) -> Value {
    base[key] = value;
    base
}

fn without(mut base: Value, key: &str) -> Value {
    base.as_object_mut().expect("object").remove(key);
    base
}

#[test]
fn a_valid_access_token_yields_its_claims() {
    let claims = check(&verifier(policy()), &claims()).expect("valid");
    assert_eq!(claims.sub, "3a5c440d-1568-4285-917d-e771c794d6a2");
    assert_eq!(claims.client_id, "client-a");
    assert_eq!(claims.scopes, ["aws.cognito.signin.user.admin"]);
    assert_eq!(claims.username.as_deref(), Some("xyz.abc"));
    assert_eq!(claims.exp, NOW + 300);
}

#[test]
fn each_claim_failure_has_its_own_reason() {
    use InvalidToken::*;
    let verifier = verifier(policy());
    let cases = [
        (without(claims(), "iss"), WrongIssuer, "has no iss"),
        (
            with(claims(), "iss", json!(format!("{ISSUER}/"))),
            WrongIssuer,
            "has a trailing slash",
        ),
        (
            with(claims(), "iss", json!(ISSUER.replace("https", "http"))),
            WrongIssuer,
            "is http",
        ),
        (
            with(
                claims(),
                "iss",
                json!(ISSUER.replace("cognito-idp", "issuer-cognito-idp")),
            ),
            WrongIssuer,
            "uses the other issuer format",
        ),
        (
            with(claims(), "token_use", json!("id")),
            IdToken,
            "is an ID token",
        ),
        (
            with(claims(), "token_use", json!("refresh")),
            NotAnAccessToken,
            "is a refresh token",
        ),
        (
            without(claims(), "token_use"),
            NotAnAccessToken,
            "has no token_use",
        ),
        (
            with(claims(), "client_id", json!("client-z")),
            ClientNotAllowed,
            "has another client",
        ),
        (
            without(claims(), "client_id"),
            ClientNotAllowed,
            "has no client_id",
        ),
        (
            with(claims(), "aud", json!("https://api.other")),
            AudienceNotAllowed,
            "has another aud",
        ),
        (
            with(claims(), "aud", json!([])),
            AudienceNotAllowed,
            "has an empty aud",
        ),
        (without(claims(), "exp"), MissingExpiry, "has no exp"),
        (
            with(claims(), "exp", json!(NOW - 61)),
            Expired,
            "expired beyond the leeway",
        ),
        (
            with(claims(), "exp", json!(NOW - 60)),
            Expired,
            "expired exactly at the leeway",
        ),
        (
            with(claims(), "nbf", json!(NOW + 61)),
            NotYetValid,
            "is not valid yet",
        ),
        (
            with(claims(), "iat", json!(NOW + 61)),
            IssuedInFuture,
            "was issued in the future",
        ),
        (without(claims(), "sub"), MalformedClaims, "has no sub"),
    ];
    for (claims, reason, why) in cases {
        assert_eq!(
            check(&verifier, &claims).unwrap_err(),
            AuthError::InvalidToken(reason),
            "a token that {why}"
        );
    }
}

#[test]
fn the_leeway_boundary_is_exclusive() {
    let verifier = verifier(policy());
    assert!(check(&verifier, &with(claims(), "exp", json!(NOW - 59))).is_ok());
    assert!(check(&verifier, &with(claims(), "nbf", json!(NOW + 60))).is_ok());
    assert!(check(&verifier, &with(claims(), "iat", json!(NOW + 60))).is_ok());
}

#[test]
fn wrong_types_fail_without_panicking() {
    let verifier = verifier(policy());
    let cases = [
        ("exp", json!("Garbage")),
        ("exp", json!(1.8e9)),
        ("exp", json!(-5)),
        ("exp", json!(u64::MAX as f64 * 4.0)),
        ("nbf", json!("soon")),
        ("iat", json!({})),
        ("iss", json!(12345)),
        ("sub", json!(1)),
        ("aud", json!(5)),
        ("aud", json!(["client-a", 5])),
        ("scope", json!(["a"])),
        ("jti", json!(1)),
        ("cognito:groups", json!("admins")),
        ("client_id", json!(["client-a"])),
        ("token_use", json!(true)),
    ];
    // `null` is a wrong type for every claim we read, not an absent claim.
    let nulls = [
        "iss",
        "token_use",
        "client_id",
        "aud",
        "exp",
        "nbf",
        "iat",
        "sub",
        "scope",
        "cognito:groups",
        "username",
        "jti",
    ]
    .map(|claim| (claim, Value::Null));
    let cases = cases.into_iter().chain(nulls);
    for (claim, value) in cases {
        assert_eq!(
            check(&verifier, &with(claims(), claim, value.clone())).unwrap_err(),
            AuthError::InvalidToken(InvalidToken::MalformedClaims),
            "{claim} = {value}"
        );
    }
}

#[test]
fn a_huge_exp_is_not_an_overflow() {
    let verifier = verifier(policy());
    assert!(check(&verifier, &with(claims(), "exp", json!(u64::MAX))).is_ok());
}

#[test]
fn aud_must_name_an_allowed_client_when_present() {
    let verifier = verifier(policy());
    assert!(check(&verifier, &with(claims(), "aud", json!("client-b"))).is_ok());
    assert!(check(&verifier, &with(claims(), "aud", json!(["x", "client-a"]))).is_ok());
}

#[test]
fn m2m_tokens_need_no_user_claims() {
    let verifier = verifier(policy());
    let m2m = without(without(claims(), "username"), "cognito:groups");
    assert!(check(&verifier, &m2m).is_ok());
}

#[test]
fn unicode_claims_are_kept() {
    let verifier = verifier(policy());
    let claims =
        check(&verifier, &with(claims(), "username", json!("hēłłœ wørłd"))).expect("valid");
    assert_eq!(claims.username.as_deref(), Some("hēłłœ wørłd"));
}

#[test]
fn required_scopes_and_groups_give_403() {
    let verifier = verifier(TokenPolicy {
        required_scopes: vec!["api/read".into(), "api/write".into()],
        required_groups: vec!["admins".into()],
        ..policy()
    });
    let Err(AuthError::InsufficientScope { reason, scope }) = check(&verifier, &claims()) else {
        panic!("expected 403");
    };
    assert_eq!(reason, Insufficient::Scope);
    assert_eq!(scope.as_deref(), Some("api/read api/write"));

    let scoped = with(claims(), "scope", json!("openid api/write"));
    let Err(AuthError::InsufficientScope { reason, .. }) = check(&verifier, &scoped) else {
        panic!("expected 403");
    };
    assert_eq!(reason, Insufficient::Group);

    let member = with(scoped, "cognito:groups", json!(["users", "admins"]));
    let claims = check(&verifier, &member).expect("valid");
    assert_eq!(claims.groups, ["users", "admins"]);
}

#[test]
fn syntax_is_checked_before_anything_else() {
    use InvalidToken::*;
    let verifier = verifier(policy());
    let good = token_with(&header(), &claims());
    let (h, rest) = good.split_once('.').expect("dots");
    let (p, _) = rest.split_once('.').expect("dots");
    let cases: Vec<(String, InvalidToken, &str)> = vec![
        (String::new(), Malformed, "is empty"),
        (format!("{h}.{p}"), Malformed, "has two segments"),
        (format!("{good}.x.y"), Malformed, "has five segments"),
        (format!("{h}.{p}."), Malformed, "has an empty signature"),
        (format!("{h}=.{p}.c2ln"), Malformed, "is padded"),
        (
            format!("{h}.{p}.c2+ln"),
            Malformed,
            "has a non-base64url character",
        ),
        (
            format!("YWJj.{p}.c2ln"),
            Malformed,
            "has a header that is not JSON",
        ),
        (
            format!("MTIz.{p}.c2ln"),
            Malformed,
            "has a header that is a number",
        ),
        (
            format!("{}.{p}.c2ln", b64(&json!([1]))),
            Malformed,
            "has an array header",
        ),
        (
            format!("{h}.YWJj.c2ln"),
            Malformed,
            "has a payload that is not JSON",
        ),
        (
            format!("{h}.{}.c2ln", b64(&json!(["a"]))),
            Malformed,
            "has an array payload",
        ),
        ("a".repeat(MAX_TOKEN_BYTES + 1), TooLarge, "is over 8 KiB"),
        (
            token_with(&json!({"alg": "none", "kid": "key-1"}), &claims()),
            AlgorithmNotAllowed,
            "is alg none",
        ),
        (
            token_with(&json!({"alg": "HS256", "kid": "key-1"}), &claims()),
            AlgorithmNotAllowed,
            "is HS256",
        ),
        (
            token_with(&json!({"alg": "RS512", "kid": "key-1"}), &claims()),
            AlgorithmNotAllowed,
            "is RS512",
        ),
        (
            token_with(&json!({"alg": "PS256", "kid": "key-1"}), &claims()),
            AlgorithmNotAllowed,
            "is PS256",
        ),
        (
            token_with(&json!({"alg": "rs256", "kid": "key-1"}), &claims()),
            AlgorithmNotAllowed,
            "is lower-case rs256",
        ),
        (
            token_with(&json!({"kid": "key-1"}), &claims()),
            AlgorithmNotAllowed,
            "has no alg",
        ),
        (
            token_with(&json!({"alg": 12345, "kid": "key-1"}), &claims()),
            Malformed,
            "has a numeric alg",
        ),
        (
            token_with(&json!({"alg": "RS256"}), &claims()),
            MissingKeyId,
            "has no kid",
        ),
        (
            token_with(&json!({"alg": "RS256", "kid": ""}), &claims()),
            MissingKeyId,
            "has an empty kid",
        ),
        (
            token_with(&json!({"alg": "RS256", "kid": {"a": 1}}), &claims()),
            Malformed,
            "has an object kid",
        ),
    ];
    for (token, reason, why) in cases {
        assert_eq!(
            verifier.parse(&token).unwrap_err(),
            reason,
            "a token that {why}"
        );
    }
}

#[test]
fn a_crit_header_is_refused() {
    let verifier = verifier(policy());
    for crit in [
        json!({"alg": "RS256", "kid": "key-1", "crit": ["exp"], "exp": NOW + 300}),
        json!({"alg": "RS256", "kid": "key-1", "b64": false, "crit": ["b64"]}),
        json!({"alg": "RS256", "kid": "key-1", "crit": []}),
        json!({"alg": "RS256", "kid": "key-1", "crit": null}),
    ] {
        assert_eq!(
            verifier.parse(&token_with(&crit, &claims())).unwrap_err(),
            InvalidToken::CriticalHeader,
            "{crit}"
        );
    }
}

#[test]
fn scope_splits_on_u0020_only() {
    let verifier = verifier(TokenPolicy {
        required_scopes: vec!["api/read".into()],
        ..policy()
    });
    let spaced = with(claims(), "scope", json!("openid  api/read"));
    assert_eq!(
        check(&verifier, &spaced).expect("valid").scopes,
        ["openid", "api/read"]
    );
    for separator in ["\t", "\n", "\r", "\u{a0}", "\u{3000}", "\u{2028}", "\u{85}"] {
        let scope = format!("openid{separator}api/read");
        let Err(AuthError::InsufficientScope { reason, .. }) =
            check(&verifier, &with(claims(), "scope", json!(scope)))
        else {
            panic!("{separator:?} split the scope");
        };
        assert_eq!(reason, Insufficient::Scope);
    }
}

#[test]
fn duplicate_header_members_are_rejected() {
    let verifier = verifier(policy());
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","kid":"a","alg":"none"}"#);
    let token = format!("{header}.{}.c2ln", b64(&claims()));
    assert_eq!(verifier.parse(&token).unwrap_err(), InvalidToken::Malformed);
}

#[test]
fn header_key_urls_are_ignored() {
    let verifier = verifier(policy());
    let header = json!({"alg": "RS256", "kid": "key-1", "jku": "https://evil/jwks", "x5u": "https://evil/c", "jwk": {"kty": "RSA"}});
    let token = token_with(&header, &claims());
    assert_eq!(verifier.parse(&token).expect("parses").kid, "key-1");
}

#[test]
fn verdict_is_the_whole_path_without_network() {
    use crate::local_issuer::{SigningKey, b64, jwks};
    let key = SigningKey::generate("key-1").expect("key");
    let keys = [crate::jwks::parse_jwks(jwks(&[&key]).to_string().as_bytes()).expect("jwks")];
    let verifier = verifier(policy());
    let token = key.sign(&claims()).expect("sign");
    let header = format!("bearer {token}");
    assert_eq!(
        verdict(header.as_bytes(), &verifier, &keys, NOW)
            .expect("valid")
            .sub,
        "3a5c440d-1568-4285-917d-e771c794d6a2"
    );
    let other = SigningKey::generate("key-2").expect("key");
    let unknown = format!("Bearer {}", other.sign(&claims()).expect("sign"));
    assert_eq!(
        verdict(unknown.as_bytes(), &verifier, &keys, NOW).unwrap_err(),
        AuthError::InvalidToken(InvalidToken::UnknownKey)
    );
    let (message, _) = token.rsplit_once('.').expect("dots");
    let forged = format!("Bearer {message}.{}", b64([7u8; 256]));
    assert_eq!(
        verdict(forged.as_bytes(), &verifier, &keys, NOW).unwrap_err(),
        AuthError::InvalidToken(InvalidToken::BadSignature)
    );
    assert!(matches!(
        verdict(b"Bearer \x01", &verifier, &keys, NOW),
        Err(AuthError::InvalidRequest(_))
    ));
}

const OTHER_ISSUER: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_OtherPool";

#[test]
fn the_iss_selects_the_pool_and_its_client_ids() {
    let other = UserPool {
        issuer: OTHER_ISSUER.into(),
        jwks_url: reqwest::Url::parse(&crate::jwks_url(OTHER_ISSUER)).expect("url"),
        client_ids: vec!["client-z".into()],
    };
    let verifier = Verifier::new(&[pool(), other], policy());
    let token = |claims: &Value| token_with(&header(), claims);
    let first = token(&claims());
    assert_eq!(verifier.parse(&first).expect("pool 0").pool, 0);
    let second = with(
        with(claims(), "iss", json!(OTHER_ISSUER)),
        "client_id",
        json!("client-z"),
    );
    assert_eq!(verifier.parse(&token(&second)).expect("pool 1").pool, 1);
    assert_eq!(
        check(&verifier, &second).expect("valid").client_id,
        "client-z"
    );
    // A client of the other pool is not allowed in this one, and the reverse.
    assert_eq!(
        check(&verifier, &with(claims(), "client_id", json!("client-z"))).unwrap_err(),
        AuthError::InvalidToken(InvalidToken::ClientNotAllowed)
    );
    assert_eq!(
        check(&verifier, &with(second, "client_id", json!("client-a"))).unwrap_err(),
        AuthError::InvalidToken(InvalidToken::ClientNotAllowed)
    );
    // An iss of no pool is looked up in the first pool's keys and refused with the claims.
    let nobody = with(
        claims(),
        "iss",
        json!("https://cognito-idp.eu-west-1.amazonaws.com/x"),
    );
    assert_eq!(verifier.parse(&token(&nobody)).expect("parses").pool, 0);
    assert_eq!(
        check(&verifier, &nobody).unwrap_err(),
        AuthError::InvalidToken(InvalidToken::WrongIssuer)
    );
}

#[test]
fn a_custom_check_runs_after_the_built_in_ones_with_its_own_reason() {
    let check_tenant: CustomCheck = Arc::new(|token: &CheckedToken<'_>| {
        assert_eq!(token.issuer, ISSUER);
        match token.claim::<String>("custom:tenant").as_deref() {
            Some("acme") => Ok(()),
            _ => Err("tenant not allowed"),
        }
    });
    let verifier = verifier(policy()).with_custom_check(check_tenant);
    let acme = with(claims(), "custom:tenant", json!("acme"));
    assert!(check(&verifier, &acme).is_ok());
    for other in [
        with(claims(), "custom:tenant", json!("evil")),
        with(claims(), "custom:tenant", json!(5)),
        claims(),
    ] {
        let refused = check(&verifier, &other).unwrap_err();
        assert_eq!(refused, AuthError::CustomCheck("tenant not allowed"));
        assert_eq!(refused.status(), http::StatusCode::UNAUTHORIZED);
        assert_eq!(refused.refusal_code(), "CustomCheck");
    }
    // The built-in checks come first: an expired token gets their reason.
    assert_eq!(
        check(&verifier, &with(acme, "exp", json!(NOW - 61))).unwrap_err(),
        AuthError::InvalidToken(InvalidToken::Expired)
    );
}
