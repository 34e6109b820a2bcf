//! The tenants' API keys (contract §1.6): the authorizer answers each Allow with the tenant's
//! key as `usageIdentifierKey`, so API Gateway meters the request against the tenant's tier
//! (the REST API's `apiKeySource` is `AUTHORIZER`).
//!
//! Key values are never in the function's configuration (nor in tenantctl's plans): during
//! init (cold start, [`ApiKeys::load`]) the authorizer reads them from the tiers' usage plans
//! it is given by id (`usagePlans` of tenantctl-authorizer.json), with `GetUsagePlanKeys`
//! (`GET /usageplans/{id}/keys`, 500 a page, SigV4-signed with the function's own
//! credentials), which its execution role may call on exactly those plans. The key named
//! `<platform>-<tenant>` is the tenant's. Values are kept in memory only and never logged.
//!
//! The keys are read again when they are older than [`KEY_TTL_SECONDS`] (a re-created key is
//! picked up), and for a tenant whose key is not known (onboarded since the last read), at
//! most once per [`REFRESH_BACKOFF_SECONDS`]. A failed read is an error
//! ([`crate::DenyClass::Error`]: API Gateway answers 500 and caches nothing), remembered for
//! [`FAILURE_BACKOFF_SECONDS`] (no new read, the same error); a key already read is still
//! served while the key store fails.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ring::{digest, hmac};

use crate::jwks::{time_left, Clock, FetchError, SystemClock};

/// Minimum time between two reads of the plans' keys for a tenant whose key is not known.
pub const REFRESH_BACKOFF_SECONDS: u64 = 10;
/// After a failed read, no new read for this long: the failure is the answer.
pub const FAILURE_BACKOFF_SECONDS: u64 = 5;
/// A key read this long ago is read again before it is used.
pub const KEY_TTL_SECONDS: u64 = 300;
/// At most this long for one page.
pub const PAGE_TIMEOUT: Duration = Duration::from_secs(3);
/// API Gateway's largest page.
pub const PAGE: u32 = 500;
/// Upper bound on one page of usage plan keys (500 keys of ~200 bytes).
pub const MAX_PAGE_BYTES: u64 = 1024 * 1024;

/// Reads the keys of one usage plan: (name, value) pairs.
pub trait KeyLister: Send + Sync {
    fn list(&self, usage_plan_id: &str) -> Result<Vec<(String, String)>, FetchError>;

    /// [`KeyLister::list`], given up at `deadline` (shared with the other fetches of the
    /// request or of init). By default the deadline is not looked at.
    fn list_until(&self, usage_plan_id: &str, deadline: Option<Instant>) -> Result<Vec<(String, String)>, FetchError> {
        let _ = deadline;
        self.list(usage_plan_id)
    }
}

/// AWS credentials (the Lambda's, from its environment).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("access_key_id", &self.access_key_id).finish_non_exhaustive()
    }
}

impl Credentials {
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` (Lambda sets them).
    pub fn from_env() -> Result<Credentials, FetchError> {
        let get = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Ok(Credentials {
            access_key_id: get("AWS_ACCESS_KEY_ID").ok_or_else(|| FetchError("AWS_ACCESS_KEY_ID is not set".into()))?,
            secret_access_key: get("AWS_SECRET_ACCESS_KEY")
                .ok_or_else(|| FetchError("AWS_SECRET_ACCESS_KEY is not set".into()))?,
            session_token: get("AWS_SESSION_TOKEN"),
        })
    }
}

/// The real lister: SigV4-signed `GET /usageplans/{id}/keys` by pages.
pub struct HttpKeyLister {
    agent: ureq::Agent,
    endpoint: String,
    region: String,
    /// None: the process environment's (the Lambda's), read at each call.
    credentials: Option<Credentials>,
}

impl HttpKeyLister {
    /// `endpoint`: `https://apigateway.<region>.<dns suffix>` unless overridden (emulator).
    pub fn new(endpoint: String, region: String) -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(PAGE_TIMEOUT))
            .max_redirects(0)
            .http_status_as_error(false)
            .user_agent("tenantctl-authorizer")
            .build();
        HttpKeyLister {
            agent: config.into(),
            endpoint: endpoint.trim_end_matches('/').to_string(),
            region,
            credentials: None,
        }
    }

    /// Signs with these credentials instead of the environment's (tests).
    pub fn with_credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }
}

