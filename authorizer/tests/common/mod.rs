//! Test helpers: committed test-only keys, a counting JWKS fetcher, a settable clock.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{json, Value};
use tenantctl_authorizer::{Clock, Config, FetchError, JwksFetcher, Verifier};

pub const NOW: u64 = 1_700_000_000;
pub const ISS_A: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_poolA";
pub const ISS_B: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_poolB";
/// `TENANTCTL_ISSUERS` with pool A as the shared pool.
pub const ISS_A_SHARED: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_poolA=*";
pub const CLIENT: &str = "client1";
/// An app client of pool B.
pub const CLIENT_B: &str = "clientb";
/// `TENANTCTL_CLIENT_IDS` when pools A and B are both configured.
pub const CLIENTS_AB: &str = "client1:us-east-1_poolA,client2:us-east-1_poolA,clientb:us-east-1_poolB";
/// `TENANTCTL_TENANTS`: the tenants the tests' tokens are of.
pub const TENANTS: &str = "acme,acme-corp,globex,initech";
pub const KID_A: &str = "test-key-a";
pub const KID_B: &str = "test-key-b";

const KEY_A_PEM: &str = include_str!("../fixtures/key-a.pem");
const KEY_B_PEM: &str = include_str!("../fixtures/key-b.pem");
pub const JWK_A: &str = include_str!("../fixtures/jwk-a.json");
pub const JWK_B: &str = include_str!("../fixtures/jwk-b.json");

fn der(pem: &str) -> Vec<u8> {
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(b64).unwrap()
}

pub fn key_a() -> EncodingKey {
    EncodingKey::from_rsa_der(&der(KEY_A_PEM))
}

pub fn key_b() -> EncodingKey {
    EncodingKey::from_rsa_der(&der(KEY_B_PEM))
}

pub fn jwks(jwks: &[&str]) -> String {
    let keys: Vec<Value> = jwks.iter().map(|j| serde_json::from_str(j).unwrap()).collect();
    json!({ "keys": keys }).to_string()
}

pub fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

/// header.payload.signature with any header; `alg` selects the signing algorithm.
pub fn sign_with(header: &Value, claims: &Value, key: &EncodingKey, alg: Algorithm) -> String {
    let input = format!("{}.{}", b64(header), b64(claims));
    let sig = jsonwebtoken::crypto::sign(input.as_bytes(), key, alg).unwrap();
    format!("{input}.{sig}")
}

/// RS256 with key A and kid test-key-a.
pub fn sign(claims: &Value) -> String {
    sign_with(&json!({"alg": "RS256", "kid": KID_A}), claims, &key_a(), Algorithm::RS256)
}

/// A valid Cognito ID token's claims for tenant acme (member + admin).
pub fn good_claims() -> Value {
    json!({
        "sub": "11111111-2222-3333-4444-555555555555",
        "iss": ISS_A,
        "aud": CLIENT,
        "token_use": "id",
        "auth_time": NOW - 10,
        "iat": NOW - 10,
        "exp": NOW + 3600,
        "email": "alice@acme.example",
        "cognito:username": "alice",
        "cognito:groups": ["acme-member", "acme-admin"],
        "custom:tenant_id": "acme",
    })
}

/// A Cognito access token's claims (the claims a real one carries, plus `cognito:groups`):
/// no `aud`, no `custom:*` attribute (unless a pre-token-generation V2 trigger adds one).
pub fn access_claims() -> Value {
    json!({
        "sub": "11111111-2222-3333-4444-555555555555",
        "cognito:groups": ["acme-member", "acme-admin"],
        "iss": ISS_A,
        "version": 2,
        "client_id": CLIENT,
        "origin_jti": "0f7c2a3e-8a6b-4d7e-9d55-4c1f1f6f0a01",
        "event_id": "5c4b7c2e-1f0a-4a43-9b8e-2b8c3d4e5f60",
        "token_use": "access",
        "scope": "aws.cognito.signin.user.admin",
        "auth_time": NOW - 10,
        "iat": NOW - 10,
        "exp": NOW + 3600,
        "jti": "7d1e6a7b-3c2f-4e5d-8a9b-0c1d2e3f4a5b",
        "username": "alice",
    })
}

/// Cognito's `identities` entry for a user who signed in through `provider` (OIDC).
pub fn identity(provider: &str) -> Value {
    json!({
        "userId": "00u1abcdEFGH2345",
        "providerName": provider,
        "providerType": "OIDC",
        "issuer": "https://acme.okta.example",
        "primary": "true",
        "dateCreated": "1699999000000",
    })
}

/// A federated user's ID token, as Cognito issues it: signed in through `provider` of the pool
/// of `iss`, in Cognito's automatic group `<poolId>_<provider>` plus `extra_groups`.
pub fn federated_id_claims(iss: &str, provider: &str, extra_groups: &[&str]) -> Value {
    let pool = iss.rsplit('/').next().unwrap();
    let mut groups = vec![format!("{pool}_{provider}")];
    groups.extend(extra_groups.iter().map(|g| g.to_string()));
    json!({
        "at_hash": "Qk2vXnS2yqV4b8mDq9xJ7w",
        "sub": "99999999-8888-7777-6666-555555555555",
        "cognito:groups": groups,
        "email_verified": false,
        "iss": iss,
        "cognito:username": format!("{provider}_00u1abcdEFGH2345"),
        "nonce": "n-0S6_WzA2Mj",
        "origin_jti": "2b1a0c9d-8e7f-4a6b-9c5d-1e2f3a4b5c6d",
        "aud": CLIENT,
        "identities": [identity(provider)],
        "token_use": "id",
        "auth_time": NOW - 10,
        "exp": NOW + 3600,
        "iat": NOW - 10,
        "jti": "3c2b1a0d-9e8f-4b7a-8c6d-2e3f4a5b6c7d",
        "email": "bob@acme.example",
    })
}

