//! Helpers for tests that run tenantctl against the local AWS emulator (scripts/test starts
//! it and sets TENANTCTL_TEST_ENDPOINT). Tests read AWS back with their own SDK calls.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";

/// Whether a missing emulator is a failure: under CI (`CI=true`) and in scripts/test
/// (`TENANTCTL_REQUIRE_EMULATOR=1`) an emulator test never passes by skipping.
pub fn emulator_required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
        || std::env::var("TENANTCTL_REQUIRE_EMULATOR").is_ok_and(|v| v == "1")
}

/// The emulator endpoint, or None (the test then says so and passes without running) when
/// running by hand outside CI; under CI a missing emulator fails the test.
pub fn endpoint() -> Option<String> {
    match std::env::var("TENANTCTL_TEST_ENDPOINT") {
        Ok(e) if !e.is_empty() => Some(e),
        _ if emulator_required() => {
            panic!("TENANTCTL_TEST_ENDPOINT is not set and CI=true: emulator tests must run (scripts/test starts the emulator)")
        }
        _ => {
            eprintln!("TENANTCTL_TEST_ENDPOINT is not set: run scripts/test (starts the emulator). Skipping.");
            None
        }
    }
}

/// A unique platform name per test and process (the emulator is shared).
pub fn platform_name(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    let pid = std::process::id() % 100_000;
    format!("{prefix}{pid}x{n}")
}

pub fn platform_yaml(name: &str, api: &str, extra_attr: &str) -> String {
    format!(
        r#"apiVersion: tenantctl/v1
kind: Platform
name: {name}
region: us-east-1
tags: {{owner: platform-team}}
userPool:
  deletionProtection: true
  mfa: off
  passwordPolicy: {{minLength: 12, requireUppercase: true, requireLowercase: true,
                   requireNumbers: true, requireSymbols: true, temporaryPasswordValidityDays: 7}}
  tenantAttribute: tenant_id
  # Free user names (the tests sign users in as `alice`); the default is sign-in with email.
  usernames: {{caseSensitive: false, signInWith: []}}
  customAttributes:
    - {{name: tier, type: string, mutable: true, minLength: 1, maxLength: 32}}
    - {{name: seats, type: number, mutable: true, min: 0, max: 100000}}
{extra_attr}  resourceServers:
    - identifier: https://api.{name}.example
      name: {name}-api
      scopes:
        - {{name: orders.read, description: Read orders}}
        - {{name: orders.write, description: Write orders}}
  appClients:
    - name: web
      authFlows: [USER_SRP_AUTH, REFRESH_TOKEN_AUTH, USER_PASSWORD_AUTH]
      oauth: {{flows: [code], scopes: [openid, email, "https://api.{name}.example/orders.read"],
              callbackUrls: ["https://app.{name}.example/callback"]}}
      readAttributes: [email, "custom:tenant_id"]
      writeAttributes: [email]
      tokenValidity: {{access: 60m, id: 60m, refresh: 30d}}
roles:
  admin:
    description: Tenant administrators
    precedence: 1
    policies: [tenant-data-rw]
  member:
    precedence: 10
    policies: [tenant-data-ro]
trust:
  principals: ["arn:aws:iam::{ACCOUNT}:role/backend"]
authorizer:
  restApi: {api}
  type: lambda
  name: tenant-authorizer
  resultTtlSeconds: 300
  function:
    name: {name}-authorizer
    code: authorizer.zip
  methods:
    - {{path: /orders, method: GET}}
"#
    )
}

pub fn tenant_yaml(id: &str, isolation: &str, roles: Option<&str>) -> String {
    let roles = roles.map(|r| format!("roles: [{r}]\n")).unwrap_or_default();
    format!("apiVersion: tenantctl/v1\nkind: Tenant\nid: {id}\ndisplayName: Tenant {id}\nisolation: {isolation}\n{roles}vars: {{bucket: data-{id}}}\n")
}

