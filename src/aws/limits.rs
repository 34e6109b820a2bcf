//! Request-rate limits per AWS API category (token buckets), so apply stays under the
//! published Cognito quotas and a conservative IAM rate. The SDK's adaptive retry mode adds
//! a slow-down on throttling errors on top.

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
    IamRead,
    IamWrite,
    ApiGateway,
    Lambda,
}

impl Category {
    /// Default requests per second (Cognito: the published quotas; IAM: conservative).
    pub fn default_rate(self) -> f64 {
        match self {
            Category::UserPoolRead => 15.0,
            Category::UserPoolUpdate => 15.0,
            Category::UserPoolResourceRead => 20.0,
            Category::UserPoolResourceUpdate => 15.0,
            Category::UserPoolClientRead => 15.0,
            Category::UserPoolClientUpdate => 15.0,
            Category::IamRead => 20.0,
            Category::IamWrite => 10.0,
            Category::ApiGateway => 10.0,
            Category::Lambda => 10.0,
        }
    }
}

struct Bucket {
    rate: f64,
    tokens: f64,
    last: Instant,
}

/// Token buckets by category. A rate of 0 disables limiting for that category.
///
/// Adaptive: every retry the SDK makes (throttling, 5xx) halves the rates for a few seconds,
/// down to 1/16; they recover as the retries age out.
pub struct Limiter {
    buckets: Mutex<HashMap<Category, Bucket>>,
    scale: f64,
    retries: std::sync::Mutex<Vec<Instant>>,
}

/// How long a retry keeps the rates down.
const SLOWDOWN_WINDOW: Duration = Duration::from_secs(5);

impl Default for Limiter {
    fn default() -> Self {
        Limiter::new(1.0)
    }
}

impl Limiter {
    /// `scale` multiplies every default rate (e.g. 0.5 to run at half the quotas).
    pub fn new(scale: f64) -> Self {
        Limiter { buckets: Mutex::new(HashMap::new()), scale, retries: std::sync::Mutex::new(Vec::new()) }
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

    /// Waits until one request of `cat` may be sent.
    pub async fn acquire(&self, cat: Category) {
        if cat.default_rate() * self.scale <= 0.0 {
            return;
        }
        loop {
            let rate = cat.default_rate() * self.scale * self.slowdown();
            let wait = {
                let mut b = self.buckets.lock().await;
                let bucket = b.entry(cat).or_insert_with(|| Bucket { rate, tokens: 1.0, last: Instant::now() });
                bucket.rate = rate;
                let now = Instant::now();
                let elapsed = now.duration_since(bucket.last).as_secs_f64();
                bucket.tokens = (bucket.tokens + elapsed * bucket.rate).min(bucket.rate.max(1.0));
                bucket.last = now;
                if bucket.tokens >= 1.0 {
                    bucket.tokens -= 1.0;
                    return;
                }
                Duration::from_secs_f64((1.0 - bucket.tokens) / bucket.rate)
            };
            tokio::time::sleep(wait).await;
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
}
