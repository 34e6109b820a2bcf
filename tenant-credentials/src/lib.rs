//! Tenant credentials for backends behind the tenantctl authorizer.
//!
//! The authorizer hands the backend `tenant_id`, `role_arn` and `sub` (API Gateway's
//! `requestContext.authorizer`). [`CredentialsCache::credentials`] assumes that role, which
//! must be one of the platform's ([`RolePin`]: its account and role path), with the session tag
//! `tenant_id=<tenant>` (which the role's trust policy requires, and which its ABAC policies
//! read as `${aws:PrincipalTag/tenant_id}`), `SourceIdentity` = the caller's `sub` and a
//! session name naming the user (CloudTrail tells users apart), and reuses the credentials
//! until [`DEFAULT_REFRESH_BEFORE_SECONDS`] before they expire. A failed AssumeRole is the
//! answer for [`DEFAULT_FAILURE_CACHE_SECONDS`]; the cache holds at most
//! [`DEFAULT_MAX_ENTRIES`] users' credentials (the least recently used go first).
//!
//! `SourceIdentity` needs `sts:SetSourceIdentity` in the role's trust policy, beside
//! `sts:AssumeRole` and `sts:TagSession`.
//!
//! ```no_run
//! # async fn demo(sts: aws_sdk_sts::Client) -> Result<(), tenant_credentials::Error> {
//! // sts: aws_sdk_sts::Client::new(&aws_config::load_from_env().await), built once per process
//! use tenant_credentials::{CredentialsCache, RolePin, StsAssumer, TenantContext};
//! let cache = CredentialsCache::new(StsAssumer::new(sts), RolePin::new("123456789012", "acmesaas")?);
//! let ctx = TenantContext::new(
//!     "acme",
//!     "arn:aws:iam::123456789012:role/tenantctl/acmesaas/acmesaas-acme-admin",
//!     "11111111-2222-3333-4444-555555555555",
//! )?;
//! let creds = cache.credentials(&ctx).await?;
//! let for_sdk: aws_credential_types::Credentials = creds.into();
//! # Ok(()) }
//! ```

pub mod partition;

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Credentials are refreshed this long before they expire.
pub const DEFAULT_REFRESH_BEFORE_SECONDS: u64 = 300;
/// A failed AssumeRole is the answer for this long (no new STS call for that user).
pub const DEFAULT_FAILURE_CACHE_SECONDS: u64 = 5;
/// At most this many (tenant, role, user) entries are cached.
pub const DEFAULT_MAX_ENTRIES: usize = 10_000;
/// STS's limit on `RoleSessionName` and `SourceIdentity`.
pub const MAX_SESSION_NAME: usize = 64;
/// The session tag that carries the tenant.
pub const TENANT_TAG: &str = "tenant_id";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The context is not a tenant and that tenant's contract role ARN.
    InvalidContext(String),
    /// AssumeRole failed.
    Assume(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidContext(m) => write!(f, "invalid tenant context: {m}"),
            Error::Assume(m) => write!(f, "AssumeRole failed: {m}"),
        }
    }
}

impl std::error::Error for Error {}

/// The platform whose tenant roles a [`CredentialsCache`] may assume: a role ARN of another
/// account, or outside the path `/tenantctl/<platform>/`, is refused before any STS call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolePin {
    account_id: String,
    platform: String,
}

impl RolePin {
    /// `account_id`: 12 digits; `platform`: the platform's name (`^[a-z][a-z0-9]{0,19}$`).
    pub fn new(account_id: &str, platform: &str) -> Result<Self, Error> {
        if account_id.len() != 12 || !account_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::InvalidContext(format!("account id {account_id:?} is not 12 digits")));
        }
        let p = platform.as_bytes();
        if p.is_empty()
            || p.len() > 20
            || !p[0].is_ascii_lowercase()
            || !p.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            return Err(Error::InvalidContext(format!("platform {platform:?} is not a platform name")));
        }
        Ok(RolePin { account_id: account_id.to_string(), platform: platform.to_string() })
    }

    /// Errors unless `ctx`'s role is in the pinned account, under `/tenantctl/<platform>/`.
    pub fn check(&self, ctx: &TenantContext) -> Result<(), Error> {
        let mut f = ctx.role_arn.split(':');
        let account = f.nth(4).unwrap_or("");
        if account != self.account_id {
            return Err(Error::InvalidContext(format!(
                "role_arn {:?} is not a role of account {}",
                ctx.role_arn, self.account_id
            )));
        }
        let path = format!(":role/tenantctl/{}/{}-", self.platform, self.platform);
        if !ctx.role_arn.contains(&path) {
            return Err(Error::InvalidContext(format!(
                "role_arn {:?} is not a role of platform {} (path /tenantctl/{}/)",
                ctx.role_arn, self.platform, self.platform
            )));
        }
        Ok(())
    }
}

