mod common;

use common::*;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{json, Value};
use tenantctl_authorizer::apigw::deny_log_line;
use tenantctl_authorizer::{authorize, Config, DenyReason, TokenAuthorizerEvent, Verifier};

fn with(f: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
    let mut c = good_claims();
    f(c.as_object_mut().unwrap());
    c
}

fn unsigned(header: Value, claims: &Value, sig: &str) -> String {
    format!("{}.{}.{}", b64(&header), b64(claims), sig)
}

/// Each token has one defect and must be denied for that reason.
fn bad_tokens() -> Vec<(&'static str, String, DenyReason)> {
    use DenyReason::*;
    let good = good_claims();
    let rs = |c: &Value| sign(c);
    let tampered = {
        let t = sign(&good);
        let mut parts: Vec<&str> = t.split('.').collect();
        let evil = b64(&with(|c| {
            c.insert("custom:tenant_id".into(), json!("globex"));
            c.insert("cognito:groups".into(), json!(["globex-admin"]));
        }));
        parts[1] = &evil;
        parts.join(".")
    };
    vec![
        ("alg none", unsigned(json!({"alg": "none", "kid": KID_A}), &good, ""), AlgNotAllowed),
        ("alg None, with a signature", unsigned(json!({"alg": "None", "kid": KID_A}), &good, "abc"), AlgNotAllowed),
        ("alg missing", unsigned(json!({"kid": KID_A}), &good, "abc"), AlgNotAllowed),
        (
            "HS256 signed with the public key",
            sign_with(
                &json!({"alg": "HS256", "kid": KID_A}),
                &good,
                &EncodingKey::from_secret(JWK_A.as_bytes()),
                Algorithm::HS256,
            ),
            AlgNotAllowed,
        ),
        ("RS512", sign_with(&json!({"alg": "RS512", "kid": KID_A}), &good, &key_a(), Algorithm::RS512), AlgNotAllowed),
        ("PS256", sign_with(&json!({"alg": "PS256", "kid": KID_A}), &good, &key_a(), Algorithm::PS256), AlgNotAllowed),
        (
            "unknown kid",
            sign_with(&json!({"alg": "RS256", "kid": "forged"}), &good, &key_a(), Algorithm::RS256),
            UnknownKid,
        ),
        ("missing kid", sign_with(&json!({"alg": "RS256"}), &good, &key_a(), Algorithm::RS256), MissingKid),
        ("empty kid", sign_with(&json!({"alg": "RS256", "kid": ""}), &good, &key_a(), Algorithm::RS256), MissingKid),
        (
            "crit header",
            sign_with(&json!({"alg": "RS256", "kid": KID_A, "crit": ["exp"]}), &good, &key_a(), Algorithm::RS256),
            CriticalHeader,
        ),
        (
            "expired beyond skew",
            rs(&with(|c| {
                c.insert("exp".into(), json!(NOW - 61));
            })),
            Expired,
        ),
        (
            "exp missing",
            rs(&with(|c| {
                c.remove("exp");
            })),
            MissingExp,
        ),
        (
            "nbf in the future",
            rs(&with(|c| {
                c.insert("nbf".into(), json!(NOW + 600));
            })),
            NotYetValid,
        ),
        (
            "iat in the future",
            rs(&with(|c| {
                c.insert("iat".into(), json!(NOW + 600));
            })),
            IssuedInFuture,
        ),
        (
            "wrong iss",
            rs(&with(|c| {
                c.insert("iss".into(), json!("https://evil.example/us-east-1_poolA"));
            })),
            WrongIssuer,
        ),
        (
            "iss with trailing slash",
            rs(&with(|c| {
                c.insert("iss".into(), json!(format!("{ISS_A}/")));
            })),
            WrongIssuer,
        ),
        (
            "iss missing",
            rs(&with(|c| {
                c.remove("iss");
            })),
            WrongIssuer,
        ),
        (
            "another pool's issuer and key",
            sign_with(
                &json!({"alg": "RS256", "kid": KID_B}),
                &with(|c| {
                    c.insert("iss".into(), json!(ISS_B));
                }),
                &key_b(),
                Algorithm::RS256,
            ),
            WrongIssuer,
        ),
        (
            "signed by another key under our kid",
            sign_with(&json!({"alg": "RS256", "kid": KID_A}), &good, &key_b(), Algorithm::RS256),
            BadSignature,
        ),
        ("tampered payload", tampered, BadSignature),
        (
            "wrong client",
            rs(&with(|c| {
                c.insert("aud".into(), json!("someone-else"));
            })),
            WrongClient,
        ),
        (
            "aud missing",
            rs(&with(|c| {
                c.remove("aud");
            })),
            WrongClient,
        ),
        (
            "access token where id expected",
            rs(&with(|c| {
                c.insert("token_use".into(), json!("access"));
                c.remove("aud");
                c.insert("client_id".into(), json!(CLIENT));
            })),
            WrongTokenUse,
        ),
        (
            "token_use missing",
            rs(&with(|c| {
                c.remove("token_use");
            })),
            WrongTokenUse,
        ),
        (
            "sub missing",
            rs(&with(|c| {
                c.remove("sub");
            })),
            MissingSub,
        ),
        (
            "tenant claim missing",
            rs(&with(|c| {
                c.remove("custom:tenant_id");
            })),
            MissingTenant,
        ),
        (
            "tenant claim *",
            rs(&with(|c| {
                c.insert("custom:tenant_id".into(), json!("*"));
            })),
            InvalidTenant,
        ),
        (
            "tenant claim ${aws:username}",
            rs(&with(|c| {
                c.insert("custom:tenant_id".into(), json!("${aws:username}"));
            })),
            InvalidTenant,
        ),
        (
            "tenant claim starting with aws",
            rs(&with(|c| {
                c.insert("custom:tenant_id".into(), json!("awsome"));
                c.insert("cognito:groups".into(), json!(["awsome-admin"]));
            })),
            InvalidTenant,
        ),
        (
            "tenant claim a number",
            rs(&with(|c| {
                c.insert("custom:tenant_id".into(), json!(7));
            })),
            InvalidTenant,
        ),
        (
            "groups of two tenants",
            rs(&with(|c| {
                c.insert("cognito:groups".into(), json!(["acme-admin", "globex-admin"]));
            })),
            ForeignGroup,
        ),
        (
            "a group of another tenant",
            rs(&with(|c| {
                c.insert("cognito:groups".into(), json!(["globex-member"]));
            })),
            ForeignGroup,
        ),
        (
            "a group of a tenant whose id extends ours",
            rs(&with(|c| {
                c.insert("cognito:groups".into(), json!(["acme-corp-admin"]));
            })),
            ForeignGroup,
        ),
        (
            "a group without a role",
            rs(&with(|c| {
                c.insert("cognito:groups".into(), json!(["acme"]));
            })),
            ForeignGroup,
        ),
        (
            "a group with an unknown role",
            rs(&with(|c| {
                c.insert("cognito:groups".into(), json!(["acme-owner"]));
            })),
            UnknownRole,
        ),
        (
            "no groups",
            rs(&with(|c| {
                c.remove("cognito:groups");
            })),
            NoGroups,
        ),
        (
            "empty groups",
            rs(&with(|c| {
                c.insert("cognito:groups".into(), json!([]));
            })),
            NoGroups,
        ),
        (
            "federated through an unknown provider",
            rs(&with(|c| {
                c.insert(
                    "identities".into(),
                    json!([{"providerName": "evil-idp", "providerType": "OIDC", "userId": "x"}]),
                );
            })),
            UnknownProvider,
        ),
        (
            "federated through another tenant's provider",
            rs(&with(|c| {
                c.insert(
                    "identities".into(),
                    json!([{"providerName": "globex-azure", "providerType": "SAML", "userId": "x"}]),
                );
            })),
            ProviderTenantMismatch,
        ),
        ("not a JWT", "not-a-jwt".to_string(), MalformedToken),
        ("empty", String::new(), MalformedToken),
        ("four parts", format!("{}.x", sign(&good)), MalformedToken),
        (
            "padded base64",
            {
                let t = sign(&good);
                let (h, rest) = t.split_once('.').unwrap();
                format!("{h}=.{rest}")
            },
            MalformedToken,
        ),
    ]
}