pub fn env() -> HashMap<String, String> {
    [
        ("TENANTCTL_ISSUERS", ISS_A_SHARED),
        ("TENANTCTL_CLIENT_IDS", "client1:us-east-1_poolA,client2:us-east-1_poolA"),
        ("TENANTCTL_PLATFORM", "acmesaas"),
        ("TENANTCTL_ACCOUNT_ID", "123456789012"),
        ("TENANTCTL_REGION", "us-east-1"),
        ("TENANTCTL_ROLES", "admin:1,member:10,viewer:20"),
        ("TENANTCTL_IDP_TENANTS", "acme-okta:acme,globex-azure:globex"),
        ("TENANTCTL_TOKEN_USE", "id"),
        ("TENANTCTL_TENANT_ATTRIBUTE", "tenant_id"),
        ("TENANTCTL_USAGE_PLANS", "-"),
        ("TENANTCTL_METHOD_SCOPES", "{}"),
        ("TENANTCTL_TENANTS", TENANTS),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

pub struct TestClock(pub AtomicU64);

impl TestClock {
    pub fn at(t: u64) -> Arc<Self> {
        Arc::new(TestClock(AtomicU64::new(t)))
    }
    pub fn set(&self, t: u64) {
        self.0.store(t, Ordering::SeqCst)
    }
    pub fn advance(&self, s: u64) {
        self.0.fetch_add(s, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now_unix(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Serves one JWKS body per URL and counts fetches.
#[derive(Default)]
pub struct CountingFetcher {
    pub bodies: Mutex<HashMap<String, String>>,
    pub fetches: AtomicUsize,
    pub urls: Mutex<Vec<String>>,
}

impl CountingFetcher {
    pub fn serving(url: &str, body: String) -> Arc<Self> {
        let f = CountingFetcher::default();
        f.bodies.lock().unwrap().insert(url.to_string(), body);
        Arc::new(f)
    }
    pub fn count(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

impl JwksFetcher for CountingFetcher {
    fn fetch(&self, url: &str) -> Result<String, FetchError> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        self.urls.lock().unwrap().push(url.to_string());
        self.bodies.lock().unwrap().get(url).cloned().ok_or_else(|| FetchError(format!("404 {url}")))
    }
}

pub fn jwks_url(iss: &str) -> String {
    format!("{iss}/.well-known/jwks.json")
}

/// A verifier for `env` whose fetcher serves key A at pool A's URL and key B at pool B's.
pub fn verifier_with(env: &HashMap<String, String>) -> (Verifier, Arc<CountingFetcher>, Arc<TestClock>) {
    let fetcher = CountingFetcher::serving(&jwks_url(ISS_A), jwks(&[JWK_A]));
    fetcher.bodies.lock().unwrap().insert(jwks_url(ISS_B), jwks(&[JWK_B]));
    let clock = TestClock::at(NOW);
    let v = Verifier::new(Config::from_env_map(env).unwrap(), fetcher.clone(), clock.clone());
    (v, fetcher, clock)
}

pub fn verifier() -> (Verifier, Arc<CountingFetcher>, Arc<TestClock>) {
    verifier_with(&env())
}

/// The settings of `env` (`TENANTCTL_*` variables) that live in `tenantctl-authorizer.json`, as
/// `tenantctl apply` writes that file.
pub fn config_file(env: &HashMap<String, String>) -> String {
    let list = |k: &str| -> Vec<String> {
        env.get(k)
            .map(|v| v.split(',').map(str::trim).filter(|s| !s.is_empty() && *s != "-").map(String::from).collect())
            .unwrap_or_default()
    };
    let pairs = |k: &str, sep: char| -> Vec<(String, String)> {
        list(k)
            .iter()
            .map(|e| {
                let (a, b) = if k == "TENANTCTL_IDP_TENANTS" { e.rsplit_once(sep) } else { e.split_once(sep) }
                    .unwrap_or_else(|| panic!("{k}: {e}"));
                (a.trim().to_string(), b.trim().to_string())
            })
            .collect()
    };
    let object = |k: &str, sep: char| -> serde_json::Map<String, Value> {
        pairs(k, sep).into_iter().map(|(a, b)| (a, Value::String(b))).collect()
    };
    let roles: serde_json::Map<String, Value> =
        pairs("TENANTCTL_ROLES", ':').into_iter().map(|(r, p)| (r, json!(p.parse::<u32>().unwrap()))).collect();
    let scopes: Value = serde_json::from_str(env.get("TENANTCTL_METHOD_SCOPES").map_or("{}", |s| s.as_str())).unwrap();
    json!({
        "format": 1,
        "issuers": object("TENANTCTL_ISSUERS", '='),
        "clients": object("TENANTCTL_CLIENT_IDS", ':'),
        "identityProviders": object("TENANTCTL_IDP_TENANTS", ':'),
        "tenants": list("TENANTCTL_TENANTS"),
        "roles": roles,
        "usagePlans": list("TENANTCTL_USAGE_PLANS"),
        "methodScopes": scopes,
    })
    .to_string()
}

/// `env` without the variables whose settings live in `tenantctl-authorizer.json`.
pub fn small_env(env: &HashMap<String, String>) -> HashMap<String, String> {
    env.iter()
        .filter(|(k, _)| !tenantctl_authorizer::config::FILE_VARS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}
