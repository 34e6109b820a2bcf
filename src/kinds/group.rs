//! `group`: a tenant's role in a user pool, the Cognito group `<tenant>-<role>` whose role ARN
//! is the tenant's IAM role for that role (contract §2).
//!
//! - Lives in its pool (`parent`), created after the IAM role it names (`after`).
//! - Its tenant comes from its name ([`group_tenant`], the one parser of group names); a
//!   group of a tenant without a file is an orphan, kept unless `--prune`. An undeclared
//!   group in a managed pool is deleted; a group goes with its pool (no change of its own).
//! - Observed with `ListGroups` pages per managed pool; in a `--tenant` (scoped) observation,
//!   with `GetGroup` per group the named tenants declare. Its physical id is its name.

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use super::{Desired, DesiredCtx, Kind, ObserveScope, Observed};
use crate::aws::cognito::{live_pools, LivePool, READ_CONCURRENCY};
use crate::aws::{call_err, none_if_gone, Aws, AwsError};
use crate::plan::{ItemRules, Resource};
use crate::spec::desired::{names, tenant_roles};
use crate::spec::model::Isolation;
use crate::spec::Diagnostic;
use crate::spec::Folder;
use crate::state::{Item, World};

pub struct Group;

pub const KIND: &str = "group";

/// The fields tenantctl manages on a group.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct GroupState {
    pub description: Option<String>,
    pub precedence: Option<i32>,
    pub role_arn: Option<String>,
}

/// `<pool address>/group/<name>`
pub fn address(pool: &str, name: &str) -> String {
    format!("{pool}/group/{name}")
}

/// `<tenant>-<role>` -> tenant (role names hold no hyphen).
pub fn group_tenant(name: &str) -> Option<&str> {
    let (t, r) = name.rsplit_once('-')?;
    (!t.is_empty() && !r.is_empty() && r.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())).then_some(t)
}

/// A group of the pool at `pool` (whose silo tenant is `pool_tenant`), as an item: its tenant
/// from its name (else the pool's), created after the role of that name.
pub fn item(pool: &str, pool_tenant: Option<&str>, name: &str, state: &GroupState) -> Item {
    let tenant = group_tenant(name);
    let after = match tenant {
        Some(t) => vec![names::role_address(t, &name[t.len() + 1..])],
        None => Vec::new(),
    };
    Item {
        kind: KIND.to_string(),
        name: name.to_string(),
        tenant: tenant.or(pool_tenant).map(str::to_string),
        parent: Some(pool.to_string()),
        state: serde_json::to_value(state).expect("state serializes"),
        after,
    }
}

fn state(item: &Item) -> Result<GroupState, AwsError> {
    serde_json::from_value(item.state.clone()).map_err(|e| AwsError::Other(format!("group `{}`: {e}", item.name)))
}

fn live_state(g: &aws_sdk_cognitoidentityprovider::types::GroupType) -> GroupState {
    GroupState {
        description: g.description().map(str::to_string),
        precedence: g.precedence(),
        role_arn: g.role_arn().map(str::to_string),
    }
}

impl ItemRules for Group {
    fn resource(&self) -> Resource {
        Resource::Group
    }

    fn phase(&self, _item: &Item, delete: bool) -> u8 {
        if delete {
            13
        } else {
            7
        }
    }

    fn goes_with_parent(&self) -> bool {
        true
    }
}

impl Kind for Group {
    fn rules(&self) -> &dyn ItemRules {
        self
    }

    fn desired(&self, folder: &Folder, ctx: &DesiredCtx, world: &World) -> Desired {
        let env = &ctx.env;
        let pl = &folder.platform.value;
        let mut out = Vec::new();
        for (pool, p) in &world.pools() {
            let tenants = folder.tenants.iter().map(|t| &t.value).filter(|t| match &p.tenant {
                Some(id) => t.isolation == Isolation::Silo && t.id == *id,
                None => t.isolation == Isolation::Pooled,
            });
            for t in tenants {
                for role in tenant_roles(pl, t) {
                    let name = names::group(&t.id, role);
                    let state = GroupState {
                        description: Some(format!(
                            "{} {role} (tenantctl)",
                            t.display_name.clone().unwrap_or_else(|| t.id.clone())
                        )),
                        precedence: pl.roles.get(role).and_then(|r| r.precedence),
                        role_arn: Some(names::role_arn(
                            &env.partition,
                            &env.account_id,
                            &pl.name,
                            &names::iam_role(&pl.name, &t.id, role),
                        )),
                    };
                    out.push((address(pool, &name), item(pool, p.tenant.as_deref(), &name, &state)));
                }
            }
        }
        Ok(out)
    }