impl KeyLister for HttpKeyLister {
    fn list(&self, usage_plan_id: &str) -> Result<Vec<(String, String)>, FetchError> {
        self.list_until(usage_plan_id, None)
    }

    fn list_until(&self, usage_plan_id: &str, deadline: Option<Instant>) -> Result<Vec<(String, String)>, FetchError> {
        if usage_plan_id.is_empty() || !usage_plan_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(FetchError(format!("invalid usage plan id {usage_plan_id:?}")));
        }
        let creds = match &self.credentials {
            Some(c) => c.clone(),
            None => Credentials::from_env()?,
        };
        let host = self.endpoint.split("://").nth(1).unwrap_or("").split('/').next().unwrap_or("").to_string();
        let path = format!("/usageplans/{usage_plan_id}/keys");
        let mut out = Vec::new();
        let mut position: Option<String> = None;
        loop {
            let mut query = vec![("limit".to_string(), PAGE.to_string())];
            if let Some(p) = &position {
                query.push(("position".to_string(), p.clone()));
            }
            let signed = sign(
                &Request { method: "GET", host: &host, path: &path, query: &query },
                &creds,
                &self.region,
                "apigateway",
                now(),
            );
            let url = format!("{}{}?{}", self.endpoint, path, canonical_query(&query));
            // Each page within the time left: the pages share the deadline.
            let timeout = time_left(deadline, PAGE_TIMEOUT)
                .map_err(|e| FetchError(format!("GetUsagePlanKeys {usage_plan_id}: {e}")))?;
            let mut req = self
                .agent
                .get(&url)
                .config()
                .timeout_global(Some(timeout))
                .build()
                .header("accept", "application/json");
            for (k, v) in &signed {
                req = req.header(k.as_str(), v.as_str());
            }
            let mut resp = req.call().map_err(|e| FetchError(format!("GetUsagePlanKeys {usage_plan_id}: {e}")))?;
            let status = resp.status().as_u16();
            let body = resp
                .body_mut()
                .with_config()
                .limit(MAX_PAGE_BYTES)
                .read_to_string()
                .map_err(|e| FetchError(format!("GetUsagePlanKeys {usage_plan_id}: {e}")))?;
            if status != 200 {
                // The error body names no key value.
                return Err(FetchError(format!(
                    "GetUsagePlanKeys {usage_plan_id}: HTTP {status}: {}",
                    first_line(&body)
                )));
            }
            let page: serde_json::Value = serde_json::from_str(&body)
                .map_err(|e| FetchError(format!("GetUsagePlanKeys {usage_plan_id}: not JSON: {e}")))?;
            let items = page.get("item").and_then(|i| i.as_array()).cloned().unwrap_or_default();
            for k in &items {
                if let (Some(name), Some(value)) =
                    (k.get("name").and_then(|v| v.as_str()), k.get("value").and_then(|v| v.as_str()))
                {
                    out.push((name.to_string(), value.to_string()));
                }
            }
            position = page.get("position").and_then(|p| p.as_str()).map(str::to_string);
            if position.is_none() || items.is_empty() {
                break;
            }
        }
        Ok(out)
    }
}

fn first_line(s: &str) -> &str {
    let l = s.lines().next().unwrap_or("");
    &l[..l.len().min(200)]
}

/// The tenants' keys: read at init, refreshed on expiry and on an unknown tenant (module docs).
pub struct ApiKeys {
    platform: String,
    plans: Vec<String>,
    lister: Arc<dyn KeyLister>,
    clock: Arc<dyn Clock>,
    state: Mutex<KeysState>,
}

