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
pub struct Limiter {
    buckets: Mutex<HashMap<Category, Bucket>>,
    scale: f64,
}

impl Default for Limiter {
    fn default() -> Self {
        Limiter::new(1.0)
    }
}

impl Limiter {
    /// `scale` multiplies every default rate (e.g. 0.5 to run at half the quotas).
    pub fn new(scale: f64) -> Self {
        Limiter { buckets: Mutex::new(HashMap::new()), scale }
    }

    /// Waits until one request of `cat` may be sent.
    pub async fn acquire(&self, cat: Category) {
        let rate = cat.default_rate() * self.scale;
        if rate <= 0.0 {
            return;
        }
        loop {
            let wait = {
                let mut b = self.buckets.lock().await;
                let bucket = b.entry(cat).or_insert_with(|| Bucket { rate, tokens: 1.0, last: Instant::now() });
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
