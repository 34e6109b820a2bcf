//! Request-rate limits (token buckets), so apply stays under AWS's request quotas instead of
//! learning them from refusals.
//!
//! Two kinds of bucket:
//! - per account and Region, one per [`Category`] (Cognito's published operation categories,
//!   API Gateway's and Lambda's documented rates, a conservative IAM rate);
//! - per user pool, for the Cognito categories that AWS also limits per pool
//!   (UserPoolResourceRead/Update and UserPoolClientRead/Update: 5 requests per second per
//!   pool). A call in such a category takes a token from its category bucket and from its
//!   pool's bucket.
//!
//! Which operation is in which category is [`OPERATIONS`], one table with its sources.
//! Published quotas (Cognito's, API Gateway's, Lambda's) are kept exactly, never probed.
//! Unpublished ones (IAM's read and write rates) are learned per category by this limiter,
//! the way the client-side rate limiter of the AWS SDKs' adaptive retry mode does (tenantctl
//! does not use that mode: the SDK makes standard retries, see `aws::connect`): start at a
//! conservative rate with a burst of at most 2, raise it while calls succeed, halve it when a
//! call of the category is retried. A retried call of any other category (throttling, 5xx)
//! slows the account-wide buckets of the published rates down for a few seconds (each retry
//! halves them, down to 1/16); the per-pool buckets always keep the per-pool quota.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    UserPoolRead,
    UserPoolUpdate,
    UserPoolResourceRead,
    UserPoolResourceUpdate,
    UserPoolClientRead,
    UserPoolClientUpdate,
    UserList,
    IamRead,
    IamWrite,
    ApiGateway,
    /// API Gateway `GetResources`: 5 requests per 2 seconds per account.
    ApiGatewayGetResources,
    /// API Gateway `CreateApiKey`: 5 requests per second per account.
    ApiGatewayCreateApiKey,
    Lambda,
    /// CloudWatch alarm writes (PutMetricAlarm, DeleteAlarms, TagResource, UntagResource).
    CloudWatchWrite,
    /// CloudWatch reads (DescribeAlarms, ListTagsForResource).
    CloudWatchRead,
}

/// Cognito's per-pool rate for the resource and client categories (requests per second).
/// Source: "Quotas in Amazon Cognito", operation categories, footnote on per user pool rates;
/// Service Quotas: "Rate of UserPoolResourceUpdate requests per user pool" (5).
pub const PER_POOL_RATE: f64 = 5.0;

/// The share of a hard per-pool quota tenantctl uses: requests leave this process 1/rate
/// apart, but reach AWS with jitter (network, scheduling); at 90% six requests would have to
/// arrive 110 ms closer than they left to put six in one second. Measured through the strict
/// emulator on a loaded 2-core machine, 95% was not enough (tests/aws_fidelity.rs).
const PER_POOL_HEADROOM: f64 = 0.9;

impl Category {
    /// Requests per second per account and Region, with the source of each number.
    pub fn default_rate(self) -> f64 {
        match self {
            // "Quotas in Amazon Cognito", API request rate quotas (per account and Region).
            Category::UserPoolRead => 15.0,
            Category::UserPoolUpdate => 15.0,
            Category::UserPoolResourceRead => 20.0,
            Category::UserPoolResourceUpdate => 15.0,
            Category::UserPoolClientRead => 15.0,
            Category::UserPoolClientUpdate => 15.0,
            Category::UserList => 30.0,
            // IAM publishes no rate: where its learned rates start (see `adaptive`).
            Category::IamRead => 20.0,
            Category::IamWrite => 10.0,
            // "Amazon API Gateway quotas": control-plane calls, 10 requests/s per account
            // (most operations), GetResources 5 requests per 2 seconds.
            Category::ApiGateway => 10.0,
            Category::ApiGatewayGetResources => 2.5,
            // "Amazon API Gateway quotas", CreateApiKey: 5 requests per second per account.
            Category::ApiGatewayCreateApiKey => 5.0,
            // Lambda control plane (function configuration) API: 15 rps documented; 10 kept.
            Category::Lambda => 10.0,
            // "CloudWatch service quotas", API requests (per account and Region):
            // PutMetricAlarm 3 TPS, DescribeAlarms 9 TPS. DeleteAlarms and the tagging calls
            // are kept at the alarm-write rate.
            Category::CloudWatchWrite => 3.0,
            Category::CloudWatchRead => 9.0,
        }
    }

