//! A fault and quota proxy for tests: sits between tenantctl (or any AWS SDK client) and the
//! emulator on 127.0.0.1, identifies each request's service and operation, counts requests by
//! operation, and injects faults with the error shapes each SDK parses:
//!
//! - Cognito (awsJson1.1): HTTP 400, `{"__type":"TooManyRequestsException","message":...}`;
//! - IAM / STS (awsQuery): HTTP 400, XML `<ErrorResponse><Error><Code>Throttling</Code>...`;
//! - API Gateway / Lambda (restJson1): HTTP 429, `x-amzn-ErrorType: TooManyRequestsException`;
//! - HTTP 500 / 503 with each service's server-error shape;
//! - connection resets: the connection is dropped before forwarding (`Reset`) or after the
//!   emulator did the work but before the answer reaches the client (`ResetAfter`);
//! - added latency;
//! - IAM propagation errors: `MalformedPolicyDocument` "Invalid principal in policy" for
//!   CreateRole / UpdateAssumeRolePolicy, Lambda `InvalidParameterValueException` "The role
//!   defined for the function cannot be assumed by Lambda." for CreateFunction;
//! - a quota mode: token buckets per Cognito API category (per account, and per user pool
//!   for the categories AWS also limits per pool: 5 requests/s, burst 5, as the strict
//!   emulator has it) that answer `TooManyRequestsException` when empty, and an IAM write
//!   bucket at a rate tenantctl is not told, answering as IAM does (HTTP 400 `Throttling`,
//!   "Rate exceeded"). The proxy counts what each bucket let through, so a benchmark can
//!   compute the floor its quotas set ([`FaultProxy::bucket_usage`]).
//!
//! Faults are drawn from a seeded RNG, so a run is reproducible for a given request order.
//! The proxy runs on its own thread and runtime: tests may block on child processes.
//!
//! It can also hold requests (`hold_after`): every request after the n-th waits (is never
//! answered) until `release`, which lets a test kill a client at a precise request.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

// ---------------------------------------------------------------------------------------
// Classification
// ---------------------------------------------------------------------------------------

/// A request's service (`cognito-idp`, `iam`, `sts`, `apigateway`, `lambda`) and operation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OpId {
    pub service: String,
    pub operation: String,
}

impl OpId {
    pub fn key(&self) -> String {
        format!("{}:{}", self.service, self.operation)
    }
}

/// Identifies service and operation from what is on the wire.
pub fn classify(method: &str, path: &str, target: Option<&str>, authorization: Option<&str>, body: &[u8]) -> OpId {
    // The SigV4 credential scope names the signing service: Credential=AK/date/region/SERVICE/aws4_request.
    let signed = authorization.and_then(|a| {
        let c = a.split("Credential=").nth(1)?;
        let scope: Vec<&str> = c.split([',', ' ']).next()?.split('/').collect();
        (scope.len() >= 5).then(|| scope[3].to_string())
    });
    if let Some(t) = target {
        let (prefix, op) = t.rsplit_once('.').unwrap_or(("", t));
        let service = if prefix == "AWSCognitoIdentityProviderService" {
            "cognito-idp".to_string()
        } else {
            signed.clone().unwrap_or_else(|| prefix.to_string())
        };
        return OpId { service, operation: op.to_string() };
    }
    if let Some(action) = form_field(body, "Action") {
        let service = signed.clone().unwrap_or_else(|| match form_field(body, "Version").as_deref() {
            Some("2011-06-15") => "sts".into(),
            _ => "iam".into(),
        });
        return OpId { service, operation: action };
    }
    let path = path.split('?').next().unwrap_or(path);
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    // Smithy RPC v2 (CloudWatch): /service/<ServiceShape>/operation/<Operation>.
    if let ["service", _, "operation", op] = segs.as_slice() {
        return OpId { service: signed.unwrap_or_else(|| "monitoring".into()), operation: op.to_string() };
    }
    if segs.first() == Some(&"restapis") {
        return OpId { service: "apigateway".into(), operation: apigateway_op(method, &segs[1..]) };
    }
    if segs.len() >= 2 && segs[0].starts_with("20") && segs[1] == "functions" {
        return OpId { service: "lambda".into(), operation: lambda_op(method, &segs[2..]) };
    }
    if segs.len() >= 2 && segs[0].starts_with("20") && segs[1] == "tags" {
        let op = match method {
            "GET" => "ListTags",
            "POST" => "TagResource",
            "DELETE" => "UntagResource",
            _ => "Tags",
        };
        return OpId { service: "lambda".into(), operation: op.into() };
    }
    OpId { service: signed.unwrap_or_else(|| "unknown".into()), operation: format!("{method} /{}", segs.join("/")) }
}