#[test]
fn bad_tokens_are_denied_for_the_right_reason() {
    let cases = bad_tokens();
    assert!(cases.len() >= 15);
    let mut wrong = Vec::new();
    for (name, token, want) in &cases {
        let (v, _, _) = verifier();
        match v.verify(token) {
            Ok(ok) => wrong.push(format!("{name}: accepted as {ok:?}")),
            Err(d) if d.reason != *want => {
                wrong.push(format!("{name}: denied as {} ({}), want {want}", d.reason, d.detail))
            }
            Err(d) => {
                let line = deny_log_line(&d, "req-1");
                assert!(token.is_empty() || !line.contains(token.as_str()), "{name}: log line holds the token");
                let parsed: Value = serde_json::from_str(&line).unwrap();
                assert_eq!(parsed["reason"], want.as_str());
            }
        }
    }
    assert!(wrong.is_empty(), "{} of {} cases wrong:\n{}", wrong.len(), cases.len(), wrong.join("\n"));
}

#[test]
fn good_token_gets_best_precedence_role() {
    let (v, fetcher, _) = verifier();
    let ok = v.verify(&sign(&good_claims())).unwrap();
    assert_eq!(ok.tenant_id, "acme");
    assert_eq!(ok.role, "admin");
    assert_eq!(ok.role_arn, "arn:aws:iam::123456789012:role/tenantctl/acmesaas/acmesaas-acme-admin");
    assert_eq!(ok.sub, "11111111-2222-3333-4444-555555555555");
    assert_eq!(fetcher.urls.lock().unwrap().as_slice(), [jwks_url(ISS_A)]);

    let member = v
        .verify(&sign(&with(|c| {
            c.insert("cognito:groups".into(), json!(["acme-viewer", "acme-member"]));
        })))
        .unwrap();
    assert_eq!(member.role, "member");
    assert_eq!(member.role_arn, "arn:aws:iam::123456789012:role/tenantctl/acmesaas/acmesaas-acme-member");
}