    /// Whether AWS publishes no rate for this category, so the limiter finds it out: start at
    /// [`Category::default_rate`], raise it while calls succeed, halve it when a call is
    /// retried (like the rate limiter of the AWS SDKs' adaptive retry mode, but per category
    /// and in tenantctl: the SDK itself makes standard retries). Published quotas are never
    /// probed.
    pub fn adaptive(self) -> bool {
        matches!(self, Category::IamRead | Category::IamWrite)
    }

    /// Whether AWS also limits this category per user pool.
    pub fn per_pool(self) -> bool {
        matches!(
            self,
            Category::UserPoolResourceRead
                | Category::UserPoolResourceUpdate
                | Category::UserPoolClientRead
                | Category::UserPoolClientUpdate
        )
    }
}

/// Operation -> category, for every AWS operation tenantctl calls. Cognito: the "Quotas in
/// Amazon Cognito" page, table "Operation categories"; API Gateway and Lambda: their quota
/// pages; IAM: reads and writes.
pub const OPERATIONS: &[(&str, Category)] = &[
    ("cognito-idp:ListUserPools", Category::UserPoolRead),
    ("cognito-idp:DescribeUserPool", Category::UserPoolRead),
    ("cognito-idp:GetUserPoolMfaConfig", Category::UserPoolRead),
    ("cognito-idp:DescribeUserPoolDomain", Category::UserPoolRead),
    ("cognito-idp:CreateUserPool", Category::UserPoolUpdate),
    ("cognito-idp:UpdateUserPool", Category::UserPoolUpdate),
    ("cognito-idp:DeleteUserPool", Category::UserPoolUpdate),
    ("cognito-idp:SetUserPoolMfaConfig", Category::UserPoolUpdate),
    ("cognito-idp:AddCustomAttributes", Category::UserPoolUpdate),
    ("cognito-idp:CreateUserPoolDomain", Category::UserPoolUpdate),
    ("cognito-idp:DeleteUserPoolDomain", Category::UserPoolUpdate),
    ("cognito-idp:GetGroup", Category::UserPoolResourceRead),
    ("cognito-idp:ListGroups", Category::UserPoolResourceRead),
    ("cognito-idp:DescribeResourceServer", Category::UserPoolResourceRead),
    ("cognito-idp:ListResourceServers", Category::UserPoolResourceRead),
    ("cognito-idp:DescribeIdentityProvider", Category::UserPoolResourceRead),
    ("cognito-idp:ListIdentityProviders", Category::UserPoolResourceRead),
    ("cognito-idp:CreateGroup", Category::UserPoolResourceUpdate),
    ("cognito-idp:UpdateGroup", Category::UserPoolResourceUpdate),
    ("cognito-idp:DeleteGroup", Category::UserPoolResourceUpdate),
    ("cognito-idp:CreateResourceServer", Category::UserPoolResourceUpdate),
    ("cognito-idp:UpdateResourceServer", Category::UserPoolResourceUpdate),
    ("cognito-idp:DeleteResourceServer", Category::UserPoolResourceUpdate),
    ("cognito-idp:CreateIdentityProvider", Category::UserPoolResourceUpdate),
    ("cognito-idp:UpdateIdentityProvider", Category::UserPoolResourceUpdate),
    ("cognito-idp:DeleteIdentityProvider", Category::UserPoolResourceUpdate),
    ("cognito-idp:DescribeUserPoolClient", Category::UserPoolClientRead),
    ("cognito-idp:ListUserPoolClients", Category::UserPoolClientRead),
    ("cognito-idp:CreateUserPoolClient", Category::UserPoolClientUpdate),
    ("cognito-idp:UpdateUserPoolClient", Category::UserPoolClientUpdate),
    ("cognito-idp:DeleteUserPoolClient", Category::UserPoolClientUpdate),
    ("cognito-idp:ListUsers", Category::UserList),
    ("cognito-idp:ListUsersInGroup", Category::UserList),
    ("cognito-idp:AdminListGroupsForUser", Category::UserList),
    ("apigateway:GetResources", Category::ApiGatewayGetResources),
    ("apigateway:CreateApiKey", Category::ApiGatewayCreateApiKey),
];

