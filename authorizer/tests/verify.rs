mod common;

use common::*;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{json, Value};
use tenantctl_authorizer::apigw::deny_log_line;
use tenantctl_authorizer::{
    authorize, decide, Config, Decision, DenyClass, DenyReason, TokenAuthorizerEvent, Verifier,
};

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
            // Issue 23 item 8: an authentic token failing its role check is 403, not 401.
            "groups not a list",
            rs(&with(|c| {
                c.insert("cognito:groups".into(), json!("acme-admin"));
            })),
            InvalidGroups,
        ),
        (
            "groups holding a number",
            rs(&with(|c| {
                c.insert("cognito:groups".into(), json!(["acme-admin", 7]));
            })),
            InvalidGroups,
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

/// Pool A is the shared pool, pool B globex's silo pool.
fn two_pools() -> (Verifier, std::sync::Arc<CountingFetcher>, std::sync::Arc<TestClock>) {
    let mut e = env();
    e.insert("TENANTCTL_ISSUERS".into(), format!("{ISS_A}=*,{ISS_B}=globex"));
    e.insert("TENANTCTL_CLIENT_IDS".into(), CLIENTS_AB.into());
    verifier_with(&e)
}

/// Signed by pool B, for pool B's app client (a token naming pool A's `CLIENT` gets B's).
fn sign_b(claims: &Value) -> String {
    let mut claims = claims.clone();
    for claim in ["aud", "client_id"] {
        if claims.get(claim) == Some(&json!(CLIENT)) {
            claims[claim] = json!(CLIENT_B);
        }
    }
    sign_with(&json!({"alg": "RS256", "kid": KID_B}), &claims, &key_b(), Algorithm::RS256)
}

/// Issue 23 item 2: an app client belongs to one pool. Before, `TENANTCTL_CLIENT_IDS` was one
/// list for every issuer, so pool A's client id in a token signed by pool B was accepted.
#[test]
fn a_client_id_is_accepted_only_from_its_own_pool() {
    let (v, _, _) = two_pools();
    let b_token =
        |claims: &Value| sign_with(&json!({"alg": "RS256", "kid": KID_B}), claims, &key_b(), Algorithm::RS256);
    // Pool B's token for pool B's client: allowed; for pool A's client (ID token and access
    // token alike): refused.
    assert_eq!(v.verify(&sign_b(&globex(ISS_B))).unwrap().tenant_id, "globex");
    let d = v.verify(&b_token(&globex(ISS_B))).unwrap_err();
    assert_eq!((d.reason, d.class()), (DenyReason::WrongClient, DenyClass::Unauthorized), "{d}");
    let mut both = globex(ISS_B);
    both["aud"] = json!([CLIENT_B, CLIENT]);
    assert_eq!(v.verify(&b_token(&both)).unwrap_err().reason, DenyReason::WrongClient);
    // Pool A's token for pool B's client.
    let mut a = good_claims();
    a["aud"] = json!(CLIENT_B);
    assert_eq!(v.verify(&sign(&a)).unwrap_err().reason, DenyReason::WrongClient);
    let (va, _, _) = access_verifier(&[]);
    let mut access = access_claims();
    access["iss"] = json!(ISS_B);
    access["cognito:groups"] = json!(["globex-member"]);
    assert_eq!(va.verify(&sign_b(&access)).unwrap().tenant_id, "globex");
    assert_eq!(va.verify(&b_token(&access)).unwrap_err().reason, DenyReason::WrongClient);

    // The configuration names each client's pool, which must be a configured issuer's.
    for bad in [
        "client1",
        "client1:",
        ":us-east-1_poolA",
        "client1:us-east-1_poolB",
        "client1:us-east-1_poolA,client1:us-east-1_poolA",
        "client1:https://cognito-idp.us-east-1.amazonaws.com/us-east-1_poolA",
        "client-1!:us-east-1_poolA",
    ] {
        let mut e = env();
        e.insert("TENANTCTL_CLIENT_IDS".into(), bad.into());
        let r = Config::from_env_map(&e);
        assert_eq!(r.as_ref().map_err(|e| e.var), Err("TENANTCTL_CLIENT_IDS"), "{bad}: {r:?}");
    }
}

fn globex(iss: &str) -> Value {
    with(|c| {
        c.insert("iss".into(), json!(iss));
        c.insert("custom:tenant_id".into(), json!("globex"));
        c.insert("cognito:groups".into(), json!(["globex-member"]));
    })
}

#[test]
fn two_pools_use_their_own_keys() {
    let (v, fetcher, _) = two_pools();
    // globex's silo pool speaks for globex, the shared pool for acme.
    assert_eq!(v.verify(&sign_b(&globex(ISS_B))).unwrap().tenant_id, "globex");
    assert_eq!(v.verify(&sign(&good_claims())).unwrap().tenant_id, "acme");
    // Pool A's kid presented under pool B's issuer: B's JWKS does not hold it.
    let cross = sign(&with(|c| {
        c.insert("iss".into(), json!(ISS_B));
    }));
    assert_eq!(v.verify(&cross).unwrap_err().reason, DenyReason::UnknownKid);
    assert_eq!(fetcher.count(), 2);
}

#[test]
fn a_pool_speaks_only_for_its_own_tenants() {
    let (v, _, _) = two_pools();
    // Before issue 11 any configured issuer was accepted for any tenant: a (correctly signed)
    // token of globex's silo pool could claim acme.
    let acme_from_silo = sign_b(&with(|c| {
        c.insert("iss".into(), json!(ISS_B));
    }));
    let d = v.verify(&acme_from_silo).unwrap_err();
    assert_eq!(d.reason, DenyReason::WrongPool, "{d}");
    // The shared pool may not speak for a silo tenant.
    let d = v.verify(&sign(&globex(ISS_A))).unwrap_err();
    assert_eq!(d.reason, DenyReason::WrongPool, "{d}");
    // Checked before the groups: a silo-pool token claiming acme with globex's group is
    // wrong_pool, not foreign_group.
    let d = v
        .verify(&sign_b(&with(|c| {
            c.insert("iss".into(), json!(ISS_B));
            c.insert("cognito:groups".into(), json!(["globex-admin"]));
        })))
        .unwrap_err();
    assert_eq!(d.reason, DenyReason::WrongPool, "{d}");
    // ... and before "no groups" too.
    let d = v
        .verify(&sign_b(&with(|c| {
            c.insert("iss".into(), json!(ISS_B));
            c.remove("cognito:groups");
        })))
        .unwrap_err();
    assert_eq!(d.reason, DenyReason::WrongPool, "{d}");
    assert_eq!(d.class(), DenyClass::Forbidden);
}

#[test]
fn issuers_entry_without_binding_is_a_config_error() {
    for bad in [
        ISS_A.to_string(),
        format!("{ISS_A}=*,{ISS_B}"),
        format!("{ISS_A}="),
        format!("{ISS_A}=*,{ISS_B}=*"),
        format!("{ISS_A}=acme,{ISS_B}=acme"),
    ] {
        let mut e = env();
        e.insert("TENANTCTL_ISSUERS".into(), bad.clone());
        let r = Config::from_env_map(&e);
        assert_eq!(r.as_ref().map_err(|e| e.var), Err("TENANTCTL_ISSUERS"), "{bad}: {r:?}");
    }
}

#[test]
fn jwks_trust_anchor_is_the_checked_issuer() {
    // By default the keys come from {issuer}/.well-known/jwks.json, and an issuer must be a
    // Cognito issuer of its region's partition: a look-alike cannot redirect the key fetch.
    for bad in [
        "https://evil.example/us-east-1_poolA=*",
        "https://cognito-idp.us-east-1.evil.example/us-east-1_poolA=*",
        "https://cognito-idp.cn-north-1.amazonaws.com/cn-north-1_poolA=*",
        "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_poolA/keys=*",
    ] {
        let mut e = env();
        e.insert("TENANTCTL_ISSUERS".into(), bad.into());
        let r = Config::from_env_map(&e);
        assert_eq!(r.as_ref().map_err(|e| e.var), Err("TENANTCTL_ISSUERS"), "{bad}: {r:?}");
    }
    // The override: https, or plain http to a loopback host only (the local emulator).
    for (url, ok) in [
        ("http://127.0.0.1:5000/{pool_id}/.well-known/jwks.json", true),
        ("http://localhost:5000/{pool_id}/.well-known/jwks.json", true),
        ("http://[::1]:5000/{pool_id}/.well-known/jwks.json", true),
        ("https://keys.example/{pool_id}/jwks.json", true),
        ("http://keys.example/{pool_id}/jwks.json", false),
        ("http://169.254.169.254/{pool_id}", false),
        ("http://127.0.0.1.nip.io/{pool_id}", false),
        ("http://localhost@evil.example/{pool_id}", false),
    ] {
        let mut e = env();
        e.insert("TENANTCTL_JWKS_URL".into(), url.into());
        let r = Config::from_env_map(&e);
        if ok {
            assert!(r.is_ok(), "{url}: {r:?}");
        } else {
            assert_eq!(r.as_ref().map_err(|e| e.var), Err("TENANTCTL_JWKS_URL"), "{url}: {r:?}");
        }
    }
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
    clock.advance(10);
    assert!(v.verify(&t).is_ok());
    assert_eq!(fetcher.count(), 2);
}

#[test]
fn failed_jwks_fetch_backs_off_at_most_10_seconds() {
    // Even with a long configured window (for unknown kids after a good fetch), a failure
    // blocks the container for at most 10 s (aws-jwt-verify's penalty box), then one fetch.
    let mut e = env();
    e.insert("TENANTCTL_JWKS_BACKOFF_SECONDS".into(), "60".into());
    let fetcher = std::sync::Arc::new(CountingFetcher::default());
    let clock = TestClock::at(NOW);
    let v = Verifier::new(Config::from_env_map(&e).unwrap(), fetcher.clone(), clock.clone());
    let t = sign(&good_claims());
    assert_eq!(v.verify(&t).unwrap_err().reason, DenyReason::JwksUnavailable);
    // The endpoint recovers.
    fetcher.bodies.lock().unwrap().insert(jwks_url(ISS_A), jwks(&[JWK_A]));
    clock.advance(9);
    for _ in 0..100 {
        let d = v.verify(&t).unwrap_err();
        assert_eq!((d.reason, d.class()), (DenyReason::JwksUnavailable, DenyClass::Unauthorized));
    }
    assert_eq!(fetcher.count(), 1, "one fetch per window");
    clock.advance(1);
    assert!(v.verify(&t).is_ok());
    assert_eq!(fetcher.count(), 2);
    // After a good fetch the configured window (60 s) applies to unknown kids again.
    let forged = sign_with(&json!({"alg": "RS256", "kid": "forged"}), &good_claims(), &key_a(), Algorithm::RS256);
    clock.advance(30);
    assert_eq!(v.verify(&forged).unwrap_err().reason, DenyReason::UnknownKid);
    assert_eq!(fetcher.count(), 2);
    clock.advance(30);
    assert_eq!(v.verify(&forged).unwrap_err().reason, DenyReason::UnknownKid);
    assert_eq!(fetcher.count(), 3);
    // Default: 10 s.
    assert_eq!(Config::from_env_map(&env()).unwrap().jwks_backoff_seconds, 10);
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
    // 1,000 at one instant once the window (10 s by default) has passed: exactly one refetch.
    clock.advance(10);
    flood("again");
    assert_eq!(fetcher.count(), 2);

    // 1,000 more spread over 300 s (3 s every 10 requests): at most one per 10 s window.
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
    assert!(during <= 300 / 10 + 1, "{during} fetches in 300 s");
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
    clock.advance(9);
    assert_eq!(v.verify(&rotated).unwrap_err().reason, DenyReason::UnknownKid);
    assert_eq!(fetcher.count(), 1);
    // ...after it, the first token with the new kid refetches.
    clock.advance(1);
    assert!(v.verify(&rotated).is_ok());
    assert_eq!(fetcher.count(), 2);
    // A key removed from the JWKS is dropped at the next refetch.
    fetcher.bodies.lock().unwrap().insert(jwks_url(ISS_A), jwks(&[JWK_B]));
    clock.advance(10);
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

const METHOD_ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/orders";

fn event(token: &str, method_arn: &str) -> TokenAuthorizerEvent {
    TokenAuthorizerEvent {
        type_: "TOKEN".into(),
        authorization_token: format!("Bearer {token}"),
        method_arn: method_arn.into(),
    }
}

#[test]
fn every_reason_is_either_401_or_403() {
    use DenyReason::*;
    // Authentication failures: 401. The tenant and role checks of an authentic token: Deny.
    for r in [
        BadEvent,
        BadMethodArn,
        MalformedToken,
        AlgNotAllowed,
        MissingKid,
        CriticalHeader,
        WrongIssuer,
        UnknownKid,
        JwksUnavailable,
        BadSignature,
        WrongTokenUse,
        WrongClient,
        MissingExp,
        Expired,
        NotYetValid,
        IssuedInFuture,
        MissingSub,
    ] {
        assert_eq!(r.class(), DenyClass::Unauthorized, "{r}");
    }
    for r in [
        WrongPool,
        ForeignGroup,
        UnknownRole,
        NoGroups,
        InvalidGroups,
        NoRole,
        MissingTenant,
        InvalidTenant,
        UnknownProvider,
        ProviderTenantMismatch,
        NotFederated,
        UndeclaredTenant,
    ] {
        assert_eq!(r.class(), DenyClass::Forbidden, "{r}");
    }
}

#[test]
fn authentic_token_failing_tenant_checks_gets_an_explicit_deny() {
    let (v, _, _) = verifier();
    let foreign = sign(&with(|c| {
        c.insert("cognito:groups".into(), json!(["globex-member"]));
    }));
    let Decision::Deny(resp, d) = decide(&v, &event(&foreign, METHOD_ARN)) else {
        panic!("a foreign group must be an explicit Deny (403), got {:?}", decide(&v, &event(&foreign, METHOD_ARN)));
    };
    assert_eq!(d.reason, DenyReason::ForeignGroup);
    assert_eq!(
        serde_json::to_value(&resp).unwrap(),
        json!({
            "principalId": "11111111-2222-3333-4444-555555555555",
            "policyDocument": {"Version": "2012-10-17", "Statement": [{
                "Action": "execute-api:Invoke", "Effect": "Deny",
                "Resource": ["arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/*/*"]}]}
        }),
        "a Deny on the same API-stage wildcard as an Allow, and no context"
    );
    let line: Value = serde_json::from_str(&deny_log_line(&d, "r")).unwrap();
    assert_eq!((line["msg"].as_str(), line["class"].as_str()), (Some("denied"), Some("forbidden")));

    // Every forbidden case of the table is a Deny; every other one stays Unauthorized (401).
    for (name, token, want) in bad_tokens() {
        match (decide(&v, &event(&token, METHOD_ARN)), want.class()) {
            (Decision::Deny(resp, d), DenyClass::Forbidden) => {
                assert_eq!(d.reason, want, "{name}");
                assert_eq!(resp.policy_document.statement[0].effect, "Deny", "{name}");
                assert!(resp.context.is_none(), "{name}");
            }
            (Decision::Unauthorized(d), DenyClass::Unauthorized) => assert_eq!(d.reason, want, "{name}"),
            (other, class) => panic!("{name}: {other:?}, want {class:?} for {want}"),
        }
    }
    // Expired, bad signature, unknown issuer: 401, never a policy.
    let expired = sign(&with(|c| {
        c.insert("exp".into(), json!(NOW - 3600));
    }));
    assert!(
        matches!(decide(&v, &event(&expired, METHOD_ARN)), Decision::Unauthorized(d) if d.reason == DenyReason::Expired)
    );
    // authorize() keeps its Result shape: Err for both classes.
    assert_eq!(authorize(&v, &event(&foreign, METHOD_ARN)).unwrap_err().reason, DenyReason::ForeignGroup);
}

#[test]
fn role_arn_uses_the_partition_of_the_region() {
    const ISS_CN: &str = "https://cognito-idp.cn-north-1.amazonaws.com.cn/cn-north-1_poolC";
    let mut e = env();
    e.insert("TENANTCTL_REGION".into(), "cn-north-1".into());
    e.insert("TENANTCTL_ISSUERS".into(), format!("{ISS_CN}=*"));
    e.insert("TENANTCTL_CLIENT_IDS".into(), "client1:cn-north-1_poolC".into());
    let fetcher = CountingFetcher::serving(&jwks_url(ISS_CN), jwks(&[JWK_A]));
    let v = Verifier::new(Config::from_env_map(&e).unwrap(), fetcher.clone(), TestClock::at(NOW));
    let token = sign(&with(|c| {
        c.insert("iss".into(), json!(ISS_CN));
    }));
    let arn = "arn:aws-cn:execute-api:cn-north-1:123456789012:abcdef1234/prod/GET/orders";
    let Decision::Allow(resp, _) = decide(&v, &event(&token, arn)) else { panic!("denied") };
    let ctx = resp.context.unwrap();
    assert_eq!(ctx.role_arn, "arn:aws-cn:iam::123456789012:role/tenantctl/acmesaas/acmesaas-acme-admin");
    assert_eq!(
        resp.policy_document.statement[0].resource,
        ["arn:aws-cn:execute-api:cn-north-1:123456789012:abcdef1234/prod/*/*"]
    );
    assert_eq!(fetcher.urls.lock().unwrap().as_slice(), [format!("{ISS_CN}/.well-known/jwks.json")]);
    // A methodArn of another partition than the function's region: refused (401).
    let d = authorize(&v, &event(&token, METHOD_ARN)).unwrap_err();
    assert_eq!((d.reason, d.class()), (DenyReason::BadMethodArn, DenyClass::Unauthorized));
}

#[test]
fn federated_id_token_with_cognitos_automatic_group_is_accepted() {
    let (v, _, _) = verifier();
    // As Cognito issues it: identities names acme-okta, groups hold us-east-1_poolA_acme-okta.
    let mut claims = federated_id_claims(ISS_A, "acme-okta", &["acme-member"]);
    claims["custom:tenant_id"] = json!("acme");
    let ok = v.verify(&sign(&claims)).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!((ok.tenant_id.as_str(), ok.role.as_str()), ("acme", "member"));
    assert_eq!(ok.groups, ["us-east-1_poolA_acme-okta", "acme-member"]);
    // Without the tenant attribute the tenant comes from the provider alone.
    let claims = federated_id_claims(ISS_A, "acme-okta", &["acme-admin"]);
    assert_eq!(
        v.verify(&sign(&claims)).unwrap().role_arn,
        "arn:aws:iam::123456789012:role/tenantctl/acmesaas/acmesaas-acme-admin"
    );
    // A silo tenant's IdP in its own pool.
    let (v2, _, _) = two_pools();
    let claims = federated_id_claims(ISS_B, "globex-azure", &["globex-member"]);
    assert_eq!(v2.verify(&sign_b(&claims)).unwrap().tenant_id, "globex");
}

#[test]
fn federated_groups_are_recognised_only_for_the_own_pool_and_provider() {
    use DenyReason::*;
    let (v, _, _) = verifier();
    let cases: Vec<(&str, Value, DenyReason)> = vec![
        (
            // A native user (no identities) in a group shaped like a federated one.
            "native user in <poolId>_<provider>",
            with(|c| {
                c.insert("cognito:groups".into(), json!(["us-east-1_poolA_acme-okta", "acme-member"]));
            }),
            NotFederated,
        ),
        (
            "federated through acme-okta, automatic group of another provider",
            {
                let mut c = federated_id_claims(ISS_A, "acme-okta", &["acme-member"]);
                c["cognito:groups"] =
                    json!(["us-east-1_poolA_acme-okta", "us-east-1_poolA_globex-azure", "acme-member"]);
                c
            },
            NotFederated,
        ),
        (
            "automatic group with another pool's id",
            {
                let mut c = federated_id_claims(ISS_A, "acme-okta", &["acme-member"]);
                c["cognito:groups"] = json!(["us-east-1_poolB_acme-okta", "acme-member"]);
                c
            },
            ForeignGroup,
        ),
        (
            "automatic group with a pool id that extends ours",
            {
                let mut c = federated_id_claims(ISS_A, "acme-okta", &["acme-member"]);
                c["cognito:groups"] = json!(["us-east-1_poolAB_acme-okta", "acme-member"]);
                c
            },
            ForeignGroup,
        ),
        ("only the automatic group: no role", federated_id_claims(ISS_A, "acme-okta", &[]), NoRole),
        (
            "federated through acme-okta, tenant attribute globex",
            {
                let mut c = federated_id_claims(ISS_A, "acme-okta", &["globex-member"]);
                c["custom:tenant_id"] = json!("globex");
                c
            },
            ProviderTenantMismatch,
        ),
        (
            "federated through acme-okta, a globex group",
            federated_id_claims(ISS_A, "acme-okta", &["globex-member"]),
            ForeignGroup,
        ),
        ("provider not mapped to a tenant", federated_id_claims(ISS_A, "Google", &["acme-member"]), UnknownProvider),
        (
            "two identities of two tenants' providers",
            {
                let mut c = federated_id_claims(ISS_A, "acme-okta", &["acme-member"]);
                c["identities"] = json!([identity("acme-okta"), identity("globex-azure")]);
                c
            },
            ProviderTenantMismatch,
        ),
    ];
    for (name, claims, want) in cases {
        let got = v.verify(&sign(&claims));
        assert_eq!(got.as_ref().err().map(|d| d.reason), Some(want), "{name}: {got:?}");
    }
    // A silo pool's federated user is still bound to the silo tenant.
    let (v2, _, _) = two_pools();
    let claims = federated_id_claims(ISS_B, "acme-okta", &["acme-member"]);
    assert_eq!(v2.verify(&sign_b(&claims)).unwrap_err().reason, WrongPool);
}

fn access_verifier(extra: &[(&str, &str)]) -> (Verifier, std::sync::Arc<CountingFetcher>, std::sync::Arc<TestClock>) {
    let mut e = env();
    e.insert("TENANTCTL_TOKEN_USE".into(), "access".into());
    e.insert("TENANTCTL_ISSUERS".into(), format!("{ISS_A}=*,{ISS_B}=globex"));
    e.insert("TENANTCTL_CLIENT_IDS".into(), CLIENTS_AB.into());
    for (k, val) in extra {
        e.insert(k.to_string(), val.to_string());
    }
    verifier_with(&e)
}

#[test]
fn access_token_tenant_comes_from_its_groups() {
    let (v, _, _) = access_verifier(&[]);
    // A real Cognito access token: client_id, no aud, no custom attribute, cognito:groups.
    let ok = v.verify(&sign(&access_claims())).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!((ok.tenant_id.as_str(), ok.role.as_str()), ("acme", "admin"));
    assert_eq!(ok.role_arn, "arn:aws:iam::123456789012:role/tenantctl/acmesaas/acmesaas-acme-admin");
    let Decision::Allow(resp, _) = decide(&v, &event(&sign(&access_claims()), METHOD_ARN)) else { panic!() };
    assert_eq!(resp.context.unwrap().tenant_id, "acme");

    // A pre-token-generation V2 trigger may add the tenant attribute: it must agree.
    let mut agreeing = access_claims();
    agreeing["custom:tenant_id"] = json!("acme");
    assert!(v.verify(&sign(&agreeing)).is_ok());

    use DenyReason::*;
    let access = |f: &dyn Fn(&mut Value)| {
        let mut c = access_claims();
        f(&mut c);
        c
    };
    let cases: Vec<(&str, String, DenyReason)> = vec![
        (
            "tenant attribute disagrees with the groups",
            sign(&access(&|c| c["custom:tenant_id"] = json!("initech"))),
            ForeignGroup,
        ),
        (
            // The claimed tenant is checked against the pool first.
            "tenant attribute of a silo tenant in a shared-pool token",
            sign(&access(&|c| c["custom:tenant_id"] = json!("globex"))),
            WrongPool,
        ),
        (
            "groups of two tenants",
            sign(&access(&|c| c["cognito:groups"] = json!(["acme-admin", "globex-admin"]))),
            ForeignGroup,
        ),
        ("no groups", sign(&access(&|c| drop(c.as_object_mut().unwrap().remove("cognito:groups")))), NoGroups),
        ("unknown role", sign(&access(&|c| c["cognito:groups"] = json!(["acme-owner"]))), UnknownRole),
        ("group tenant not a tenant id", sign(&access(&|c| c["cognito:groups"] = json!(["Acme-admin"]))), ForeignGroup),
        ("acme's groups in a token of globex's silo pool", sign_b(&access(&|c| c["iss"] = json!(ISS_B))), WrongPool),
        (
            "globex's groups in a token of the shared pool",
            sign(&access(&|c| c["cognito:groups"] = json!(["globex-member"]))),
            WrongPool,
        ),
        (
            // Access tokens carry no identities: the automatic group is the provider (issue 23),
            // here the silo tenant globex's, whom the shared pool may not speak for.
            "automatic group of a silo tenant's provider",
            sign(&access(&|c| c["cognito:groups"] = json!(["us-east-1_poolA_globex-azure", "acme-member"]))),
            WrongPool,
        ),
        (
            "client in aud, not client_id",
            sign(&access(&|c| {
                let o = c.as_object_mut().unwrap();
                o.remove("client_id");
                o.insert("aud".into(), json!(CLIENT));
            })),
            WrongClient,
        ),
        ("an ID token", sign(&good_claims()), WrongTokenUse),
    ];
    for (name, token, want) in cases {
        let d = v.verify(&token).err().map(|d| d.reason);
        assert_eq!(d, Some(want), "{name}");
    }
    // globex's access token from its silo pool.
    let globex = access(&|c| {
        c["iss"] = json!(ISS_B);
        c["cognito:groups"] = json!(["globex-member"]);
    });
    assert_eq!(v.verify(&sign_b(&globex)).unwrap().tenant_id, "globex");
}

/// Contract §1.4: a tenant's own provider (`<tenant>-<name>:<tenant>`) binds its users to that
/// tenant, and a token whose tenant attribute names another tenant is denied; the pool's own
/// providers (`Google:*`, as tenantctl writes them) bind none, so their users' tenant is the
/// tenant attribute.
#[test]
fn provider_tenant_binding_and_pool_providers() {
    let mut e = env();
    e.insert("TENANTCTL_IDP_TENANTS".into(), "acme-okta:acme,globex-saml:globex,Google:*".into());
    let (v, _, _) = verifier_with(&e);
    // The tenant's provider, the tenant's attribute: allowed.
    let mut ok = federated_id_claims(ISS_A, "acme-okta", &["acme-member"]);
    ok["custom:tenant_id"] = json!("acme");
    assert_eq!(v.verify(&sign(&ok)).unwrap().tenant_id, "acme");
    // The provider is acme's, the attribute says globex: denied, whatever the groups.
    for groups in [&["globex-member"][..], &["acme-member"][..]] {
        let mut c = federated_id_claims(ISS_A, "acme-okta", groups);
        c["custom:tenant_id"] = json!("globex");
        assert_eq!(v.verify(&sign(&c)).err().map(|d| d.reason), Some(DenyReason::ProviderTenantMismatch));
    }
    // A SAML provider of globex, attribute acme: denied too.
    let mut c = federated_id_claims(ISS_A, "globex-saml", &["acme-member"]);
    c["custom:tenant_id"] = json!("acme");
    assert_eq!(v.verify(&sign(&c)).err().map(|d| d.reason), Some(DenyReason::ProviderTenantMismatch));
    // The pool's own provider: the tenant attribute decides.
    let mut g = federated_id_claims(ISS_A, "Google", &["acme-member"]);
    g["custom:tenant_id"] = json!("acme");
    assert_eq!(v.verify(&sign(&g)).unwrap().tenant_id, "acme");
    // ... and without one, an ID token has no tenant.
    let g = federated_id_claims(ISS_A, "Google", &["acme-member"]);
    assert_eq!(v.verify(&sign(&g)).err().map(|d| d.reason), Some(DenyReason::MissingTenant));
    // A provider tenantctl did not list is still unknown.
    let mut f = federated_id_claims(ISS_A, "Facebook", &["acme-member"]);
    f["custom:tenant_id"] = json!("acme");
    assert_eq!(v.verify(&sign(&f)).err().map(|d| d.reason), Some(DenyReason::UnknownProvider));
}

/// Issue 23 item 6: every setting tenantctl writes is required; a missing one (or an empty
/// one) fails closed at init instead of defaulting (token use `id`, tenant attribute
/// `tenant_id`, no usage plans: no key). `-` says "none" where a list may be empty.
#[test]
fn every_setting_tenantctl_writes_is_required() {
    for var in [
        "TENANTCTL_ISSUERS",
        "TENANTCTL_CLIENT_IDS",
        "TENANTCTL_PLATFORM",
        "TENANTCTL_ACCOUNT_ID",
        "TENANTCTL_REGION",
        "TENANTCTL_TOKEN_USE",
        "TENANTCTL_TENANT_ATTRIBUTE",
        "TENANTCTL_ROLES",
        "TENANTCTL_IDP_TENANTS",
        "TENANTCTL_USAGE_PLANS",
        "TENANTCTL_METHOD_SCOPES",
        "TENANTCTL_TENANTS",
    ] {
        for absent in [None, Some(""), Some("  ")] {
            let mut e = env();
            match absent {
                None => drop(e.remove(var)),
                Some(v) => drop(e.insert(var.into(), v.into())),
            }
            let r = Config::from_env_map(&e);
            assert_eq!(r.as_ref().map_err(|e| e.var), Err(var), "{var}={absent:?}: {r:?}");
            assert!(r.unwrap_err().to_string().contains("is required"), "{var}");
        }
    }
    // `-`: explicitly none.
    let c = Config::from_env_map(&env()).unwrap();
    assert!(c.usage_plans.is_empty());
    let mut e = env();
    e.insert("TENANTCTL_IDP_TENANTS".into(), "-".into());
    assert!(Config::from_env_map(&e).unwrap().idp_tenants.is_empty());
    // `-` inside a list is no provider or plan.
    for (var, bad) in [("TENANTCTL_IDP_TENANTS", "-,acme-okta:acme"), ("TENANTCTL_USAGE_PLANS", "abc123,-")] {
        let mut e = env();
        e.insert(var.into(), bad.into());
        assert_eq!(Config::from_env_map(&e).map_err(|e| e.var).err(), Some(var), "{var}={bad}");
    }
}

const SCOPES: &str = r#"{"GET /orders/{id}": ["https://api.example/orders.read", "api/admin"], "POST /orders": ["api/orders.write"], "ANY /admin/{proxy+}": ["api/admin"]}"#;

fn stage_arn(method_and_path: &str) -> String {
    format!("arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/{method_and_path}")
}

fn statements(resp: &tenantctl_authorizer::AuthorizerResponse) -> Vec<(String, Vec<String>)> {
    resp.policy_document.statement.iter().map(|s| (s.effect.clone(), s.resource.clone())).collect()
}

/// Issue 23 item 7: a method with scopes (`TENANTCTL_METHOD_SCOPES`, as the Cognito
/// authorizer's `authorizationScopes`) needs an access token holding one of them. Before, any
/// access token was allowed whatever its scope. The cached policy covers the whole stage, so
/// it carries an explicit Deny for each scoped method the token lacks a scope for: the answer
/// API Gateway caches for the token is right for every method.
#[test]
fn scoped_methods_need_an_access_token_holding_one_of_their_scopes() {
    let (v, _, _) = access_verifier(&[("TENANTCTL_METHOD_SCOPES", SCOPES)]);
    let stage = stage_arn("*/*");
    let all_denied = vec![stage_arn("*/admin/*"), stage_arn("GET/orders/*"), stage_arn("POST/orders")];
    // Only aws.cognito.signin.user.admin: a scoped method is denied (403) ...
    let only_admin = sign(&access_claims());
    for arn in ["GET/orders/42", "POST/orders", "DELETE/admin/users/7"] {
        match decide(&v, &event(&only_admin, &stage_arn(arn))) {
            Decision::Deny(resp, d) => {
                assert_eq!((d.reason, d.class()), (DenyReason::MissingScope, DenyClass::Forbidden), "{arn}");
                assert_eq!(
                    statements(&resp),
                    [("Allow".to_string(), vec![stage.clone()]), ("Deny".to_string(), all_denied.clone())],
                    "{arn}"
                );
                assert_eq!(resp.context.as_ref().unwrap().tenant_id, "acme", "the cached answer serves other methods");
            }
            other => panic!("{arn}: {other:?}"),
        }
    }
    // ... an unscoped one allowed, with the same policy (API Gateway caches it for the token).
    for arn in ["GET/health", "GET/orders", "POST/orders/42", "GET/admin"] {
        let Decision::Allow(resp, _) = decide(&v, &event(&only_admin, &stage_arn(arn))) else {
            panic!("{arn}: {:?}", decide(&v, &event(&only_admin, &stage_arn(arn))))
        };
        assert_eq!(
            statements(&resp),
            [("Allow".to_string(), vec![stage.clone()]), ("Deny".to_string(), all_denied.clone())]
        );
    }
    // One of the method's scopes is enough; the others stay denied.
    let mut read = access_claims();
    read["scope"] = json!("openid https://api.example/orders.read");
    let read = sign(&read);
    let Decision::Allow(resp, _) = decide(&v, &event(&read, &stage_arn("GET/orders/42"))) else { panic!() };
    assert_eq!(
        statements(&resp),
        [
            ("Allow".to_string(), vec![stage.clone()]),
            ("Deny".to_string(), vec![stage_arn("*/admin/*"), stage_arn("POST/orders")])
        ]
    );
    let d = authorize(&v, &event(&read, &stage_arn("POST/orders"))).unwrap_err();
    assert_eq!(d.reason, DenyReason::MissingScope);
    // A prefix or a part of a scope is not the scope.
    for scope in ["api/orders", "api/orders.writer", "api/orders.write2", "API/ADMIN", "\"api/admin\""] {
        let mut c = access_claims();
        c["scope"] = json!(scope);
        assert_eq!(
            authorize(&v, &event(&sign(&c), &stage_arn("POST/orders"))).unwrap_err().reason,
            DenyReason::MissingScope,
            "{scope}"
        );
    }
    // Every scope: the plain stage Allow, as without scopes.
    let mut all = access_claims();
    all["scope"] = json!("api/admin api/orders.write");
    let Decision::Allow(resp, _) = decide(&v, &event(&sign(&all), &stage_arn("POST/orders"))) else { panic!() };
    assert_eq!(statements(&resp), [("Allow".to_string(), vec![stage.clone()])]);
    // A scope of the wrong type holds none.
    let mut odd = access_claims();
    odd["scope"] = json!(["api/admin"]);
    assert_eq!(
        authorize(&v, &event(&sign(&odd), &stage_arn("DELETE/admin/x"))).unwrap_err().reason,
        DenyReason::MissingScope
    );

    // ID tokens hold no scope: a scoped method refuses them (as the Cognito authorizer does).
    let mut e = env();
    e.insert("TENANTCTL_METHOD_SCOPES".into(), SCOPES.into());
    let (vid, _, _) = verifier_with(&e);
    let id = sign(&good_claims());
    assert_eq!(authorize(&vid, &event(&id, &stage_arn("GET/orders/1"))).unwrap_err().reason, DenyReason::MissingScope);
    assert!(authorize(&vid, &event(&id, &stage_arn("GET/orders"))).is_ok());

    // Bad settings fail at init.
    for bad in [
        "",
        "[]",
        "{",
        r#"{"GET /orders": []}"#,
        r#"{"GET /orders": "api/read"}"#,
        r#"{"GET /orders": ["api read"]}"#,
        r#"{"GET /orders": [""]}"#,
        r#"{"FETCH /orders": ["api/read"]}"#,
        r#"{"GET orders": ["api/read"]}"#,
        r#"{"GET /orders/{id": ["api/read"]}"#,
        r#"{"GET /{proxy+}/x": ["api/read"]}"#,
        r#"{"GET /a//b": ["api/read"]}"#,
        r#"{"GET /a*": ["api/read"]}"#,
    ] {
        let mut e = env();
        e.insert("TENANTCTL_METHOD_SCOPES".into(), bad.into());
        let r = Config::from_env_map(&e);
        assert_eq!(r.as_ref().map_err(|e| e.var), Err("TENANTCTL_METHOD_SCOPES"), "{bad}: {r:?}");
    }
}

/// Issue 23 item 1: an access token carries no `identities`; Cognito's automatic group
/// `<poolId>_<provider>` of the token's own pool is then the evidence of the provider the user
/// signed in through, and binds the token to that provider's tenant (it only narrows access).
/// Before, the group was refused (`not_federated`) and the README advised a trigger that strips
/// it, after which a linked account could carry another tenant's groups.
#[test]
fn access_token_automatic_group_binds_its_providers_tenant() {
    use DenyReason::*;
    let (v, _, _) = access_verifier(&[(
        "TENANTCTL_IDP_TENANTS",
        "acme-okta:acme,initech-okta:initech,globex-azure:globex,Google:*",
    )]);
    let groups = |g: &[&str]| {
        let mut c = access_claims();
        c["cognito:groups"] = json!(g);
        c
    };
    let ok = v.verify(&sign(&groups(&["us-east-1_poolA_acme-okta", "acme-member"]))).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!((ok.tenant_id.as_str(), ok.role.as_str()), ("acme", "member"));
    // The pool's own provider binds no tenant.
    assert_eq!(v.verify(&sign(&groups(&["us-east-1_poolA_Google", "acme-admin"]))).unwrap().tenant_id, "acme");
    // globex's provider in its silo pool.
    let mut g = groups(&["us-east-1_poolB_globex-azure", "globex-member"]);
    g["iss"] = json!(ISS_B);
    assert_eq!(v.verify(&sign_b(&g)).unwrap().tenant_id, "globex");
    let cases: Vec<(&str, Value, DenyReason)> = vec![
        (
            "a linked account: initech's provider, acme's groups",
            groups(&["us-east-1_poolA_initech-okta", "acme-admin"]),
            ForeignGroup,
        ),
        (
            "acme's provider, tenant attribute initech",
            {
                let mut c = groups(&["us-east-1_poolA_acme-okta", "initech-admin"]);
                c["custom:tenant_id"] = json!("initech");
                c
            },
            ProviderTenantMismatch,
        ),
        ("acme's provider, initech's groups", groups(&["us-east-1_poolA_acme-okta", "initech-admin"]), ForeignGroup),
        (
            "two providers of two tenants",
            groups(&["us-east-1_poolA_acme-okta", "us-east-1_poolA_initech-okta", "acme-admin"]),
            ProviderTenantMismatch,
        ),
        ("a provider tenantctl did not list", groups(&["us-east-1_poolA_evil", "acme-admin"]), UnknownProvider),
        // A silo tenant's provider speaks for the silo tenant, whom the shared pool may not.
        (
            "globex's provider in a token of the shared pool",
            groups(&["us-east-1_poolA_globex-azure", "acme-admin"]),
            WrongPool,
        ),
        ("another pool's automatic group", groups(&["us-east-1_poolB_acme-okta", "acme-admin"]), ForeignGroup),
        ("only the automatic group", groups(&["us-east-1_poolA_acme-okta"]), NoRole),
    ];
    for (name, claims, want) in cases {
        let got = v.verify(&sign(&claims));
        assert_eq!(got.as_ref().err().map(|d| d.reason), Some(want), "{name}: {got:?}");
    }
    // ID tokens keep the stricter rule: the group needs the provider in `identities`.
    let (vid, _, _) = verifier();
    let mut c = good_claims();
    c["cognito:groups"] = json!(["us-east-1_poolA_acme-okta", "acme-member"]);
    assert_eq!(vid.verify(&sign(&c)).unwrap_err().reason, NotFederated);
}

struct Keys(Result<Vec<(String, String)>, String>);

impl tenantctl_authorizer::KeyLister for Keys {
    fn list(&self, _plan: &str) -> Result<Vec<(String, String)>, tenantctl_authorizer::FetchError> {
        self.0.clone().map_err(tenantctl_authorizer::FetchError)
    }
}

/// Issue 23 item 3: before, an unavailable key store and a missing key were an explicit Deny,
/// which API Gateway caches for the token (`resultTtlSeconds`): now both are errors (500).
#[test]
fn key_store_failures_are_errors_api_gateway_does_not_cache() {
    let mut e = env();
    e.insert("TENANTCTL_USAGE_PLANS".into(), "plan1".into());
    for (lister, want) in [
        (Keys(Err("HTTP 503".into())), DenyReason::ApiKeysUnavailable),
        (Keys(Ok(vec![("acmesaas-globex".into(), "k".into())])), DenyReason::NoApiKey),
    ] {
        let (v, _, _) = verifier_with(&e);
        let v = v.with_key_lister(std::sync::Arc::new(lister));
        match decide(&v, &event(&sign(&good_claims()), METHOD_ARN)) {
            Decision::Error(d) => assert_eq!((d.reason, d.class()), (want, DenyClass::Error)),
            other => panic!("{want}: {other:?}"),
        }
    }
    let (v, _, _) = verifier_with(&e);
    let v = v.with_key_lister(std::sync::Arc::new(Keys(Ok(vec![("acmesaas-acme".into(), "k-acme".into())]))));
    let Decision::Allow(resp, _) = decide(&v, &event(&sign(&good_claims()), METHOD_ARN)) else { panic!() };
    assert_eq!(resp.usage_identifier_key.as_deref(), Some("k-acme"));
}

/// Issue 23 item 8: a key set answer without an RS256 signing key (empty, or only keys of
/// other types) replaced the cached keys, so every token was 401 for the back-off window.
#[test]
fn a_key_set_without_rs256_keys_keeps_the_previous_keys() {
    let (v, fetcher, clock) = verifier();
    let good = sign(&good_claims());
    assert!(v.verify(&good).is_ok());
    let forged = sign_with(&json!({"alg": "RS256", "kid": "forged"}), &good_claims(), &key_a(), Algorithm::RS256);
    for body in [
        json!({"keys": []}).to_string(),
        json!({"keys": [{"kty": "EC", "kid": "ec1", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}).to_string(),
    ] {
        fetcher.bodies.lock().unwrap().insert(jwks_url(ISS_A), body.clone());
        clock.advance(10);
        let before = fetcher.count();
        assert_eq!(v.verify(&forged).unwrap_err().reason, DenyReason::UnknownKid, "{body}");
        assert_eq!(fetcher.count(), before + 1, "the unknown kid refetched");
        assert!(v.verify(&good).is_ok(), "the cached keys stay after {body}");
    }
}

/// Issue 23 item 8: two roles of equal precedence (tenantctl writes a role without
/// `precedence` as 2147483647) tie-break by role name, the first in alphabetical order.
#[test]
fn roles_of_equal_precedence_tie_break_by_name() {
    let mut e = env();
    e.insert("TENANTCTL_ROLES".into(), "admin:2147483647,member:2147483647,viewer:20".into());
    let (v, _, _) = verifier_with(&e);
    let role = |groups: Value| {
        let mut c = good_claims();
        c["cognito:groups"] = groups;
        v.verify(&sign(&c)).unwrap().role
    };
    assert_eq!(role(json!(["acme-member", "acme-admin"])), "admin");
    assert_eq!(role(json!(["acme-admin", "acme-member"])), "admin");
    assert_eq!(role(json!(["acme-member", "acme-viewer"])), "viewer");
}

/// Issue 23 item 8: `Debug` of the answer shows no API key value.
#[test]
fn debug_of_the_answer_redacts_the_api_key() {
    let mut e = env();
    e.insert("TENANTCTL_USAGE_PLANS".into(), "plan1".into());
    let (v, _, _) = verifier_with(&e);
    let v = v.with_key_lister(std::sync::Arc::new(Keys(Ok(vec![("acmesaas-acme".into(), "s3cr3t-key-value".into())]))));
    let decision = decide(&v, &event(&sign(&good_claims()), METHOD_ARN));
    let Decision::Allow(resp, _) = &decision else { panic!("{decision:?}") };
    assert_eq!(resp.usage_identifier_key.as_deref(), Some("s3cr3t-key-value"));
    for shown in [format!("{decision:?}"), format!("{resp:?}"), format!("{decision:#?}")] {
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("redacted"), "{shown}");
    }
}

struct SlowKeys(std::sync::Mutex<Vec<Option<std::time::Instant>>>, std::time::Duration);

impl tenantctl_authorizer::KeyLister for SlowKeys {
    fn list(&self, plan: &str) -> Result<Vec<(String, String)>, tenantctl_authorizer::FetchError> {
        self.list_until(plan, None)
    }
    fn list_until(
        &self,
        _plan: &str,
        deadline: Option<std::time::Instant>,
    ) -> Result<Vec<(String, String)>, tenantctl_authorizer::FetchError> {
        self.0.lock().unwrap().push(deadline);
        std::thread::sleep(self.1);
        Ok(vec![("acmesaas-acme".into(), "k".into())])
    }
}

struct DeadlineFetcher(std::sync::Mutex<Vec<Option<std::time::Instant>>>);

impl tenantctl_authorizer::JwksFetcher for DeadlineFetcher {
    fn fetch(&self, url: &str) -> Result<String, tenantctl_authorizer::FetchError> {
        self.fetch_until(url, None)
    }
    fn fetch_until(
        &self,
        _url: &str,
        deadline: Option<std::time::Instant>,
    ) -> Result<String, tenantctl_authorizer::FetchError> {
        self.0.lock().unwrap().push(deadline);
        Ok(jwks(&[JWK_A]))
    }
}

/// Issue 23 item 8: the key set fetch and every usage plan read of a request share the
/// request's deadline; once it has passed no further read starts. Before, each took up to 3 s
/// of its own, past a 5 s function timeout.
#[test]
fn the_fetches_of_a_request_share_one_deadline() {
    use std::time::{Duration, Instant};
    let mut e = env();
    e.insert("TENANTCTL_USAGE_PLANS".into(), "p1,p2,p3,p4".into());
    let fetcher = std::sync::Arc::new(DeadlineFetcher(Default::default()));
    let lister = std::sync::Arc::new(SlowKeys(Default::default(), Duration::from_millis(150)));
    let v = Verifier::new(Config::from_env_map(&e).unwrap(), fetcher.clone(), TestClock::at(NOW))
        .with_key_lister(lister.clone());
    let deadline = Instant::now() + Duration::from_millis(200);
    let start = Instant::now();
    let decision = tenantctl_authorizer::decide_until(&v, &event(&sign(&good_claims()), METHOD_ARN), Some(deadline));
    match &decision {
        Decision::Error(d) => {
            assert_eq!(d.reason, DenyReason::ApiKeysUnavailable);
            assert!(d.detail.contains("deadline"), "{d}");
        }
        other => panic!("{other:?}"),
    }
    assert!(start.elapsed() < Duration::from_millis(1000), "{:?}", start.elapsed());
    assert_eq!(fetcher.0.lock().unwrap().as_slice(), [Some(deadline)]);
    let reads = lister.0.lock().unwrap().clone();
    assert!(reads.len() < 4 && reads.iter().all(|d| *d == Some(deadline)), "{reads:?}");

    // The real clients give up at the deadline too (a server that never answers).
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap();
    let _hold = std::thread::spawn(move || {
        let conns: Vec<_> = silent.incoming().take(2).collect();
        std::thread::sleep(Duration::from_secs(10));
        drop(conns);
    });
    use tenantctl_authorizer::{HttpJwksFetcher, HttpKeyLister, JwksFetcher, KeyLister};
    let start = Instant::now();
    let r = HttpJwksFetcher::default()
        .fetch_until(&format!("http://{addr}/jwks.json"), Some(Instant::now() + Duration::from_millis(300)));
    assert!(r.is_err());
    assert!(start.elapsed() < Duration::from_millis(2000), "JWKS: {:?}", start.elapsed());
    let creds = tenantctl_authorizer::keys::Credentials {
        access_key_id: "AKID".into(),
        secret_access_key: "secret".into(),
        session_token: None,
    };
    let start = Instant::now();
    let r = HttpKeyLister::new(format!("http://{addr}"), "us-east-1".into())
        .with_credentials(creds)
        .list_until("plan1", Some(Instant::now() + Duration::from_millis(300)));
    assert!(r.is_err());
    assert!(start.elapsed() < Duration::from_millis(2000), "keys: {:?}", start.elapsed());
}

/// `umbrella`'s claims: a well-formed tenant id that `TENANTCTL_TENANTS` does not declare.
fn umbrella(mut c: Value) -> Value {
    if c.get("custom:tenant_id").is_some() {
        c["custom:tenant_id"] = json!("umbrella");
    }
    c["cognito:groups"] = json!(["umbrella-admin"]);
    c
}

/// An authentic token of a tenant the configuration does not declare (`tenants`) is denied
/// (403, `undeclared_tenant`) in every mode; a declared tenant's token is allowed.
#[test]
fn an_undeclared_tenant_is_denied_in_every_mode() {
    use DenyReason::UndeclaredTenant;
    let reason = |v: &Verifier, t: &str| v.verify(t).err().map(|d| (d.reason, d.class(), d.sub.is_some()));
    let undeclared = Some((UndeclaredTenant, DenyClass::Forbidden, true));
    // ID tokens, the shared pool.
    let (v, _, _) = verifier();
    assert_eq!(v.verify(&sign(&good_claims())).unwrap().tenant_id, "acme");
    assert_eq!(reason(&v, &sign(&umbrella(good_claims()))), undeclared);
    // Access tokens (tenant from the groups, or from the attribute), shared pool beside a silo.
    let (v, _, _) = access_verifier(&[]);
    assert_eq!(v.verify(&sign(&access_claims())).unwrap().tenant_id, "acme");
    assert_eq!(reason(&v, &sign(&umbrella(access_claims()))), undeclared);
    let mut attr = umbrella(access_claims());
    attr["custom:tenant_id"] = json!("umbrella");
    assert_eq!(reason(&v, &sign(&attr)), undeclared);
    // The silo pool's tenant is declared (the configuration requires it): allowed.
    let mut silo = access_claims();
    silo["iss"] = json!(ISS_B);
    silo["client_id"] = json!(CLIENT_B);
    silo["cognito:groups"] = json!(["globex-admin"]);
    assert_eq!(v.verify(&sign_b(&silo)).unwrap().tenant_id, "globex");
    // A federated user of a pool's own provider (which binds no tenant): the attribute's
    // tenant, declared or not.
    let mut e = env();
    e.insert("TENANTCTL_IDP_TENANTS".into(), "acme-okta:acme,Google:*".into());
    let (v, _, _) = verifier_with(&e);
    let mut ok = federated_id_claims(ISS_A, "Google", &["acme-member"]);
    ok["custom:tenant_id"] = json!("acme");
    assert_eq!(v.verify(&sign(&ok)).unwrap().tenant_id, "acme");
    let mut f = federated_id_claims(ISS_A, "Google", &["umbrella-member"]);
    f["custom:tenant_id"] = json!("umbrella");
    assert_eq!(reason(&v, &sign(&f)), undeclared);
    // Declaring the tenant is all it takes.
    e.insert("TENANTCTL_TENANTS".into(), format!("{TENANTS},umbrella"));
    let (v, _, _) = verifier_with(&e);
    assert_eq!(v.verify(&sign(&f)).unwrap().tenant_id, "umbrella");
    assert_eq!(v.verify(&sign(&umbrella(good_claims()))).unwrap().tenant_id, "umbrella");
    // Through authorize: an explicit Deny, logged as undeclared_tenant.
    let (v, _, _) = verifier();
    match decide(&v, &event(&sign(&umbrella(good_claims())), METHOD_ARN)) {
        Decision::Deny(resp, d) => {
            assert_eq!(resp.policy_document.statement[0].effect, "Deny");
            let line: Value = serde_json::from_str(&deny_log_line(&d, "r1")).unwrap();
            assert_eq!(line["reason"], "undeclared_tenant");
        }
        other => panic!("{other:?}"),
    }
}

/// The declared tenants: tenant ids, each once; every silo issuer's and provider's tenant
/// among them.
#[test]
fn declared_tenants_are_checked() {
    let c = Config::from_env_map(&env()).unwrap();
    assert_eq!(c.tenants.iter().collect::<Vec<_>>(), ["acme", "acme-corp", "globex", "initech"]);
    for (var, k, v) in [
        ("TENANTCTL_TENANTS", "TENANTCTL_TENANTS", "acme,Globex"),
        ("TENANTCTL_TENANTS", "TENANTCTL_TENANTS", "acme,awsome"),
        ("TENANTCTL_TENANTS", "TENANTCTL_TENANTS", "acme,globex,acme"),
        // A silo issuer's tenant, a provider's tenant, not declared.
        ("TENANTCTL_ISSUERS", "TENANTCTL_ISSUERS", &*format!("{ISS_A}=*,{ISS_B}=umbrella")),
        ("TENANTCTL_IDP_TENANTS", "TENANTCTL_IDP_TENANTS", "acme-okta:acme,umbrella-okta:umbrella"),
    ] {
        let mut e = env();
        e.insert(k.into(), v.into());
        let r = Config::from_env_map(&e);
        assert_eq!(r.as_ref().map_err(|e| e.var), Err(var), "{k}={v}: {r:?}");
    }
    let mut e = env();
    e.insert("TENANTCTL_TENANTS".into(), "acme,globex,Bad".into());
    assert_eq!(Config::from_env_map(&e).unwrap_err().to_string(), "TENANTCTL_TENANTS[2]: \"Bad\" is not a tenant id");
}

/// tenantctl-authorizer.json builds the same configuration as the variables it replaces; the
/// small variables stay in the environment, and the replaced ones there are ignored.
#[test]
fn the_file_builds_the_configuration_the_variables_did() {
    let mut cases = vec![env()];
    let mut e = env();
    e.insert("TENANTCTL_TOKEN_USE".into(), "access".into());
    e.insert("TENANTCTL_ISSUERS".into(), format!("{ISS_A}=*,{ISS_B}=globex"));
    e.insert("TENANTCTL_CLIENT_IDS".into(), CLIENTS_AB.into());
    e.insert("TENANTCTL_IDP_TENANTS".into(), "acme-okta:acme,globex-saml:globex,Google:*".into());
    e.insert("TENANTCTL_USAGE_PLANS".into(), "plan1,plan2".into());
    e.insert("TENANTCTL_METHOD_SCOPES".into(), SCOPES.into());
    e.insert("TENANTCTL_CLOCK_SKEW_SECONDS".into(), "30".into());
    e.insert("TENANTCTL_JWKS_URL".into(), "http://127.0.0.1:5000/{pool_id}/.well-known/jwks.json".into());
    cases.push(e);
    let mut e = env();
    e.insert("TENANTCTL_IDP_TENANTS".into(), "-".into());
    cases.push(e);
    for e in cases {
        let want = Config::from_env_map(&e).unwrap();
        let file = config_file(&e);
        let got =
            Config::from_env_and_file(&small_env(&e), file.as_bytes()).unwrap_or_else(|err| panic!("{err}\n{file}"));
        assert_eq!(got, want, "{file}");
        // The variables the file replaces, left in the environment (even invalid): ignored.
        let mut stale = e.clone();
        stale.insert("TENANTCTL_ISSUERS".into(), "garbage".into());
        stale.insert("TENANTCTL_TENANTS".into(), "Bad".into());
        assert_eq!(Config::from_env_and_file(&stale, file.as_bytes()).unwrap(), want);
    }
    // The example of the format, as the CLI writes it.
    let file = br#"{
  "format": 1,
  "issuers": {"https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AAA": "*", "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_BBB": "initech"},
  "clients": {"client1": "us-east-1_AAA", "clientb": "us-east-1_BBB"},
  "identityProviders": {"acme-okta": "acme", "Google": "*"},
  "tenants": ["acme", "globex", "initech"],
  "roles": {"admin": 1, "member": 10},
  "usagePlans": ["abc123"],
  "methodScopes": {"GET /reports": ["api/reports.read"]}
}"#;
    let c = Config::from_env_and_file(&small_env(&env()), file).unwrap();
    assert_eq!(c.silo_tenants["initech"], "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_BBB");
    assert_eq!(c.client_ids, ["client1", "clientb"]);
    assert_eq!(c.idp_tenants["Google"], "*");
    assert_eq!(c.tenants.len(), 3);
    assert_eq!(c.roles["member"], 10);
    assert_eq!(c.usage_plans, ["abc123"]);
    assert_eq!(c.method_scopes[0].scopes, ["api/reports.read"]);
}

/// Every error of the file names its field (or the file), the small variables' name theirs.
#[test]
fn file_errors_name_the_field() {
    use tenantctl_authorizer::config::*;
    let base: Value = serde_json::from_str(&config_file(&env())).unwrap();
    let small = small_env(&env());
    let with_field = |k: &str, v: Value| {
        let mut f = base.clone();
        f[k] = v;
        f.to_string()
    };
    let without = |k: &str| {
        let mut f = base.clone();
        f.as_object_mut().unwrap().remove(k);
        f.to_string()
    };
    let pool_a = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_poolA";
    let cases: Vec<(&str, String)> = vec![
        (CONFIG_FILE, "".into()),
        (CONFIG_FILE, "{\"format\": 1,".into()),
        (CONFIG_FILE, "[]".into()),
        (CONFIG_FILE, with_field("extra", json!(1))),
        (FILE_FORMAT, with_field("format", json!(2))),
        (FILE_FORMAT, with_field("format", json!("1"))),
        (FILE_FORMAT, without("format")),
        (FILE_TENANTS, without("tenants")),
        (FILE_TENANTS, with_field("tenants", json!("acme"))),
        (FILE_TENANTS, with_field("tenants", json!(["acme", 3]))),
        (FILE_TENANTS, with_field("tenants", json!(["acme", "Acme"]))),
        (FILE_TENANTS, with_field("tenants", json!(["acme", "acme"]))),
        (FILE_ISSUERS, with_field("issuers", json!([pool_a]))),
        (FILE_ISSUERS, with_field("issuers", json!({}))),
        (FILE_ISSUERS, with_field("issuers", json!({pool_a: "umbrella"}))),
        (FILE_ISSUERS, with_field("issuers", json!({"https://evil.example/us-east-1_poolA": "*"}))),
        (FILE_ISSUERS, with_field("issuers", json!({pool_a: 1}))),
        // The same key twice (a JSON map would keep the last one silently).
        (
            FILE_ISSUERS,
            base.to_string().replacen(
                &format!("\"issuers\":{{\"{pool_a}\":\"*\""),
                &format!("\"issuers\":{{\"{pool_a}\":\"*\",\"{pool_a}\":\"acme\""),
                1,
            ),
        ),
        (FILE_CLIENTS, with_field("clients", json!({"client1": "us-east-1_other"}))),
        (FILE_CLIENTS, with_field("clients", json!({"client 1": "us-east-1_poolA"}))),
        (FILE_IDENTITY_PROVIDERS, with_field("identityProviders", json!({"acme-okta": "umbrella"}))),
        (FILE_IDENTITY_PROVIDERS, with_field("identityProviders", json!({"acme-okta": "aws-x"}))),
        (FILE_IDENTITY_PROVIDERS, with_field("identityProviders", json!(null))),
        (FILE_ROLES, with_field("roles", json!({"admin": -1}))),
        (FILE_ROLES, with_field("roles", json!({"Admin": 1}))),
        (FILE_ROLES, with_field("roles", json!({"admin": "1"}))),
        (FILE_USAGE_PLANS, with_field("usagePlans", json!(["-"]))),
        (FILE_USAGE_PLANS, with_field("usagePlans", json!([""]))),
        (FILE_USAGE_PLANS, with_field("usagePlans", json!(["p1", "p1"]))),
        (FILE_METHOD_SCOPES, with_field("methodScopes", json!({"GET /x": []}))),
        (FILE_METHOD_SCOPES, with_field("methodScopes", json!({"FETCH /x": ["a"]}))),
        (FILE_METHOD_SCOPES, with_field("methodScopes", json!("{}"))),
    ];
    for (want, file) in &cases {
        let r = Config::from_env_and_file(&small, file.as_bytes());
        assert_eq!(r.as_ref().map_err(|e| e.var), Err(*want), "{file}: {r:?}");
    }
    let r = Config::from_env_and_file(&small, with_field("tenants", json!(["acme", "globex", "x", "Bad"])).as_bytes());
    assert_eq!(r.unwrap_err().to_string(), "tenantctl-authorizer.json: tenants[3]: \"Bad\" is not a tenant id");
    // The small variables stay required, and named as such.
    for var in [ENV_PLATFORM, ENV_ACCOUNT_ID, ENV_REGION, ENV_TOKEN_USE, ENV_TENANT_ATTRIBUTE] {
        let mut e = small.clone();
        e.remove(var);
        let r = Config::from_env_and_file(&e, base.to_string().as_bytes());
        assert_eq!(r.as_ref().map_err(|e| e.var), Err(var), "{r:?}");
    }
}

// ---- Contract §1.7: shared roles and shared groups (the file's optional `tenancy`).

/// The configuration file of `env` with `tenancy` set (None: the field left out).
fn file_with_tenancy(env: &std::collections::HashMap<String, String>, tenancy: Option<Value>) -> String {
    let mut f: Value = serde_json::from_str(&config_file(env)).unwrap();
    if let Some(t) = tenancy {
        f["tenancy"] = t;
    }
    f.to_string()
}

/// A verifier built as the Lambda builds it: the small variables and the file, with `tenancy`.
fn tenancy_verifier(env: &std::collections::HashMap<String, String>, tenancy: Value) -> Verifier {
    let fetcher = CountingFetcher::serving(&jwks_url(ISS_A), jwks(&[JWK_A]));
    fetcher.bodies.lock().unwrap().insert(jwks_url(ISS_B), jwks(&[JWK_B]));
    let file = file_with_tenancy(env, Some(tenancy));
    let config = Config::from_env_and_file(&small_env(env), file.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{file}"));
    Verifier::new(config, fetcher, TestClock::at(NOW))
}

#[test]
fn tenancy_is_optional_per_tenant_by_default_and_checked() {
    use tenantctl_authorizer::config::{Tenancy, TenancyConfig, FILE_TENANCY};
    let small = small_env(&env());
    let absent = Config::from_env_and_file(&small, file_with_tenancy(&env(), None).as_bytes()).unwrap();
    assert_eq!(absent.tenancy, TenancyConfig::default());
    assert_eq!(absent.tenancy.roles, Tenancy::PerTenant);
    let both = json!({"roles": "shared", "groups": "shared"});
    let c = Config::from_env_and_file(&small, file_with_tenancy(&env(), Some(both)).as_bytes()).unwrap();
    assert_eq!((c.tenancy.roles, c.tenancy.groups), (Tenancy::Shared, Tenancy::Shared));
    let c = Config::from_env_and_file(&small, file_with_tenancy(&env(), Some(json!({"roles": "shared"}))).as_bytes())
        .unwrap();
    assert_eq!((c.tenancy.roles, c.tenancy.groups), (Tenancy::Shared, Tenancy::PerTenant));
    for bad in [json!({"roles": "pooled"}), json!({"rolez": "shared"}), json!("shared"), json!({"groups": 1})] {
        let r = Config::from_env_and_file(&small, file_with_tenancy(&env(), Some(bad.clone())).as_bytes());
        assert_eq!(r.as_ref().map_err(|e| e.var), Err(FILE_TENANCY), "{bad}: {r:?}");
    }
}

#[test]
fn shared_roles_hand_out_the_platform_role() {
    let v = tenancy_verifier(&env(), json!({"roles": "shared", "groups": "per-tenant"}));
    let ok = v.verify(&sign(&good_claims())).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!((ok.tenant_id.as_str(), ok.role.as_str()), ("acme", "admin"));
    assert_eq!(ok.role_arn, "arn:aws:iam::123456789012:role/tenantctl/acmesaas/acmesaas-admin");
    let Decision::Allow(resp, _) = decide(&v, &event(&sign(&good_claims()), METHOD_ARN)) else { panic!() };
    let ctx = resp.context.unwrap();
    assert_eq!(ctx.tenant_id, "acme");
    assert_eq!(ctx.role_arn, "arn:aws:iam::123456789012:role/tenantctl/acmesaas/acmesaas-admin");
    // Per-tenant groups still bind the tenant: another tenant's group is foreign.
    let foreign = with(|c| {
        c.insert("cognito:groups".into(), json!(["globex-admin"]));
    });
    assert_eq!(v.verify(&sign(&foreign)).unwrap_err().reason, DenyReason::ForeignGroup);
}

#[test]
fn shared_groups_are_role_names_and_the_tenant_comes_from_the_attribute_only() {
    use DenyReason::*;
    let shared = json!({"roles": "shared", "groups": "shared"});
    let v = tenancy_verifier(&env(), shared.clone());
    let id = |groups: Value, tenant: Option<&str>| {
        sign(&with(|c| {
            c.insert("cognito:groups".into(), groups);
            match tenant {
                Some(t) => c.insert("custom:tenant_id".into(), json!(t)),
                None => c.remove("custom:tenant_id"),
            };
        }))
    };
    let ok = v.verify(&id(json!(["member", "admin"]), Some("acme"))).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!((ok.tenant_id.as_str(), ok.role.as_str()), ("acme", "admin"));
    assert_eq!(ok.role_arn, "arn:aws:iam::123456789012:role/tenantctl/acmesaas/acmesaas-admin");
    let ok = v.verify(&id(json!(["member"]), Some("globex"))).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!((ok.tenant_id.as_str(), ok.role.as_str()), ("globex", "member"));
    // A per-tenant group, a group that is no configured role, a hand-made one: foreign.
    for g in ["acme-admin", "owner", "Admins"] {
        assert_eq!(v.verify(&id(json!(["member", g]), Some("acme"))).unwrap_err().reason, ForeignGroup, "{g}");
    }
    // No tenant attribute: missing tenant (groups never name one). An undeclared tenant: denied.
    assert_eq!(v.verify(&id(json!(["member"]), None)).unwrap_err().reason, MissingTenant);
    assert_eq!(v.verify(&id(json!(["member"]), Some("umbrella"))).unwrap_err().reason, UndeclaredTenant);
    // Per-tenant roles with shared groups: the tenant's own role.
    let v = tenancy_verifier(&env(), json!({"groups": "shared"}));
    let ok = v.verify(&id(json!(["member"]), Some("acme"))).unwrap();
    assert_eq!(ok.role_arn, "arn:aws:iam::123456789012:role/tenantctl/acmesaas/acmesaas-acme-member");

    // Access tokens: the tenant attribute only (a pre-token-generation trigger adds it).
    let mut e = env();
    e.insert("TENANTCTL_TOKEN_USE".into(), "access".into());
    let v = tenancy_verifier(&e, shared);
    let access = |groups: Value, tenant: Option<&str>| {
        let mut c = access_claims();
        c["cognito:groups"] = groups;
        if let Some(t) = tenant {
            c["custom:tenant_id"] = json!(t);
        }
        sign(&c)
    };
    let ok = v.verify(&access(json!(["admin"]), Some("acme"))).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!((ok.tenant_id.as_str(), ok.role.as_str()), ("acme", "admin"));
    assert_eq!(v.verify(&access(json!(["admin"]), None)).unwrap_err().reason, MissingTenant);
    assert_eq!(v.verify(&access(json!(["acme-admin"]), None)).unwrap_err().reason, MissingTenant);
    assert_eq!(v.verify(&access(json!(["acme-admin"]), Some("acme"))).unwrap_err().reason, ForeignGroup);
}
