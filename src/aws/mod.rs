//! The AWS clients ([`Aws`]), the request-rate limiter and what the kinds (`crate::kinds`)
//! share to read and change resources: errors that name their operation, the Cognito and IAM
//! helpers. Nothing here decides what changed.

pub mod cognito;
pub mod iam;
pub mod limits;
pub mod listings;
pub mod slots;
pub mod stats;

use std::sync::Arc;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

pub use limits::{Category, Limiter};
pub use stats::Stats;

/// The AWS clients and what every adapter needs.
#[derive(Clone)]
pub struct Aws {
    pub cognito: aws_sdk_cognitoidentityprovider::Client,
    pub iam: aws_sdk_iam::Client,
    pub apigw: aws_sdk_apigateway::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub sts: aws_sdk_sts::Client,
    /// CloudWatch (the pools' alarms, `kinds::pool_alarm`).
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub stats: Arc<Stats>,
    pub limiter: Arc<Limiter>,
    /// The account's pools as `ListUserPools` lists them, shared by the pool creations of this
    /// process (their twin checks, [`listings::PoolListings`]).
    pub pool_listings: Arc<listings::PoolListings>,
    pub ctx: Ctx,
}

/// Where tenantctl runs: platform, account, region, partition, and the endpoint override.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ctx {
    pub platform: String,
    pub account_id: String,
    pub region: String,
    pub partition: String,
    /// `--endpoint-url` / `AWS_ENDPOINT_URL`, when set (an emulator).
    pub endpoint: Option<String>,
}

/// An AWS call that failed for good.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AwsError {
    #[error("{operation} failed: {code}: {message}")]
    Call { operation: String, code: String, message: String },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Other(String),
}