#[derive(Default)]
struct KeysState {
    by_tenant: HashMap<String, String>,
    /// When the keys were last read successfully.
    read_at: Option<u64>,
    /// The last read, when it failed: when, and why.
    failed: Option<(u64, String)>,
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeys").field("platform", &self.platform).field("plans", &self.plans).finish_non_exhaustive()
    }
}

impl ApiKeys {
    pub fn new(platform: String, plans: Vec<String>, lister: Arc<dyn KeyLister>) -> Self {
        ApiKeys { platform, plans, lister, clock: Arc::new(SystemClock), state: Mutex::new(KeysState::default()) }
    }

    /// Measures the TTL and back-offs with `clock` (tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Reads every plan's keys now (the cold start), by `deadline`. A failure is remembered as
    /// a later read's.
    pub fn load(&self, deadline: Option<Instant>) -> Result<(), FetchError> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        self.read(&mut st, deadline)
    }

    /// The tenant's key value: Ok(None) when no tier plan holds a key of that tenant (after a
    /// read no older than [`REFRESH_BACKOFF_SECONDS`]); an error when the keys cannot be read
    /// (now, or within [`FAILURE_BACKOFF_SECONDS`] of a failed read) and none of the tenant's
    /// was read before.
    pub fn key_for(&self, tenant: &str) -> Result<Option<String>, FetchError> {
        self.key_until(tenant, None)
    }

    /// [`ApiKeys::key_for`], a read given up at `deadline`.
    pub fn key_until(&self, tenant: &str, deadline: Option<Instant>) -> Result<Option<String>, FetchError> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = self.clock.now_unix();
        let age = |t: Option<u64>| t.map(|t| now.saturating_sub(t));
        let fresh = age(st.read_at).is_some_and(|a| a < KEY_TTL_SECONDS);
        if fresh {
            match st.by_tenant.get(tenant) {
                Some(v) => return Ok(Some(v.clone())),
                None if age(st.read_at).is_some_and(|a| a < REFRESH_BACKOFF_SECONDS) => return Ok(None),
                None => {}
            }
        }
        let failed_recently = st.failed.as_ref().is_some_and(|(t, _)| now.saturating_sub(*t) < FAILURE_BACKOFF_SECONDS);
        let result = if failed_recently {
            Err(FetchError(format!(
                "{} (an earlier read, retried after {FAILURE_BACKOFF_SECONDS} s)",
                st.failed.as_ref().map_or("", |(_, e)| e.as_str())
            )))
        } else {
            self.read(&mut st, deadline)
        };
        match (result, st.by_tenant.get(tenant)) {
            (Ok(()), key) => Ok(key.cloned()),
            // The key store fails: a key read before is still served.
            (Err(_), Some(stale)) => Ok(Some(stale.clone())),
            (Err(e), None) => Err(e),
        }
    }

    /// Reads every plan's keys into `st`; on failure keeps the keys read before.
    fn read(&self, st: &mut KeysState, deadline: Option<Instant>) -> Result<(), FetchError> {
        let now = self.clock.now_unix();
        let prefix = format!("{}-", self.platform);
        let mut by_tenant = HashMap::new();
        for plan in &self.plans {
            let listed = time_left(deadline, PAGE_TIMEOUT)
                .map_err(|e| FetchError(format!("GetUsagePlanKeys {plan}: {e}")))
                .and_then(|_| self.lister.list_until(plan, deadline));
            match listed {
                Ok(keys) => {
                    for (name, value) in keys {
                        if let Some(t) = name.strip_prefix(&prefix) {
                            by_tenant.insert(t.to_string(), value);
                        }
                    }
                }
                Err(e) => {
                    st.failed = Some((now, e.0.clone()));
                    return Err(e);
                }
            }
        }
        st.by_tenant = by_tenant;
        st.read_at = Some(now);
        st.failed = None;
        Ok(())
    }
}

/// A request to sign.
pub struct Request<'a> {
    pub method: &'a str,
    pub host: &'a str,
    /// Already URI-encoded (the usage plan ids tenantctl passes are alphanumeric).
    pub path: &'a str,
    pub query: &'a [(String, String)],
}