#[test]
fn hyphenated_tenant_and_skew_and_federation_are_accepted() {
    let (v, _, clock) = verifier();
    let ok = v
        .verify(&sign(&with(|c| {
            c.insert("custom:tenant_id".into(), json!("acme-corp"));
            c.insert("cognito:groups".into(), json!(["acme-corp-member"]));
            c.insert("identities".into(), json!([{"providerName": "acme-okta"}]));
        })))
        .err();
    // acme-okta belongs to acme, not acme-corp.
    assert_eq!(ok.map(|d| d.reason), Some(DenyReason::ProviderTenantMismatch));

    let ok = v
        .verify(&sign(&with(|c| {
            c.insert("custom:tenant_id".into(), json!("acme-corp"));
            c.insert("cognito:groups".into(), json!(["acme-corp-member"]));
        })))
        .unwrap();
    assert_eq!(ok.role_arn, "arn:aws:iam::123456789012:role/tenantctl/acmesaas/acmesaas-acme-corp-member");

    let fed = v
        .verify(&sign(&with(|c| {
            c.insert(
                "identities".into(),
                json!([{"providerName": "acme-okta", "providerType": "OIDC", "userId": "u"}]),
            );
        })))
        .unwrap();
    assert_eq!(fed.tenant_id, "acme");

    // Expired 30 s ago: within the 60 s skew. nbf 30 s ahead: too.
    let t = sign(&with(|c| {
        c.insert("exp".into(), json!(NOW - 30));
        c.insert("nbf".into(), json!(NOW + 30));
    }));
    assert!(v.verify(&t).is_ok());
    clock.advance(31);
    assert_eq!(v.verify(&t).unwrap_err().reason, DenyReason::Expired);
}

#[test]
fn access_tokens_when_configured() {
    let mut e = env();
    e.insert("TENANTCTL_TOKEN_USE".into(), "access".into());
    e.insert("TENANTCTL_TENANT_ATTRIBUTE".into(), "tenant".into());
    let (v, _, _) = verifier_with(&e);
    let access = with(|c| {
        c.insert("token_use".into(), json!("access"));
        c.remove("aud");
        c.remove("custom:tenant_id");
        c.insert("custom:tenant".into(), json!("acme"));
        c.insert("client_id".into(), json!("client2"));
    });
    assert_eq!(v.verify(&sign(&access)).unwrap().role, "admin");
    let mut wrong_client = access.clone();
    wrong_client["client_id"] = json!("client3");
    assert_eq!(v.verify(&sign(&wrong_client)).unwrap_err().reason, DenyReason::WrongClient);
    // An ID token is refused when access tokens are pinned.
    assert_eq!(v.verify(&sign(&good_claims())).unwrap_err().reason, DenyReason::WrongTokenUse);
}

