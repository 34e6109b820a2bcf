//! End to end through the real executable: a fake Lambda Runtime API and JWKS endpoint on
//! 127.0.0.1 (std only), the authorizer binary as Lambda would start it (its settings in
//! `tenantctl-authorizer.json` in `LAMBDA_TASK_ROOT`, only the small ones in the environment;
//! without the file it fails closed), one allowed event, two
//! that fail authentication and one authentic token of a foreign group. Checks the response API
//! Gateway gets (Allow; an explicit Deny policy, which it answers with 403 and caches), the
//! "Unauthorized" error that it maps to 401, and the one log line per request on stderr (never
//! the token).

mod common;

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

#[derive(Default)]
struct Runtime {
    events: Mutex<VecDeque<(String, Value)>>,
    results: Mutex<Vec<(String, String, Value)>>, // (request id, "response" | "error", body)
    jwks_fetches: Mutex<usize>,
    /// Every request's "METHOD path" in order.
    requests: Mutex<Vec<String>>,
    /// GetUsagePlanKeys answers HTTP 500.
    keys_fail: std::sync::atomic::AtomicBool,
}

fn serve(stream: TcpStream, rt: Arc<Runtime>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, path) = (parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("").to_string());
        let mut len = 0usize;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            if h == "\r\n" {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse().unwrap();
                }
            }
        }
        let mut body = vec![0; len];
        reader.read_exact(&mut body).unwrap();
        rt.requests.lock().unwrap().push(format!("{method} {path}"));
        let mut status = if method == "POST" { "202 Accepted" } else { "200 OK" };
        let (extra, payload) = if method == "GET" && path.starts_with("/usageplans/plan1/keys") {
            if rt.keys_fail.load(std::sync::atomic::Ordering::SeqCst) {
                status = "500 Internal Server Error";
                (String::new(), r#"{"message":"boom"}"#.to_string())
            } else {
                (
                    String::new(),
                    r#"{"item":[{"id":"k1","type":"API_KEY","name":"acmesaas-acme","value":"key-acme"}]}"#.to_string(),
                )
            }
        } else if method == "GET" && path.ends_with("/.well-known/jwks.json") {
            *rt.jwks_fetches.lock().unwrap() += 1;
            assert_eq!(path, "/us-east-1_poolA/.well-known/jwks.json");
            (String::new(), jwks(&[JWK_A]))
        } else if method == "GET" && path == "/2018-06-01/runtime/invocation/next" {
            let next = loop {
                if let Some(e) = rt.events.lock().unwrap().pop_front() {
                    break e;
                }
                std::thread::sleep(Duration::from_millis(20));
            };
            let deadline =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() + 5000;
            (
                format!(
                    "Lambda-Runtime-Aws-Request-Id: {}\r\nLambda-Runtime-Deadline-Ms: {deadline}\r\n\
                     Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:acmesaas-authorizer\r\n\
                     Lambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000\r\n",
                    next.0
                ),
                next.1.to_string(),
            )
        } else if method == "POST" && path.starts_with("/2018-06-01/runtime/invocation/") {
            let rest = &path["/2018-06-01/runtime/invocation/".len()..];
            let (id, kind) = rest.split_once('/').unwrap();
            let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            rt.results.lock().unwrap().push((id.to_string(), kind.to_string(), body));
            (String::new(), "{}".to_string())
        } else {
            panic!("unexpected request {method} {path}");
        };
        let resp = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}\r\n{payload}",
            payload.len()
        );
        if out.write_all(resp.as_bytes()).is_err() {
            return;
        }
    }
}

type Results = Vec<(String, String, Value)>;

/// Starts the fake Runtime API and JWKS endpoint, runs the authorizer binary with `env()` plus
/// `extra_env` until it answered every event; returns the results, its stderr and the number
/// of JWKS fetches.
fn run_function(extra_env: &[(&str, &str)], events: Vec<(String, Value)>) -> (Results, String, usize) {
    let (results, stderr, fetches, _) = run_function_with(Runtime::default(), extra_env, events);
    (results, stderr, fetches)
}

/// [`run_function`] with a prepared runtime, and `{addr}` in `extra_env` values replaced by
/// the fake's address; also returns every request the fake got, in order.
fn run_function_with(
    rt: Runtime,
    extra_env: &[(&str, &str)],
    events: Vec<(String, Value)>,
) -> (Results, String, usize, Vec<String>) {
    run_function_in(rt, extra_env, events, File::FromSettings)
}

/// The `tenantctl-authorizer.json` a run puts in `LAMBDA_TASK_ROOT`.
enum File {
    /// The file of the run's `TENANTCTL_*` settings ([`config_file`]).
    FromSettings,
    /// No file.
    Absent,
    /// These bytes.
    Given(String),
}