/// The authorizer's context, checked: `role_arn` is
/// `arn:<partition>:iam::<account>:role/tenantctl/<platform>/<platform>-<tenant>-<role>` for
/// `tenant_id` itself (or, with shared roles, `<platform>-<role>`: the session tag binds the
/// tenant), and `sub` (the caller) is usable as STS's `SourceIdentity`
/// (`[\w+=,.@-]`, 2 to 64 characters; a Cognito `sub` is a UUID).
/// [`CredentialsCache::credentials`] also checks the [`RolePin`] and that `<partition>` is the
/// partition of the STS client's region ([`partition::partition_for_region`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TenantContext {
    tenant_id: String,
    role_arn: String,
    sub: String,
}

/// STS's `[\w+=,.@-]` (`\w`: ASCII letters, digits, `_`).
fn is_sts_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'=' | b',' | b'.' | b'@' | b'-')
}

impl TenantContext {
    pub fn new(tenant_id: &str, role_arn: &str, sub: &str) -> Result<Self, Error> {
        if !is_tenant_id(tenant_id) {
            return Err(Error::InvalidContext(format!("tenant_id {tenant_id:?}")));
        }
        check_role_arn(tenant_id, role_arn)
            .map_err(|m| Error::InvalidContext(format!("role_arn {role_arn:?}: {m}")))?;
        if sub.len() < 2 || sub.len() > MAX_SESSION_NAME || !sub.bytes().all(is_sts_name_char) {
            return Err(Error::InvalidContext(format!("sub {sub:?} is not [\\w+=,.@-]{{2,64}}")));
        }
        Ok(TenantContext { tenant_id: tenant_id.to_string(), role_arn: role_arn.to_string(), sub: sub.to_string() })
    }

    /// From the authorizer context map (`tenant_id`, `role_arn`, `sub`).
    pub fn from_authorizer_context<S: std::hash::BuildHasher>(ctx: &HashMap<String, String, S>) -> Result<Self, Error> {
        let get = |k: &str| ctx.get(k).map(String::as_str).ok_or_else(|| Error::InvalidContext(format!("no {k}")));
        TenantContext::new(get("tenant_id")?, get("role_arn")?, get("sub")?)
    }

    pub fn tenant_id(&self) -> &str {
        &self.tenant_id
    }

    /// The caller (`SourceIdentity`).
    pub fn sub(&self) -> &str {
        &self.sub
    }

    /// The role session name: `<sub>@<tenant>`, the tenant cut to fit STS's 64 characters
    /// (the `sub`, which tells users apart, is never cut).
    pub fn session_name(&self) -> String {
        let mut name = format!("{}@{}", self.sub, self.tenant_id);
        name.truncate(MAX_SESSION_NAME);
        name
    }

    pub fn role_arn(&self) -> &str {
        &self.role_arn
    }

    /// The ARN partition of `role_arn` (`aws`, `aws-cn`, `aws-us-gov`, ...).
    pub fn partition(&self) -> &str {
        self.role_arn.split(':').nth(1).unwrap_or("")
    }

    /// Errors unless the role is in the partition of `region` (one region table: partition.rs).
    pub fn check_partition(&self, region: &str) -> Result<(), Error> {
        let want = partition::partition_for_region(region).name;
        if self.partition() != want {
            return Err(Error::InvalidContext(format!(
                "role_arn {:?} is in partition {:?}, but region {region} is in {want:?}",
                self.role_arn,
                self.partition()
            )));
        }
        Ok(())
    }
}