impl AwsError {
    pub fn code(&self) -> Option<&str> {
        match self {
            AwsError::Call { code, .. } => Some(code),
            _ => None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(
            self.code(),
            Some("ResourceNotFoundException" | "NoSuchEntity" | "NotFoundException" | "NoSuchEntityException")
        )
    }
}

/// A delete's answer: a resource that is gone already (not found) is deleted.
pub fn done_if_gone<T>(answer: Result<T, AwsError>) -> Result<(), AwsError> {
    match answer {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(e),
    }
}

/// A read's answer: a resource that is gone (not found) is None, as if never listed.
pub fn none_if_gone<T>(answer: Result<T, AwsError>) -> Result<Option<T>, AwsError> {
    match answer {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// One AWS call, naming its operation once: `request.send().call(aws, "cognito-idp:X", pool)`
/// waits for the limiter (per user pool for Cognito's per-pool categories, `pool`), then sends
/// the request (the SDK's future does nothing before it is awaited) and names the operation in
/// its error ([`call_err`]).
pub trait Call<T, E, R>: std::future::Future<Output = Result<T, SdkError<E, R>>> + Sized {
    fn call(
        self,
        aws: &Aws,
        operation: &str,
        pool: Option<&str>,
    ) -> impl std::future::Future<Output = Result<T, AwsError>>;
}

impl<F, T, E, R> Call<T, E, R> for F
where
    F: std::future::Future<Output = Result<T, SdkError<E, R>>>,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    async fn call(self, aws: &Aws, operation: &str, pool: Option<&str>) -> Result<T, AwsError> {
        aws.limiter.acquire_op(operation, pool).await;
        self.await.map_err(|e| call_err(operation, e))
    }
}

/// Turns an SDK error into an [`AwsError`] naming the operation.
pub fn call_err<E, R>(operation: &str, e: SdkError<E, R>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    match &e {
        SdkError::ServiceError(se) => {
            let err = se.err();
            AwsError::Call {
                operation: operation.to_string(),
                code: err.code().unwrap_or("Unknown").to_string(),
                message: err.message().unwrap_or("").to_string(),
            }
        }
        other => AwsError::Call {
            operation: operation.to_string(),
            code: "RequestFailed".into(),
            message: format!("{}", aws_smithy_types::error::display::DisplayErrorContext(other)),
        },
    }
}

/// How long writes are retried while IAM propagates a principal it refers to (Terraform waits
/// up to 2 minutes). `TENANTCTL_PROPAGATION_TIMEOUT` (seconds) overrides it.
pub fn propagation_window() -> std::time::Duration {
    let secs = std::env::var("TENANTCTL_PROPAGATION_TIMEOUT").ok().and_then(|s| s.parse().ok()).unwrap_or(120);
    std::time::Duration::from_secs(secs)
}

pub use crate::state::partition;

/// The partition of a region (see [`partition`], the one table).
pub fn partition_of(region: &str) -> &'static str {
    partition::partition_for_region(region).name
}

/// The account id in an ARN (`arn:partition:service:region:account:...`).
pub fn account_of_arn(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
}

impl Aws {
    /// Asks STS for the account when it is not known yet.
    pub async fn resolve_account(&mut self) -> Result<(), AwsError> {
        if !self.ctx.account_id.is_empty() {
            return Ok(());
        }
        let ident = self.sts.get_caller_identity().send().await.map_err(|e| call_err("sts:GetCallerIdentity", e))?;
        self.ctx.account_id = ident.account().unwrap_or_default().to_string();
        if let Some(p) = ident.arn().and_then(|a| a.split(':').nth(1)) {
            self.ctx.partition = p.to_string();
        }
        Ok(())
    }
}

/// Builds the clients from the standard AWS config chain plus the CLI's overrides.
pub async fn connect(
    platform: &str,
    region: Option<String>,
    profile: Option<String>,
    endpoint: Option<String>,
    limiter: Limiter,
) -> Result<Aws, AwsError> {
    use aws_config::retry::RetryConfig;
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        // Standard retries (exponential back-off with jitter). Not the SDK's adaptive mode: its
        // token bucket drops to 0.5 requests/s after one throttle in a short CLI run. The
        // slow-down on throttling is tenantctl's own limiter (see `limits`).
        .retry_config(RetryConfig::standard().with_max_attempts(8));
    if let Some(r) = region {
        loader = loader.region(aws_config::Region::new(r));
    }
    if let Some(p) = profile {
        loader = loader.profile_name(p);
    }
    if let Some(e) = &endpoint {
        loader = loader.endpoint_url(e.clone());
    }
    let conf = loader.load().await;
    let endpoint = endpoint.or_else(|| std::env::var("AWS_ENDPOINT_URL").ok().filter(|s| !s.is_empty()));
    let region = conf
        .region()
        .map(|r| r.to_string())
        .ok_or_else(|| AwsError::Other("no AWS region: set `region` in the Platform, --region or AWS_REGION".into()))?;
    let stats = Arc::new(Stats::default());
    let limiter = Arc::new(limiter);
    let interceptor = stats::Counter(stats.clone(), limiter.clone());
    let cognito = aws_sdk_cognitoidentityprovider::Client::from_conf(
        aws_sdk_cognitoidentityprovider::config::Builder::from(&conf).interceptor(interceptor.clone()).build(),
    );
    let iam = aws_sdk_iam::Client::from_conf(
        aws_sdk_iam::config::Builder::from(&conf).interceptor(interceptor.clone()).build(),
    );
    let apigw = aws_sdk_apigateway::Client::from_conf(
        aws_sdk_apigateway::config::Builder::from(&conf).interceptor(interceptor.clone()).build(),
    );
    let lambda = aws_sdk_lambda::Client::from_conf(
        aws_sdk_lambda::config::Builder::from(&conf).interceptor(interceptor.clone()).build(),
    );
    let cloudwatch = aws_sdk_cloudwatch::Client::from_conf(
        aws_sdk_cloudwatch::config::Builder::from(&conf).interceptor(interceptor.clone()).build(),
    );
    let sts =
        aws_sdk_sts::Client::from_conf(aws_sdk_sts::config::Builder::from(&conf).interceptor(interceptor).build());
    // The account is resolved lazily (see `Aws::resolve_account`): a `--tenant` plan learns it
    // from the role ARNs it reads anyway and saves the STS call.
    let partition = partition_of(&region).to_string();
    let account_id = String::new();
    Ok(Aws {
        cognito,
        iam,
        apigw,
        lambda,
        sts,
        cloudwatch,
        stats,
        limiter,
        pool_listings: Arc::default(),
        ctx: Ctx { platform: platform.to_string(), account_id, region, partition, endpoint },
    })
}