/// The category of an operation named `service:Operation` (IAM and Lambda by their verb,
/// other API Gateway calls in the general API Gateway bucket).
pub fn category_of(op: &str) -> Category {
    if let Some((_, c)) = OPERATIONS.iter().find(|(o, _)| *o == op) {
        return *c;
    }
    let (service, name) = op.split_once(':').unwrap_or(("", op));
    match service {
        "iam" if ["Get", "List"].iter().any(|p| name.starts_with(p)) => Category::IamRead,
        "iam" => Category::IamWrite,
        "lambda" => Category::Lambda,
        "monitoring" if ["Describe", "List", "Get"].iter().any(|p| name.starts_with(p)) => Category::CloudWatchRead,
        "monitoring" => Category::CloudWatchWrite,
        "cognito-idp" if ["Get", "List", "Describe"].iter().any(|p| name.starts_with(p)) => Category::UserPoolRead,
        "cognito-idp" => Category::UserPoolUpdate,
        _ => Category::ApiGateway,
    }
}

struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn new(rate: f64, burst: f64) -> Self {
        Bucket { rate, burst, tokens: burst.min(1.0), last: Instant::now() }
    }

    /// Takes a token now, or says how long until one is there.
    fn take(&mut self, rate: f64) -> Option<Duration> {
        self.rate = rate;
        let now = Instant::now();
        let elapsed = now.duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            None
        } else {
            Some(Duration::from_secs_f64((1.0 - self.tokens) / self.rate))
        }
    }
}

/// The learned rate of an adaptive category.
#[derive(Debug, Clone, Copy)]
struct Learned {
    rate: f64,
    last_cut: Option<Instant>,
}

/// How fast an adaptive rate grows: requests/s added per call while nothing is throttled.
const ADAPTIVE_STEP: f64 = 0.2;
/// Calm time after a throttle before the rate grows again.
const ADAPTIVE_CALM: Duration = Duration::from_secs(2);
/// Throttles within this time of a cut answer requests sent before it (at the old rate): they
/// do not cut again, so one overshoot halves the rate once instead of once per request then
/// in flight (which would drop it to the minimum).
const ADAPTIVE_CUT_WINDOW: Duration = Duration::from_secs(1);
/// Bounds of an adaptive rate (requests per second).
const ADAPTIVE_MIN: f64 = 1.0;
const ADAPTIVE_MAX: f64 = 100.0;

/// Token buckets by category and by (user pool, category). A scale of 0 disables limiting.
pub struct Limiter {
    buckets: Mutex<HashMap<Category, Bucket>>,
    pools: Mutex<HashMap<(String, Category), Bucket>>,
    scale: f64,
    retries: std::sync::Mutex<Vec<Instant>>,
    learned: std::sync::Mutex<HashMap<Category, Learned>>,
}

/// How long a retry keeps the rates down.
const SLOWDOWN_WINDOW: Duration = Duration::from_secs(5);

impl Default for Limiter {
    fn default() -> Self {
        Limiter::new(1.0)
    }
}

