//! What the Cognito kinds share (`kinds::{user_pool, custom_attribute, group,
//! resource_server, app_client, pool_domain}`): the managed pools read so far, read
//! concurrency, and the answers Cognito gives a create of something already there.

use std::collections::BTreeSet;

use aws_sdk_cognitoidentityprovider::types::UserPoolType;

use super::{Aws, AwsError, Call};
use crate::state::{Ids, World, POOL_KIND};

/// How many reads of one kind run at once (the limiter keeps them under the quotas).
pub const READ_CONCURRENCY: usize = 8;

/// A managed pool the `user_pool` kind read: the kinds that live in pools read theirs from it.
pub struct LivePool {
    pub address: String,
    /// Its silo tenant (None: the shared pool).
    pub tenant: Option<String>,
    pub id: String,
}

/// The managed pools of the observed world, with their ids.
pub fn live_pools(observed: &World, ids: &Ids) -> Vec<LivePool> {
    observed
        .items
        .iter()
        .filter(|(_, i)| i.kind == POOL_KIND)
        .filter_map(|(address, p)| {
            Some(LivePool { address: address.clone(), tenant: p.tenant.clone(), id: ids.id(address)?.to_string() })
        })
        .collect()
}

/// A pool as `ListUserPools` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedPool {
    pub id: String,
    pub name: String,
    /// Its `CreationDate` ([`date_key`]), when listed.
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
    pub async fn since<F, Fut>(
        &self,
        since: tokio::time::Instant,
        list: F,
    ) -> Result<std::sync::Arc<Vec<ListedPool>>, AwsError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Vec<ListedPool>, AwsError>>,
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

/// Every pool of the account, page by page (ListUserPools, 60 a page).
pub(crate) async fn list_all_pools(aws: &Aws) -> Result<Vec<ListedPool>, AwsError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = aws
            .cognito
            .list_user_pools()
            .max_results(60)
            .set_next_token(token.take())
            .send()
            .call(aws, "cognito-idp:ListUserPools", None)
            .await?;
        for p in page.user_pools() {
            if let (Some(id), Some(name)) = (p.id(), p.name()) {
                out.push(ListedPool {
                    id: id.to_string(),
                    name: name.to_string(),
                    created: p.creation_date().copied().map(date_key),
                });
            }
        }
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => break,
        }
    }
    Ok(out)
}

/// DescribeUserPool.
pub(crate) async fn describe_pool(aws: &Aws, pool_id: &str) -> Result<UserPoolType, AwsError> {
    let out = aws
        .cognito
        .describe_user_pool()
        .user_pool_id(pool_id)
        .send()
        .call(aws, "cognito-idp:DescribeUserPool", None)
        .await?;
    out.user_pool()
        .cloned()
        .ok_or_else(|| AwsError::Other(format!("DescribeUserPool {pool_id}: no pool in the answer")))
}

/// Whether a create failed because the resource is already there (Cognito answers a second
/// CreateResourceServer or AddCustomAttributes of a name with InvalidParameterException).
pub(crate) fn is_exists(e: &AwsError) -> bool {
    matches!(e, AwsError::Call { code, message, .. }
        if code == "InvalidParameterException" && message.to_ascii_lowercase().contains("already"))
}

/// How long after creating a pool tenantctl looks again for a twin created concurrently,
/// when the first look found none (creations within this window are seen by both sides).
pub(crate) const TWIN_SETTLE: std::time::Duration = std::time::Duration::from_millis(1500);

pub(crate) fn date_key(d: aws_smithy_types::DateTime) -> (i64, u32) {
    (d.secs(), d.subsec_nanos())
}

/// A set as a request list; an empty set is left unset.
pub(crate) fn non_empty_list(s: &BTreeSet<String>) -> Option<Vec<String>> {
    (!s.is_empty()).then(|| s.iter().cloned().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
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
                        Ok(listing(n))
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
        shared.since(first, || async { Ok(listing(0)) }).await.unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
        let later = Instant::now();
        let got = shared.since(later, || async { Ok(listing(1)) }).await.unwrap();
        assert_eq!(got[0].id, "p1");
        // Asked with a time the last listing is not older than: reused.
        let again = shared.since(later, || async { Ok(listing(2)) }).await.unwrap();
        assert_eq!(again[0].id, "p1");
        assert_eq!(shared.made(), 2);
    }
}
