//! JWKS fetching and caching.
//!
//! Keys are cached per issuer and refetched only when a token names a `kid` the cache does
//! not hold, and then at most once per back-off window per issuer: a flood of forged `kid`s
//! costs at most one fetch per window. After a *failed* fetch the window is at most
//! [`MAX_JWKS_FAILURE_BACKOFF_SECONDS`] (10 s, aws-jwt-verify's penalty box), so a JWKS outage
//! does not keep a warm container refusing every token long after the endpoint is back.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use serde::Deserialize;

use crate::config::MAX_JWKS_FAILURE_BACKOFF_SECONDS;

/// Seconds since the Unix epoch. Injectable so tests can move time.
pub trait Clock: Send + Sync {
    fn now_unix(&self) -> u64;
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix(&self) -> u64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchError(pub String);

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FetchError {}

/// Fetches a JWKS document (the response body) from a URL.
pub trait JwksFetcher: Send + Sync {
    fn fetch(&self, url: &str) -> Result<String, FetchError>;

    /// [`JwksFetcher::fetch`], given up at `deadline` (the request's, shared with the other
    /// fetches it needs). By default the deadline is not looked at.
    fn fetch_until(&self, url: &str, deadline: Option<Instant>) -> Result<String, FetchError> {
        let _ = deadline;
        self.fetch(url)
    }
}

/// The time a call may take: `cap`, or less when `deadline` comes first; an error once it has
/// passed.
pub fn time_left(deadline: Option<Instant>, cap: Duration) -> Result<Duration, FetchError> {
    let Some(d) = deadline else { return Ok(cap) };
    match d.checked_duration_since(Instant::now()) {
        Some(left) if !left.is_zero() => Ok(left.min(cap)),
        _ => Err(FetchError("the request's deadline has passed".into())),
    }
}

/// Upper bound on a JWKS document; Cognito's holds two keys (~1 KiB).
pub const MAX_JWKS_BYTES: u64 = 64 * 1024;

/// The real fetcher: a blocking HTTP GET with a short overall timeout.
pub struct HttpJwksFetcher {
    agent: ureq::Agent,
    timeout: Duration,
}

impl HttpJwksFetcher {
    pub fn new(timeout: Duration) -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .max_redirects(0)
            .user_agent("tenantctl-authorizer")
            .build();
        HttpJwksFetcher { agent: config.into(), timeout }
    }
}

impl Default for HttpJwksFetcher {
    fn default() -> Self {
        HttpJwksFetcher::new(Duration::from_secs(3))
    }
}

impl JwksFetcher for HttpJwksFetcher {
    fn fetch(&self, url: &str) -> Result<String, FetchError> {
        self.fetch_until(url, None)
    }

    fn fetch_until(&self, url: &str, deadline: Option<Instant>) -> Result<String, FetchError> {
        let timeout = time_left(deadline, self.timeout).map_err(|e| FetchError(format!("GET {url}: {e}")))?;
        let mut resp = self
            .agent
            .get(url)
            .config()
            .timeout_global(Some(timeout))
            .build()
            .call()
            .map_err(|e| FetchError(format!("GET {url}: {e}")))?;
        resp.body_mut()
            .with_config()
            .limit(MAX_JWKS_BYTES)
            .read_to_string()
            .map_err(|e| FetchError(format!("GET {url}: {e}")))
    }
}

#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    kty: Option<String>,
    kid: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    n: Option<String>,
    e: Option<String>,
}