impl Limiter {
    /// `scale` multiplies every account-wide default rate (e.g. 0.5 to run at half the
    /// quotas); 0 turns limiting off (an emulator). The per-pool rate is a hard published
    /// quota: it is never scaled up, only down.
    pub fn new(scale: f64) -> Self {
        Limiter {
            buckets: Mutex::new(HashMap::new()),
            pools: Mutex::new(HashMap::new()),
            scale,
            retries: std::sync::Mutex::new(Vec::new()),
            learned: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Records that a call of `op` was throttled or failed and is retried: an adaptive
    /// category halves its learned rate; every account-wide rate slows down for a few seconds.
    pub fn note_retry_of(&self, op: &str) {
        let cat = category_of(op);
        if cat.adaptive() {
            let mut l = self.learned.lock().unwrap();
            let e = l.entry(cat).or_insert(Learned { rate: cat.default_rate(), last_cut: None });
            if e.last_cut.is_none_or(|t| t.elapsed() >= ADAPTIVE_CUT_WINDOW) {
                e.rate = (e.rate * 0.5).max(ADAPTIVE_MIN);
                e.last_cut = Some(Instant::now());
            }
            return;
        }
        self.note_retry();
    }

    /// The rate in force for `cat` before scaling: learned for adaptive categories, the
    /// published or default rate otherwise.
    fn base_rate(&self, cat: Category) -> f64 {
        if !cat.adaptive() {
            return cat.default_rate();
        }
        let mut l = self.learned.lock().unwrap();
        l.entry(cat).or_insert(Learned { rate: cat.default_rate(), last_cut: None }).rate
    }

    /// One call of an adaptive category was let through: its learned rate grows by a call's
    /// worth while calm. Counted when a call is let through, not when one starts waiting: a
    /// plan's hundreds of ready IAM changes waiting at once would otherwise raise the rate by
    /// 0.2/s each before any call had shown that AWS takes it (they did: 36 writes/s against
    /// an account taking 25, 67 throttles, then the rate at its minimum).
    fn grow(&self, cat: Category) {
        if !cat.adaptive() {
            return;
        }
        let mut l = self.learned.lock().unwrap();
        let e = l.entry(cat).or_insert(Learned { rate: cat.default_rate(), last_cut: None });
        if e.last_cut.is_none_or(|t| t.elapsed() >= ADAPTIVE_CALM) {
            e.rate = (e.rate + ADAPTIVE_STEP).min(ADAPTIVE_MAX);
        }
    }

    /// The learned rate of an adaptive category (for statistics and tests).
    pub fn learned_rate(&self, cat: Category) -> Option<f64> {
        self.learned.lock().unwrap().get(&cat).map(|l| l.rate)
    }

    /// Records a retried request (called by the SDK interceptor).
    pub fn note_retry(&self) {
        let mut r = self.retries.lock().unwrap();
        let now = Instant::now();
        r.retain(|t| now.duration_since(*t) < SLOWDOWN_WINDOW);
        r.push(now);
    }

    /// The factor the rates are multiplied by now: 1, 1/2, 1/4 ... down to 1/16.
    pub fn slowdown(&self) -> f64 {
        let mut r = self.retries.lock().unwrap();
        let now = Instant::now();
        r.retain(|t| now.duration_since(*t) < SLOWDOWN_WINDOW);
        0.5f64.powi(r.len().min(4) as i32)
    }

    /// The per-pool rate in force (requests per second), 0 when limiting is off.
    pub fn per_pool_rate(&self) -> f64 {
        if self.scale <= 0.0 {
            0.0
        } else {
            PER_POOL_RATE * PER_POOL_HEADROOM * self.scale.min(1.0)
        }
    }

    /// Waits until one request of `cat` may be sent (account-wide bucket only).
    pub async fn acquire(&self, cat: Category) {
        if cat.default_rate() * self.scale <= 0.0 {
            return;
        }
        loop {
            let base = self.base_rate(cat);
            let slow = if cat.adaptive() { 1.0 } else { self.slowdown() };
            let rate = base * self.scale * slow;
            // Adaptive categories keep a small burst while they probe upwards.
            // CreateApiKey's quota is a hard per-second one: a burst of 1, so no one-second
            // window holds more than 5.
            let burst = if cat.adaptive() {
                rate.clamp(1.0, 2.0)
            } else if cat == Category::ApiGatewayCreateApiKey {
                1.0
            } else {
                // One token short of AWS's bucket: after an idle spell this bucket refills as
                // AWS's does, but the burst then leaves one token there for the jitter between
                // leaving here and arriving there (at the full burst, a request that arrived a
                // few ms early was refused: 2 of 3,649 calls at 300 silo tenants, and each
                // refusal halves every Cognito rate for 5 s). The pace itself stays the quota.
                (rate - 1.0).max(1.0)
            };
            let wait = {
                let mut b = self.buckets.lock().await;
                let bucket = b.entry(cat).or_insert_with(|| Bucket::new(rate, burst));
                bucket.burst = burst;
                bucket.take(rate)
            };
            match wait {
                None => return self.grow(cat),
                // Waiting for a token is not a call: outside the change's slot, so a change
                // of another category (its quota idle) runs meanwhile (`slots`).
                Some(d) => super::slots::pause(d).await,
            }
        }
    }

    /// Waits until the operation `op` (`service:Operation`) may be sent: a token from its
    /// category's bucket and, for the per-pool categories, from `pool`'s bucket (burst 1, so
    /// no one-second window holds more than the quota). The pool's token is taken last, right
    /// before the request leaves: a wait for the account-wide token after it would send
    /// requests of one pool closer together than the pool's bucket spaced them.
    pub async fn acquire_op(&self, op: &str, pool: Option<&str>) {
        let cat = category_of(op);
        self.acquire(cat).await;
        if let (Some(pool), true) = (pool, cat.per_pool()) {
            let rate = self.per_pool_rate();
            if rate > 0.0 {
                loop {
                    let wait = {
                        let mut b = self.pools.lock().await;
                        b.entry((pool.to_string(), cat)).or_insert_with(|| Bucket::new(rate, 1.0)).take(rate)
                    };
                    match wait {
                        None => break,
                        Some(d) => super::slots::pause(d).await,
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn holds_the_rate_and_slows_down_after_retries() {
        let l = Limiter::new(1.0);
        let start = Instant::now();
        for _ in 0..31 {
            l.acquire(Category::UserPoolResourceUpdate).await;
        }
        // 15/s with a burst of 1: 30 more tokens take about 2 s.
        let t = start.elapsed().as_secs_f64();
        assert!((1.8..2.6).contains(&t), "{t}");
        assert_eq!(l.slowdown(), 1.0);
        l.note_retry();
        l.note_retry();
        assert_eq!(l.slowdown(), 0.25);
        for _ in 0..10 {
            l.note_retry();
        }
        assert_eq!(l.slowdown(), 1.0 / 16.0);
    }

    /// Issue 14: onboarding many tenants creates their API keys at most 5 per second (no
    /// one-second window holds more), whatever else API Gateway is doing.
    #[tokio::test]
    async fn create_api_key_keeps_five_per_second() {
        assert_eq!(category_of("apigateway:CreateApiKey"), Category::ApiGatewayCreateApiKey);
        let l = std::sync::Arc::new(Limiter::new(1.0));
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let l = l.clone();
            tasks.push(tokio::spawn(async move {
                l.acquire_op("apigateway:CreateApiKey", None).await;
                start.elapsed().as_secs_f64()
            }));
        }
        let mut at = Vec::new();
        for t in tasks {
            at.push(t.await.unwrap());
        }
        at.sort_by(|a, b| a.partial_cmp(b).unwrap());
        for (i, t) in at.iter().enumerate() {
            let in_window = at[i..].iter().take_while(|u| **u < t + 0.999).count();
            assert!(in_window <= 5, "{in_window} CreateApiKey within 1 s from {t}: {at:?}");
        }
        assert!(at[15] >= 2.9, "16 keys take 3 s at 5/s: {at:?}");
    }

    /// Sixteen concurrent group creates in one pool (what 8-way apply did): no one-second
    /// window holds more than 5, while another pool's calls are not held up by the first.
    #[tokio::test]
    async fn per_pool_bucket_keeps_five_per_second_per_pool() {
        let l = std::sync::Arc::new(Limiter::new(1.0));
        let start = Instant::now();
        let mut tasks = Vec::new();
        for i in 0..16 {
            let l = l.clone();
            let pool = if i < 12 { "us-east-1_a" } else { "us-east-1_b" };
            tasks.push(tokio::spawn(async move {
                l.acquire_op("cognito-idp:CreateGroup", Some(pool)).await;
                (pool, start.elapsed().as_secs_f64())
            }));
        }
        let mut times: HashMap<&str, Vec<f64>> = HashMap::new();
        for t in tasks {
            let (p, at) = t.await.unwrap();
            times.entry(p).or_default().push(at);
        }
        for (pool, mut ts) in times {
            ts.sort_by(|a, b| a.partial_cmp(b).unwrap());
            for (i, t0) in ts.iter().enumerate() {
                let n = ts[i..].iter().take_while(|t| **t < t0 + 1.0).count();
                assert!(n <= 5, "{pool}: {n} calls within one second from {t0}: {ts:?}");
            }
        }
    }

    /// IAM publishes no rate: the limiter starts at the conservative default, grows while
    /// calls succeed, halves on throttling, and grows again after a calm spell. Cognito's
    /// published rates never move.
    #[tokio::test]
    async fn unpublished_rates_are_learned_published_ones_kept() {
        let l = Limiter::new(1000.0); // large scale: acquire does not wait in this test
        for _ in 0..50 {
            l.acquire(Category::IamWrite).await;
        }
        let grown = l.learned_rate(Category::IamWrite).unwrap();
        assert!((19.9..20.1).contains(&grown), "{grown}");
        l.note_retry_of("iam:CreateRole");
        let cut = l.learned_rate(Category::IamWrite).unwrap();
        assert!((cut - grown / 2.0).abs() < 1e-9, "{cut}");
        // The other calls in flight at the old rate are throttled too: one cut, not one each.
        l.note_retry_of("iam:PutRolePolicy");
        l.note_retry_of("iam:CreateRole");
        assert_eq!(l.learned_rate(Category::IamWrite), Some(cut), "one overshoot, one cut");
        for _ in 0..10 {
            l.acquire(Category::IamWrite).await;
        }
        assert_eq!(l.learned_rate(Category::IamWrite), Some(cut), "no growth during the calm spell");
        l.note_retry_of("cognito-idp:CreateGroup");
        assert_eq!(l.learned_rate(Category::UserPoolResourceUpdate), None);
        assert_eq!(l.slowdown(), 0.5);
    }

    /// A learned rate grows with the calls let through, not with the callers waiting: 200
    /// ready IAM changes waiting at once leave it where the calls sent so far put it.
    #[tokio::test]
    async fn a_learned_rate_grows_with_calls_sent_not_callers_waiting() {
        let l = std::sync::Arc::new(Limiter::new(1.0));
        let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let tasks: Vec<_> = (0..200)
            .map(|_| {
                let (l, sent) = (l.clone(), sent.clone());
                tokio::spawn(async move {
                    l.acquire(Category::IamWrite).await;
                    sent.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                })
            })
            .collect();
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let rate = l.learned_rate(Category::IamWrite).unwrap();
        let sent = sent.load(std::sync::atomic::Ordering::SeqCst);
        for t in tasks {
            t.abort();
        }
        // 10/s from the start: a few calls in 300 ms, each worth 0.2/s (before: 200 x 0.2).
        assert!(sent < 20, "{sent} sent");
        assert!(rate <= 10.0 + 0.2 * sent as f64 + 1e-9, "rate {rate} after {sent} calls");
    }

    #[test]
    fn operations_map_to_their_published_categories() {
        assert_eq!(category_of("cognito-idp:ListUsers"), Category::UserList);
        assert_eq!(category_of("cognito-idp:AdminListGroupsForUser"), Category::UserList);
        assert_eq!(category_of("cognito-idp:CreateGroup"), Category::UserPoolResourceUpdate);
        assert_eq!(category_of("cognito-idp:DescribeUserPoolClient"), Category::UserPoolClientRead);
        assert_eq!(category_of("apigateway:GetResources"), Category::ApiGatewayGetResources);
        assert_eq!(Category::ApiGatewayGetResources.default_rate(), 2.5);
        assert_eq!(category_of("monitoring:PutMetricAlarm"), Category::CloudWatchWrite);
        assert_eq!(category_of("monitoring:DescribeAlarms"), Category::CloudWatchRead);
        assert_eq!(Category::CloudWatchWrite.default_rate(), 3.0);
        assert_eq!(category_of("iam:CreateRole"), Category::IamWrite);
        assert_eq!(category_of("iam:GetAccountSummary"), Category::IamRead);
        assert!(Category::UserPoolClientUpdate.per_pool() && !Category::UserPoolUpdate.per_pool());
        assert!(Limiter::new(4.0).per_pool_rate() <= PER_POOL_RATE);
        assert_eq!(Limiter::new(0.0).per_pool_rate(), 0.0);
    }
}
