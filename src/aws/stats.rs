//! Counts AWS calls by operation, attempts (so retries) and throttling, through an SDK
//! interceptor on every client.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use serde::Serialize;

#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct OpStats {
    pub calls: u64,
    pub attempts: u64,
}

#[derive(Debug, Default)]
pub struct Stats {
    ops: Mutex<BTreeMap<String, OpStats>>,
}

/// Process-wide: calls sent so far and the last operation, for the CLI's progress spinner.
static PROGRESS: Mutex<(u64, String)> = Mutex::new((0, String::new()));

/// Calls sent so far by this process (each page of a listing is one call) and the last one.
pub fn progress() -> (u64, String) {
    PROGRESS.lock().map(|p| p.clone()).unwrap_or_default()
}

/// Operations that change something (everything but reads).
pub fn is_write(op: &str) -> bool {
    let name = op.rsplit(':').next().unwrap_or(op);
    !["Get", "List", "Describe"].iter().any(|p| name.starts_with(p))
}

impl Stats {
    pub fn snapshot(&self) -> BTreeMap<String, OpStats> {
        self.ops.lock().unwrap().clone()
    }
    pub fn total_calls(&self) -> u64 {
        self.snapshot().values().map(|s| s.calls).sum()
    }
    pub fn write_calls(&self) -> u64 {
        self.snapshot().iter().filter(|(k, _)| is_write(k)).map(|(_, s)| s.calls).sum()
    }
    pub fn retries(&self) -> u64 {
        self.snapshot().values().map(|s| s.attempts.saturating_sub(s.calls)).sum()
    }
    fn bump(&self, key: String, call: bool) {
        if call {
            let mut p = PROGRESS.lock().unwrap();
            p.0 += 1;
            p.1.clone_from(&key);
        }
        let mut ops = self.ops.lock().unwrap();
        let e = ops.entry(key).or_default();
        if call {
            e.calls += 1;
        } else {
            e.attempts += 1;
        }
    }
}

/// Counts calls and attempts; a retried attempt also slows the limiter down.
#[derive(Clone)]
pub struct Counter(pub Arc<Stats>, pub Arc<super::Limiter>);

impl std::fmt::Debug for Counter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Counter")
    }
}

fn key(cfg: &ConfigBag) -> String {
    match cfg.load::<Metadata>() {
        Some(m) => format!("{}:{}", short_service(m.service()), m.name()),
        None => "unknown".into(),
    }
}

fn short_service(s: &str) -> &str {
    match s {
        "CognitoIdentityProvider" | "cognitoidentityprovider" | "Cognito Identity Provider" => "cognito-idp",
        "Iam" | "iam" | "IAM" => "iam",
        "APIGateway" | "apigateway" | "API Gateway" => "apigateway",
        "Lambda" | "lambda" => "lambda",
        "Sts" | "sts" | "STS" => "sts",
        "CloudWatch" | "cloudwatch" | "monitoring" => "monitoring",
        other => other,
    }
}

impl Intercept for Counter {
    fn name(&self) -> &'static str {
        "tenantctl-stats"
    }

    fn read_before_attempt(
        &self,
        _c: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // The operation's metadata is in the bag from the first attempt on; count a call at
        // the first attempt and every attempt as one.
        let first = cfg.load::<RequestAttempts>().is_none_or(|a| a.attempts() <= 1);
        let k = key(cfg);
        if first {
            self.0.bump(k.clone(), true);
        } else {
            // A retry: throttling or a transient failure. Back off (see `limits`).
            self.1.note_retry_of(&k);
        }
        self.0.bump(k, false);
        Ok(())
    }
}
