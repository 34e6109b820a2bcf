//! Listings of the account's user pools shared by the pool creations of one process (their
//! twin checks, `kinds::user_pool`). Apart from `cognito` so that `Aws` can hold one without
//! an import cycle: this module imports nothing of `aws` but `slots`.

/// A pool as `ListUserPools` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedPool {
    pub id: String,
    pub name: String,
    /// Its `CreationDate` (`cognito::date_key`), when listed.
    pub created: Option<(i64, u32)>,
}

/// Listings of the account's pools shared by the pool creations of one process. Each creation
/// checks for a twin made by a concurrent run (`CreateUserPool` keeps no names unique) with a
/// listing that must start after its create answered; one listing serves every creation that
/// answered before it started. Without this, each of n creations lists the whole account,
/// n x pages requests in the UserPoolRead category (1,889 at 300 silo tenants); with it, the
/// creations that finish while one listing runs share the next.
#[derive(Default)]
pub struct PoolListings {
    /// The newest listing and when it started; held while a listing runs, so the callers
    /// queue behind it (in order) and take the next one.
    last: tokio::sync::Mutex<Option<(tokio::time::Instant, std::sync::Arc<Vec<ListedPool>>)>>,
    /// Listings made (for tests).
    made: std::sync::atomic::AtomicUsize,
}

impl PoolListings {
    /// Every pool of the account, from a listing that started at or after `since`: the newest
    /// one if it did, else a new one by `list` (one at a time).
    pub async fn since<F, Fut, E>(
        &self,
        since: tokio::time::Instant,
        list: F,
    ) -> Result<std::sync::Arc<Vec<ListedPool>>, E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Vec<ListedPool>, E>>,
    {
        // Waiting for another change's listing is not a call of this one: outside its slot.
        let mut last = super::slots::outside(self.last.lock()).await;
        if let Some((started, pools)) = &*last {
            if *started >= since {
                return Ok(pools.clone());
            }
        }
        let started = tokio::time::Instant::now();
        self.made.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let pools = std::sync::Arc::new(list().await?);
        *last = Some((started, pools.clone()));
        Ok(pools)
    }

    /// How many listings were made.
    pub fn made(&self) -> usize {
        self.made.load(std::sync::atomic::Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    type AwsError = String;
    use std::sync::Arc;
    use tokio::time::{Duration, Instant};

    fn listing(n: usize) -> Vec<ListedPool> {
        vec![ListedPool { id: format!("p{n}"), name: "x".into(), created: None }]
    }

    /// Creations that answered while a listing ran share the next listing; none is served
    /// a listing that started before it asked.
    #[tokio::test]
    async fn concurrent_twin_checks_share_listings_that_start_after_them() {
        let shared = Arc::new(PoolListings::default());
        let starts: Arc<std::sync::Mutex<Vec<Instant>>> = Arc::default();
        let mut tasks = Vec::new();
        for i in 0..40u64 {
            let (shared, starts) = (shared.clone(), starts.clone());
            tasks.push(tokio::spawn(async move {
                // 40 creations answering 5 ms apart; a listing takes 40 ms (real time: the
                // bound below holds on a loaded machine too, where waits only grow).
                tokio::time::sleep(Duration::from_millis(5 * i)).await;
                let since = Instant::now();
                let got = shared
                    .since(since, || async {
                        let n = {
                            let mut s = starts.lock().unwrap();
                            s.push(Instant::now());
                            s.len() - 1
                        };
                        tokio::time::sleep(Duration::from_millis(40)).await;
                        Ok::<_, AwsError>(listing(n))
                    })
                    .await
                    .unwrap();
                (since, got[0].id.trim_start_matches('p').parse::<usize>().unwrap())
            }));
        }
        let mut served = Vec::new();
        for t in tasks {
            served.push(t.await.unwrap());
        }
        let starts = starts.lock().unwrap().clone();
        for (since, n) in served {
            assert!(starts[n] >= since, "served listing {n}, which started before the ask");
        }
        // One at a time, 40 ms each, over about 240 ms: a handful of listings (about 6), not 40.
        assert!(shared.made() <= 20, "{} listings for 40 twin checks", shared.made());
        assert_eq!(shared.made(), starts.len());
    }

    #[tokio::test]
    async fn a_listing_that_started_before_the_ask_is_not_reused() {
        let shared = PoolListings::default();
        let first = Instant::now();
        shared.since(first, || async { Ok::<_, AwsError>(listing(0)) }).await.unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
        let later = Instant::now();
        let got = shared.since(later, || async { Ok::<_, AwsError>(listing(1)) }).await.unwrap();
        assert_eq!(got[0].id, "p1");
        // Asked with a time the last listing is not older than: reused.
        let again = shared.since(later, || async { Ok::<_, AwsError>(listing(2)) }).await.unwrap();
        assert_eq!(again[0].id, "p1");
        assert_eq!(shared.made(), 2);
    }
}