/// A config folder: the platform, the given tenants, the example's policy templates, a zip.
pub fn folder(platform: &str, api: &str, tenants: &[(&str, &str, Option<&str>)]) -> tempfile::TempDir {
    let dir = folder_for(&platform_yaml(platform, api, ""));
    for (id, iso, roles) in tenants {
        write(dir.path(), &format!("tenants/{id}.yaml"), &tenant_yaml(id, iso, *roles));
    }
    dir
}

/// A config folder with this platform text, the example's policy templates and a zip; no
/// tenants yet.
pub fn folder_for(platform_text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("tenants")).unwrap();
    std::fs::create_dir_all(dir.path().join("policies")).unwrap();
    write(dir.path(), "tenants/platform.yaml", platform_text);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for p in ["tenant-data-rw.json", "tenant-data-ro.json"] {
        std::fs::copy(root.join("policies").join(p), dir.path().join("policies").join(p)).unwrap();
    }
    std::fs::copy(root.join("tests/fixtures/authorizer-dummy.zip"), dir.path().join("authorizer.zip")).unwrap();
    dir
}

pub fn write(dir: &Path, rel: &str, text: &str) {
    std::fs::write(dir.join(rel), text).unwrap();
}

/// Runs tenantctl against the emulator, in emulator mode (`TENANTCTL_EMULATOR=1`: the
/// authorizer fetches keys from the emulator).
pub fn run(dir: &Path, endpoint: &str, args: &[&str]) -> Output {
    run_with(dir, endpoint, args, &[("TENANTCTL_EMULATOR", Some("1"))])
}

/// [`run`] with environment variables set (Some) or removed (None).
pub fn run_with(dir: &Path, endpoint: &str, args: &[&str], vars: &[(&str, Option<&str>)]) -> Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_tenantctl"));
    for (k, v) in vars {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let out = cmd
        .arg("-C")
        .arg(dir)
        .arg("--endpoint-url")
        .arg(endpoint)
        .arg("--no-color")
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", REGION)
        // The emulator has no IAM propagation delay: give up on "role cannot be assumed" soon.
        .env("TENANTCTL_PROPAGATION_TIMEOUT", "10")
        .env_remove("AWS_PROFILE")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    out
}

pub fn text(o: &Output) -> String {
    format!("--- stdout\n{}\n--- stderr\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// Runs and asserts the exit code.
pub fn run_ok(dir: &Path, endpoint: &str, args: &[&str], code: i32) -> Output {
    let o = run(dir, endpoint, args);
    assert_eq!(o.status.code(), Some(code), "tenantctl {args:?}:\n{}", text(&o));
    o
}

/// Write calls reported by `--stats` ("AWS calls: N (W writes)").
pub fn writes(o: &Output) -> u64 {
    let err = String::from_utf8_lossy(&o.stderr);
    let line = err.lines().find(|l| l.starts_with("AWS calls:")).unwrap_or_else(|| panic!("no stats in:\n{err}"));
    let w = line.split('(').nth(1).and_then(|s| s.split_whitespace().next()).unwrap();
    w.parse().unwrap()
}

/// Calls of one operation (`service:Operation`) reported by `--stats` (0 when not listed).
pub fn calls_of(o: &Output, operation: &str) -> u64 {
    let err = String::from_utf8_lossy(&o.stderr);
    err.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some(operation)).then(|| w.next().and_then(|n| n.parse().ok())).flatten()
        })
        .next()
        .unwrap_or(0)
}

pub struct Sdk {
    pub cognito: aws_sdk_cognitoidentityprovider::Client,
    pub iam: aws_sdk_iam::Client,
    pub apigw: aws_sdk_apigateway::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub sts: aws_sdk_sts::Client,
}

