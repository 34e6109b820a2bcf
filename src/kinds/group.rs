//! `group`: a tenant's role in a user pool, the Cognito group `<tenant>-<role>` whose role ARN
//! is the tenant's IAM role for that role (contract §2); with `tenancy.groups: shared`
//! (contract §1.7) the group `<role>` in each managed pool, whose role ARN is the shared role's
//! with `tenancy.roles: shared` and none with per-tenant roles (a group of every tenant cannot
//! name one tenant's role; the authorizer picks the role from the token's tenant).
//!
//! - A `tenancy.groups` switch deletes the old groups and creates the new ones: it is refused
//!   (`check_quotas`, before any write) for a pool that holds users (`EstimatedNumberOfUsers`):
//!   their memberships are data, and tenantctl never moves users.
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
use crate::aws::{call_err, none_if_gone, Aws, AwsError, Call};
use crate::plan::deps::role_name;
use crate::plan::quotas::{AccountFigures, GROUPS_PER_POOL};
use crate::plan::{Deps, Key, Plan, PlanError};
use crate::plan::{ItemRules, Resource};
use crate::spec::desired::{names, shared_groups, shared_roles, tenant_roles};
use crate::spec::model::Isolation;
use crate::spec::Diagnostic;
use crate::spec::Folder;
use crate::state::Ids;
use crate::state::{Item, World};
use std::collections::{BTreeMap, BTreeSet};

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

/// The name of the role a group's state names.
fn named_role(item: &Item) -> Option<String> {
    item.state.get("role_arn")?.as_str().and_then(role_name).map(str::to_string)
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
        Resource::new(KIND)
    }

    /// Groups per user pool (a fixed Cognito quota); a `tenancy.groups` switch in a pool that
    /// holds users ([`check_group_switch`]).
    fn check_quotas(&self, plan: &Plan, desired: &World, figures: &AccountFigures) -> Result<(), PlanError> {
        check_group_switch(plan, desired, figures)?;
        let mut groups: BTreeMap<&str, usize> = BTreeMap::new();
        for i in desired.items.values().filter(|i| i.kind == KIND) {
            *groups.entry(i.parent.as_deref().unwrap_or_default()).or_default() += 1;
        }
        for (pool, n) in groups {
            if n > GROUPS_PER_POOL {
                let name = desired.items.get(pool).map_or(pool, |p| p.name.as_str());
                return Err(PlanError::Quota {
                    quota: "Cognito groups per user pool".into(),
                    detail: format!("pool `{name}` would hold {n} groups: {n} > {GROUPS_PER_POOL}"),
                    remedy:
                        "this quota cannot be raised: move tenants to silo pools, or give pooled tenants fewer roles"
                            .into(),
                });
            }
        }
        Ok(())
    }

    /// A tenant's isolation cannot change ([`check_isolation_moves`]).
    fn check(&self, desired: &World, observed: &World, _ids: &Ids) -> Result<(), PlanError> {
        check_isolation_moves(desired, observed)
    }

    /// A group names its role by ARN: its update or delete stops naming the live one, which
    /// that role's delete waits for ([`Key::RoleReleased`]).
    fn order(&self, _desired: &Item, live: Option<&Item>, deps: &mut Deps) {
        deps.provides.extend(live.and_then(named_role).map(Key::RoleReleased));
    }

    fn delete_order(&self, live: &Item, deps: &mut Deps) {
        deps.provides.extend(named_role(live).map(Key::RoleReleased));
    }

    fn goes_with_parent(&self) -> bool {
        true
    }
}