/// Parses a JWKS document into the RS256 signing keys it holds, by `kid`. Keys that are not
/// RSA, declare another algorithm or use, or lack a `kid`, are skipped.
pub fn parse_jwks(body: &str) -> Result<HashMap<String, Arc<DecodingKey>>, FetchError> {
    let set: JwkSet = serde_json::from_str(body).map_err(|e| FetchError(format!("invalid JWKS: {e}")))?;
    let mut keys = HashMap::new();
    for k in set.keys {
        if k.kty.as_deref() != Some("RSA")
            || k.alg.as_deref().is_some_and(|a| a != "RS256")
            || k.use_.as_deref().is_some_and(|u| u != "sig")
        {
            continue;
        }
        let (Some(kid), Some(n), Some(e)) = (k.kid, k.n, k.e) else {
            continue;
        };
        if kid.is_empty() {
            continue;
        }
        if let Ok(key) = DecodingKey::from_rsa_components(&n, &e) {
            keys.insert(kid, Arc::new(key));
        }
    }
    Ok(keys)
}

/// Why no key could be found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// The JWKS (fresh or cached) does not hold the kid.
    UnknownKid,
    /// No key set could be fetched for the issuer, now or before.
    Unavailable(String),
}

#[derive(Default)]
struct IssuerKeys {
    keys: HashMap<String, Arc<DecodingKey>>,
    /// Whether a fetch ever succeeded.
    loaded: bool,
    /// When the last fetch was attempted (successful or not).
    last_attempt: Option<u64>,
    /// Whether that attempt failed (no document, or not a JWKS).
    last_failed: bool,
    last_error: Option<String>,
}

/// Per-issuer key cache with refetch-on-unknown-kid and a back-off window.
pub struct JwksCache {
    fetcher: Arc<dyn JwksFetcher>,
    clock: Arc<dyn Clock>,
    backoff_seconds: u64,
    // One lock for all issuers: the Lambda serves one request at a time, and holding the lock
    // through a fetch makes concurrent callers wait for it instead of fetching again.
    issuers: Mutex<HashMap<String, IssuerKeys>>,
}

impl JwksCache {
    pub fn new(fetcher: Arc<dyn JwksFetcher>, clock: Arc<dyn Clock>, backoff_seconds: u64) -> Self {
        JwksCache { fetcher, clock, backoff_seconds, issuers: Mutex::new(HashMap::new()) }
    }

    /// The key `kid` of `issuer` (whose JWKS lives at `url`), fetching the JWKS when the kid is
    /// unknown and the back-off window since the last attempt has passed.
    pub fn key(
        &self,
        issuer: &str,
        url: &str,
        kid: &str,
        deadline: Option<Instant>,
    ) -> Result<Arc<DecodingKey>, KeyError> {
        let mut issuers = self.issuers.lock().unwrap_or_else(|p| p.into_inner());
        let entry = issuers.entry(issuer.to_string()).or_default();
        if let Some(k) = entry.keys.get(kid) {
            return Ok(k.clone());
        }
        let now = self.clock.now_unix();
        let window = if entry.last_failed {
            self.backoff_seconds.min(MAX_JWKS_FAILURE_BACKOFF_SECONDS)
        } else {
            self.backoff_seconds
        };
        let may_fetch = match entry.last_attempt {
            None => true,
            Some(t) => now >= t.saturating_add(window) || now < t,
        };
        if may_fetch {
            entry.last_attempt = Some(now);
            // A key set without one RS256 signing key is no answer: the keys cached stay.
            let fetched = self.fetcher.fetch_until(url, deadline).and_then(|body| parse_jwks(&body)).and_then(|keys| {
                if keys.is_empty() {
                    Err(FetchError(format!("{url}: no RS256 signing key in the key set")))
                } else {
                    Ok(keys)
                }
            });
            match fetched {
                Ok(keys) => {
                    entry.keys = keys;
                    entry.loaded = true;
                    entry.last_failed = false;
                    entry.last_error = None;
                }
                // Keys already cached stay in use.
                Err(e) => {
                    entry.last_failed = true;
                    entry.last_error = Some(e.0);
                }
            }
            if let Some(k) = entry.keys.get(kid) {
                return Ok(k.clone());
            }
        }
        if entry.loaded {
            Err(KeyError::UnknownKid)
        } else {
            Err(KeyError::Unavailable(entry.last_error.clone().unwrap_or_else(|| "no JWKS fetched yet".into())))
        }
    }
}