    fn observe<'a>(&'a self, aws: &'a Aws, scope: &'a ObserveScope<'a>) -> BoxFuture<'a, Result<Observed, AwsError>> {
        let desired = scope.desired;
        let scoped = scope.scoped();
        let observed = scope.observed;
        let ids = scope.ids;
        async move {
            let per_pool: Vec<(LivePool, Vec<(String, GroupState)>)> = futures::stream::iter(live_pools(observed, ids))
                .map(|pool| {
                    // Scoped: the groups the named tenants declare in this pool.
                    let names: Option<Vec<String>> = scoped.then(|| {
                        desired
                            .items
                            .values()
                            .filter(|i| i.kind == KIND && i.parent.as_deref() == Some(pool.address.as_str()))
                            .map(|i| i.name.clone())
                            .collect()
                    });
                    async move {
                        let groups = match names {
                            Some(names) => get_groups(aws, &pool.id, names).await?,
                            None => list_groups(aws, &pool.id).await?,
                        };
                        Ok::<_, AwsError>((pool, groups))
                    }
                })
                .buffered(2)
                .try_collect()
                .await?;
            let mut out = Vec::new();
            for (pool, groups) in per_pool {
                for (name, g) in groups {
                    let item = item(&pool.address, pool.tenant.as_deref(), &name, &g);
                    out.push((address(&pool.address, &name), item, name));
                }
            }
            Ok(out)
        }
        .boxed()
    }

    fn create<'a>(
        &'a self,
        aws: &'a Aws,
        item: &'a Item,
        parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<String, AwsError>> {
        async move {
            let pool = parent.ok_or_else(|| AwsError::Other(format!("group `{}`: no pool", item.name)))?;
            let group = state(item)?;
            aws.limiter.acquire_op("cognito-idp:CreateGroup", Some(pool)).await;
            let created = aws
                .cognito
                .create_group()
                .user_pool_id(pool)
                .group_name(&item.name)
                .set_description(group.description)
                .set_role_arn(group.role_arn)
                .set_precedence(group.precedence)
                .send()
                .await
                .map_err(|e| call_err("cognito-idp:CreateGroup", e));
            match created {
                // Created meanwhile (a concurrent apply): update it to the desired state.
                Err(e) if e.code() == Some("GroupExistsException") => {
                    self.update(aws, item, item, &item.name, parent).await?;
                }
                other => other.map(|_| ())?,
            }
            Ok(item.name.clone())
        }
        .boxed()
    }

    fn update<'a>(
        &'a self,
        aws: &'a Aws,
        item: &'a Item,
        _live: &'a Item,
        id: &'a str,
        parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        async move {
            let pool = parent.ok_or_else(|| AwsError::Other(format!("group `{}`: no pool", item.name)))?;
            let group = state(item)?;
            // Paced as CreateGroup (the same quota category).
            aws.limiter.acquire_op("cognito-idp:CreateGroup", Some(pool)).await;
            aws.cognito
                .update_group()
                .user_pool_id(pool)
                .group_name(id)
                .set_description(group.description)
                .set_role_arn(group.role_arn)
                .set_precedence(group.precedence)
                .send()
                .await
                .map_err(|e| call_err("cognito-idp:UpdateGroup", e))?;
            Ok(())
        }
        .boxed()
    }

    fn delete<'a>(
        &'a self,
        aws: &'a Aws,
        live: &'a Item,
        id: &'a str,
        parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        async move {
            let pool = parent.ok_or_else(|| AwsError::Other(format!("group `{}`: no pool", live.name)))?;
            aws.limiter.acquire_op("cognito-idp:DeleteGroup", Some(pool)).await;
            aws.cognito
                .delete_group()
                .user_pool_id(pool)
                .group_name(id)
                .send()
                .await
                .map_err(|e| call_err("cognito-idp:DeleteGroup", e))?;
            Ok(())
        }
        .boxed()
    }

    fn validate(&self, folder: &Folder) -> Vec<Diagnostic> {
        folder_rules(folder)
    }
}