#[test]
fn two_pools_use_their_own_keys() {
    let mut e = env();
    e.insert("TENANTCTL_ISSUERS".into(), format!("{ISS_A},{ISS_B}"));
    let (v, fetcher, _) = verifier_with(&e);
    let b = sign_with(
        &json!({"alg": "RS256", "kid": KID_B}),
        &with(|c| {
            c.insert("iss".into(), json!(ISS_B));
        }),
        &key_b(),
        Algorithm::RS256,
    );
    assert!(v.verify(&b).is_ok());
    assert!(v.verify(&sign(&good_claims())).is_ok());
    // Pool A's kid presented under pool B's issuer: B's JWKS does not hold it.
    let cross = sign(&with(|c| {
        c.insert("iss".into(), json!(ISS_B));
    }));
    assert_eq!(v.verify(&cross).unwrap_err().reason, DenyReason::UnknownKid);
    assert_eq!(fetcher.count(), 2);
}

#[test]
fn jwks_url_template_for_the_emulator() {
    let mut e = env();
    e.insert("TENANTCTL_JWKS_URL".into(), "http://127.0.0.1:5000/{pool_id}/.well-known/jwks.json".into());
    let fetcher =
        CountingFetcher::serving("http://127.0.0.1:5000/us-east-1_poolA/.well-known/jwks.json", jwks(&[JWK_A]));
    let v = Verifier::new(Config::from_env_map(&e).unwrap(), fetcher.clone(), TestClock::at(NOW));
    assert!(v.verify(&sign(&good_claims())).is_ok());
    assert_eq!(fetcher.count(), 1);
}

#[test]
fn jwks_unavailable() {
    let fetcher = std::sync::Arc::new(CountingFetcher::default());
    let clock = TestClock::at(NOW);
    let v = Verifier::new(Config::from_env_map(&env()).unwrap(), fetcher.clone(), clock.clone());
    let t = sign(&good_claims());
    assert_eq!(v.verify(&t).unwrap_err().reason, DenyReason::JwksUnavailable);
    assert_eq!(v.verify(&t).unwrap_err().reason, DenyReason::JwksUnavailable);
    assert_eq!(fetcher.count(), 1, "failed fetches back off too");
    fetcher.bodies.lock().unwrap().insert(jwks_url(ISS_A), jwks(&[JWK_A]));
    clock.advance(60);
    assert!(v.verify(&t).is_ok());
    assert_eq!(fetcher.count(), 2);
}

#[test]
fn warm_cache_fetches_once_for_1000_verifications() {
    let (v, fetcher, clock) = verifier();
    let t = sign(&good_claims());
    for i in 0..1000 {
        if i % 100 == 0 {
            clock.advance(30);
        }
        assert!(v.verify(&t).is_ok());
    }
    assert_eq!(fetcher.count(), 1);
}

#[test]
fn forged_kid_flood_fetches_at_most_once_per_window() {
    let (v, fetcher, clock) = verifier();
    let good = sign(&good_claims());
    assert!(v.verify(&good).is_ok());
    assert_eq!(fetcher.count(), 1);

    let flood = |tag: &str| {
        for i in 0..1000 {
            let t = sign_with(
                &json!({"alg": "RS256", "kid": format!("{tag}-{i}")}),
                &good_claims(),
                &key_a(),
                Algorithm::RS256,
            );
            assert_eq!(v.verify(&t).unwrap_err().reason, DenyReason::UnknownKid);
        }
    };
    // 1,000 distinct forged kids within the window of the cold-start fetch: no refetch.
    flood("forged");
    assert_eq!(fetcher.count(), 1);
    // 1,000 at one instant once the window has passed: exactly one refetch.
    clock.advance(60);
    flood("again");
    assert_eq!(fetcher.count(), 2);

    // 1,000 more spread over 300 s (one second every 10 requests): at most one per 60 s window.
    let start = fetcher.count();
    for i in 0..1000 {
        if i % 10 == 0 {
            clock.advance(3);
        }
        let t = sign_with(
            &json!({"alg": "RS256", "kid": format!("flood-{i}")}),
            &good_claims(),
            &key_a(),
            Algorithm::RS256,
        );
        assert_eq!(v.verify(&t).unwrap_err().reason, DenyReason::UnknownKid);
    }
    let during = fetcher.count() - start;
    assert!(during <= 300 / 60 + 1, "{during} fetches in 300 s");
    assert!(during >= 1, "the window does reopen");
    // The good token kept working from the cache throughout.
    assert!(v.verify(&good).is_ok());
}