pub async fn sdk(endpoint: &str) -> Sdk {
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_sts::config::Credentials::new("test", "test", None, None, "test"))
        .load()
        .await;
    Sdk {
        cognito: aws_sdk_cognitoidentityprovider::Client::new(&conf),
        iam: aws_sdk_iam::Client::new(&conf),
        apigw: aws_sdk_apigateway::Client::new(&conf),
        lambda: aws_sdk_lambda::Client::new(&conf),
        sts: aws_sdk_sts::Client::new(&conf),
    }
}

/// Creates a REST API with GET /orders; returns its id.
pub async fn rest_api(sdk: &Sdk, name: &str) -> String {
    let api = sdk.apigw.create_rest_api().name(name).send().await.unwrap();
    let id = api.id().unwrap().to_string();
    let res = sdk.apigw.get_resources().rest_api_id(&id).send().await.unwrap();
    let root = res.items().iter().find(|r| r.path() == Some("/")).unwrap().id().unwrap().to_string();
    let orders = sdk.apigw.create_resource().rest_api_id(&id).parent_id(root).path_part("orders").send().await.unwrap();
    sdk.apigw
        .put_method()
        .rest_api_id(&id)
        .resource_id(orders.id().unwrap())
        .http_method("GET")
        .authorization_type("NONE")
        .send()
        .await
        .unwrap();
    id
}

/// Adds `method` on the existing resource at `path` of the REST API (no authorization).
pub async fn add_method(sdk: &Sdk, api: &str, path: &str, method: &str) {
    let res = sdk.apigw.get_resources().rest_api_id(api).send().await.unwrap();
    let id = res.items().iter().find(|r| r.path() == Some(path)).unwrap().id().unwrap().to_string();
    sdk.apigw
        .put_method()
        .rest_api_id(api)
        .resource_id(id)
        .http_method(method)
        .authorization_type("NONE")
        .send()
        .await
        .unwrap();
}

/// Every pool id whose name is `name`.
pub async fn pools_named(sdk: &Sdk, name: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut token = None;
    loop {
        let out = sdk.cognito.list_user_pools().max_results(60).set_next_token(token).send().await.unwrap();
        for p in out.user_pools() {
            if p.name() == Some(name) {
                found.push(p.id().unwrap().to_string());
            }
        }
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    found
}

/// The id of the pool with this name (unique per test platform).
pub async fn pool_id(sdk: &Sdk, name: &str) -> String {
    let mut found = pools_named(sdk, name).await;
    assert_eq!(found.len(), 1, "pools named {name}: {found:?}");
    found.remove(0)
}

pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", text(o)))
}

/// An emulator of the test's own (moto with the project's shims and strict layer), for tests
/// that change account-wide settings or measure request rates, which the shared emulator
/// cannot isolate. Stopped when dropped.
pub struct PrivateEmulator {
    child: std::process::Child,
    pub endpoint: String,
}