async fn list_groups(aws: &Aws, pool_id: &str) -> Result<Vec<(String, GroupState)>, AwsError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        aws.limiter.acquire_op("cognito-idp:ListGroups", Some(pool_id)).await;
        let page = aws
            .cognito
            .list_groups()
            .user_pool_id(pool_id)
            .limit(60)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| call_err("cognito-idp:ListGroups", e))?;
        for g in page.groups() {
            if let Some(name) = g.group_name() {
                out.push((name.to_string(), live_state(g)));
            }
        }
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => return Ok(out),
        }
    }
}

/// Scoped read: GetGroup for each named group; an absent group is left out.
async fn get_groups(aws: &Aws, pool_id: &str, names: Vec<String>) -> Result<Vec<(String, GroupState)>, AwsError> {
    let found: Vec<Option<(String, GroupState)>> = futures::stream::iter(names)
        .map(|name| async move {
            aws.limiter.acquire_op("cognito-idp:GetGroup", Some(pool_id)).await;
            let out = aws.cognito.get_group().user_pool_id(pool_id).group_name(&name).send().await;
            Ok(none_if_gone(out.map_err(|e| call_err("cognito-idp:GetGroup", e)))?
                .and_then(|out| out.group().map(|g| (name.clone(), live_state(g)))))
        })
        .buffered(READ_CONCURRENCY)
        .try_collect()
        .await?;
    Ok(found.into_iter().flatten().collect())
}

// ---------------------------------------------------------------- validation

pub const MAX_GROUP_NAME: usize = 128;

/// Groups per user pool (Cognito quota, cannot be raised).
pub const MAX_GROUPS_PER_POOL: usize = 10_000;

/// What Cognito accepts of the groups (`Kind::validate`): a role's precedence, the groups
/// of the shared pool.
fn folder_rules(folder: &Folder) -> Vec<Diagnostic> {
    let p = &folder.platform;
    let pl = &p.value;
    let mut out = Vec::new();
    for (name, role) in &pl.roles {
        let path = format!("roles.{name}");
        if let Some(n) = role.precedence {
            if n < 0 {
                out.push(
                    p.at(
                        &format!("{path}.precedence"),
                        format!("precedence {n} is negative; Cognito group precedence is a number >= 0"),
                    )
                    .hint("lower numbers win; use 0 for the highest precedence"),
                );
            }
        }
    }
    group_count_rules(folder, &mut out);
    out
}

/// The shared pool holds one group per pooled tenant and role: at most 10,000 (fixed quota).
fn group_count_rules(folder: &Folder, out: &mut Vec<Diagnostic>) {
    let pl = &folder.platform.value;
    let mut count = 0usize;
    for t in &folder.tenants {
        if t.value.isolation == crate::spec::model::Isolation::Pooled {
            count += t.value.roles.as_ref().map_or(pl.roles.len(), Vec::len);
            if count > MAX_GROUPS_PER_POOL {
                out.push(
                    t.at("id", format!("tenant `{}` takes the shared pool past Cognito's {MAX_GROUPS_PER_POOL} groups per pool (one group per pooled tenant and role); the quota cannot be raised", t.value.id))
                        .hint("make tenants silo (a pool each) or give pooled tenants fewer roles"),
                );
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_and_role_from_the_name() {
        assert_eq!(group_tenant("acme-admin"), Some("acme"));
        assert_eq!(group_tenant("my-co-admin"), Some("my-co"));
        assert_eq!(group_tenant("Hand Made"), None);
        assert_eq!(group_tenant("acme-Owner"), None);
        let i = item(
            "platform/pool",
            None,
            "my-co-admin",
            &GroupState { description: None, precedence: None, role_arn: None },
        );
        assert_eq!(i.tenant.as_deref(), Some("my-co"));
        assert_eq!(i.after, ["tenant/my-co/role/admin"]);
        let i = item(
            "tenant/x/pool",
            Some("x"),
            "Hand Made",
            &GroupState { description: None, precedence: None, role_arn: None },
        );
        assert_eq!((i.tenant.as_deref(), i.after.len()), (Some("x"), 0));
    }
}