fn apigateway_op(method: &str, s: &[&str]) -> String {
    let op = match (method, s.len(), s.get(1).copied(), s.get(3).copied()) {
        ("GET", 0, _, _) => "GetRestApis",
        ("POST", 0, _, _) => "CreateRestApi",
        ("GET", 1, _, _) => "GetRestApi",
        ("PATCH", 1, _, _) => "UpdateRestApi",
        ("DELETE", 1, _, _) => "DeleteRestApi",
        ("GET", 2, Some("resources"), _) => "GetResources",
        ("GET", 3, Some("resources"), _) => "GetResource",
        ("POST", 3, Some("resources"), _) => "CreateResource",
        ("PATCH", 3, Some("resources"), _) => "UpdateResource",
        ("DELETE", 3, Some("resources"), _) => "DeleteResource",
        ("PUT", 5, Some("resources"), Some("methods")) => "PutMethod",
        ("GET", 5, Some("resources"), Some("methods")) => "GetMethod",
        ("PATCH", 5, Some("resources"), Some("methods")) => "UpdateMethod",
        ("DELETE", 5, Some("resources"), Some("methods")) => "DeleteMethod",
        ("GET", 2, Some("authorizers"), _) => "GetAuthorizers",
        ("POST", 2, Some("authorizers"), _) => "CreateAuthorizer",
        ("GET", 3, Some("authorizers"), _) => "GetAuthorizer",
        ("PATCH", 3, Some("authorizers"), _) => "UpdateAuthorizer",
        ("DELETE", 3, Some("authorizers"), _) => "DeleteAuthorizer",
        ("GET", 2, Some("deployments"), _) => "GetDeployments",
        ("POST", 2, Some("deployments"), _) => "CreateDeployment",
        _ => return format!("{method} /restapis/{}", s.join("/")),
    };
    op.to_string()
}

fn lambda_op(method: &str, s: &[&str]) -> String {
    let op = match (method, s.len(), s.get(1).copied()) {
        ("GET", 0, _) => "ListFunctions",
        ("POST", 0, _) => "CreateFunction",
        ("GET", 1, _) => "GetFunction",
        ("DELETE", 1, _) => "DeleteFunction",
        ("GET", 2, Some("configuration")) => "GetFunctionConfiguration",
        ("PUT", 2, Some("configuration")) => "UpdateFunctionConfiguration",
        ("PUT", 2, Some("code")) => "UpdateFunctionCode",
        ("GET", 2, Some("policy")) => "GetPolicy",
        ("POST", 2, Some("policy")) => "AddPermission",
        ("DELETE", 3, Some("policy")) => "RemovePermission",
        ("POST", 2, Some("invocations")) => "Invoke",
        _ => return format!("{method} /functions/{}", s.join("/")),
    };
    op.to_string()
}

/// A field of an `application/x-www-form-urlencoded` body, decoded.
fn form_field(body: &[u8], name: &str) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    text.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| url_decode(v))
    })
}

fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Cognito's per-user-pool rate for the categories it also limits per pool (requests/s):
/// "Quotas in Amazon Cognito", footnote on the operation categories ("... at a rate higher
/// than 5 RPS for a single user pool"), https://docs.aws.amazon.com/cognito/latest/developerguide/limits.html
pub const PER_POOL_RATE: f64 = 5.0;

/// Whether Cognito also limits a category per user pool (the same four as
/// `tenantctl::aws::limits::Category::per_pool`).
pub fn per_pool_category(category: &str) -> bool {
    matches!(
        category,
        "UserPoolResourceRead" | "UserPoolResourceUpdate" | "UserPoolClientRead" | "UserPoolClientUpdate"
    )
}

/// IAM writes (what the proxy's IAM write bucket limits): every IAM operation but reads.
pub fn iam_write(id: &OpId) -> bool {
    id.service == "iam" && !["Get", "List"].iter().any(|p| id.operation.starts_with(p))
}

