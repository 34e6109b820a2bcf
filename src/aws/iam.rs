//! IAM account figures. The roles and their policies are the `iam_role` and `role_policy`
//! kinds (`crate::kinds`).

use super::{call_err, Aws, AwsError, Category};

/// IAM `GetAccountSummary` (one call): (`Roles`, `RolesQuota`) and `AssumeRolePolicySizeQuota`.
pub async fn account_summary(aws: &Aws) -> Result<(Option<(usize, usize)>, Option<usize>), AwsError> {
    aws.limiter.acquire(Category::IamRead).await;
    let out = aws.iam.get_account_summary().send().await.map_err(|e| call_err("iam:GetAccountSummary", e))?;
    let map = out.summary_map();
    let get = |k: &str| {
        map.and_then(|m| m.iter().find(|(key, _)| key.as_str() == k).map(|(_, v)| *v)).map(|v| v.max(0) as usize)
    };
    let roles = match (get("Roles"), get("RolesQuota")) {
        (Some(used), Some(quota)) => Some((used, quota)),
        _ => None,
    };
    Ok((roles, get("AssumeRolePolicySizeQuota")))
}