#[test]
fn rotated_key_is_picked_up_after_the_window() {
    let (v, fetcher, clock) = verifier();
    assert!(v.verify(&sign(&good_claims())).is_ok());
    // Rotation: pool A now also signs with key B (kid test-key-b).
    fetcher.bodies.lock().unwrap().insert(jwks_url(ISS_A), jwks(&[JWK_A, JWK_B]));
    let rotated = sign_with(&json!({"alg": "RS256", "kid": KID_B}), &good_claims(), &key_b(), Algorithm::RS256);
    // Within the back-off window of the last fetch the new kid is not looked up yet...
    clock.advance(59);
    assert_eq!(v.verify(&rotated).unwrap_err().reason, DenyReason::UnknownKid);
    assert_eq!(fetcher.count(), 1);
    // ...after it, the first token with the new kid refetches.
    clock.advance(1);
    assert!(v.verify(&rotated).is_ok());
    assert_eq!(fetcher.count(), 2);
    // A key removed from the JWKS is dropped at the next refetch.
    fetcher.bodies.lock().unwrap().insert(jwks_url(ISS_A), jwks(&[JWK_B]));
    clock.advance(60);
    let forged = sign_with(&json!({"alg": "RS256", "kid": "forged"}), &good_claims(), &key_a(), Algorithm::RS256);
    assert_eq!(v.verify(&forged).unwrap_err().reason, DenyReason::UnknownKid);
    assert_eq!(v.verify(&sign(&good_claims())).unwrap_err().reason, DenyReason::UnknownKid);
}

#[test]
fn authorize_event_allows_the_whole_stage() {
    let (v, _, _) = verifier();
    let event = TokenAuthorizerEvent {
        type_: "TOKEN".into(),
        authorization_token: format!("Bearer {}", sign(&good_claims())),
        method_arn: "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/orders".into(),
    };
    let (resp, _) = authorize(&v, &event).unwrap();
    let json = serde_json::to_value(&resp).unwrap();
    assert_eq!(
        json,
        json!({
            "principalId": "11111111-2222-3333-4444-555555555555",
            "policyDocument": {"Version": "2012-10-17", "Statement": [{
                "Action": "execute-api:Invoke", "Effect": "Allow",
                "Resource": ["arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/*/*"]}]},
            "context": {"tenant_id": "acme", "role": "admin",
                        "role_arn": "arn:aws:iam::123456789012:role/tenantctl/acmesaas/acmesaas-acme-admin",
                        "sub": "11111111-2222-3333-4444-555555555555"}
        })
    );
    // The raw event as API Gateway sends it deserializes.
    let raw: TokenAuthorizerEvent = serde_json::from_value(json!({
        "type": "TOKEN", "authorizationToken": "x", "methodArn": "arn:aws:execute-api:us-east-1:123456789012:a/b/GET/"
    }))
    .unwrap();
    assert_eq!(authorize(&v, &raw).unwrap_err().reason, DenyReason::MalformedToken);
    let mut req = event.clone();
    req.type_ = "REQUEST".into();
    assert_eq!(authorize(&v, &req).unwrap_err().reason, DenyReason::BadEvent);
    let mut arn = event;
    arn.method_arn = "arn:aws:execute-api:us-east-1:123456789012:*/prod/GET/x".into();
    assert_eq!(authorize(&v, &arn).unwrap_err().reason, DenyReason::BadMethodArn);
}