/// Cognito request-rate categories (aws-notes.md); `None`: not limited by the quota mode.
pub fn cognito_category(op: &str) -> Option<&'static str> {
    Some(match op {
        "DescribeUserPool" | "ListUserPools" | "GetUserPoolMfaConfig" => "UserPoolRead",
        "CreateUserPool" | "UpdateUserPool" | "DeleteUserPool" | "AddCustomAttributes" | "SetUserPoolMfaConfig" => {
            "UserPoolUpdate"
        }
        "DescribeResourceServer" | "ListResourceServers" | "GetGroup" | "ListGroups" => "UserPoolResourceRead",
        "CreateResourceServer"
        | "UpdateResourceServer"
        | "DeleteResourceServer"
        | "CreateGroup"
        | "UpdateGroup"
        | "DeleteGroup" => "UserPoolResourceUpdate",
        "DescribeUserPoolClient" | "ListUserPoolClients" => "UserPoolClientRead",
        "CreateUserPoolClient" | "UpdateUserPoolClient" | "DeleteUserPoolClient" => "UserPoolClientUpdate",
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------
// Faults and their wire shapes
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    /// The service's throttling error (Cognito/API Gateway/Lambda TooManyRequestsException, IAM/STS Throttling).
    Throttle,
    Http500,
    Http503,
    /// Drop the connection without forwarding.
    Reset,
    /// Forward, then drop the connection instead of answering (the work was done).
    ResetAfter,
    /// Forward after this many milliseconds.
    Latency(u64),
    /// IAM's eventual consistency: MalformedPolicyDocument (IAM) / InvalidParameterValueException (Lambda).
    Propagation,
}

/// Injects `fault` into requests matching `service`/`operation` (None: any) with probability `rate`,
/// at most `max` times.
#[derive(Debug, Clone)]
pub struct Rule {
    pub service: Option<String>,
    pub operation: Option<String>,
    pub fault: Fault,
    pub rate: f64,
    pub max: Option<u64>,
}

impl Rule {
    pub fn any(fault: Fault, rate: f64) -> Rule {
        Rule { service: None, operation: None, fault, rate, max: None }
    }
    pub fn on(service: &str, operation: &str, fault: Fault, rate: f64) -> Rule {
        Rule { service: Some(service.into()), operation: Some(operation.into()), fault, rate, max: None }
    }
    pub fn times(mut self, n: u64) -> Rule {
        self.max = Some(n);
        self
    }
    fn matches(&self, id: &OpId) -> bool {
        self.service.as_deref().is_none_or(|s| s == id.service)
            && self.operation.as_deref().is_none_or(|o| o == id.operation)
    }
}

/// A canned HTTP answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Canned {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

fn json_error(status: u16, content_type: &str, code: &str, body: serde_json::Value) -> Canned {
    Canned {
        status,
        headers: vec![
            ("content-type".into(), content_type.into()),
            ("x-amzn-errortype".into(), code.into()),
            ("x-amzn-requestid".into(), "00000000-0000-0000-0000-00000000f417".into()),
        ],
        body: body.to_string(),
    }
}

fn query_error(service: &str, status: u16, typ: &str, code: &str, message: &str) -> Canned {
    let ns = if service == "sts" {
        "https://sts.amazonaws.com/doc/2011-06-15/"
    } else {
        "https://iam.amazonaws.com/doc/2010-05-08/"
    };
    let message = message.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    Canned {
        status,
        headers: vec![("content-type".into(), "text/xml".into())],
        body: format!(
            "<ErrorResponse xmlns=\"{ns}\"><Error><Type>{typ}</Type><Code>{code}</Code><Message>{message}</Message></Error>\
             <RequestId>00000000-0000-0000-0000-00000000f417</RequestId></ErrorResponse>"
        ),
    }
}

/// The answer for an injected error fault (None for Reset/ResetAfter/Latency, and for
/// Propagation on an operation that has no propagation error).
pub fn error_response(id: &OpId, fault: Fault) -> Option<Canned> {
    let svc = id.service.as_str();
    let cognito = |status: u16, code: &str, message: &str| {
        json_error(status, "application/x-amz-json-1.1", code, serde_json::json!({"__type": code, "message": message}))
    };
    let rest = |status: u16, code: &str, message: &str| {
        json_error(status, "application/json", code, serde_json::json!({"Type": "User", "message": message}))
    };
    Some(match (fault, svc) {
        (Fault::Throttle, "cognito-idp") => cognito(400, "TooManyRequestsException", "Rate exceeded"),
        (Fault::Throttle, "iam" | "sts") => query_error(svc, 400, "Sender", "Throttling", "Rate exceeded"),
        (Fault::Throttle, "apigateway") => {
            let mut c = json_error(
                429,
                "application/json",
                "TooManyRequestsException",
                serde_json::json!({"message": "Too Many Requests"}),
            );
            c.headers.push(("retry-after".into(), "1".into()));
            c
        }
        (Fault::Throttle, _) => rest(429, "TooManyRequestsException", "Rate exceeded"),
        (Fault::Http500, "cognito-idp") => cognito(500, "InternalErrorException", "Internal server error (injected)"),
        (Fault::Http500, "iam" | "sts") => {
            query_error(svc, 500, "Receiver", "ServiceFailure", "Internal failure (injected)")
        }
        (Fault::Http500, "lambda") => rest(500, "ServiceException", "Internal failure (injected)"),
        (Fault::Http500, _) => rest(500, "InternalFailure", "Internal failure (injected)"),
        (Fault::Http503, "iam" | "sts") => {
            query_error(svc, 503, "Receiver", "ServiceUnavailable", "Service unavailable (injected)")
        }
        (Fault::Http503, "cognito-idp") => cognito(503, "ServiceUnavailable", "Service unavailable (injected)"),
        (Fault::Http503, _) => rest(503, "ServiceUnavailableException", "Service unavailable (injected)"),
        (Fault::Propagation, "iam") if matches!(id.operation.as_str(), "CreateRole" | "UpdateAssumeRolePolicy") => {
            query_error(
                svc,
                400,
                "Sender",
                "MalformedPolicyDocument",
                "Invalid principal in policy: \"AWS\":\"arn:aws:iam::123456789012:role/just-created\"",
            )
        }
        (Fault::Propagation, "lambda")
            if matches!(id.operation.as_str(), "CreateFunction" | "UpdateFunctionConfiguration") =>
        {
            rest(
                400,
                "InvalidParameterValueException",
                "The role defined for the function cannot be assumed by Lambda.",
            )
        }
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------
// The proxy
// ---------------------------------------------------------------------------------------

struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
    /// Requests the bucket let through.
    passed: u64,
}

impl Bucket {
    fn new(rate: f64, burst: f64) -> Bucket {
        Bucket { rate, burst, tokens: burst, last: Instant::now(), passed: 0 }
    }

    /// One token, or false when the bucket is empty.
    fn take(&mut self) -> bool {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.last).as_secs_f64() * self.rate).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            self.passed += 1;
            true
        } else {
            false
        }
    }
}