impl Kind for Group {
    /// Per pool, as soon as the pool is read.
    fn read_per(&self) -> Option<&'static str> {
        Some(crate::state::POOL_KIND)
    }

    fn desired(&self, folder: &Folder, ctx: &DesiredCtx, world: &World) -> Desired {
        let env = &ctx.env;
        let pl = &folder.platform.value;
        let mut out = Vec::new();
        if shared_groups(pl) {
            for (pool, p) in &world.pools() {
                for (role, spec) in &pl.roles {
                    let name = names::shared_group(role);
                    let shared_role = shared_roles(pl).then(|| names::shared_iam_role(&pl.name, role));
                    let state = GroupState {
                        description: Some(format!("{role} (tenantctl, every tenant)")),
                        precedence: spec.precedence,
                        role_arn: shared_role
                            .as_ref()
                            .map(|r| names::role_arn(&env.partition, &env.account_id, &pl.name, r)),
                    };
                    let mut group = item(pool, p.tenant.as_deref(), &name, &state);
                    if shared_role.is_some() {
                        group.after.push(names::shared_role_address(role));
                    }
                    out.push((address(pool, &name), group));
                }
            }
            return Ok(out);
        }
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
                            &if shared_roles(pl) {
                                names::shared_iam_role(&pl.name, role)
                            } else {
                                names::iam_role(&pl.name, &t.id, role)
                            },
                        )),
                    };
                    let mut group = item(pool, p.tenant.as_deref(), &name, &state);
                    if shared_roles(pl) {
                        group.after = vec![names::shared_role_address(role)];
                    }
                    out.push((address(pool, &name), group));
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
            let created = aws
                .cognito
                .create_group()
                .user_pool_id(pool)
                .group_name(&item.name)
                .set_description(group.description)
                .set_role_arn(group.role_arn)
                .set_precedence(group.precedence)
                .send()
                .call(aws, "cognito-idp:CreateGroup", Some(pool))
                .await;
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
            aws.cognito
                .delete_group()
                .user_pool_id(pool)
                .group_name(id)
                .send()
                .call(aws, "cognito-idp:DeleteGroup", Some(pool))
                .await?;
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
        let page = aws
            .cognito
            .list_groups()
            .user_pool_id(pool_id)
            .limit(60)
            .set_next_token(token.take())
            .send()
            .call(aws, "cognito-idp:ListGroups", Some(pool_id))
            .await?;
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

// ---- A tenant's isolation cannot change (contract §1.6): its users live in one user pool
// (the shared pool when pooled, its own when silo), and Cognito cannot move a user (password,
// MFA, `sub`) to another pool. A tier change that changes the isolation, or a changed
// `isolation`, is a plan error that says so, before anything is compared.

/// Tenants with a silo pool, and tenants with groups in the shared pool; with the authorizer's
/// configuration, also the tenants it places (a silo issuer's tenant; a declared tenant
/// without a silo pool or issuer is pooled: with shared groups, nothing else shows it).
fn placement(w: &World) -> (BTreeSet<String>, BTreeSet<String>) {
    let shared = crate::spec::desired::names::shared_pool_address();
    let (mut silo, declared) = super::lambda_function::placed_tenants(w);
    let mut pooled = BTreeSet::new();
    for i in w.items.values() {
        match (i.kind.as_str(), i.tenant.as_deref()) {
            (super::user_pool::KIND, Some(t)) => {
                silo.insert(t.to_string());
            }
            (KIND, Some(t)) if i.parent.as_deref() == Some(shared.as_str()) => {
                pooled.insert(t.to_string());
            }
            _ => {}
        }
    }
    pooled.extend(declared.into_iter().filter(|t| !silo.contains(t)));
    (silo, pooled)
}

/// The first tenant whose isolation the desired world changes against the live one: its
/// groups in the shared pool on one side, a silo pool of its own on the other.
pub fn check_isolation_moves(desired: &World, observed: &World) -> Result<(), PlanError> {
    let (want_silo, want_pooled) = placement(desired);
    let (have_silo, have_pooled) = placement(observed);
    for t in want_silo.union(&want_pooled) {
        let (from, to) = if want_silo.contains(t) && have_pooled.contains(t) && !have_silo.contains(t) {
            ("pooled", "silo")
        } else if want_pooled.contains(t) && have_silo.contains(t) && !want_silo.contains(t) {
            ("silo", "pooled")
        } else {
            continue;
        };
        return Err(PlanError::Refused {
            resource: "tenant".into(),
            address: format!("tenant/{t}"),
            message: format!(
                "its isolation would change from {from} to {to} (its `tier` or `isolation` changed): its users live in {}, and users cannot move between user pools (Cognito keeps a user's password, MFA and sub in one pool)",
                if from == "pooled" { "the shared pool" } else { "a pool of its own" }
            ),
            hint: "put the tier (or isolation) back, or move the tenant to a tier of the same isolation; to change isolation, onboard the tenant under a new id and migrate its users yourself".into(),
        });
    }
    Ok(())
}