fn is_tenant_id(s: &str) -> bool {
    let b = s.as_bytes();
    let edge = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    !b.is_empty()
        && b.len() <= 32
        && edge(b[0])
        && edge(b[b.len() - 1])
        && b.iter().all(|&c| edge(c) || c == b'-')
        && !s.starts_with("aws")
}

fn check_role_arn(tenant: &str, arn: &str) -> Result<(), String> {
    let mut f = arn.splitn(6, ':');
    let (a, partition, service, region, account, resource) =
        (f.next(), f.next(), f.next(), f.next(), f.next(), f.next());
    if a != Some("arn")
        || !partition.is_some_and(|p| p.starts_with("aws"))
        || service != Some("iam")
        || region != Some("")
    {
        return Err("not an IAM ARN".into());
    }
    if !account.is_some_and(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit())) {
        return Err("bad account".into());
    }
    let parts: Vec<&str> = resource.unwrap_or("").split('/').collect();
    let [kind, "tenantctl", platform, name] = parts.as_slice() else {
        return Err("not a role under /tenantctl/<platform>/".into());
    };
    if *kind != "role" || platform.is_empty() || !platform.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        return Err("not a role under /tenantctl/<platform>/".into());
    }
    // A shared role (contract §1.7 `tenancy.roles: shared`): `<platform>-<role>`, every
    // tenant's, reached with the session tag `tenant_id` (which the credentials carry, and
    // the cache keys by tenant). Never the authorizer's execution role.
    if let Some(role) = name.strip_prefix(&format!("{platform}-")) {
        let b = role.as_bytes();
        if !b.is_empty()
            && b.len() <= 16
            && b[0].is_ascii_lowercase()
            && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            && role != "authorizer"
        {
            return Ok(());
        }
    }
    let role = name
        .strip_prefix(&format!("{platform}-{tenant}-"))
        .ok_or_else(|| format!("role name is not {platform}-{tenant}-<role> (or the shared {platform}-<role>)"))?;
    if role.is_empty() || !role.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) {
        return Err(format!("role name is not {platform}-{tenant}-<role>"));
    }
    Ok(())
}

/// Temporary credentials, with their expiry in seconds since the Unix epoch.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    pub expires_at: u64,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .field("session_token", &"** redacted **")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl From<Credentials> for aws_credential_types::Credentials {
    fn from(c: Credentials) -> Self {
        aws_credential_types::Credentials::new(
            c.access_key_id,
            c.secret_access_key,
            Some(c.session_token),
            Some(UNIX_EPOCH + Duration::from_secs(c.expires_at)),
            "tenant-credentials",
        )
    }
}

/// One AssumeRole call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumeRequest {
    pub role_arn: String,
    pub session_name: String,
    /// Sent as the session tag `tenant_id`.
    pub tenant_id: String,
    /// Sent as `SourceIdentity`: the caller's `sub`.
    pub source_identity: String,
    pub duration_seconds: Option<i32>,
}

/// Calls STS (or a fake in tests).
pub trait RoleAssumer: Send + Sync {
    fn assume_role(&self, req: AssumeRequest) -> impl Future<Output = Result<Credentials, Error>> + Send;

    /// The region the calls go to, when known: a role ARN of another partition is refused
    /// before any call.
    fn region(&self) -> Option<String> {
        None
    }
}

/// The real assumer: STS AssumeRole with the session tag.
#[derive(Clone, Debug)]
pub struct StsAssumer {
    client: aws_sdk_sts::Client,
}

impl StsAssumer {
    pub fn new(client: aws_sdk_sts::Client) -> Self {
        StsAssumer { client }
    }
}

impl RoleAssumer for StsAssumer {
    fn region(&self) -> Option<String> {
        self.client.config().region().map(|r| r.as_ref().to_string())
    }

