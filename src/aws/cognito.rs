//! What the Cognito kinds share (`kinds::{user_pool, custom_attribute, group,
//! resource_server, app_client, pool_domain}`): the managed pools read so far, read
//! concurrency, and the answers Cognito gives a create of something already there.

use std::collections::BTreeSet;

use aws_sdk_cognitoidentityprovider::types::UserPoolType;

use super::listings::ListedPool;
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