// ---- Contract §1.7: `tenancy.groups` may change only while the affected pools hold no users.

/// Whether a group's name is a shared group's (`<role>`: no tenant in it).
fn shared_shaped(name: &str) -> bool {
    group_tenant(name).is_none() && crate::spec::validate::role_re().is_match(name)
}

/// A `tenancy.groups` switch: the plan deletes a group of one shape (`<tenant>-<role>` or
/// `<role>`) in a pool where the desired groups are of the other. Refused when that pool
/// holds users (its `EstimatedNumberOfUsers`): their memberships are data, and tenantctl never
/// moves users from one group to another.
pub fn check_group_switch(plan: &Plan, desired: &World, figures: &AccountFigures) -> Result<(), PlanError> {
    for c in plan.changes.iter().filter(|c| c.resource.as_str() == KIND && c.action == crate::plan::Action::Delete) {
        let crate::plan::Op::Item { live: Some(live), .. } = &c.op else { continue };
        let Some(pool) = live.parent.as_deref() else { continue };
        let old_shared = shared_shaped(&live.name);
        let switched = desired
            .items
            .values()
            .any(|g| g.kind == KIND && g.parent.as_deref() == Some(pool) && shared_shaped(&g.name) != old_shared);
        if !switched {
            continue;
        }
        let users = figures.pool_users.get(pool).copied().unwrap_or(0);
        if users == 0 {
            continue;
        }
        let name = desired.items.get(pool).map_or(pool, |p| p.name.as_str());
        let (from, to) = if old_shared { ("shared", "per-tenant") } else { ("per-tenant", "shared") };
        return Err(PlanError::Refused {
            resource: KIND.into(),
            address: c.address.clone(),
            message: format!(
                "`tenancy.groups` changes from {from} to {to}, and user pool `{name}` holds about {users} users: the switch deletes its group `{}` and creates the other groups, which would drop those users' memberships (user memberships are data; tenantctl never moves users)",
                live.name
            ),
            hint: format!("put `tenancy.groups: {from}` back; switch only while the pools hold no users (a new platform), or move the users' memberships yourself first"),
        });
    }
    Ok(())
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
    if shared_groups(pl) {
        // One group per role in each pool (roles are far fewer than 10,000).
        return;
    }
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

#[cfg(test)]
mod isolation_tests {
    use super::*;
    use crate::state::PoolState;

    fn world(pools: &[(&str, Option<&str>, &[&str])]) -> World {
        let mut w = World::default();
        for (pool, tenant, groups) in pools {
            w.insert_pool(PoolState {
                address: pool.to_string(),
                name: pool.to_string(),
                tenant: tenant.map(str::to_string),
                settings: Default::default(),
                attributes: Default::default(),
                usernames: None,
            });
            for g in *groups {
                let st = GroupState { description: None, precedence: None, role_arn: None };
                w.items.insert(address(pool, g), item(pool, *tenant, g, &st));
            }
        }
        w
    }

    #[test]
    fn pooled_to_silo_and_back_are_refused_with_the_reason() {
        let pooled = world(&[("platform/pool", None, &["acme-admin", "globex-admin"])]);
        let silo =
            world(&[("platform/pool", None, &["globex-admin"]), ("tenant/acme/pool", Some("acme"), &["acme-admin"])]);
        let e = check_isolation_moves(&silo, &pooled).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("tenant/acme") && text.contains("from pooled to silo"), "{text}");
        assert!(text.contains("users cannot move between user pools"), "{text}");
        let e = check_isolation_moves(&pooled, &silo).unwrap_err();
        assert!(e.to_string().contains("from silo to pooled"), "{e}");
        // Unchanged, new tenants, and tenants leaving: fine.
        assert!(check_isolation_moves(&pooled, &pooled).is_ok());
        assert!(check_isolation_moves(&silo, &World::default()).is_ok());
        assert!(check_isolation_moves(&World::default(), &silo).is_ok());
    }

    /// Shared groups: the shared pool holds no group of a pooled tenant, so the authorizer's
    /// configuration tells it (declared, no silo issuer). Moving such a tenant to silo is
    /// refused as with per-tenant groups; before, the check saw no pooled tenant and let the
    /// plan make a silo pool its users could never sign in to.
    #[test]
    fn a_pooled_tenant_on_shared_groups_is_seen_by_the_authorizers_configuration() {
        use crate::kinds::lambda_function::{self, FunctionState};
        use crate::state::{Item, Text};
        use std::collections::BTreeMap;
        let function = |tenants: &[&str], issuers: &[&str]| {
            let mut config = BTreeMap::new();
            config.insert("tenants".to_string(), tenants.iter().map(|t| Text::from(t.to_string())).collect());
            config.insert("issuers".to_string(), issuers.iter().map(|t| Text::from(t.to_string())).collect());
            lambda_function::item(&FunctionState {
                name: "p-authorizer".into(),
                runtime: String::new(),
                handler: String::new(),
                role: String::new(),
                memory_mb: 128,
                timeout_seconds: 5,
                architecture: String::new(),
                code_sha256: String::new(),
                environment: Default::default(),
                config,
                tags: Default::default(),
                code: None,
                code_file: None,
            })
        };
        let with_function = |mut w: World, f: Item| {
            w.items.insert(crate::state::wiring::FUNCTION_ADDRESS.to_string(), f);
            w
        };
        let pool_a = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_A=*";
        let pool_b = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_B=acme";
        // Live: acme pooled, groups shared (`admin` in the shared pool, no tenant's group).
        let live =
            with_function(world(&[("platform/pool", None, &["admin"])]), function(&["acme", "globex"], &[pool_a]));
        // Desired: acme in a pool of its own.
        let want = with_function(
            world(&[("platform/pool", None, &["admin"]), ("tenant/acme/pool", Some("acme"), &["admin"])]),
            function(&["acme", "globex"], &[pool_a, pool_b]),
        );
        let e = check_isolation_moves(&want, &live).unwrap_err();
        assert!(e.to_string().contains("tenant/acme") && e.to_string().contains("from pooled to silo"), "{e}");
        // And back: a live silo issuer of acme, desired pooled.
        let live_silo =
            with_function(world(&[("platform/pool", None, &["admin"])]), function(&["acme"], &[pool_a, pool_b]));
        let want_pooled = with_function(world(&[("platform/pool", None, &["admin"])]), function(&["acme"], &[pool_a]));
        let e = check_isolation_moves(&want_pooled, &live_silo).unwrap_err();
        assert!(e.to_string().contains("from silo to pooled"), "{e}");
        // Unchanged: fine.
        assert!(check_isolation_moves(&live, &live).is_ok());
        // A desired issuer names its pool by reference (not created yet, or a `--tenant`
        // session's other tenants): its tenant is silo all the same, not pooled.
        let issuer_ref =
            Text::from("https://cognito-idp.us-east-1.amazonaws.com/".to_string()).id("tenant/acme/pool").s("=acme");
        let mut f = function(&["acme"], &[pool_a]);
        let mut st = lambda_function::state(&f).unwrap();
        st.config.get_mut("issuers").unwrap().push(issuer_ref);
        f = lambda_function::item(&st);
        let want_silo = with_function(world(&[("platform/pool", None, &["admin"])]), f);
        assert!(check_isolation_moves(&want_silo, &live_silo).is_ok());
    }
}