/// What one quota bucket let through: its name (`UserPoolResourceUpdate`,
/// `UserPoolResourceUpdate pool us-east-1_x`, `iam write`), requests passed, rate per second.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketUse {
    pub name: String,
    pub passed: u64,
    pub rate: f64,
}

#[derive(Default)]
struct Counters {
    /// Requests received, by `service:Operation`.
    requests: BTreeMap<String, u64>,
    /// Faults injected, by `service:Operation` then fault.
    injected: BTreeMap<String, BTreeMap<String, u64>>,
    total: u64,
    /// Every request: when (since the proxy started) and `service:Operation`.
    timeline: Vec<(std::time::Duration, String)>,
}

struct Inner {
    rules: Vec<(Rule, u64)>,
    rng: fastrand::Rng,
    quota: Option<HashMap<&'static str, Bucket>>,
    /// Per (user pool, category), for the per-pool categories; created on first use.
    pool_quota: BTreeMap<(String, &'static str), Bucket>,
    iam_write: Option<Bucket>,
    counters: Counters,
    hold_after: Option<u64>,
    /// With hold_after = n: request n is forwarded and its answer held (else n is answered and n+1.. held).
    hold_answer: bool,
}

struct Shared {
    started: std::time::Instant,
    upstream: SocketAddr,
    inner: Mutex<Inner>,
    release: tokio::sync::watch::Sender<u64>,
}

/// A running proxy. Dropping it stops it.
pub struct FaultProxy {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

enum Decision {
    Forward { delay: Option<Duration>, drop_after: bool, hold_answer: bool },
    Answer(Canned),
    Drop,
    Hold,
}

impl FaultProxy {
    /// Starts a proxy on 127.0.0.1:0 in front of `upstream` (`http://host:port`), faults off.
    pub fn start(upstream: &str, seed: u64) -> FaultProxy {
        let hostport = upstream.trim_start_matches("http://").trim_end_matches('/');
        let upstream: SocketAddr = std::net::ToSocketAddrs::to_socket_addrs(hostport)
            .unwrap_or_else(|e| panic!("upstream {hostport}: {e}"))
            .next()
            .expect("upstream address");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let (release, _) = tokio::sync::watch::channel(0u64);
        let shared = Arc::new(Shared {
            started: std::time::Instant::now(),
            upstream,
            inner: Mutex::new(Inner {
                rules: Vec::new(),
                rng: fastrand::Rng::with_seed(seed),
                quota: None,
                pool_quota: BTreeMap::new(),
                iam_write: None,
                counters: Counters::default(),
                hold_after: None,
                hold_answer: false,
            }),
            release,
        });
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let s = shared.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                loop {
                    tokio::select! {
                        _ = &mut stopped => break,
                        acc = listener.accept() => {
                            let Ok((stream, _)) = acc else { continue };
                            let s = s.clone();
                            tokio::spawn(async move {
                                let svc = hyper::service::service_fn(move |req| handle(s.clone(), req));
                                let _ = hyper::server::conn::http1::Builder::new()
                                    .keep_alive(true)
                                    .serve_connection(TokioIo::new(stream), svc)
                                    .await;
                            });
                        }
                    }
                }
            });
            rt.shutdown_background();
        });
        FaultProxy { addr, shared, stop: Some(stop), thread: Some(thread) }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Replaces the fault rules (their injection counts restart).
    pub fn set_rules(&self, rules: Vec<Rule>) {
        self.shared.inner.lock().unwrap().rules = rules.into_iter().map(|r| (r, 0)).collect();
    }

    /// Quota mode: token buckets per Cognito category at `rates` (requests/s, burst = rate),
    /// and per user pool at [`PER_POOL_RATE`] (burst 5) for the categories Cognito also
    /// limits per pool; None turns it off.
    pub fn set_quota(&self, rates: Option<&[(&'static str, f64)]>) {
        let mut inner = self.shared.inner.lock().unwrap();
        inner.quota = rates.map(|r| r.iter().map(|(c, rate)| (*c, Bucket::new(*rate, rate.max(1.0)))).collect());
        inner.pool_quota.clear();
    }

    /// An IAM write bucket at `rate` requests/s (burst = rate), answered as IAM throttles
    /// (HTTP 400 `Throttling`, "Rate exceeded"); None turns it off. IAM publishes no such
    /// rate: tenantctl is not told this one and has to find it.
    pub fn set_iam_write_quota(&self, rate: Option<f64>) {
        self.shared.inner.lock().unwrap().iam_write = rate.map(|r| Bucket::new(r, r.max(1.0)));
    }

    /// What each quota bucket let through since its quota was set, by name.
    pub fn bucket_usage(&self) -> Vec<BucketUse> {
        let inner = self.shared.inner.lock().unwrap();
        let mut out: Vec<BucketUse> = Vec::new();
        for (c, b) in inner.quota.iter().flatten() {
            out.push(BucketUse { name: c.to_string(), passed: b.passed, rate: b.rate });
        }
        for ((pool, c), b) in &inner.pool_quota {
            out.push(BucketUse { name: format!("{c} pool {pool}"), passed: b.passed, rate: b.rate });
        }
        if let Some(b) = &inner.iam_write {
            out.push(BucketUse { name: "iam write".into(), passed: b.passed, rate: b.rate });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// The published Cognito quotas (aws-notes.md).
    pub fn cognito_quotas() -> Vec<(&'static str, f64)> {
        vec![
            ("UserPoolRead", 15.0),
            ("UserPoolUpdate", 15.0),
            ("UserPoolResourceRead", 20.0),
            ("UserPoolResourceUpdate", 15.0),
            ("UserPoolClientRead", 15.0),
            ("UserPoolClientUpdate", 15.0),
        ]
    }

    /// Holds every request after the `n`-th (counted from now on, see `reset_counts`) until
    /// `release`. With `hold_answer`, the n-th is forwarded but its answer is held too.
    pub fn hold_after(&self, n: u64, hold_answer: bool) {
        let mut i = self.shared.inner.lock().unwrap();
        i.hold_after = Some(n);
        i.hold_answer = hold_answer;
    }

    /// Stops holding; held requests are dropped (their clients are expected to be dead).
    pub fn release(&self) {
        self.shared.inner.lock().unwrap().hold_after = None;
        self.shared.release.send_modify(|g| *g += 1);
    }

    pub fn reset_counts(&self) {
        self.shared.inner.lock().unwrap().counters = Counters::default();
    }

    /// Requests received since the last reset.
    pub fn total(&self) -> u64 {
        self.shared.inner.lock().unwrap().counters.total
    }

    /// Every request since the last reset: when (since the proxy started) and
    /// `service:Operation`.
    pub fn timeline(&self) -> Vec<(std::time::Duration, String)> {
        self.shared.inner.lock().unwrap().counters.timeline.clone()
    }

    /// Requests by `service:Operation`.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        self.shared.inner.lock().unwrap().counters.requests.clone()
    }

    /// Injected faults by `service:Operation` and fault.
    pub fn injected(&self) -> BTreeMap<String, BTreeMap<String, u64>> {
        self.shared.inner.lock().unwrap().counters.injected.clone()
    }

    pub fn injected_total(&self) -> u64 {
        self.injected().values().flat_map(|m| m.values()).sum()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.release();
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn decide(shared: &Shared, id: &OpId, pool: Option<&str>) -> Decision {
    let mut guard = shared.inner.lock().unwrap();
    let inner = &mut *guard;
    inner.counters.total += 1;
    let n = inner.counters.total;
    *inner.counters.requests.entry(id.key()).or_default() += 1;
    inner.counters.timeline.push((shared.started.elapsed(), id.key()));
    let note = |c: &mut Counters, what: &str| {
        *c.injected.entry(id.key()).or_default().entry(what.to_string()).or_default() += 1;
    };
    if let Some(h) = inner.hold_after {
        if n > h {
            return Decision::Hold;
        }
        if n == h && inner.hold_answer {
            return Decision::Forward { delay: None, drop_after: false, hold_answer: true };
        }
    }
    if let (Some(q), "cognito-idp") = (inner.quota.as_mut(), id.service.as_str()) {
        if let Some(c) = cognito_category(&id.operation) {
            // The pool's bucket first (a call refused there takes no account token).
            let pool_ok = match pool.filter(|_| per_pool_category(c)) {
                Some(p) => inner
                    .pool_quota
                    .entry((p.to_string(), c))
                    .or_insert_with(|| Bucket::new(PER_POOL_RATE, PER_POOL_RATE))
                    .take(),
                None => true,
            };
            let account_ok = pool_ok && q.get_mut(c).is_none_or(|b| b.take());
            if pool_ok && !account_ok {
                // Refused by the account's bucket: the pool's token was not used.
                let b = inner.pool_quota.get_mut(&(pool.unwrap_or_default().to_string(), c));
                if let Some(b) = b.filter(|_| per_pool_category(c)) {
                    b.tokens += 1.0;
                    b.passed -= 1;
                }
            }
            if !account_ok {
                note(&mut inner.counters, "Quota");
                return Decision::Answer(error_response(id, Fault::Throttle).unwrap());
            }
        }
    }
    if let Some(b) = inner.iam_write.as_mut().filter(|_| iam_write(id)) {
        if !b.take() {
            note(&mut inner.counters, "Quota");
            return Decision::Answer(error_response(id, Fault::Throttle).unwrap());
        }
    }
    let mut delay = None;
    for (rule, used) in inner.rules.iter_mut() {
        if !rule.matches(id) || rule.max.is_some_and(|m| *used >= m) {
            continue;
        }
        if rule.fault == Fault::Propagation && error_response(id, Fault::Propagation).is_none() {
            continue;
        }
        if inner.rng.f64() >= rule.rate {
            continue;
        }
        *used += 1;
        note(&mut inner.counters, &format!("{:?}", rule.fault));
        match rule.fault {
            Fault::Latency(ms) => delay = Some(Duration::from_millis(ms)),
            Fault::Reset => return Decision::Drop,
            Fault::ResetAfter => return Decision::Forward { delay, drop_after: true, hold_answer: false },
            f => return Decision::Answer(error_response(id, f).unwrap()),
        }
    }
    Decision::Forward { delay, drop_after: false, hold_answer: false }
}

type Answer = Result<Response<Full<Bytes>>, std::io::Error>;

fn dropped() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::ConnectionReset, "faultproxy: connection dropped")
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Answer {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map_err(|e| std::io::Error::other(e.to_string()))?.to_bytes();
    let header = |n: &str| parts.headers.get(n).and_then(|v| v.to_str().ok());
    let id = classify(parts.method.as_str(), parts.uri.path(), header("x-amz-target"), header("authorization"), &body);
    let pool = (id.service == "cognito-idp")
        .then(|| serde_json::from_slice::<serde_json::Value>(&body).ok())
        .flatten()
        .and_then(|v| v.get("UserPoolId").and_then(|p| p.as_str()).map(str::to_string));
    let mut release = shared.release.subscribe();
    match decide(&shared, &id, pool.as_deref()) {
        Decision::Answer(c) => {
            let mut b = Response::builder().status(c.status);
            for (k, v) in &c.headers {
                b = b.header(k, v);
            }
            Ok(b.body(Full::new(Bytes::from(c.body))).unwrap())
        }
        Decision::Drop => Err(dropped()),
        Decision::Hold => {
            let _ = release.changed().await;
            Err(dropped())
        }
        Decision::Forward { delay, drop_after, hold_answer } => {
            if let Some(d) = delay {
                tokio::time::sleep(d).await;
            }
            let answer = forward(shared.upstream, parts, body).await;
            if hold_answer {
                let _ = release.changed().await;
                return Err(dropped());
            }
            if drop_after {
                return Err(dropped());
            }
            answer
        }
    }
}

async fn forward(upstream: SocketAddr, parts: hyper::http::request::Parts, body: Bytes) -> Answer {
    let stream = tokio::net::TcpStream::connect(upstream).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    tokio::spawn(conn);
    let req = Request::from_parts(parts, Full::new(body));
    let res = sender.send_request(req).await.map_err(|e| std::io::Error::other(e.to_string()))?;
    let (parts, body) = res.into_parts();
    let body = body.collect().await.map_err(|e| std::io::Error::other(e.to_string()))?.to_bytes();
    let mut res = Response::from_parts(parts, Full::new(body));
    // The body is whole: let hyper frame it.
    res.headers_mut().remove(hyper::header::TRANSFER_ENCODING);
    Ok(res)
}

// ---------------------------------------------------------------------------------------
// Unit tests: classification, and each error shape parsed by the real SDK
// ---------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    const AUTH: &str =
        "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/SERVICE/aws4_request, SignedHeaders=host, Signature=00";

    fn auth(s: &str) -> String {
        AUTH.replace("SERVICE", s)
    }

    #[test]
    fn classifies_every_protocol() {
        let c = classify(
            "POST",
            "/",
            Some("AWSCognitoIdentityProviderService.CreateUserPool"),
            Some(&auth("cognito-idp")),
            b"{}",
        );
        assert_eq!(c.key(), "cognito-idp:CreateUserPool");
        let c = classify("POST", "/", None, Some(&auth("iam")), b"Action=CreateRole&Version=2010-05-08&RoleName=x");
        assert_eq!(c.key(), "iam:CreateRole");
        let c = classify("POST", "/", None, Some(&auth("sts")), b"Action=GetCallerIdentity&Version=2011-06-15");
        assert_eq!(c.key(), "sts:GetCallerIdentity");
        // Without a signature, the API version tells IAM from STS.
        assert_eq!(
            classify("POST", "/", None, None, b"Version=2011-06-15&Action=GetCallerIdentity").key(),
            "sts:GetCallerIdentity"
        );
        assert_eq!(
            classify("POST", "/", None, None, b"Action=Put%52olePolicy&Version=2010-05-08").key(),
            "iam:PutRolePolicy"
        );
        for (m, p, op) in [
            ("GET", "/restapis", "GetRestApis"),
            ("GET", "/restapis/abc/resources?limit=500", "GetResources"),
            ("POST", "/restapis/abc/resources/r1", "CreateResource"),
            ("PUT", "/restapis/abc/resources/r1/methods/GET", "PutMethod"),
            ("GET", "/restapis/abc/resources/r1/methods/GET", "GetMethod"),
            ("PATCH", "/restapis/abc/resources/r1/methods/GET", "UpdateMethod"),
            ("GET", "/restapis/abc/authorizers", "GetAuthorizers"),
            ("POST", "/restapis/abc/authorizers", "CreateAuthorizer"),
            ("PATCH", "/restapis/abc/authorizers/a1", "UpdateAuthorizer"),
        ] {
            assert_eq!(
                classify(m, p, None, Some(&auth("apigateway")), b"").key(),
                format!("apigateway:{op}"),
                "{m} {p}"
            );
        }
        for (m, p, op) in [
            ("POST", "/2015-03-31/functions", "CreateFunction"),
            ("GET", "/2015-03-31/functions/f", "GetFunction"),
            ("GET", "/2015-03-31/functions/f/configuration", "GetFunctionConfiguration"),
            ("PUT", "/2015-03-31/functions/f/configuration", "UpdateFunctionConfiguration"),
            ("PUT", "/2015-03-31/functions/f/code", "UpdateFunctionCode"),
            ("GET", "/2015-03-31/functions/f/policy", "GetPolicy"),
            ("POST", "/2015-03-31/functions/f/policy", "AddPermission"),
            ("DELETE", "/2015-03-31/functions/f/policy/sid", "RemovePermission"),
        ] {
            assert_eq!(classify(m, p, None, Some(&auth("lambda")), b"").key(), format!("lambda:{op}"), "{m} {p}");
        }
        let c = classify(
            "POST",
            "/service/GraniteServiceVersion20100801/operation/PutMetricAlarm",
            None,
            Some(&auth("monitoring")),
            b"",
        );
        assert_eq!(c.key(), "monitoring:PutMetricAlarm");
    }

    #[test]
    fn cognito_categories() {
        assert_eq!(cognito_category("CreateUserPool"), Some("UserPoolUpdate"));
        assert_eq!(cognito_category("ListUserPools"), Some("UserPoolRead"));
        assert_eq!(cognito_category("CreateGroup"), Some("UserPoolResourceUpdate"));
        assert_eq!(cognito_category("ListResourceServers"), Some("UserPoolResourceRead"));
        assert_eq!(cognito_category("DescribeUserPoolClient"), Some("UserPoolClientRead"));
        assert_eq!(cognito_category("UpdateUserPoolClient"), Some("UserPoolClientUpdate"));
        assert_eq!(cognito_category("AdminCreateUser"), None);
    }

    #[test]
    fn error_shapes() {
        let id = |s: &str, o: &str| OpId { service: s.into(), operation: o.into() };
        let c = error_response(&id("cognito-idp", "ListUserPools"), Fault::Throttle).unwrap();
        assert_eq!(c.status, 400);
        let v: serde_json::Value = serde_json::from_str(&c.body).unwrap();
        assert_eq!(v["__type"], "TooManyRequestsException");
        let c = error_response(&id("iam", "CreateRole"), Fault::Throttle).unwrap();
        assert_eq!(c.status, 400);
        assert!(c.body.starts_with("<ErrorResponse") && c.body.contains("<Code>Throttling</Code>"));
        let c = error_response(&id("apigateway", "GetResources"), Fault::Throttle).unwrap();
        assert_eq!(c.status, 429);
        let c = error_response(&id("iam", "CreateRole"), Fault::Propagation).unwrap();
        assert!(c.body.contains("MalformedPolicyDocument") && c.body.contains("Invalid principal in policy"));
        assert!(error_response(&id("iam", "PutRolePolicy"), Fault::Propagation).is_none());
        let c = error_response(&id("lambda", "CreateFunction"), Fault::Propagation).unwrap();
        assert!(c.body.contains("cannot be assumed by Lambda"));
        assert_eq!(error_response(&id("iam", "GetRole"), Fault::Http503).unwrap().status, 503);
    }

    /// SDK clients with retries off, pointed at a proxy whose upstream is a dead port: every
    /// answer is an injected one.
    async fn clients(
        url: &str,
    ) -> (
        aws_sdk_cognitoidentityprovider::Client,
        aws_sdk_iam::Client,
        aws_sdk_apigateway::Client,
        aws_sdk_lambda::Client,
    ) {
        let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(url)
            .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
            .credentials_provider(aws_sdk_sts::config::Credentials::new("test", "test", None, None, "test"))
            .load()
            .await;
        (
            aws_sdk_cognitoidentityprovider::Client::new(&conf),
            aws_sdk_iam::Client::new(&conf),
            aws_sdk_apigateway::Client::new(&conf),
            aws_sdk_lambda::Client::new(&conf),
        )
    }

    fn code<E: aws_smithy_types::error::metadata::ProvideErrorMetadata, R>(
        r: Result<R, E>,
    ) -> (Option<String>, Option<String>) {
        match r {
            Ok(_) => panic!("expected an error"),
            Err(e) => (e.code().map(str::to_string), e.message().map(str::to_string)),
        }
    }

    #[tokio::test]
    async fn the_sdks_parse_the_injected_errors() {
        let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let upstream = format!("http://{}", dead.local_addr().unwrap());
        drop(dead);
        let proxy = FaultProxy::start(&upstream, 1);
        let (cognito, iam, apigw, lambda) = clients(&proxy.url()).await;

        proxy.set_rules(vec![Rule::any(Fault::Throttle, 1.0)]);
        let (c, _) = code(cognito.list_user_pools().max_results(1).send().await.map_err(|e| e.into_service_error()));
        assert_eq!(c.as_deref(), Some("TooManyRequestsException"));
        let e = cognito.list_user_pools().max_results(1).send().await.unwrap_err().into_service_error();
        assert!(e.is_too_many_requests_exception());
        let (c, _) = code(iam.get_role().role_name("x").send().await.map_err(|e| e.into_service_error()));
        assert_eq!(c.as_deref(), Some("Throttling"));
        let e = apigw.get_rest_apis().send().await.unwrap_err().into_service_error();
        assert!(e.is_too_many_requests_exception(), "{e:?}");
        let e = lambda.get_function().function_name("f").send().await.unwrap_err().into_service_error();
        assert!(e.is_too_many_requests_exception(), "{e:?}");

        proxy.set_rules(vec![Rule::any(Fault::Propagation, 1.0)]);
        let (c, m) = code(
            iam.create_role()
                .role_name("r")
                .assume_role_policy_document("{}")
                .send()
                .await
                .map_err(|e| e.into_service_error()),
        );
        assert_eq!(c.as_deref(), Some("MalformedPolicyDocument"));
        assert!(m.unwrap().contains("Invalid principal in policy"));
        let e = lambda
            .create_function()
            .function_name("f")
            .role("arn:aws:iam::123456789012:role/r")
            .code(
                aws_sdk_lambda::types::FunctionCode::builder()
                    .zip_file(aws_smithy_types::Blob::new(b"x".to_vec()))
                    .build(),
            )
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(e.is_invalid_parameter_value_exception(), "{e:?}");
        assert!(
            e.to_string().contains("cannot be assumed by Lambda") || format!("{e:?}").contains("cannot be assumed")
        );

        proxy.set_rules(vec![Rule::any(Fault::Http500, 1.0)]);
        let e = cognito.list_user_pools().max_results(1).send().await.unwrap_err().into_service_error();
        assert!(e.is_internal_error_exception(), "{e:?}");
        proxy.set_rules(vec![Rule::any(Fault::Http503, 1.0)]);
        let (c, _) = code(iam.get_role().role_name("x").send().await.map_err(|e| e.into_service_error()));
        assert_eq!(c.as_deref(), Some("ServiceUnavailable"));
        let (c, _) = code(apigw.get_rest_apis().send().await.map_err(|e| e.into_service_error()));
        assert_eq!(c.as_deref(), Some("ServiceUnavailableException"));

        // A reset: the SDK sees a dispatch (I/O) failure, not a service error.
        proxy.set_rules(vec![Rule::any(Fault::Reset, 1.0)]);
        let e = cognito.list_user_pools().max_results(1).send().await.unwrap_err();
        assert!(matches!(e, aws_smithy_runtime_api::client::result::SdkError::DispatchFailure(_)), "{e:?}");

        // Quota mode: a bucket of 1 request/s answers the second immediate call with throttling.
        proxy.set_rules(vec![]);
        proxy.set_quota(Some(&[("UserPoolRead", 1.0)]));
        let _ = cognito.list_user_pools().max_results(1).send().await; // the token: forwarded to the dead upstream
        let e = cognito.list_user_pools().max_results(1).send().await.unwrap_err().into_service_error();
        assert!(e.is_too_many_requests_exception(), "{e:?}");
        assert!(proxy.injected()["cognito-idp:ListUserPools"]["Quota"] >= 1);
        assert!(proxy.counts()["cognito-idp:ListUserPools"] >= 4);
    }

    /// Quota mode: each user pool has its own bucket (5/s, burst 5) besides the account's
    /// category bucket; the IAM write bucket answers as IAM throttles; usage is counted.
    #[test]
    fn per_pool_and_iam_write_buckets() {
        let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let p = FaultProxy::start(&format!("http://{}", dead.local_addr().unwrap()), 1);
        p.set_quota(Some(&FaultProxy::cognito_quotas()));
        p.set_iam_write_quota(Some(3.0));
        let id = |s: &str, o: &str| OpId { service: s.into(), operation: o.into() };
        let passed = |id: &OpId, pool: Option<&str>| !matches!(decide(&p.shared, id, pool), Decision::Answer(_));
        let group = id("cognito-idp", "CreateGroup");
        let a: Vec<bool> = (0..6).map(|_| passed(&group, Some("pool-a"))).collect();
        assert_eq!(a, [true, true, true, true, true, false], "burst 5, then refused");
        assert!(passed(&group, Some("pool-b")), "another pool has its own bucket");
        assert!(passed(&id("cognito-idp", "CreateUserPool"), None), "not a per-pool category");
        let iam: Vec<bool> = (0..4).map(|_| passed(&id("iam", "CreateRole"), None)).collect();
        assert_eq!(iam, [true, true, true, false]);
        assert!(passed(&id("iam", "GetRole"), None), "reads are not in the write bucket");
        let c = error_response(&id("iam", "CreateRole"), Fault::Throttle).unwrap();
        assert!(c.status == 400 && c.body.contains("<Code>Throttling</Code>") && c.body.contains("Rate exceeded"));
        let usage = p.bucket_usage();
        let get = |n: &str| usage.iter().find(|u| u.name == n).map(|u| (u.passed, u.rate));
        assert_eq!(get("UserPoolResourceUpdate pool pool-a"), Some((5, 5.0)));
        assert_eq!(get("UserPoolResourceUpdate pool pool-b"), Some((1, 5.0)));
        assert_eq!(get("UserPoolResourceUpdate"), Some((6, 15.0)));
        assert_eq!(get("iam write"), Some((3, 3.0)));
        assert_eq!(p.injected()["iam:CreateRole"]["Quota"], 1);
        assert_eq!(p.injected()["cognito-idp:CreateGroup"]["Quota"], 1);
    }

    #[test]
    fn same_seed_same_faults() {
        let pick = |seed| {
            let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let p = FaultProxy::start(&format!("http://{}", dead.local_addr().unwrap()), seed);
            p.set_rules(vec![Rule::any(Fault::Throttle, 0.5)]);
            let id = OpId { service: "iam".into(), operation: "GetRole".into() };
            (0..64).map(|_| matches!(decide(&p.shared, &id, None), Decision::Answer(_))).collect::<Vec<_>>()
        };
        assert_eq!(pick(7), pick(7));
        assert_ne!(pick(7), pick(8));
    }
}
