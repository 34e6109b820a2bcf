//! Count quotas, checked before the first write: a plan that would cross one fails naming
//! the quota, the numbers and the remedy, instead of an apply that dies half done at the
//! 1,001st role. Pure: the account's figures come in as [`AccountFigures`].

use std::collections::BTreeMap;

use super::{Action, Plan, PlanError, Resource};
use crate::state::World;

/// Cognito: groups per user pool (fixed). "Quotas in Amazon Cognito", resource quotas.
pub const GROUPS_PER_POOL: usize = 10_000;
/// Cognito: user pools per account and Region (adjustable).
pub const USER_POOLS_PER_ACCOUNT: usize = 1_000;
/// Cognito: identity providers per user pool.
pub const IDENTITY_PROVIDERS_PER_POOL: usize = 300;
/// IAM: inline policy characters per role (whitespace not counted), fixed.
pub const INLINE_POLICY_CHARS_PER_ROLE: usize = 10_240;
/// IAM: trust policy size when the account does not say (AssumeRolePolicySizeQuota).
pub const DEFAULT_TRUST_POLICY_SIZE: usize = 2_048;
/// IAM: roles per account when the account does not say (RolesQuota; up to 5,000 on request).
pub const DEFAULT_ROLES_QUOTA: usize = 1_000;
/// Cognito: app clients per user pool.
pub const APP_CLIENTS_PER_POOL: usize = 1_000;
/// API Gateway: API keys per account and Region (not adjustable).
pub const API_KEYS_PER_REGION: usize = 10_000;
/// Lambda: a function's resource policy, in bytes (not adjustable; `AddPermission` past it is
/// `PolicyLengthExceededException`).
pub const FUNCTION_POLICY_BYTES: usize = 20_480;

/// What the account says about itself (IAM `GetAccountSummary`, Cognito `ListUserPools`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountFigures {
    /// IAM `Roles` and `RolesQuota`.
    pub roles: Option<(usize, usize)>,
    /// IAM `AssumeRolePolicySizeQuota`.
    pub trust_policy_size_quota: Option<usize>,
    /// User pools in the account and Region (every pool, not only tenantctl's).
    pub user_pools: Option<usize>,
    /// API keys in the account and Region (every key, not only tenantctl's).
    pub api_keys: Option<usize>,
    /// The live resource policy of each trigger function the folder names (as it names it):
    /// each statement's Sid and minified size in bytes. A function without a policy is absent.
    pub function_policies: std::collections::BTreeMap<String, Vec<(String, usize)>>,
    /// Each managed pool's `EstimatedNumberOfUsers` (DescribeUserPool, read anyway), by
    /// address: a `tenancy.groups` switch refuses a pool that holds users.
    pub pool_users: std::collections::BTreeMap<String, usize>,
}

/// How many changes of the plan `action` a resource of this kind.
pub fn count(plan: &Plan, resource: Resource, action: Action) -> usize {
    plan.changes.iter().filter(|c| c.resource == resource && c.action == action).count()
}

/// An account-wide count after the plan: the `used` instances there are, plus the plan's
/// creates of `resource`, minus its deletes. `(needed, creates, deletes)`; `needed` is None
/// when the plan creates none (a quota is checked only where the plan adds).
pub fn after_plan(plan: &Plan, resource: Resource, used: usize) -> (Option<usize>, usize, usize) {
    let creates = count(plan, resource, Action::Create);
    let deletes = count(plan, resource, Action::Delete);
    let needed = (creates > 0).then(|| (used + creates).saturating_sub(deletes));
    (needed, creates, deletes)
}