impl PrivateEmulator {
    /// Starts one, or fails the test (it needs the project's `.venv`: scripts/test installs it).
    pub fn start() -> PrivateEmulator {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let python = root.join(".venv/bin/python");
        assert!(python.exists(), "{} is missing: run `scripts/emulator install` (scripts/test does)", python.display());
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = std::fs::File::create(std::env::temp_dir().join(format!("tenantctl-emulator-{port}.log"))).unwrap();
        let child = std::process::Command::new(python)
            .arg(root.join("tests/emulator/serve.py"))
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .env("PYTHONPATH", root.join("tests/emulator"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start the emulator");
        let endpoint = format!("http://127.0.0.1:{port}");
        let mut em = PrivateEmulator { child, endpoint };
        for _ in 0..300 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return em;
            }
            if let Ok(Some(status)) = em.child.try_wait() {
                panic!("the emulator exited with {status}; log in the temp dir (tenantctl-emulator-{port}.log)");
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("the emulator did not listen on {port} within 30 s");
    }

    /// A JSON request to the emulator's own test-control endpoints (`/_tenantctl/...`).
    pub fn control(&self, method: &str, path: &str, body: Option<&serde_json::Value>) -> serde_json::Value {
        control(&self.endpoint, method, path, body)
    }
}

/// A JSON request to an emulator's own test-control endpoints (`/_tenantctl/...`).
pub fn control(endpoint: &str, method: &str, path: &str, body: Option<&serde_json::Value>) -> serde_json::Value {
    use std::io::{Read, Write};
    let addr = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut s = std::net::TcpStream::connect(addr).unwrap_or_else(|e| panic!("the emulator at {endpoint}: {e}"));
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let (head, payload) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
    assert!(head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200"), "{method} {path}: {head}\n{payload}");
    // Chunked answers: take the JSON between the first `{`/`[` and the last `}`/`]`.
    let start = payload.find(['{', '[']).unwrap_or(0);
    let end = payload.rfind(['}', ']']).map_or(payload.len(), |i| i + 1);
    serde_json::from_str(&payload[start..end]).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {payload}"))
}

/// A mock integration on `method` of the resource at `path` (a deployment needs one), the
/// resource's id.
pub async fn mock_integration(sdk: &Sdk, api: &str, path: &str, method: &str) -> String {
    let res = sdk.apigw.get_resources().rest_api_id(api).send().await.unwrap();
    let id = res.items().iter().find(|r| r.path() == Some(path)).unwrap().id().unwrap().to_string();
    sdk.apigw
        .put_integration()
        .rest_api_id(api)
        .resource_id(&id)
        .http_method(method)
        .r#type(aws_sdk_apigateway::types::IntegrationType::Mock)
        .send()
        .await
        .unwrap();
    id
}

impl Drop for PrivateEmulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An execution role for Lambda functions the test makes (users' trigger functions).
pub async fn lambda_role(sdk: &Sdk, name: &str) -> String {
    sdk.iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
        .unwrap()
        .role
        .unwrap()
        .arn
}

/// Creates a Lambda function, as a user's trigger (tenantctl does not create triggers): its ARN.
pub async fn trigger_function(sdk: &Sdk, name: &str, role: &str) -> String {
    let zip =
        std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/authorizer-dummy.zip"))
            .unwrap();
    let out = sdk
        .lambda
        .create_function()
        .function_name(name)
        .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
        .handler("bootstrap")
        .role(role)
        .code(aws_sdk_lambda::types::FunctionCode::builder().zip_file(zip.into()).build())
        .send()
        .await
        .expect("CreateFunction");
    out.function_arn().unwrap().to_string()
}

/// What tenantctl deployed on the authorizer function `function` (contract §1.7): its
/// environment, and the configuration file `tenantctl-authorizer.json` of the package it
/// uploaded, downloaded from GetFunction's `Code.Location` as a user's CI would (this test's
/// own calls and its own unzip). Also returns the package's bytes.
#[allow(dead_code)]
pub async fn deployed_authorizer(
    sdk: &Sdk,
    function: &str,
) -> (std::collections::HashMap<String, String>, Vec<u8>, Vec<u8>) {
    use std::io::Read;
    let out = sdk.lambda.get_function().function_name(function).send().await.unwrap();
    let conf = out.configuration().unwrap();
    assert_eq!(conf.handler(), Some("bootstrap"));
    let env = conf
        .environment()
        .and_then(|e| e.variables())
        .cloned()
        .unwrap_or_else(|| panic!("{function} has no environment"))
        .into_iter()
        .collect();
    let url =
        out.code().and_then(|c| c.location()).unwrap_or_else(|| panic!("{function}: no Code.Location")).to_string();
    let package = tokio::task::spawn_blocking(move || {
        ureq::get(&url).call().unwrap().body_mut().with_config().limit(1 << 30).read_to_vec().unwrap()
    })
    .await
    .unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(&package)).expect("the package is a zip");
    let mut file = Vec::new();
    zip.by_name("tenantctl-authorizer.json")
        .unwrap_or_else(|e| panic!("{function}: no tenantctl-authorizer.json in its package: {e}"))
        .read_to_end(&mut file)
        .unwrap();
    (env, file, package)
}

/// The authorizer's configuration tenantctl deployed, as the authorizer reads it.
#[allow(dead_code)]
pub async fn deployed_config(sdk: &Sdk, function: &str) -> (tenantctl_authorizer::Config, serde_json::Value) {
    let (env, file, _) = deployed_authorizer(sdk, function).await;
    let config = tenantctl_authorizer::Config::from_env_and_file(&env, &file).unwrap_or_else(|e| {
        panic!("deployed environment {env:?} and configuration {}: {e}", String::from_utf8_lossy(&file))
    });
    (config, serde_json::from_slice(&file).unwrap())
}

/// The password of the users the tests create ([`create_user`]).
#[allow(dead_code)]
pub const USER_PASSWORD: &str = "Passw0rd!Passw0rd";

/// Creates `user` in `pool` (no message; email `<user>@x.example`, `custom:tenant_id` =
/// `tenant`) with the permanent password [`USER_PASSWORD`], in `groups`.
#[allow(dead_code)]
pub async fn create_user(sdk: &Sdk, pool: &str, user: &str, tenant: &str, groups: &[&str]) {
    use aws_sdk_cognitoidentityprovider::types::{AttributeType, MessageActionType};
    sdk.cognito
        .admin_create_user()
        .user_pool_id(pool)
        .username(user)
        .message_action(MessageActionType::Suppress)
        .user_attributes(AttributeType::builder().name("email").value(format!("{user}@x.example")).build().unwrap())
        .user_attributes(AttributeType::builder().name("custom:tenant_id").value(tenant).build().unwrap())
        .send()
        .await
        .unwrap();
    sdk.cognito
        .admin_set_user_password()
        .user_pool_id(pool)
        .username(user)
        .password(USER_PASSWORD)
        .permanent(true)
        .send()
        .await
        .unwrap();
    for g in groups {
        sdk.cognito.admin_add_user_to_group().user_pool_id(pool).username(user).group_name(*g).send().await.unwrap();
    }
}

/// Signs `user` in with USER_PASSWORD_AUTH through `client_id`: its ID token.
#[allow(dead_code)]
pub async fn id_token_of(sdk: &Sdk, client_id: &str, user: &str) -> String {
    let out = sdk
        .cognito
        .initiate_auth()
        .client_id(client_id)
        .auth_flow(aws_sdk_cognitoidentityprovider::types::AuthFlowType::UserPasswordAuth)
        .auth_parameters("USERNAME", user)
        .auth_parameters("PASSWORD", USER_PASSWORD)
        .send()
        .await
        .unwrap();
    out.authentication_result().and_then(|r| r.id_token()).expect("an ID token").to_string()
}

/// API Gateway's TOKEN event, as JSON (so the event's wire shape is exercised too).
#[allow(dead_code)]
pub fn token_event(token: &str, method_arn: &str) -> tenantctl_authorizer::TokenAuthorizerEvent {
    serde_json::from_value(serde_json::json!({
        "type": "TOKEN",
        "authorizationToken": format!("Bearer {token}"),
        "methodArn": method_arn,
    }))
    .unwrap()
}

/// Runs the authorizer's handler off the async runtime, as the Lambda does (the JWKS fetch
/// blocks): the response as JSON and the verified token, or the Deny.
#[allow(dead_code)]
pub async fn decide(
    verifier: &std::sync::Arc<tenantctl_authorizer::Verifier>,
    event: tenantctl_authorizer::TokenAuthorizerEvent,
) -> Result<(serde_json::Value, tenantctl_authorizer::Verified), tenantctl_authorizer::Deny> {
    let v = verifier.clone();
    tokio::task::spawn_blocking(move || tenantctl_authorizer::authorize(&v, &event))
        .await
        .unwrap()
        .map(|(resp, verified)| (serde_json::to_value(resp).unwrap(), verified))
}