    async fn assume_role(&self, req: AssumeRequest) -> Result<Credentials, Error> {
        let tag = aws_sdk_sts::types::Tag::builder()
            .key(TENANT_TAG)
            .value(&req.tenant_id)
            .build()
            .map_err(|e| Error::Assume(e.to_string()))?;
        let out = self
            .client
            .assume_role()
            .role_arn(&req.role_arn)
            .role_session_name(&req.session_name)
            .source_identity(&req.source_identity)
            .tags(tag)
            .set_duration_seconds(req.duration_seconds)
            .send()
            .await
            .map_err(|e| Error::Assume(aws_sdk_sts::error::DisplayErrorContext(&e).to_string()))?;
        let c = out.credentials().ok_or_else(|| Error::Assume("no credentials in the response".into()))?;
        Ok(Credentials {
            access_key_id: c.access_key_id().to_string(),
            secret_access_key: c.secret_access_key().to_string(),
            session_token: c.session_token().to_string(),
            expires_at: u64::try_from(c.expiration().secs()).unwrap_or(0),
        })
    }
}

/// Seconds since the Unix epoch; injectable for tests.
pub trait Clock: Send + Sync {
    fn now_unix(&self) -> u64;
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix(&self) -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
    }
}

/// What a slot holds: credentials, or a failure with its time.
#[derive(Clone)]
enum Cached {
    Credentials(Credentials),
    Failed(Error, u64),
}

type Slot = Arc<tokio::sync::Mutex<Option<Cached>>>;
/// The slots by key, each with the use counter of its last use; and the counter.
type Slots = (HashMap<TenantContext, (Slot, u64)>, u64);

/// Credentials per (tenant, role ARN, caller), refreshed `refresh_before` seconds before
/// expiry. One AssumeRole at a time per key: concurrent callers wait for it instead of calling
/// STS too.
pub struct CredentialsCache<A, C = SystemClock> {
    assumer: A,
    clock: C,
    pin: RolePin,
    refresh_before: u64,
    failure_seconds: u64,
    max_entries: usize,
    duration_seconds: Option<i32>,
    region: Option<String>,
    /// Slot and the use counter of its last use (the least recently used is evicted first).
    slots: Mutex<Slots>,
}

impl<A: RoleAssumer> CredentialsCache<A, SystemClock> {
    pub fn new(assumer: A, pin: RolePin) -> Self {
        CredentialsCache::with_clock(assumer, pin, SystemClock)
    }
}

impl<A: RoleAssumer, C: Clock> CredentialsCache<A, C> {
    pub fn with_clock(assumer: A, pin: RolePin, clock: C) -> Self {
        CredentialsCache {
            assumer,
            clock,
            pin,
            refresh_before: DEFAULT_REFRESH_BEFORE_SECONDS,
            failure_seconds: DEFAULT_FAILURE_CACHE_SECONDS,
            max_entries: DEFAULT_MAX_ENTRIES,
            duration_seconds: None,
            region: None,
            slots: Mutex::new((HashMap::new(), 0)),
        }
    }

    /// Refresh this many seconds before expiry (default 300).
    pub fn refresh_before(mut self, seconds: u64) -> Self {
        self.refresh_before = seconds;
        self
    }

    /// A failed AssumeRole is the answer for this long (default 5 s; 0: never remembered).
    pub fn failure_cache_seconds(mut self, seconds: u64) -> Self {
        self.failure_seconds = seconds;
        self
    }

    /// At most this many entries (default 10,000, at least 1).
    pub fn max_entries(mut self, n: usize) -> Self {
        self.max_entries = n.max(1);
        self
    }

    /// Requested session duration (STS default: one hour; at most the role's maximum).
    pub fn duration_seconds(mut self, seconds: i32) -> Self {
        self.duration_seconds = Some(seconds);
        self
    }

    /// The region whose partition role ARNs must be in (default: the assumer's region, for
    /// [`StsAssumer`] the STS client's).
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    pub fn assumer(&self) -> &A {
        &self.assumer
    }