/// A per-pool count quota: the desired instances of `kind` in each pool (their parent) against
/// `limit`; the error names the pool, the count, the limit and `remedy`.
pub fn per_pool(desired: &World, kind: &str, limit: usize, quota: &str, remedy: &str) -> Result<(), PlanError> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for i in desired.items.values().filter(|i| i.kind == kind) {
        *counts.entry(i.parent.as_deref().unwrap_or_default()).or_default() += 1;
    }
    match counts.into_iter().find(|(_, n)| *n > limit) {
        Some((pool, n)) => {
            let name = desired.items.get(pool).map_or(pool, |p| p.name.as_str());
            Err(PlanError::Quota {
                quota: quota.into(),
                detail: format!("pool `{name}` would hold {n}: {n} > {limit}"),
                remedy: remedy.into(),
            })
        }
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::check_quotas as check;
    use crate::plan::Change;
    use crate::plan::Op;
    use crate::state::World;
    use crate::state::{PoolState, RoleState};
    use serde_json::json;

    fn role(name: &str) -> RoleState {
        RoleState {
            address: format!("tenant/{name}/role/admin"),
            name: name.into(),
            path: "/tenantctl/saas/".into(),
            tenant: Some(name.into()),
            description: None,
            max_session_duration: 3600,
            permissions_boundary: None,
            trust_policy: json!({"Statement": []}),
            tags: Default::default(),
            policies: Default::default(),
            attached_policies: Default::default(),
        }
    }

    /// The role's item (its policies are items of their own).
    fn role_item(r: &RoleState) -> crate::state::Item {
        crate::kinds::iam_role::items(r).remove(0).1
    }

    fn creating(n: usize) -> Plan {
        Plan {
            changes: (0..n)
                .map(|i| Change {
                    action: Action::Create,
                    resource: Resource::new("iam_role"),
                    address: format!("tenant/t{i}/role/admin"),
                    name: format!("saas-t{i}-admin"),
                    tenant: Some(format!("t{i}")),
                    fields: vec![],
                    op: Op::Item {
                        address: format!("tenant/t{i}/role/admin"),
                        desired: Some(role_item(&role(&format!("saas-t{i}-admin")))),
                        live: None,
                        replace: false,
                    },
                })
                .collect(),
            orphans: vec![],
        }
    }

    #[test]
    fn roles_past_the_account_quota_fail_naming_it() {
        let figures = AccountFigures { roles: Some((990, 1000)), ..Default::default() };
        assert!(check(&creating(10), &World::default(), &figures, &crate::kinds::rules()).is_ok());
        let e = check(&creating(11), &World::default(), &figures, &crate::kinds::rules()).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("RolesQuota") && msg.contains("1001 > 1000"), "{msg}");
        assert!(msg.contains("the account has 990 roles, this plan creates 11"), "{msg}");
        assert!(e.hint().contains("up to 5,000"), "{}", e.hint());
    }

    #[test]
    fn trust_policy_over_the_account_size_quota_fails() {
        let mut p = creating(1);
        if let Op::Item { desired: Some(role), .. } = &mut p.changes[0].op {
            role.state["trust_policy"] = json!({"Statement": [{"Sid": "x".repeat(3000)}]});
        }
        let figures = AccountFigures { trust_policy_size_quota: Some(2048), ..Default::default() };
        let e = check(&p, &World::default(), &figures, &crate::kinds::rules()).unwrap_err();
        assert!(e.to_string().contains("AssumeRolePolicySizeQuota"), "{e}");
        let figures = AccountFigures { trust_policy_size_quota: Some(4096), ..Default::default() };
        assert!(check(&p, &World::default(), &figures, &crate::kinds::rules()).is_ok());
    }

    #[test]
    fn inline_policies_over_the_per_role_quota_fail() {
        let mut r = role("acme");
        r.policies.insert("a".into(), json!({"Sid": "x".repeat(6000)}));
        let desired = World { items: crate::kinds::iam_role::items(&r).into_iter().collect() };
        assert!(check(&creating(0), &desired, &AccountFigures::default(), &crate::kinds::rules()).is_ok());
        r.policies.insert("b".into(), json!({"Sid": "y".repeat(6000)}));
        let desired = World { items: crate::kinds::iam_role::items(&r).into_iter().collect() };
        let e = check(&creating(0), &desired, &AccountFigures::default(), &crate::kinds::rules()).unwrap_err();
        assert!(e.to_string().contains("inline policy characters") && e.to_string().contains("`acme`"), "{e}");
    }

    /// `n` items of `kind` in the shared pool.
    fn in_pool(kind: &str, n: usize) -> World {
        let mut w = World::default();
        for i in 0..n {
            let item = crate::state::Item {
                kind: kind.into(),
                name: format!("x{i}"),
                tenant: None,
                parent: Some("platform/pool".into()),
                state: json!({}),
                after: vec![],
            };
            w.items.insert(format!("platform/pool/{kind}/x{i}"), item);
        }
        w
    }

    #[test]
    fn per_pool_counts_past_cognitos_quotas_fail_naming_them() {
        let figures = AccountFigures::default();
        for (kind, limit, quota, remedy) in [
            ("app_client", APP_CLIENTS_PER_POOL, "app clients per user pool", "Service Quotas"),
            ("identity_provider", IDENTITY_PROVIDERS_PER_POOL, "identity providers per user pool", "silo pools"),
            ("group", GROUPS_PER_POOL, "groups per user pool", "cannot be raised"),
        ] {
            assert!(check(&creating(0), &in_pool(kind, limit), &figures, &crate::kinds::rules()).is_ok(), "{kind}");
            let e = check(&creating(0), &in_pool(kind, limit + 1), &figures, &crate::kinds::rules()).unwrap_err();
            let msg = e.to_string();
            assert!(msg.contains(quota) && msg.contains(&format!("{} > {limit}", limit + 1)), "{msg}");
            assert!(e.hint().contains(remedy), "{kind}: {}", e.hint());
        }
    }

    #[test]
    fn api_keys_past_the_regions_quota_fail() {
        let keys = |n: usize| Plan {
            changes: (0..n)
                .map(|i| Change {
                    action: Action::Create,
                    resource: Resource::new("api_key"),
                    address: format!("tenant/t{i}/api_key"),
                    name: format!("saas-t{i}"),
                    tenant: Some(format!("t{i}")),
                    fields: vec![],
                    op: Op::Item { address: format!("tenant/t{i}/api_key"), desired: None, live: None, replace: false },
                })
                .collect(),
            orphans: vec![],
        };
        let figures = AccountFigures { api_keys: Some(9_998), ..Default::default() };
        assert!(check(&keys(2), &World::default(), &figures, &crate::kinds::rules()).is_ok());
        let e = check(&keys(3), &World::default(), &figures, &crate::kinds::rules()).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("API keys per account and Region") && msg.contains("10001 > 10000"), "{msg}");
        assert!(msg.contains("the account has 9998, this plan creates 3"), "{msg}");
        assert!(e.hint().contains("cannot be raised"), "{}", e.hint());
        // The figure unknown (no apiUsage: not read): nothing to check.
        assert!(check(&keys(20_000), &World::default(), &AccountFigures::default(), &crate::kinds::rules()).is_ok());
    }

    #[test]
    fn pools_past_the_account_quota_fail() {
        let mut p = creating(0);
        p.changes.push(Change {
            action: Action::Create,
            resource: Resource::new("user_pool"),
            address: "tenant/x/pool".into(),
            name: "saas-x".into(),
            tenant: Some("x".into()),
            fields: vec![],
            op: {
                let pool = PoolState {
                    address: "tenant/x/pool".into(),
                    name: "saas-x".into(),
                    tenant: Some("x".into()),
                    settings: Default::default(),
                    attributes: Default::default(),
                    usernames: None,
                };
                Op::Item { address: pool.address.clone(), desired: Some(pool.item()), live: None, replace: false }
            },
        });
        let figures = AccountFigures { user_pools: Some(1000), ..Default::default() };
        assert!(check(&p, &World::default(), &figures, &crate::kinds::rules())
            .unwrap_err()
            .to_string()
            .contains("user pools"));
    }
}