static TASK_ROOTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// [`run_function_with`], as Lambda starts the function: the `TENANTCTL_*` settings of `env()`
/// and `extra_env` that live in the package go into `tenantctl-authorizer.json` in a fresh
/// `LAMBDA_TASK_ROOT` (or the `file` given, or none), the small ones into the environment.
fn run_function_in(
    rt: Runtime,
    extra_env: &[(&str, &str)],
    events: Vec<(String, Value)>,
    file: File,
) -> (Results, String, usize, Vec<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let rt = Arc::new(rt);
    let extra_env: Vec<(&str, String)> =
        extra_env.iter().map(|(k, v)| (*k, v.replace("{addr}", &addr.to_string()))).collect();
    {
        let rt = rt.clone();
        std::thread::spawn(move || {
            for s in listener.incoming().flatten() {
                let rt = rt.clone();
                std::thread::spawn(move || serve(s, rt));
            }
        });
    }
    let n = events.len();
    rt.events.lock().unwrap().extend(events);

    let mut settings = env();
    settings.insert("TENANTCTL_ISSUERS".into(), ISS_A_SHARED.into());
    settings.extend(extra_env.iter().map(|(k, v)| (k.to_string(), v.clone())));
    settings.insert("TENANTCTL_JWKS_URL".into(), format!("http://{addr}/{{pool_id}}/.well-known/jwks.json"));
    let task_root = std::env::temp_dir().join(format!(
        "tenantctl-authorizer-bootstrap-{}-{}",
        std::process::id(),
        TASK_ROOTS.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&task_root).unwrap();
    let contents = match file {
        File::FromSettings => Some(config_file(&settings)),
        File::Absent => None,
        File::Given(f) => Some(f),
    };
    if let Some(contents) = contents {
        std::fs::write(task_root.join(tenantctl_authorizer::config::CONFIG_FILE), contents).unwrap();
    }

    let mut child = Command::new(env!("CARGO_BIN_EXE_tenantctl-authorizer"))
        .env_clear()
        .envs(small_env(&settings))
        .env("LAMBDA_TASK_ROOT", &task_root)
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "acmesaas-authorizer")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/acmesaas-authorizer")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
        .env("AWS_REGION", "us-east-1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let start = Instant::now();
    while rt.results.lock().unwrap().len() < n && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().ok();
    let out = child.wait_with_output().unwrap();
    std::fs::remove_dir_all(&task_root).ok();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let results = rt.results.lock().unwrap().clone();
    assert_eq!(results.len(), n, "results {results:?}\nstderr:\n{stderr}");
    let fetches = *rt.jwks_fetches.lock().unwrap();
    let requests = rt.requests.lock().unwrap().clone();
    (results, stderr, fetches, requests)
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

/// `claims`, issued 5 s ago and valid for an hour on the wall clock (the binary's clock).
fn current(mut claims: Value) -> Value {
    let now = now();
    claims["iat"] = json!(now - 5);
    claims["auth_time"] = json!(now - 5);
    claims["exp"] = json!(now + 3600);
    claims
}

const METHOD_ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/orders";

fn event(t: &str) -> Value {
    json!({"type": "TOKEN", "authorizationToken": t, "methodArn": METHOD_ARN})
}

fn log_lines(stderr: &str) -> Vec<Value> {
    stderr.lines().filter_map(|l| serde_json::from_str(l).ok()).filter(|v: &Value| v.get("msg").is_some()).collect()
}

fn deny_body() -> Value {
    json!({
        "principalId": "11111111-2222-3333-4444-555555555555",
        "policyDocument": {"Version": "2012-10-17", "Statement": [{
            "Action": "execute-api:Invoke", "Effect": "Deny",
            "Resource": ["arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/*/*"]}]}
    })
}

#[test]
fn bootstrap_answers_like_a_token_authorizer() {
    let good = sign(&current(good_claims()));
    let mut expired = good_claims();
    expired["exp"] = json!(now() - 3600);
    let expired = sign(&expired);
    let mut foreign = current(good_claims());
    foreign["cognito:groups"] = json!(["globex-member"]);
    let foreign = sign(&foreign);
    let (results, stderr, fetches) = run_function(
        &[],
        vec![
            ("req-good".to_string(), event(&format!("Bearer {good}"))),
            ("req-expired".to_string(), event(&expired)),
            ("req-garbage".to_string(), event("Bearer not-a-jwt-xyz")),
            ("req-foreign".to_string(), event(&format!("Bearer {foreign}"))),
        ],
    );

    let (id, kind, body) = &results[0];
    assert_eq!((id.as_str(), kind.as_str()), ("req-good", "response"), "{body}");
    assert_eq!(body["principalId"], "11111111-2222-3333-4444-555555555555");
    assert_eq!(body["policyDocument"]["Statement"][0]["Effect"], "Allow");
    assert_eq!(
        body["policyDocument"]["Statement"][0]["Resource"][0],
        "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/*/*"
    );
    assert_eq!(body["context"]["tenant_id"], "acme");
    assert_eq!(body["context"]["role"], "admin");
    assert_eq!(body["context"]["role_arn"], "arn:aws:iam::123456789012:role/tenantctl/acmesaas/acmesaas-acme-admin");
    for (i, id) in [(1, "req-expired"), (2, "req-garbage")] {
        let (got, kind, body) = &results[i];
        assert_eq!((got.as_str(), kind.as_str()), (id, "error"));
        assert_eq!(body["errorMessage"], "Unauthorized", "{body}");
        assert_eq!(body["errorType"], "Unauthorized", "{body}");
    }
    // Authentic, but a foreign group: an explicit Deny on the stage wildcard, no context.
    let (id, kind, body) = &results[3];
    assert_eq!((id.as_str(), kind.as_str()), ("req-foreign", "response"), "{body}");
    assert_eq!(*body, deny_body());
    assert_eq!(fetches, 1);

    let lines = log_lines(&stderr);
    let by_req = |id: &str| lines.iter().filter(|l| l["request_id"] == id).cloned().collect::<Vec<_>>();
    assert_eq!(by_req("req-good").len(), 1, "stderr:\n{stderr}");
    assert_eq!(by_req("req-good")[0]["msg"], "authorized");
    assert_eq!(by_req("req-expired").len(), 1);
    assert_eq!(by_req("req-expired")[0]["reason"], "expired");
    assert_eq!(by_req("req-garbage")[0]["reason"], "malformed_token");
    assert_eq!(by_req("req-expired")[0]["msg"], "unauthorized");
    assert_eq!(by_req("req-foreign").len(), 1);
    assert_eq!(by_req("req-foreign")[0]["msg"], "denied");
    assert_eq!(by_req("req-foreign")[0]["class"], "forbidden");
    assert_eq!(by_req("req-foreign")[0]["reason"], "foreign_group");
    assert!(
        !stderr.contains(&good)
            && !stderr.contains(&expired)
            && !stderr.contains(&foreign)
            && !stderr.contains("not-a-jwt-xyz"),
        "token in log:\n{stderr}"
    );
}

#[test]
fn bootstrap_with_access_tokens_and_pool_binding() {
    // Access tokens, pool A shared and pool B globex's silo pool: a Cognito-shaped access
    // token (no custom attribute) is allowed with the tenant of its groups; one whose groups
    // are globex's, from the shared pool, gets a Deny (wrong_pool); an ID token is 401.
    let issuers = format!("{ISS_A_SHARED},{ISS_B}=globex");
    let access = sign(&current(access_claims()));
    let mut globex = current(access_claims());
    globex["cognito:groups"] = json!(["globex-admin"]);
    let globex = sign(&globex);
    let id = sign(&current(good_claims()));
    let (results, stderr, fetches) = run_function(
        &[("TENANTCTL_TOKEN_USE", "access"), ("TENANTCTL_ISSUERS", &issuers)],
        vec![
            ("req-access".to_string(), event(&format!("Bearer {access}"))),
            ("req-wrong-pool".to_string(), event(&format!("Bearer {globex}"))),
            ("req-id".to_string(), event(&format!("Bearer {id}"))),
        ],
    );
    let (rid, kind, body) = &results[0];
    assert_eq!((rid.as_str(), kind.as_str()), ("req-access", "response"), "{body}\n{stderr}");
    assert_eq!(body["policyDocument"]["Statement"][0]["Effect"], "Allow");
    assert_eq!(
        body["context"],
        json!({"tenant_id": "acme", "role": "admin", "sub": "11111111-2222-3333-4444-555555555555",
               "role_arn": "arn:aws:iam::123456789012:role/tenantctl/acmesaas/acmesaas-acme-admin"})
    );
    let (rid, kind, body) = &results[1];
    assert_eq!((rid.as_str(), kind.as_str()), ("req-wrong-pool", "response"), "{body}\n{stderr}");
    assert_eq!(*body, deny_body());
    let (rid, kind, body) = &results[2];
    assert_eq!((rid.as_str(), kind.as_str()), ("req-id", "error"), "{body}");
    assert_eq!(body["errorMessage"], "Unauthorized");
    assert_eq!(fetches, 1);
    let lines = log_lines(&stderr);
    let reason = |id: &str| lines.iter().find(|l| l["request_id"] == id).map(|l| l["reason"].clone());
    assert_eq!(reason("req-wrong-pool"), Some(json!("wrong_pool")), "{stderr}");
    assert_eq!(reason("req-id"), Some(json!("wrong_token_use")), "{stderr}");
}

const KEYS_ENV: &[(&str, &str)] = &[
    ("TENANTCTL_USAGE_PLANS", "plan1"),
    ("TENANTCTL_APIGW_ENDPOINT", "http://{addr}"),
    ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
    ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
];

/// Issue 23 item 3: the keys are read during init (before the first event is asked for), and
/// the key's value goes to API Gateway as `usageIdentifierKey`.
#[test]
fn bootstrap_reads_the_api_keys_at_cold_start() {
    let good = sign(&current(good_claims()));
    let (results, stderr, _, requests) = run_function_with(
        Runtime::default(),
        KEYS_ENV,
        vec![("req-good".to_string(), event(&format!("Bearer {good}")))],
    );
    let (_, kind, body) = &results[0];
    assert_eq!(kind, "response", "{body}\n{stderr}");
    assert_eq!(body["usageIdentifierKey"], "key-acme");
    let keys = requests.iter().position(|r| r.starts_with("GET /usageplans/plan1/keys")).expect("keys read");
    let next = requests.iter().position(|r| r.ends_with("/runtime/invocation/next")).unwrap();
    assert!(keys < next, "read before the first event: {requests:?}");
    assert_eq!(requests.iter().filter(|r| r.contains("/usageplans/")).count(), 1, "{requests:?}");
    assert!(!stderr.contains("key-acme"), "a key value in the log:\n{stderr}");
}

/// Issue 23 item 3: an unavailable key store is a Lambda error other than `Unauthorized`
/// (API Gateway: 500, not cached), not a Deny (403, cached for the token); the failed read is
/// remembered (no new read for each request).
#[test]
fn bootstrap_answers_an_error_when_the_key_store_fails() {
    let rt = Runtime::default();
    rt.keys_fail.store(true, std::sync::atomic::Ordering::SeqCst);
    let good = sign(&current(good_claims()));
    let (results, stderr, _, requests) = run_function_with(
        rt,
        KEYS_ENV,
        vec![
            ("req-1".to_string(), event(&format!("Bearer {good}"))),
            ("req-2".to_string(), event(&format!("Bearer {good}"))),
        ],
    );
    for (id, kind, body) in &results {
        assert_eq!(kind, "error", "{id}: {body}\n{stderr}");
        assert_ne!(body["errorType"], "Unauthorized", "{id}: {body}");
        assert_ne!(body["errorMessage"], "Unauthorized", "{id}: {body}");
    }
    assert_eq!(requests.iter().filter(|r| r.contains("/usageplans/")).count(), 1, "{requests:?}");
    let lines = log_lines(&stderr);
    let line = lines.iter().find(|l| l["request_id"] == "req-1").unwrap();
    assert_eq!((line["msg"].as_str(), line["class"].as_str()), (Some("error"), Some("error")), "{stderr}");
    assert_eq!(line["reason"], "api_keys_unavailable");
    assert!(lines.iter().any(|l| l["msg"] == "api keys unavailable at init"), "{stderr}");
}

/// No tenantctl-authorizer.json beside bootstrap: the function fails closed without exiting
/// (no crash loop): one "invalid configuration" line naming the file, then every request is
/// `Unauthorized` (401), a good token's too, and no key set is fetched.
#[test]
fn bootstrap_without_its_file_answers_unauthorized() {
    let good = sign(&current(good_claims()));
    let (results, stderr, fetches, _) = run_function_in(
        Runtime::default(),
        &[],
        vec![
            ("req-1".to_string(), event(&format!("Bearer {good}"))),
            ("req-2".to_string(), event(&format!("Bearer {good}"))),
        ],
        File::Absent,
    );
    for (id, kind, body) in &results {
        assert_eq!(kind, "error", "{id}: {body}\n{stderr}");
        assert_eq!(body["errorType"], "Unauthorized", "{id}: {body}");
        assert_eq!(body["errorMessage"], "Unauthorized", "{id}: {body}");
    }
    assert_eq!(fetches, 0);
    let lines = log_lines(&stderr);
    let invalid: Vec<&Value> = lines.iter().filter(|l| l["msg"] == "invalid configuration").collect();
    assert_eq!(invalid.len(), 1, "{stderr}");
    assert_eq!(invalid[0]["level"], "ERROR");
    let detail = invalid[0]["detail"].as_str().unwrap();
    assert!(detail.contains("tenantctl-authorizer.json") && detail.contains("cannot read"), "{detail}");
    for id in ["req-1", "req-2"] {
        let l = lines.iter().find(|l| l["request_id"] == id).unwrap_or_else(|| panic!("{id}: {stderr}"));
        assert_eq!(l["reason"], "invalid_configuration");
    }
    assert!(!stderr.contains(&good), "token in log:\n{stderr}");
}

/// An authentic token of a tenant the file's `tenants` does not declare: an explicit Deny
/// (403), logged as `undeclared_tenant`; a declared tenant's token is allowed.
#[test]
fn bootstrap_denies_an_undeclared_tenant() {
    let good = sign(&current(good_claims()));
    let mut umbrella = current(good_claims());
    umbrella["custom:tenant_id"] = json!("umbrella");
    umbrella["cognito:groups"] = json!(["umbrella-admin"]);
    let umbrella = sign(&umbrella);
    let (results, stderr, _) = run_function(
        &[],
        vec![
            ("req-good".to_string(), event(&format!("Bearer {good}"))),
            ("req-undeclared".to_string(), event(&format!("Bearer {umbrella}"))),
        ],
    );
    let (_, kind, body) = &results[0];
    assert_eq!(kind, "response", "{body}\n{stderr}");
    assert_eq!(body["policyDocument"]["Statement"][0]["Effect"], "Allow");
    let (id, kind, body) = &results[1];
    assert_eq!((id.as_str(), kind.as_str()), ("req-undeclared", "response"), "{body}\n{stderr}");
    assert_eq!(*body, deny_body());
    let lines = log_lines(&stderr);
    let line = lines.iter().find(|l| l["request_id"] == "req-undeclared").unwrap();
    assert_eq!((line["msg"].as_str(), line["class"].as_str()), (Some("denied"), Some("forbidden")), "{stderr}");
    assert_eq!(line["reason"], "undeclared_tenant");
}

/// Issue 21: the configuration `scripts/bench cold-start` times (its row "100,000 pooled"), as
/// tenantctl writes it (src/kinds/lambda_function/package.rs `config_json`: compact, fields in
/// order, maps and lists sorted, shared tenancy): the release binary's cold start is measured
/// there, this only checks that the debug one starts with it and answers. A token of the
/// middle tenant with the shared group `member` gets the shared role; an undeclared tenant's
/// token is denied.
#[test]
fn bootstrap_answers_with_100000_pooled_tenants_on_shared_tenancy() {
    let tenants: Vec<String> = (0..100_000).map(|i| format!("\"t{i:06}\"")).collect();
    let file = format!(
        r#"{{"format":1,"issuers":{{"{ISS_A}":"*"}},"clients":{{"{CLIENT}":"us-east-1_poolA"}},"identityProviders":{{}},"tenants":[{}],"roles":{{"admin":1,"member":10}},"usagePlans":[],"methodScopes":{{}},"tenancy":{{"groups":"shared","roles":"shared"}}}}"#,
        tenants.join(",")
    );
    let token = |tenant: &str| {
        let mut c = current(good_claims());
        c["custom:tenant_id"] = json!(tenant);
        c["cognito:groups"] = json!(["member"]);
        format!("Bearer {}", sign(&c))
    };
    let (results, stderr, fetches, _) = run_function_in(
        Runtime::default(),
        &[],
        vec![
            ("req-t050000".to_string(), event(&token("t050000"))),
            ("req-t100000".to_string(), event(&token("t100000"))),
        ],
        File::Given(file),
    );
    let (id, kind, body) = &results[0];
    assert_eq!((id.as_str(), kind.as_str()), ("req-t050000", "response"), "{body}\n{stderr}");
    assert_eq!(body["policyDocument"]["Statement"][0]["Effect"], "Allow");
    assert_eq!(body["context"]["tenant_id"], "t050000");
    assert_eq!(body["context"]["role"], "member");
    assert_eq!(body["context"]["role_arn"], "arn:aws:iam::123456789012:role/tenantctl/acmesaas/acmesaas-member");
    let (id, kind, body) = &results[1];
    assert_eq!((id.as_str(), kind.as_str()), ("req-t100000", "response"), "{body}\n{stderr}");
    assert_eq!(*body, deny_body());
    assert_eq!(fetches, 1);
    let lines = log_lines(&stderr);
    let line = lines.iter().find(|l| l["request_id"] == "req-t100000").unwrap();
    assert_eq!(line["reason"], "undeclared_tenant", "{stderr}");
}