    /// How many entries the cache holds.
    pub fn len(&self) -> usize {
        self.slots.lock().unwrap_or_else(|p| p.into_inner()).0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Credentials of the tenant's role for the caller, from the cache or a fresh AssumeRole.
    /// A role ARN of another account or platform ([`RolePin`]) or of another partition than
    /// the region's is an error, before any STS call.
    pub async fn credentials(&self, ctx: &TenantContext) -> Result<Credentials, Error> {
        self.pin.check(ctx)?;
        if let Some(region) = self.region.clone().or_else(|| self.assumer.region()) {
            ctx.check_partition(&region)?;
        }
        let slot = self.slot(ctx);
        let mut held = slot.lock().await;
        let now = self.clock.now_unix();
        match held.as_ref() {
            Some(Cached::Credentials(c)) if now.saturating_add(self.refresh_before) < c.expires_at => {
                return Ok(c.clone())
            }
            Some(Cached::Failed(e, at)) if now.saturating_sub(*at) < self.failure_seconds => return Err(e.clone()),
            _ => {}
        }
        let fresh = self
            .assumer
            .assume_role(AssumeRequest {
                role_arn: ctx.role_arn.clone(),
                session_name: ctx.session_name(),
                tenant_id: ctx.tenant_id.clone(),
                source_identity: ctx.sub.clone(),
                duration_seconds: self.duration_seconds,
            })
            .await;
        *held = Some(match &fresh {
            Ok(c) => Cached::Credentials(c.clone()),
            Err(e) => Cached::Failed(e.clone(), now),
        });
        fresh
    }

    /// The slot of `ctx`, made room for: when the cache is full, the least recently used
    /// entry goes.
    fn slot(&self, ctx: &TenantContext) -> Slot {
        let mut guard = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        let (slots, tick) = &mut *guard;
        *tick += 1;
        if let Some((slot, used)) = slots.get_mut(ctx) {
            *used = *tick;
            return slot.clone();
        }
        while slots.len() >= self.max_entries {
            let Some(oldest) = slots.iter().min_by_key(|(_, (_, used))| *used).map(|(k, _)| k.clone()) else { break };
            slots.remove(&oldest);
        }
        let slot = Slot::default();
        slots.insert(ctx.clone(), (slot.clone(), *tick));
        slot
    }

    /// Drops every cached credential.
    pub fn clear(&self) {
        self.slots.lock().unwrap_or_else(|p| p.into_inner()).0.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

    const ARN: &str = "arn:aws:iam::123456789012:role/tenantctl/acmesaas/acmesaas-acme-admin";
    const SUB: &str = "11111111-2222-3333-4444-555555555555";

    fn pin() -> RolePin {
        RolePin::new("123456789012", "acmesaas").unwrap()
    }

    #[derive(Default)]
    struct FakeSts {
        calls: AtomicUsize,
        requests: Mutex<Vec<AssumeRequest>>,
        now: Arc<AtomicU64>,
        fail: std::sync::atomic::AtomicBool,
    }

    impl RoleAssumer for Arc<FakeSts> {
        async fn assume_role(&self, req: AssumeRequest) -> Result<Credentials, Error> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            self.requests.lock().unwrap().push(req.clone());
            tokio::task::yield_now().await;
            if self.fail.load(Ordering::SeqCst) {
                return Err(Error::Assume("AccessDenied".into()));
            }
            Ok(Credentials {
                access_key_id: format!("ASIA{n}"),
                secret_access_key: "secret".into(),
                session_token: "token".into(),
                expires_at: self.now.load(Ordering::SeqCst) + 3600,
            })
        }
    }

    struct TestClock(Arc<AtomicU64>);

    impl Clock for TestClock {
        fn now_unix(&self) -> u64 {
            self.0.load(Ordering::SeqCst)
        }
    }

    fn setup() -> (CredentialsCache<Arc<FakeSts>, TestClock>, Arc<FakeSts>, Arc<AtomicU64>) {
        let now = Arc::new(AtomicU64::new(1_700_000_000));
        let sts = Arc::new(FakeSts { now: now.clone(), ..Default::default() });
        (CredentialsCache::with_clock(sts.clone(), pin(), TestClock(now.clone())), sts, now)
    }

    #[tokio::test]
    async fn caches_until_five_minutes_before_expiry() {
        let (cache, sts, now) = setup();
        let ctx = TenantContext::new("acme", ARN, SUB).unwrap();
        let first = cache.credentials(&ctx).await.unwrap();
        assert_eq!(sts.calls.load(Ordering::SeqCst), 1);
        let req = sts.requests.lock().unwrap()[0].clone();
        assert_eq!(req.role_arn, ARN);
        assert_eq!(req.tenant_id, "acme");
        assert_eq!(req.session_name, format!("{SUB}@acme"));
        assert_eq!(req.source_identity, SUB);

        now.fetch_add(3600 - 301, Ordering::SeqCst);
        assert_eq!(cache.credentials(&ctx).await.unwrap(), first);
        assert_eq!(sts.calls.load(Ordering::SeqCst), 1);

        now.fetch_add(1, Ordering::SeqCst); // 300 s left: refresh
        let second = cache.credentials(&ctx).await.unwrap();
        assert_ne!(second, first);
        assert_eq!(sts.calls.load(Ordering::SeqCst), 2);
        assert_eq!(cache.credentials(&ctx).await.unwrap(), second);
        assert_eq!(sts.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn one_entry_per_tenant_role_and_single_flight() {
        let (cache, sts, _) = setup();
        let acme = TenantContext::new("acme", ARN, SUB).unwrap();
        let globex = TenantContext::new(
            "globex",
            "arn:aws:iam::123456789012:role/tenantctl/acmesaas/acmesaas-globex-member",
            SUB,
        )
        .unwrap();
        let calls = (0..10).map(|i| {
            let ctx = if i % 2 == 0 { acme.clone() } else { globex.clone() };
            let cache = &cache;
            async move { cache.credentials(&ctx).await.unwrap() }
        });
        let got = futures_join_all(calls).await;
        assert_eq!(sts.calls.load(Ordering::SeqCst), 2);
        assert!(got.iter().step_by(2).all(|c| *c == got[0]));
        let tags: Vec<String> = sts.requests.lock().unwrap().iter().map(|r| r.tenant_id.clone()).collect();
        assert!(tags.contains(&"acme".to_string()) && tags.contains(&"globex".to_string()));
    }

    // A tiny join_all (no futures dependency): runs the futures concurrently on this task.
    async fn futures_join_all<F: Future>(fs: impl IntoIterator<Item = F>) -> Vec<F::Output> {
        let handles: Vec<_> = fs.into_iter().map(Box::pin).collect();
        let mut outs: Vec<Option<F::Output>> = handles.iter().map(|_| None).collect();
        let mut handles: Vec<Option<_>> = handles.into_iter().map(Some).collect();
        std::future::poll_fn(|cx| {
            let mut pending = false;
            for (h, o) in handles.iter_mut().zip(outs.iter_mut()) {
                if let Some(f) = h {
                    match f.as_mut().poll(cx) {
                        std::task::Poll::Ready(v) => {
                            *o = Some(v);
                            *h = None;
                        }
                        std::task::Poll::Pending => pending = true,
                    }
                }
            }
            if pending {
                std::task::Poll::Pending
            } else {
                std::task::Poll::Ready(())
            }
        })
        .await;
        outs.into_iter().map(Option::unwrap).collect()
    }

    /// Issue 23 item 5: before, every request after a failed AssumeRole called STS again.
    #[tokio::test]
    async fn a_failed_assume_role_is_remembered_briefly() {
        let (cache, sts, now) = setup();
        let ctx = TenantContext::new("acme", ARN, SUB).unwrap();
        sts.fail.store(true, Ordering::SeqCst);
        assert!(matches!(cache.credentials(&ctx).await, Err(Error::Assume(_))));
        sts.fail.store(false, Ordering::SeqCst);
        now.fetch_add(DEFAULT_FAILURE_CACHE_SECONDS - 1, Ordering::SeqCst);
        assert!(matches!(cache.credentials(&ctx).await, Err(Error::Assume(_))), "the failure is the answer");
        assert_eq!(sts.calls.load(Ordering::SeqCst), 1);
        now.fetch_add(1, Ordering::SeqCst);
        assert!(cache.credentials(&ctx).await.is_ok());
        assert_eq!(sts.calls.load(Ordering::SeqCst), 2);
    }

    /// Issue 23 item 5: before, `TenantContext::new("acme", <a role of any account>)` was
    /// assumed with `tenant_id=acme`.
    #[tokio::test]
    async fn pins_the_account_and_the_platforms_role_path() {
        let (cache, sts, _) = setup();
        for arn in [
            "arn:aws:iam::999999999999:role/tenantctl/acmesaas/acmesaas-acme-admin",
            "arn:aws:iam::123456789012:role/tenantctl/othersaas/othersaas-acme-admin",
        ] {
            let ctx = TenantContext::new("acme", arn, SUB).unwrap();
            let err = cache.credentials(&ctx).await.unwrap_err();
            assert!(matches!(&err, Error::InvalidContext(_)), "{arn}: {err}");
        }
        assert_eq!(sts.calls.load(Ordering::SeqCst), 0, "refused before any STS call");
        assert!(cache.credentials(&TenantContext::new("acme", ARN, SUB).unwrap()).await.is_ok());
        for (account, platform) in [("12345", "acmesaas"), ("123456789012", "Acme"), ("123456789012", "")] {
            assert!(RolePin::new(account, platform).is_err(), "{account} {platform}");
        }
    }

    /// Issue 23 item 5: before, the session name was `tenantctl-<tenant>` (no user told apart)
    /// and no `SourceIdentity` was set.
    #[tokio::test]
    async fn source_identity_is_the_caller_and_the_session_name_names_the_user() {
        let (cache, sts, _) = setup();
        let long = "a".repeat(32);
        let long_arn = format!("arn:aws:iam::123456789012:role/tenantctl/acmesaas/acmesaas-{long}-admin");
        let other = "99999999-8888-7777-6666-555555555555";
        for ctx in [
            TenantContext::new("acme", ARN, SUB).unwrap(),
            TenantContext::new("acme", ARN, other).unwrap(),
            TenantContext::new(&long, &long_arn, SUB).unwrap(),
        ] {
            cache.credentials(&ctx).await.unwrap();
        }
        let reqs = sts.requests.lock().unwrap().clone();
        assert_eq!(reqs.len(), 3, "one entry per caller");
        assert_eq!((reqs[0].source_identity.as_str(), reqs[0].session_name.as_str()), (SUB, &*format!("{SUB}@acme")));
        assert_eq!(reqs[1].source_identity, other);
        assert_eq!(reqs[2].session_name.len(), MAX_SESSION_NAME);
        assert!(reqs[2].session_name.starts_with(&format!("{SUB}@aaa")));
        for r in &reqs {
            assert!(r.session_name.bytes().all(is_sts_name_char) && r.session_name.len() <= 64, "{r:?}");
        }
        for bad in ["", "a", "a b", "a/b", "ü", &"a".repeat(65)] {
            assert!(TenantContext::new("acme", ARN, bad).is_err(), "{bad:?}");
        }
        let map: HashMap<String, String> = [("tenant_id", "acme"), ("role_arn", ARN)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert!(TenantContext::from_authorizer_context(&map).is_err(), "no sub");
    }

    /// Issue 23 item 5: before, the cache grew without bound.
    #[tokio::test]
    async fn the_cache_is_bounded_least_recently_used_first() {
        let (cache, sts, _) = setup();
        let cache = cache.max_entries(3);
        let user = |i: usize| TenantContext::new("acme", ARN, &format!("user-{i}")).unwrap();
        for i in 0..3 {
            cache.credentials(&user(i)).await.unwrap();
        }
        cache.credentials(&user(0)).await.unwrap(); // user 0 used again: user 1 is the oldest
        assert_eq!(sts.calls.load(Ordering::SeqCst), 3);
        for i in 3..6 {
            cache.credentials(&user(i)).await.unwrap();
            assert!(cache.len() <= 3);
        }
        assert_eq!(cache.len(), 3);
        cache.credentials(&user(5)).await.unwrap();
        assert_eq!(sts.calls.load(Ordering::SeqCst), 6, "the newest still cached");
        cache.credentials(&user(1)).await.unwrap();
        assert_eq!(sts.calls.load(Ordering::SeqCst), 7, "evicted");
    }

    #[test]
    fn context_must_name_the_tenants_own_role() {
        assert!(TenantContext::new("acme", ARN, SUB).is_ok());
        assert!(TenantContext::new(
            "acme-corp",
            "arn:aws:iam::123456789012:role/tenantctl/acmesaas/acmesaas-acme-corp-admin",
            SUB
        )
        .is_ok());
        for (tenant, arn) in [
            ("globex", ARN),
            ("acme", "arn:aws:iam::123456789012:role/acmesaas-acme-admin"),
            ("acme", "arn:aws:iam::123456789012:role/tenantctl/acmesaas/acmesaas-acme-"),
            ("acme", "arn:aws:iam::123456789012:role/tenantctl/acmesaas/other-acme-admin"),
            ("acme", "arn:aws:iam::123456789012:user/tenantctl/acmesaas/acmesaas-acme-admin"),
            ("acme", "arn:aws:iam::1234:role/tenantctl/acmesaas/acmesaas-acme-admin"),
            ("acme", "arn:aws:sts::123456789012:role/tenantctl/acmesaas/acmesaas-acme-admin"),
            ("acme", "arn:aws:iam::123456789012:role/tenantctl/acmesaas/acmesaas-acme-*"),
            ("*", ARN),
            ("awsacme", "arn:aws:iam::123456789012:role/tenantctl/acmesaas/acmesaas-awsacme-admin"),
        ] {
            assert!(TenantContext::new(tenant, arn, SUB).is_err(), "{tenant} {arn}");
        }
        let map: HashMap<String, String> = [("tenant_id", "acme"), ("role_arn", ARN), ("sub", SUB)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(TenantContext::from_authorizer_context(&map).unwrap().tenant_id(), "acme");
        // Shared roles (contract §1.7): `<platform>-<role>`, for any tenant; never the
        // authorizer's execution role, never another tenant's role.
        let shared = "arn:aws:iam::123456789012:role/tenantctl/acmesaas/acmesaas-member";
        assert!(TenantContext::new("acme", shared, SUB).is_ok());
        assert!(TenantContext::new("globex", shared, SUB).is_ok());
        for arn in [
            "arn:aws:iam::123456789012:role/tenantctl/acmesaas/acmesaas-authorizer",
            "arn:aws:iam::123456789012:role/tenantctl/acmesaas/acmesaas-Member",
            "arn:aws:iam::123456789012:role/tenantctl/acmesaas/acmesaas-",
            "arn:aws:iam::123456789012:role/tenantctl/acmesaas/acmesaas-globex-member",
        ] {
            assert!(TenantContext::new("acme", arn, SUB).is_err(), "{arn}");
        }
    }

    #[tokio::test]
    async fn role_arn_must_be_in_the_regions_partition() {
        let (cache, sts, _) = setup();
        let cache = cache.region("cn-north-1");
        let aws = TenantContext::new("acme", ARN, SUB).unwrap();
        let err = cache.credentials(&aws).await.unwrap_err();
        assert!(matches!(&err, Error::InvalidContext(m) if m.contains("aws-cn")), "{err}");
        assert_eq!(sts.calls.load(Ordering::SeqCst), 0, "refused before any STS call");
        let cn =
            TenantContext::new("acme", "arn:aws-cn:iam::123456789012:role/tenantctl/acmesaas/acmesaas-acme-admin", SUB)
                .unwrap();
        assert_eq!(cn.partition(), "aws-cn");
        assert!(cache.credentials(&cn).await.is_ok());
        assert!(cn.check_partition("us-east-1").is_err());
        assert!(aws.check_partition("us-east-1").is_ok());
        let gov = TenantContext::new(
            "acme",
            "arn:aws-us-gov:iam::123456789012:role/tenantctl/acmesaas/acmesaas-acme-admin",
            SUB,
        )
        .unwrap();
        assert!(gov.check_partition("us-gov-west-1").is_ok());
        assert!(gov.check_partition("us-east-1").is_err());
    }

    #[test]
    fn sts_assumer_knows_its_region() {
        let conf = aws_sdk_sts::Config::builder()
            .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
            .region(aws_sdk_sts::config::Region::new("cn-northwest-1"))
            .build();
        let assumer = StsAssumer::new(aws_sdk_sts::Client::from_conf(conf));
        assert_eq!(assumer.region().as_deref(), Some("cn-northwest-1"));
    }

    #[test]
    fn debug_redacts_secrets() {
        let c = Credentials {
            access_key_id: "ASIA".into(),
            secret_access_key: "s3cr3t".into(),
            session_token: "t0k3n".into(),
            expires_at: 1,
        };
        let d = format!("{c:?}");
        assert!(!d.contains("s3cr3t") && !d.contains("t0k3n"));
        let sdk: aws_credential_types::Credentials = c.into();
        assert_eq!(sdk.access_key_id(), "ASIA");
    }
}
