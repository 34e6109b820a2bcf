//! Count quotas, checked before the first write: a plan that would cross one fails naming
//! the quota, the numbers and the remedy, instead of an apply that dies half done at the
//! 1,001st role. Pure: the account's figures come in as [`AccountFigures`].

use std::collections::BTreeMap;

use super::{Action, Op, Plan, PlanError, Resource};
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

/// What the account says about itself (IAM `GetAccountSummary`, Cognito `ListUserPools`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountFigures {
    /// IAM `Roles` and `RolesQuota`.
    pub roles: Option<(usize, usize)>,
    /// IAM `AssumeRolePolicySizeQuota`.
    pub trust_policy_size_quota: Option<usize>,
    /// User pools in the account and Region (every pool, not only tenantctl's).
    pub user_pools: Option<usize>,
}

fn count(plan: &Plan, resource: Resource, action: Action) -> usize {
    plan.changes.iter().filter(|c| c.resource == resource && c.action == action).count()
}

/// Fails on the first count quota the plan would cross.
pub fn check(plan: &Plan, desired: &World, figures: &AccountFigures) -> Result<(), PlanError> {
    if let Some((used, quota)) = figures.roles {
        let creates = count(plan, Resource::IamRole, Action::Create);
        let deletes = count(plan, Resource::IamRole, Action::Delete);
        let needed = (used + creates).saturating_sub(deletes);
        if creates > 0 && needed > quota {
            return Err(PlanError::Quota {
                quota: "IAM roles per account (RolesQuota)".into(),
                detail: format!("the account has {used} roles, this plan creates {creates} (deletes {deletes}): {needed} > {quota}"),
                remedy: "ask AWS Support for a higher IAM roles quota (Service Quotas: IAM > Roles per account, up to 5,000), or onboard fewer tenants".into(),
            });
        }
    }
    if let Some(used) = figures.user_pools {
        let creates = count(plan, Resource::UserPool, Action::Create);
        let deletes = count(plan, Resource::UserPool, Action::Delete);
        let needed = (used + creates).saturating_sub(deletes);
        if creates > 0 && needed > USER_POOLS_PER_ACCOUNT {
            return Err(PlanError::Quota {
                quota: "Cognito user pools per account and Region".into(),
                detail: format!("the account has {used} user pools, this plan creates {creates}: {needed} > {USER_POOLS_PER_ACCOUNT}"),
                remedy: "request a higher user pool quota in Service Quotas (Amazon Cognito user pools), or make some silo tenants pooled".into(),
            });
        }
    }
    let mut groups: std::collections::BTreeMap<&str, usize> = Default::default();
    for i in desired.items.values().filter(|i| i.kind == Resource::Group.as_str()) {
        *groups.entry(i.parent.as_deref().unwrap_or_default()).or_default() += 1;
    }
    for (pool, n) in groups {
        if n > GROUPS_PER_POOL {
            let name = desired.items.get(pool).map_or(pool, |p| p.name.as_str());
            return Err(PlanError::Quota {
                quota: "Cognito groups per user pool".into(),
                detail: format!("pool `{name}` would hold {n} groups: {n} > {GROUPS_PER_POOL}"),
                remedy: "this quota cannot be raised: move tenants to silo pools, or give pooled tenants fewer roles"
                    .into(),
            });
        }
    }
    // Roles and their policies are items (`iam_role`, `role_policy`): a role's state holds its
    // trust policy, a policy's its document.
    let trust_quota = figures.trust_policy_size_quota.unwrap_or(DEFAULT_TRUST_POLICY_SIZE);
    for c in plan.changes.iter().filter(|c| c.resource == Resource::IamRole) {
        let Op::Item { desired: Some(role), .. } = &c.op else { continue };
        let size = crate::state::minified_len(&role.state["trust_policy"]);
        if size > trust_quota {
            return Err(PlanError::Quota {
                quota: "IAM trust policy size (AssumeRolePolicySizeQuota)".into(),
                detail: format!("role `{}`'s trust policy is {size} characters: {size} > {trust_quota}", role.name),
                remedy: "list fewer trust principals, or ask AWS Support for a larger trust policy quota (up to 4,096)"
                    .into(),
            });
        }
    }
    let mut inline: BTreeMap<&str, usize> = BTreeMap::new();
    for p in desired.items.values().filter(|i| i.kind == Resource::RolePolicy.as_str()) {
        if let (Some(role), Some(doc)) = (p.parent.as_deref(), p.state.get("document")) {
            *inline.entry(role).or_default() += crate::state::minified_len(doc);
        }
    }
    for (addr, role) in desired.items.iter().filter(|(_, i)| i.kind == Resource::IamRole.as_str()) {
        let total = inline.get(addr.as_str()).copied().unwrap_or(0);
        if total > INLINE_POLICY_CHARS_PER_ROLE {
            return Err(PlanError::Quota {
                quota: "IAM inline policy characters per role".into(),
                detail: format!("role `{}`'s inline policies total {total} characters: {total} > {INLINE_POLICY_CHARS_PER_ROLE}", role.name),
                remedy: "this quota cannot be raised: shorten the templates or split the role's permissions into managed policies".into(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Change;
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
                    resource: Resource::IamRole,
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
        assert!(check(&creating(10), &World::default(), &figures).is_ok());
        let e = check(&creating(11), &World::default(), &figures).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("RolesQuota") && msg.contains("1001 > 1000"), "{msg}");
        assert!(e.hint().contains("quota"), "{}", e.hint());
    }

    #[test]
    fn trust_policy_over_the_account_size_quota_fails() {
        let mut p = creating(1);
        if let Op::Item { desired: Some(role), .. } = &mut p.changes[0].op {
            role.state["trust_policy"] = json!({"Statement": [{"Sid": "x".repeat(3000)}]});
        }
        let figures = AccountFigures { trust_policy_size_quota: Some(2048), ..Default::default() };
        let e = check(&p, &World::default(), &figures).unwrap_err();
        assert!(e.to_string().contains("AssumeRolePolicySizeQuota"), "{e}");
        let figures = AccountFigures { trust_policy_size_quota: Some(4096), ..Default::default() };
        assert!(check(&p, &World::default(), &figures).is_ok());
    }

    #[test]
    fn inline_policies_over_the_per_role_quota_fail() {
        let mut r = role("acme");
        r.policies.insert("a".into(), json!({"Sid": "x".repeat(6000)}));
        let desired = World { items: crate::kinds::iam_role::items(&r).into_iter().collect() };
        assert!(check(&creating(0), &desired, &AccountFigures::default()).is_ok());
        r.policies.insert("b".into(), json!({"Sid": "y".repeat(6000)}));
        let desired = World { items: crate::kinds::iam_role::items(&r).into_iter().collect() };
        let e = check(&creating(0), &desired, &AccountFigures::default()).unwrap_err();
        assert!(e.to_string().contains("inline policy characters") && e.to_string().contains("`acme`"), "{e}");
    }

    #[test]
    fn pools_past_the_account_quota_fail() {
        let mut p = creating(0);
        p.changes.push(Change {
            action: Action::Create,
            resource: Resource::UserPool,
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
        assert!(check(&p, &World::default(), &figures).unwrap_err().to_string().contains("user pools"));
    }
}