/// `YYYYMMDD'T'HHMMSS'Z'` now.
fn now() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    amz_date(secs)
}

/// `YYYYMMDD'T'HHMMSS'Z'` of a Unix time (civil-from-days, proleptic Gregorian).
pub fn amz_date(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z", rem / 3600, rem / 60 % 60, rem % 60)
}

fn uri_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn canonical_query(q: &[(String, String)]) -> String {
    let mut pairs: Vec<(String, String)> = q.iter().map(|(k, v)| (uri_encode(k), uri_encode(v))).collect();
    pairs.sort();
    pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hmac_sha256(key: &[u8], data: &str) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data.as_bytes()).as_ref().to_vec()
}

/// AWS Signature Version 4 of a request without body: the headers to send (`x-amz-date`,
/// `x-amz-security-token` with temporary credentials, `authorization`).
pub fn sign(
    req: &Request<'_>,
    creds: &Credentials,
    region: &str,
    service: &str,
    amz_date: String,
) -> Vec<(String, String)> {
    let date = &amz_date[..8];
    let mut headers = vec![("host".to_string(), req.host.to_string()), ("x-amz-date".to_string(), amz_date.clone())];
    if let Some(t) = &creds.session_token {
        headers.push(("x-amz-security-token".to_string(), t.clone()));
    }
    headers.sort();
    let signed_headers = headers.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(";");
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{}\n", v.trim())).collect();
    let empty_hash = hex(digest::digest(&digest::SHA256, b"").as_ref());
    let canonical = format!(
        "{}\n{}\n{}\n{canonical_headers}\n{signed_headers}\n{empty_hash}",
        req.method,
        req.path,
        canonical_query(req.query)
    );
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex(digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref())
    );
    let k_date = hmac_sha256(format!("AWS4{}", creds.secret_access_key).as_bytes(), date);
    let k_region = hmac_sha256(&k_date, region);
    let k_service = hmac_sha256(&k_region, service);
    let k_signing = hmac_sha256(&k_service, "aws4_request");
    let signature = hex(&hmac_sha256(&k_signing, &to_sign));
    let mut out: Vec<(String, String)> = headers.into_iter().filter(|(k, _)| k != "host").collect();
    out.push((
        "authorization".to_string(),
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
            creds.access_key_id
        ),
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// The AWS SigV4 test suite's `get-vanilla-query-order-key-case` style vector (`get-vanilla`:
    /// GET / on example.amazonaws.com, service `service`, 20150830T123600Z).
    #[test]
    fn sigv4_matches_the_aws_test_suite() {
        let creds = Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
        };
        let h = sign(
            &Request { method: "GET", host: "example.amazonaws.com", path: "/", query: &[] },
            &creds,
            "us-east-1",
            "service",
            "20150830T123600Z".into(),
        );
        let auth = &h.iter().find(|(k, _)| k == "authorization").unwrap().1;
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    #[test]
    fn dates() {
        assert_eq!(amz_date(0), "19700101T000000Z");
        assert_eq!(amz_date(1_440_938_160), "20150830T123600Z");
        assert_eq!(amz_date(951_782_400), "20000229T000000Z");
    }

    struct Fake(AtomicUsize, Mutex<Vec<(String, String)>>);

    impl KeyLister for Fake {
        fn list(&self, plan: &str) -> Result<Vec<(String, String)>, FetchError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(self.1.lock().unwrap().iter().filter(|(n, _)| n.ends_with(plan)).cloned().collect())
        }
    }

    struct Failing(AtomicUsize, std::sync::atomic::AtomicBool, Mutex<String>);

    impl KeyLister for Failing {
        fn list(&self, _plan: &str) -> Result<Vec<(String, String)>, FetchError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            if self.1.load(Ordering::SeqCst) {
                return Err(FetchError("HTTP 503".into()));
            }
            Ok(vec![("saas-acme".into(), self.2.lock().unwrap().clone())])
        }
    }

    struct At(std::sync::atomic::AtomicU64);

    impl Clock for At {
        fn now_unix(&self) -> u64 {
            self.0.load(Ordering::SeqCst)
        }
    }

    fn failing(fail: bool) -> (ApiKeys, Arc<Failing>, Arc<At>) {
        let lister = Arc::new(Failing(AtomicUsize::new(0), fail.into(), Mutex::new("v1".into())));
        let clock = Arc::new(At(1_700_000_000.into()));
        let keys = ApiKeys::new("saas".into(), vec!["p1".into()], lister.clone()).with_clock(clock.clone());
        (keys, lister, clock)
    }

    /// Issue 23 item 3: before, a failed read set the back-off, and every tenant not yet cached
    /// got `Ok(None)` (`no_api_key`, a cached 403) for 10 s.
    #[test]
    fn a_failed_read_is_an_error_remembered_briefly_never_no_key() {
        let (keys, lister, clock) = failing(true);
        assert!(keys.load(None).is_err());
        for tenant in ["acme", "globex", "acme"] {
            let e = keys.key_for(tenant).unwrap_err();
            assert!(e.0.contains("HTTP 503"), "{e}");
        }
        assert_eq!(
            lister.0.load(Ordering::SeqCst),
            1,
            "the failure is remembered: no read for {FAILURE_BACKOFF_SECONDS} s"
        );
        lister.1.store(false, Ordering::SeqCst);
        clock.0.fetch_add(FAILURE_BACKOFF_SECONDS, Ordering::SeqCst);
        assert_eq!(keys.key_for("acme").unwrap().as_deref(), Some("v1"));
        assert_eq!(keys.key_for("globex").unwrap(), None);
        assert_eq!(lister.0.load(Ordering::SeqCst), 2);
    }

    /// Issue 23 item 3: before, a cached key never expired (a re-created key was refused by API
    /// Gateway until the container restarted).
    #[test]
    fn cached_keys_expire_and_stay_in_use_while_the_store_fails() {
        let (keys, lister, clock) = failing(false);
        keys.load(None).unwrap();
        assert_eq!(lister.0.load(Ordering::SeqCst), 1, "read at init");
        *lister.2.lock().unwrap() = "v2".into();
        clock.0.fetch_add(KEY_TTL_SECONDS - 1, Ordering::SeqCst);
        assert_eq!(keys.key_for("acme").unwrap().as_deref(), Some("v1"));
        assert_eq!(lister.0.load(Ordering::SeqCst), 1);
        clock.0.fetch_add(1, Ordering::SeqCst);
        assert_eq!(keys.key_for("acme").unwrap().as_deref(), Some("v2"), "re-read after the TTL");
        assert_eq!(lister.0.load(Ordering::SeqCst), 2);
        // Expired, and the store fails: the key read before is still served.
        lister.1.store(true, Ordering::SeqCst);
        clock.0.fetch_add(KEY_TTL_SECONDS, Ordering::SeqCst);
        assert_eq!(keys.key_for("acme").unwrap().as_deref(), Some("v2"));
        assert!(keys.key_for("globex").is_err());
    }

    #[test]
    fn keys_by_tenant_read_once_then_on_unknown_tenants_with_back_off() {
        let fake = Arc::new(Fake(
            AtomicUsize::new(0),
            Mutex::new(vec![("saas-acme-p1".into(), "v1".into()), ("other-x-p1".into(), "no".into())]),
        ));
        // Names end with the plan id in this fake; the tenant is what follows `saas-`.
        let keys = ApiKeys::new("saas".into(), vec!["p1".into()], fake.clone());
        assert_eq!(keys.key_for("acme-p1").unwrap().as_deref(), Some("v1"));
        assert_eq!(keys.key_for("acme-p1").unwrap().as_deref(), Some("v1"));
        assert_eq!(fake.0.load(Ordering::SeqCst), 1, "cached");
        // An unknown tenant within the back-off: no new read; a key of another platform never.
        assert_eq!(keys.key_for("x-p1").unwrap(), None);
        assert_eq!(keys.key_for("globex-p1").unwrap(), None);
        assert_eq!(fake.0.load(Ordering::SeqCst), 1);
    }
}
