//! `user_pool`: the shared pool (`<platform>`) and each silo tenant's (`<platform>-<tenant>`).
//!
//! - Identified by its tags (`tenantctl:managed=true`, `tenantctl:platform=<platform>`), never
//!   by name alone: `CreateUserPool` is not idempotent, so two managed pools claiming one
//!   address are a conflict the operator has to resolve; a twin created by a concurrent apply
//!   is settled at once ([`keep_one_pool`]).
//! - Read before the kinds that live in pools (ListUserPools pages, DescribeUserPool per
//!   candidate), which are read per pool ([`Kind::read_per`]) as soon as the pool is described
//!   (handed out by [`ObserveScope::found`]); the pages give the account's pool count for its
//!   quota.
//! - Compared on its settings (deletion protection, MFA, admin-only sign-up, password
//!   policy, tags); a `--tenant` plan creates a missing pool but updates none. Its custom
//!   attributes are created with it (`CreateUserPool` carries the schema) and are items of
//!   their own kind afterwards (`custom_attribute`). `usernames` (contract §1.5) is set at
//!   creation only: a declared value that differs from the live pool is a plan error.
//! - Never replaced (contract §4). Deleted only by destroy or `--prune`: a protected pool's
//!   deletion protection is turned off by an update of its own first ([`ItemRules::finish`]),
//!   and a pool that still has users is kept unless `--force-delete-users`.
//! - Updates are read-modify-write: `UpdateUserPool` resets every field left out, so the live
//!   pool is read first and sent back whole, with only the managed fields replaced.
//!
//! Everything read is normalised to the shape [`desired_pools`] builds: custom attributes lose
//! their `custom:` prefix; String constraints default to "0"/"2048".

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_cognitoidentityprovider::operation::update_user_pool::builders::UpdateUserPoolFluentBuilder;
use aws_sdk_cognitoidentityprovider::types::builders::LambdaConfigTypeBuilder;
use aws_sdk_cognitoidentityprovider::types::{
    AdminCreateUserConfigType, AdvancedSecurityModeType, AliasAttributeType, AttributeDataType, DeletionProtectionType,
    LambdaConfigType, NumberAttributeConstraintsType, PasswordPolicyType, PreTokenGenerationLambdaVersionType,
    PreTokenGenerationVersionConfigType, SchemaAttributeType, SoftwareTokenMfaConfigType,
    StringAttributeConstraintsType, UserPoolAddOnsType, UserPoolMfaType, UserPoolPolicyType, UserPoolTierType,
    UserPoolType, UsernameAttributeType, UsernameConfigurationType,
};
use futures::future::BoxFuture;
use futures::stream::{StreamExt, TryStreamExt};
use futures::{stream, FutureExt};
use serde_json::Value;

use super::{Desired, DesiredCtx, Kind, ObserveScope, Observed};
use crate::aws::cognito::{date_key, describe_pool, list_all_pools, non_empty_list, READ_CONCURRENCY, TWIN_SETTLE};
use crate::aws::{call_err, none_if_gone, Aws, AwsError, Call};
use crate::plan::quotas::{after_plan, AccountFigures, USER_POOLS_PER_ACCOUNT};
use crate::plan::Plan;
use crate::plan::{
    diff_values, field_changes, Action, Change, Deps, FieldChange, ItemRules, Key, Op, PlanError, PlanOptions, Resource,
};
use crate::spec::desired::{
    names, platform_tags, tenant_tags, trigger_arn, RenderEnv, TAG_MANAGED, TAG_PLATFORM, TAG_TENANT,
};
use crate::spec::model::{AttributeType, Isolation, Mfa, Tenant, ThreatProtection};
use crate::spec::validate::{platform_re, tenant_id_problem};
use crate::spec::{Diagnostic, Folder};
use crate::state::{
    AttributeState, Ids, Item, PasswordState, PoolItemState, PoolSettings, PoolState, Tags, UsernamesState, World,
    POOL_KIND,
};

pub struct UserPool;

pub const KIND: &str = POOL_KIND;
/// The group kind's name: a pool's groups are its children, and `group` imports this module.
const GROUP: &str = "group";

/// The key a planned deletion's live state carries when `--force-delete-users` was given.
const FORCE_DELETE_USERS: &str = "force_delete_users";

fn pool_of(address: &str, item: &Item) -> Result<PoolState, AwsError> {
    PoolState::of_item(address, item)
        .ok_or_else(|| AwsError::Other(format!("user pool `{}`: unexpected state", item.name)))
}

fn item_state(item: &Item) -> Option<PoolItemState> {
    serde_json::from_value(item.state.clone()).ok()
}

/// The names of the pools of `world` that lack tenantctl's managed tag (what `adopt` takes
/// over).
pub fn unmanaged(world: &World) -> Vec<String> {
    world.items.values().filter(|i| i.kind == KIND && lacks_tags(i)).map(|i| i.name.clone()).collect()
}

/// A pool instance without tenantctl's managed tag (an observed pool being adopted).
fn lacks_tags(i: &Item) -> bool {
    item_state(i).is_some_and(|s| s.settings.tags.get(TAG_MANAGED).map(String::as_str) != Some("true"))
}

impl ItemRules for UserPool {
    fn resource(&self) -> Resource {
        Resource::new(KIND)
    }

    /// User pools per account and Region: the pools there are, plus the plan's creates,
    /// minus its deletes.
    fn check_quotas(&self, plan: &Plan, _desired: &World, figures: &AccountFigures) -> Result<(), PlanError> {
        let Some(used) = figures.user_pools else { return Ok(()) };
        let (Some(needed), creates, _) = after_plan(plan, self.resource(), used) else { return Ok(()) };
        if needed > USER_POOLS_PER_ACCOUNT {
            return Err(PlanError::Quota {
                quota: "Cognito user pools per account and Region".into(),
                detail: format!("the account has {used} user pools, this plan creates {creates}: {needed} > {USER_POOLS_PER_ACCOUNT}"),
                remedy: "request a higher user pool quota in Service Quotas (Amazon Cognito user pools), or make some silo tenants pooled".into(),
            });
        }
        Ok(())
    }

    /// After the authorizer's change: it names the pools it trusts.
    fn delete_order(&self, _live: &Item, deps: &mut Deps) {
        deps.needs.push(Key::Kind(Resource::new(super::authorizer::KIND)));
    }

    /// Its settings; its attributes are their kind's and `usernames` is [`check_change`]'s.
    ///
    /// [`check_change`]: ItemRules::check_change
    fn compare(&self, _address: &str, desired: &Item, live: &Item, _ids: &Ids) -> Result<Vec<FieldChange>, PlanError> {
        let (Some(d), Some(o)) = (item_state(desired), item_state(live)) else {
            return Ok(diff_values("", &live.state, &desired.state));
        };
        // What the folder does not manage is not compared: a feature plan it does not name,
        // triggers while it names none.
        let mut live = o.settings.clone();
        if d.settings.feature_plan.is_none() {
            live.feature_plan = None;
        }
        if d.settings.triggers.is_none() {
            live.triggers = None;
        }
        Ok(field_changes(Some(&live), Some(&d.settings)))
    }

    /// No, unless it lacks tenantctl's tags: then this is `adopt --tenant`, which tags it.
    fn updated_in_scope(&self, live: &Item) -> bool {
        lacks_tags(live)
    }

    fn platform_orphans(&self) -> bool {
        true
    }

    /// What a create shows: the settings and the attributes it is created with.
    fn create_fields(&self, desired: &Item, _ids: &Ids) -> Vec<FieldChange> {
        let Some(d) = item_state(desired) else { return diff_values("", &Value::Null, &desired.state) };
        let mut fields = field_changes(None, Some(&d.settings));
        for (n, a) in &d.attributes {
            fields.extend(diff_values(
                &format!("attributes.custom:{n}"),
                &Value::Null,
                &serde_json::to_value(a).unwrap(),
            ));
        }
        fields
    }

    /// A declared `usernames` that differs from the live pool's (AWS never changes it).
    fn check_change(&self, desired: &Item, live: &Item, pool: &str) -> Result<(), PlanError> {
        let (Some(d), Some(o)) = (item_state(desired), item_state(live)) else { return Ok(()) };
        if let (Some(want), Some(live)) = (&d.usernames, &o.usernames) {
            if want != live {
                let f = field_changes(Some(live), Some(want)).into_iter().next().expect("differs");
                return Err(PlanError::UsernamesChange {
                    pool: pool.to_string(),
                    field: match f.path.as_str() {
                        "case_sensitive" => "caseSensitive".into(),
                        "sign_in_with" => "signInWith".into(),
                        p => p.to_string(),
                    },
                    before: f.before.to_string(),
                    after: f.after.to_string(),
                });
            }
        }
        Ok(())
    }

    /// A pool to be deleted: its deletion protection (the user's guard) is turned off only
    /// here, inside an explicit destroy or `--prune` of this pool, as an update of its own;
    /// `--force-delete-users` travels with the deletion.
    fn finish(
        &self,
        _desired: &World,
        _wanted: &BTreeMap<String, Item>,
        _observed: &World,
        opts: &PlanOptions,
        _kinds: &[&dyn ItemRules],
        changes: &mut Vec<Change>,
    ) -> Result<(), PlanError> {
        let mut off = Vec::new();
        for c in changes.iter_mut().filter(|c| c.action == Action::Delete && c.resource == Resource::new("user_pool")) {
            let Op::Item { live: Some(live), .. } = &mut c.op else { continue };
            let Some(state) = item_state(live) else { continue };
            if opts.force_delete_users {
                live.state[FORCE_DELETE_USERS] = Value::Bool(true);
            }
            if state.settings.deletion_protection {
                let unprotected = PoolItemState {
                    settings: PoolSettings { deletion_protection: false, ..state.settings.clone() },
                    ..state.clone()
                };
                let mut live = live.clone();
                if let Some(m) = live.state.as_object_mut() {
                    m.remove(FORCE_DELETE_USERS);
                }
                let desired =
                    Item { state: serde_json::to_value(&unprotected).expect("state serializes"), ..live.clone() };
                off.push(Change {
                    action: Action::Update,
                    resource: Resource::new("user_pool"),
                    address: c.address.clone(),
                    name: c.name.clone(),
                    tenant: c.tenant.clone(),
                    fields: field_changes(Some(&state.settings), Some(&unprotected.settings)),
                    op: Op::Item {
                        address: c.address.clone(),
                        desired: Some(desired),
                        live: Some(live),
                        replace: false,
                    },
                });
            }
        }
        changes.extend(off);
        Ok(())
    }
}

impl Kind for UserPool {
    /// First of every kind: the others live in the pools.
    fn desired(&self, folder: &Folder, ctx: &DesiredCtx, _world: &World) -> Desired {
        Ok(desired_pools(folder, &ctx.env).into_values().map(|p| (p.address.clone(), p.item())).collect())
    }

    /// The pools this platform manages, by `ListUserPools` pages and `DescribeUserPool` per
    /// candidate (a `--tenant` session: only the named tenants'), each handed out once
    /// described: the kinds that live in pools are read per pool meanwhile. The pages also give
    /// the account's pool count, for its quota.
    fn observe<'a>(&'a self, aws: &'a Aws, scope: &'a ObserveScope<'a>) -> BoxFuture<'a, Result<Observed, AwsError>> {
        async move {
            let (pools, in_account) = read_pools(aws, scope).await?;
            scope.note(|n| {
                n.figures.user_pools = Some(in_account);
                n.figures.pool_users = pools.iter().map(|(address, _, _, users)| (address.clone(), *users)).collect();
            });
            Ok(pools.into_iter().map(|(address, id, state, _)| (address, state.item(), id)).collect())
        }
        .boxed()
    }

    /// A named tenant's silo pool, and the shared pool when it holds a group of theirs.
    fn in_scope(&self, address: &str, item: &Item, desired: &World, tenants: &BTreeSet<&str>) -> bool {
        let theirs = |i: &Item| i.tenant.as_deref().is_some_and(|t| tenants.contains(t));
        theirs(item)
            || (item.tenant.is_none()
                && desired.items.values().any(|g| g.kind == GROUP && g.parent.as_deref() == Some(address) && theirs(g)))
    }

    /// With its ARN.
    fn inventory(&self, address: &str, item: &Item, ids: &Ids, c: &crate::aws::Ctx) -> Option<Value> {
        let id = ids.id(address).unwrap_or_default();
        Some(serde_json::json!({"resource": KIND, "address": address, "name": item.name, "tenant": item.tenant,
            "id": id, "arn": format!("arn:{}:cognito-idp:{}:{}:userpool/{id}", c.partition, c.region, c.account_id)}))
    }

    fn create<'a>(
        &'a self,
        aws: &'a Aws,
        item: &'a Item,
        _parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<String, AwsError>> {
        async move {
            // The address is not in the item: the pool's name and tags tell it, and the
            // twin check needs it.
            let address = pool_address(
                &aws.ctx.platform,
                &item.name,
                &item_state(item).map(|s| s.settings.tags).unwrap_or_default(),
            )
            .map(|(a, _)| a)
            .ok_or_else(|| AwsError::Other(format!("user pool `{}`: not a managed pool's name and tags", item.name)))?;
            create_pool(aws, &pool_of(&address, item)?).await
        }
        .boxed()
    }

    fn update<'a>(
        &'a self,
        aws: &'a Aws,
        item: &'a Item,
        _live: &'a Item,
        id: &'a str,
        _parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        async move {
            let s = item_state(item)
                .ok_or_else(|| AwsError::Other(format!("user pool `{}`: unexpected state", item.name)))?;
            update_pool(aws, id, &s.settings).await
        }
        .boxed()
    }

    fn delete<'a>(
        &'a self,
        aws: &'a Aws,
        live: &'a Item,
        id: &'a str,
        _parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        async move {
            let force = live.state[FORCE_DELETE_USERS].as_bool().unwrap_or(false);
            delete_pool(aws, &live.name, id, force, false).await
        }
        .boxed()
    }

    fn validate(&self, folder: &Folder) -> Vec<Diagnostic> {
        folder_rules(folder)
    }
}

// ---------------------------------------------------------------------------------------
// Desired
// ---------------------------------------------------------------------------------------

/// The desired pools: the shared pool when any tenant is pooled, one per silo tenant.
pub fn desired_pools(folder: &Folder, env: &RenderEnv) -> BTreeMap<String, PoolState> {
    let pl = &folder.platform.value;
    let up = &pl.user_pool;
    let mut attributes = BTreeMap::new();
    attributes.insert(
        up.tenant_attribute.clone(),
        declared_attribute(AttributeType::String, false, Some(1), Some(32), None, None),
    );
    for a in &up.custom_attributes {
        let n = a.name.strip_prefix("custom:").unwrap_or(&a.name).to_string();
        attributes.insert(n, declared_attribute(a.attr_type, a.mutable, a.min_length, a.max_length, a.min, a.max));
    }
    let usernames = up.usernames.as_ref().map(|u| UsernamesState {
        case_sensitive: u.case_sensitive,
        sign_in_with: u.sign_in_with.iter().cloned().collect(),
        aliases: u.aliases.iter().cloned().collect(),
    });
    let pp = &up.password_policy;
    let settings = |tags: Tags| PoolSettings {
        deletion_protection: up.deletion_protection,
        mfa: match up.mfa {
            Mfa::Off => "OFF",
            Mfa::Optional => "OPTIONAL",
            Mfa::On => "ON",
        }
        .into(),
        allow_admin_create_user_only: !up.self_sign_up,
        password_policy: PasswordState {
            min_length: pp.min_length as i32,
            require_uppercase: pp.require_uppercase,
            require_lowercase: pp.require_lowercase,
            require_numbers: pp.require_numbers,
            require_symbols: pp.require_symbols,
            temporary_password_validity_days: pp.temporary_password_validity_days as i32,
        },
        tags,
        feature_plan: up.feature_plan.map(|f| f.tier().to_string()),
        threat_protection: match up.threat_protection {
            ThreatProtection::Off => None,
            ThreatProtection::Audit => Some("AUDIT".into()),
            ThreatProtection::Enforced => Some("ENFORCED".into()),
        },
        triggers: (!up.triggers.is_empty())
            .then(|| up.triggers.iter().map(|(k, f)| (k.clone(), trigger_arn(env, f))).collect()),
    };
    let mut out = BTreeMap::new();
    let pooled: Vec<&Tenant> =
        folder.tenants.iter().map(|t| &t.value).filter(|t| t.isolation == Isolation::Pooled).collect();
    if !pooled.is_empty() {
        let address = names::shared_pool_address();
        out.insert(
            address.clone(),
            PoolState {
                address,
                name: names::shared_pool(&pl.name),
                tenant: None,
                settings: settings(platform_tags(pl)),
                attributes: attributes.clone(),
                usernames: usernames.clone(),
            },
        );
    }
    for t in folder.tenants.iter().map(|t| &t.value).filter(|t| t.isolation == Isolation::Silo) {
        let address = names::silo_pool_address(&t.id);
        out.insert(
            address.clone(),
            PoolState {
                address,
                name: names::silo_pool(&pl.name, &t.id),
                tenant: Some(t.id.clone()),
                settings: settings(tenant_tags(pl, t)),
                attributes: attributes.clone(),
                usernames: usernames.clone(),
            },
        );
    }
    out
}

fn declared_attribute(
    t: AttributeType,
    mutable: bool,
    min_len: Option<u32>,
    max_len: Option<u32>,
    min: Option<i64>,
    max: Option<i64>,
) -> AttributeState {
    match t {
        AttributeType::String => AttributeState {
            data_type: "String".into(),
            mutable,
            // Cognito fills these defaults in; compare against what it will return.
            min_length: Some(min_len.unwrap_or(0).to_string()),
            max_length: Some(max_len.unwrap_or(2048).to_string()),
            min_value: None,
            max_value: None,
        },
        AttributeType::Number => AttributeState {
            data_type: "Number".into(),
            mutable,
            min_length: None,
            max_length: None,
            min_value: min.map(|v| v.to_string()),
            max_value: max.map(|v| v.to_string()),
        },
    }
}

/// Reads every pool this platform manages (identified by its tags): (address, id, state,
/// `EstimatedNumberOfUsers`) each. In a `--tenant` session, reads only the pools named in the
/// desired world. Also returns how many user pools the account has (every pool, for the
/// pools-per-account quota).
///
/// Each managed pool is handed out as soon as it is described ([`ObserveScope::found`]), so
/// the kinds that live in pools are read meanwhile; the checks on the whole set still fail the
/// whole observation: two managed pools claiming one address are a conflict, and a pool that
/// carries a desired pool's name but lacks tenantctl's tags is never shadowed by a new one (its
/// users would be left behind): it is an error naming the pool and the way back
/// ([`untagged_pools`]), unless this `adopt` session takes it over (such a pool is known, and
/// handed out, only at the end).
async fn read_pools(
    aws: &Aws,
    scope: &ObserveScope<'_>,
) -> Result<(Vec<(String, String, PoolState, usize)>, usize), AwsError> {
    let platform = aws.ctx.platform.as_str();
    let (desired, scoped) = (scope.desired, scope.scoped());
    let (candidates, pools_in_account) = pool_candidates(aws, desired, scoped).await?;

    // DescribeUserPool each candidate; keep the managed ones, handing each out once described.
    let mut described = stream::iter(candidates)
        .map(|(id, _)| async move {
            aws.limiter.acquire_op("cognito-idp:DescribeUserPool", None).await;
            // Deleted between list and describe: not there.
            let out = aws.cognito.describe_user_pool().user_pool_id(&id).send().await;
            Ok::<_, AwsError>(
                none_if_gone(out.map_err(|e| call_err("cognito-idp:DescribeUserPool", e)))?
                    .and_then(|out| out.user_pool().cloned()),
            )
        })
        .buffered(READ_CONCURRENCY);

    let mut managed: BTreeMap<String, (String, UserPoolType, Option<String>)> = BTreeMap::new();
    let mut untagged = Vec::new();
    while let Some(pool) = described.try_next().await? {
        let Some(pool) = pool else { continue };
        let Some(id) = pool.id().map(str::to_string) else { continue };
        let tags = pool_tags(&pool);
        if !is_managed(platform, &tags) {
            untagged.push(pool);
            continue;
        }
        let name = pool.name().unwrap_or_default();
        let Some((address, tenant)) = pool_address(platform, name, &tags) else { continue };
        if scoped && !desired.items.contains_key(&address) {
            continue;
        }
        if let Some((other, _, _)) = managed.get(&address) {
            let (a, b) = if *other < id { (other.clone(), id.clone()) } else { (id.clone(), other.clone()) };
            return Err(AwsError::Conflict(format!(
                "two user pools managed by platform `{platform}` claim `{address}`: {a} and {b}; \
                 tenantctl cannot tell which one is the real one. Delete the extra pool, or remove \
                 its `{TAG_MANAGED}` tag, then run again"
            )));
        }
        scope.found(&address, &pool_state(&address, &pool, tenant.clone()).item(), &id);
        managed.insert(address, (id, pool, tenant));
    }

    untagged_pools(platform, desired, scope.adopt, untagged, &mut managed)?;

    // Groups, resource servers and clients are their kinds' (`crate::kinds`).
    let pools: Vec<(String, String, PoolState, usize)> = managed
        .into_iter()
        .map(|(address, (id, pool, tenant))| {
            let state = pool_state(&address, &pool, tenant);
            let users = usize::try_from(pool.estimated_number_of_users()).unwrap_or(0);
            (address, id, state, users)
        })
        .collect();

    Ok((pools, pools_in_account))
}

/// `ListUserPools` pages: the candidates by name, (id, name) each (scoped: only the desired
/// pools' names, which are known), and how many pools the account has.
async fn pool_candidates(aws: &Aws, desired: &World, scoped: bool) -> Result<(Vec<(String, String)>, usize), AwsError> {
    let platform = aws.ctx.platform.as_str();
    let wanted_names: Option<BTreeSet<&str>> =
        scoped.then(|| desired.items.values().filter(|i| i.kind == KIND).map(|i| i.name.as_str()).collect());
    let all = list_all_pools(aws).await?;
    let pools_in_account = all.len();
    let candidates = all
        .into_iter()
        .filter(|p| is_candidate_name(platform, &p.name))
        .filter(|p| wanted_names.as_ref().is_none_or(|w| w.contains(p.name.as_str())))
        .map(|p| (p.id, p.name))
        .collect();
    Ok((candidates, pools_in_account))
}

/// A described pool's state, at `address`.
fn pool_state(address: &str, pool: &UserPoolType, tenant: Option<String>) -> PoolState {
    PoolState {
        address: address.to_string(),
        name: pool.name().unwrap_or_default().to_string(),
        tenant,
        settings: pool_settings(pool),
        attributes: pool.schema_attributes().iter().filter_map(attribute_state).collect(),
        usernames: Some(usernames_state(pool)),
    }
}

// ---------------------------------------------------------------------------------------
// Execute
// ---------------------------------------------------------------------------------------

async fn create_pool(aws: &Aws, pool: &PoolState) -> Result<String, AwsError> {
    let s = &pool.settings;
    let usernames = pool.usernames.clone().unwrap_or_default();
    aws.limiter.acquire_op("cognito-idp:CreateUserPool", None).await;
    let out = aws
        .cognito
        .create_user_pool()
        .pool_name(&pool.name)
        .policies(UserPoolPolicyType::builder().password_policy(password_policy(&s.password_policy, None)).build())
        .deletion_protection(deletion_protection(s.deletion_protection))
        .admin_create_user_config(
            AdminCreateUserConfigType::builder().allow_admin_create_user_only(s.allow_admin_create_user_only).build(),
        )
        .set_schema(Some(pool.attributes.iter().map(|(n, a)| schema_attribute(n, a)).collect()))
        .set_user_pool_tags(Some(s.tags.clone().into_iter().collect()))
        .username_configuration(
            UsernameConfigurationType::builder()
                .case_sensitive(usernames.case_sensitive)
                .build()
                .map_err(|e| AwsError::Other(e.to_string()))?,
        )
        .set_username_attributes(
            non_empty_list(&usernames.sign_in_with)
                .map(|v| v.iter().map(|a| UsernameAttributeType::from(a.as_str())).collect()),
        )
        .set_alias_attributes(
            non_empty_list(&usernames.aliases)
                .map(|v| v.iter().map(|a| AliasAttributeType::from(a.as_str())).collect()),
        )
        .set_user_pool_tier(s.feature_plan.as_deref().map(UserPoolTierType::from))
        .set_user_pool_add_ons(add_ons(s.threat_protection.as_deref(), None)?)
        .set_lambda_config(s.triggers.as_ref().map(lambda_config).transpose()?)
        .customize()
        .mutate_request(strip_unused_account_validity)
        .send()
        .await
        .map_err(|e| call_err("cognito-idp:CreateUserPool", e))?;
    let id = out
        .user_pool()
        .and_then(|p| p.id())
        .ok_or_else(|| AwsError::Other(format!("CreateUserPool `{}`: no pool id in the answer", pool.name)))?
        .to_string();
    // A failure below leaves the pool for the next run to find by its tags (never a second).
    let created = out.user_pool().and_then(|p| p.creation_date()).copied();
    let keeper = keep_one_pool(aws, pool, &id, created).await?;
    if mfa_type(&s.mfa) != UserPoolMfaType::Off {
        // Ours, made just now: it has no MFA settings to keep, so none are read.
        let live = (keeper == id).then(|| aws_sdk_cognitoidentityprovider::operation::get_user_pool_mfa_config::GetUserPoolMfaConfigOutput::builder().build());
        set_mfa(aws, &keeper, &s.mfa, live).await?;
    }
    let id = keeper;
    Ok(id)
}

/// `CreateUserPool` is not idempotent: a concurrent apply (or an SDK retry of a create whose
/// answer was lost) may have created a second pool for the same address. After creating
/// `ours`, list the pools again; among the managed pools claiming this address, the oldest
/// (CreationDate, then id) is the keeper, for every run that looks. When ours is not the
/// keeper it is deleted (it is empty; deletion protection off first) and the keeper's id is
/// returned. Moto's CreationDate has millisecond resolution: ties fall back to the id.
async fn keep_one_pool(
    aws: &Aws,
    pool: &PoolState,
    ours: &str,
    created: Option<aws_smithy_types::DateTime>,
) -> Result<String, AwsError> {
    let mut keeper = ours.to_string();
    for pass in 0..2 {
        if pass == 1 {
            crate::aws::slots::pause(TWIN_SETTLE).await;
        }
        let mut twins = pools_claiming(aws, pool, ours, tokio::time::Instant::now()).await?;
        if !twins.iter().any(|(_, id)| id == ours) {
            // Not listed yet (eventual consistency): ours is there all the same.
            twins.push((created.map(date_key).unwrap_or((i64::MAX, u32::MAX)), ours.to_string()));
        }
        twins.sort();
        keeper = twins[0].1.clone();
        // Another pool seen: every run that sees both picks the same keeper. None seen: look
        // once more, after the twin of a concurrent create has had time to appear.
        if twins.len() > 1 {
            break;
        }
    }
    if keeper != ours {
        delete_pool(aws, &pool.address, ours, true, true).await.map_err(|e| {
            AwsError::Conflict(format!(
                "user pool {ours} was created for `{}` while another run created {keeper}; deleting the extra pool {ours} failed: {e}. \
                 Delete it, then run again",
                pool.address
            ))
        })?;
    }
    Ok(keeper)
}

/// The managed pools named like `pool` that claim its address: (creation date, id), from a
/// listing of the account that started at or after `since` (shared with the other creations
/// of this process, [`crate::aws::listings::PoolListings`]).
async fn pools_claiming(
    aws: &Aws,
    pool: &PoolState,
    ours: &str,
    since: tokio::time::Instant,
) -> Result<Vec<((i64, u32), String)>, AwsError> {
    let platform = aws.ctx.platform.as_str();
    let listed = aws.pool_listings.since(since, || list_all_pools(aws)).await?;
    let found: Vec<((i64, u32), String)> = listed
        .iter()
        .filter(|p| p.name == pool.name)
        .map(|p| (p.created.unwrap_or((i64::MAX, u32::MAX)), p.id.clone()))
        .collect();
    let mut claiming = Vec::new();
    for (date, id) in found {
        if id == ours {
            claiming.push((date, id));
            continue;
        }
        let described = match describe_pool(aws, &id).await {
            Ok(p) => p,
            Err(e) if e.is_not_found() => continue,
            Err(e) => return Err(e),
        };
        let tags = pool_tags(&described);
        if is_managed(platform, &tags)
            && pool_address(platform, described.name().unwrap_or_default(), &tags)
                .is_some_and(|(a, _)| a == pool.address)
        {
            claiming.push((date, id));
        }
    }
    Ok(claiming)
}

/// `live`: the pool's MFA configuration when known (a pool this run just created has none),
/// else it is read.
async fn set_mfa(
    aws: &Aws,
    pool_id: &str,
    mfa: &str,
    live: Option<aws_sdk_cognitoidentityprovider::operation::get_user_pool_mfa_config::GetUserPoolMfaConfigOutput>,
) -> Result<(), AwsError> {
    // SetUserPoolMfaConfig replaces the whole MFA configuration: read it first and send back
    // the SMS, email and WebAuthn settings tenantctl does not manage, so users enrolled in SMS
    // or email MFA are not locked out by a mode change.
    let live = match live {
        Some(live) => live,
        None => {
            aws.cognito
                .get_user_pool_mfa_config()
                .user_pool_id(pool_id)
                .send()
                .call(aws, "cognito-idp:GetUserPoolMfaConfig", None)
                .await?
        }
    };
    let req = set_mfa_request(aws.cognito.set_user_pool_mfa_config(), pool_id, mfa, &live);
    req.send().call(aws, "cognito-idp:SetUserPoolMfaConfig", None).await?;
    Ok(())
}

/// The SetUserPoolMfaConfig request: the new mode (TOTP enabled when MFA is on, as AWS
/// requires a factor), everything else as live.
fn set_mfa_request(
    b: aws_sdk_cognitoidentityprovider::operation::set_user_pool_mfa_config::builders::SetUserPoolMfaConfigFluentBuilder,
    pool_id: &str,
    mfa: &str,
    live: &aws_sdk_cognitoidentityprovider::operation::get_user_pool_mfa_config::GetUserPoolMfaConfigOutput,
) -> aws_sdk_cognitoidentityprovider::operation::set_user_pool_mfa_config::builders::SetUserPoolMfaConfigFluentBuilder {
    let t = mfa_type(mfa);
    let totp = if t != UserPoolMfaType::Off {
        Some(SoftwareTokenMfaConfigType::builder().enabled(true).build())
    } else {
        live.software_token_mfa_configuration().cloned()
    };
    b.user_pool_id(pool_id)
        .mfa_configuration(t)
        .set_software_token_mfa_configuration(totp)
        .set_sms_mfa_configuration(live.sms_mfa_configuration().cloned())
        .set_email_mfa_configuration(live.email_mfa_configuration().cloned())
        .set_web_authn_configuration(live.web_authn_configuration().cloned())
}

/// Read-modify-write of the pool's managed settings.
///
/// MFA: when it changes, `SetUserPoolMfaConfig` runs first (it also enables TOTP, which AWS
/// requires before MFA can be OPTIONAL/ON), and `UpdateUserPool` then sends the now-live
/// value. (Sending the old value after SetUserPoolMfaConfig would, on moto, freeze the
/// describe answer at the old value.)
async fn update_pool(aws: &Aws, pool_id: &str, settings: &PoolSettings) -> Result<(), AwsError> {
    let live = describe_pool(aws, pool_id).await?;
    let live_mfa = live.mfa_configuration().map(|m| m.as_str().to_string()).unwrap_or_else(|| "OFF".into());
    let mfa = if mfa_type(&live_mfa) != mfa_type(&settings.mfa) {
        set_mfa(aws, pool_id, &settings.mfa, None).await?;
        settings.mfa.clone()
    } else {
        live_mfa
    };
    update_pool_request(aws.cognito.update_user_pool(), &live, pool_id, settings, &mfa)?
        .customize()
        .mutate_request(strip_unused_account_validity)
        .send()
        .call(aws, "cognito-idp:UpdateUserPool", None)
        .await?;
    Ok(())
}

/// Deletes a pool (its domain first). `unprotect`: turn deletion protection off on the way
/// (only for a twin this run created itself; a planned deletion turns it off as its own change).
async fn delete_pool(
    aws: &Aws,
    address: &str,
    pool_id: &str,
    force_delete_users: bool,
    unprotect: bool,
) -> Result<(), AwsError> {
    if !force_delete_users {
        let users = aws
            .cognito
            .list_users()
            .user_pool_id(pool_id)
            .limit(1)
            .send()
            .call(aws, "cognito-idp:ListUsers", None)
            .await?;
        if !users.users().is_empty() {
            return Err(AwsError::Conflict(format!(
                "user pool {pool_id} (`{address}`) still has users; it is not deleted without --force-delete-users"
            )));
        }
    }
    let live = describe_pool(aws, pool_id).await?;
    if live.deletion_protection() == Some(&DeletionProtectionType::Active) {
        if !unprotect {
            return Err(AwsError::Conflict(format!(
                "user pool {pool_id} (`{address}`) has deletion protection on; plan again: the plan turns it off as its own change before deleting the pool"
            )));
        }
        let settings = PoolSettings { deletion_protection: false, ..pool_settings(&live) };
        let mfa = settings.mfa.clone();
        update_pool_request(aws.cognito.update_user_pool(), &live, pool_id, &settings, &mfa)?
            .customize()
            .mutate_request(strip_unused_account_validity)
            .send()
            .call(aws, "cognito-idp:UpdateUserPool", None)
            .await?;
    }
    // A pool with a hosted-UI domain cannot be deleted until the domain is.
    for domain in [live.domain(), live.custom_domain()].into_iter().flatten().filter(|d| !d.is_empty()) {
        aws.cognito
            .delete_user_pool_domain()
            .user_pool_id(pool_id)
            .domain(domain)
            .send()
            .call(aws, "cognito-idp:DeleteUserPoolDomain", None)
            .await?;
    }
    aws.cognito.delete_user_pool().user_pool_id(pool_id).send().call(aws, "cognito-idp:DeleteUserPool", None).await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Pure helpers: requests from state, state from SDK types
// ---------------------------------------------------------------------------------------

/// The UpdateUserPool request: every updatable field of the live pool, with the managed
/// settings replaced. `mfa` is the MfaConfiguration to send (the live one).
fn update_pool_request(
    b: UpdateUserPoolFluentBuilder,
    live: &UserPoolType,
    pool_id: &str,
    s: &PoolSettings,
    mfa: &str,
) -> Result<UpdateUserPoolFluentBuilder, AwsError> {
    let live_policies = live.policies();
    let policies = UserPoolPolicyType::builder()
        .password_policy(password_policy(&s.password_policy, live_policies.and_then(|p| p.password_policy())))
        .set_sign_in_policy(live_policies.and_then(|p| p.sign_in_policy()).cloned())
        .build();
    // UnusedAccountValidityDays is deprecated; AWS rejects it next to
    // PasswordPolicy.TemporaryPasswordValidityDays, which replaces it.
    let admin = AdminCreateUserConfigType::builder()
        .allow_admin_create_user_only(s.allow_admin_create_user_only)
        .set_invite_message_template(live.admin_create_user_config().and_then(|a| a.invite_message_template()).cloned())
        .build();
    let list = |v: &[_]| if v.is_empty() { None } else { Some(v.to_vec()) };
    Ok(b.user_pool_id(pool_id)
        .set_pool_name(live.name().map(str::to_string))
        .policies(policies)
        .deletion_protection(deletion_protection(s.deletion_protection))
        .set_lambda_config(match &s.triggers {
            // Once the folder names a trigger, the whole LambdaConfig is the folder's.
            Some(t) => Some(lambda_config(t)?),
            None => live.lambda_config().cloned(),
        })
        .set_auto_verified_attributes(list(live.auto_verified_attributes()))
        .set_sms_verification_message(live.sms_verification_message().map(str::to_string))
        .set_email_verification_message(live.email_verification_message().map(str::to_string))
        .set_email_verification_subject(live.email_verification_subject().map(str::to_string))
        .set_verification_message_template(live.verification_message_template().cloned())
        .set_sms_authentication_message(live.sms_authentication_message().map(str::to_string))
        .set_user_attribute_update_settings(live.user_attribute_update_settings().cloned())
        .mfa_configuration(mfa_type(mfa))
        .set_device_configuration(live.device_configuration().cloned())
        .set_email_configuration(live.email_configuration().cloned())
        .set_sms_configuration(live.sms_configuration().cloned())
        .set_user_pool_tags(Some(s.tags.clone().into_iter().collect()))
        .admin_create_user_config(admin)
        .set_user_pool_add_ons(add_ons(s.threat_protection.as_deref(), live.user_pool_add_ons())?)
        .set_account_recovery_setting(live.account_recovery_setting().cloned())
        .set_user_pool_tier(match &s.feature_plan {
            Some(t) => Some(UserPoolTierType::from(t.as_str())),
            None => live.user_pool_tier().cloned(),
        }))
}

/// `UserPoolAddOns` for a threat protection mode (None: OFF), the live add-ons' other fields
/// kept. Nothing is sent when it is off and the live pool has no add-ons.
fn add_ons(mode: Option<&str>, live: Option<&UserPoolAddOnsType>) -> Result<Option<UserPoolAddOnsType>, AwsError> {
    let mode = mode.unwrap_or("OFF");
    if mode == "OFF" && live.is_none() {
        return Ok(None);
    }
    UserPoolAddOnsType::builder()
        .advanced_security_mode(AdvancedSecurityModeType::from(mode))
        .set_advanced_security_additional_flows(live.and_then(|l| l.advanced_security_additional_flows()).cloned())
        .build()
        .map(Some)
        .map_err(|e| AwsError::Other(format!("UserPoolAddOns: {e}")))
}

type TriggerSetter = fn(LambdaConfigTypeBuilder, String) -> LambdaConfigTypeBuilder;

/// The contract's trigger names, with `LambdaConfig`'s setters (preTokenGeneration apart: it
/// is `PreTokenGenerationConfig`, event version 2).
const TRIGGERS: &[(&str, TriggerSetter)] = &[
    ("preSignUp", |b, a| b.pre_sign_up(a)),
    ("postConfirmation", |b, a| b.post_confirmation(a)),
    ("preAuthentication", |b, a| b.pre_authentication(a)),
    ("postAuthentication", |b, a| b.post_authentication(a)),
    ("customMessage", |b, a| b.custom_message(a)),
    ("defineAuthChallenge", |b, a| b.define_auth_challenge(a)),
    ("createAuthChallenge", |b, a| b.create_auth_challenge(a)),
    ("verifyAuthChallengeResponse", |b, a| b.verify_auth_challenge_response(a)),
    ("userMigration", |b, a| b.user_migration(a)),
];

/// The `LambdaConfig` of the folder's triggers (name -> function ARN).
fn lambda_config(triggers: &BTreeMap<String, String>) -> Result<LambdaConfigType, AwsError> {
    let mut b = LambdaConfigType::builder();
    for (name, arn) in triggers {
        if name == "preTokenGeneration" {
            let v2 = PreTokenGenerationVersionConfigType::builder()
                .lambda_version(PreTokenGenerationLambdaVersionType::V20)
                .lambda_arn(arn)
                .build()
                .map_err(|e| AwsError::Other(format!("PreTokenGenerationConfig: {e}")))?;
            b = b.pre_token_generation_config(v2);
        } else if let Some((_, set)) = TRIGGERS.iter().find(|(n, _)| n == name) {
            b = set(b, arn.clone());
        } else {
            return Err(AwsError::Other(format!("unknown trigger `{name}`")));
        }
    }
    Ok(b.build())
}

/// The live triggers by the contract's names (None: none set).
fn live_triggers(l: Option<&LambdaConfigType>) -> Option<BTreeMap<String, String>> {
    let l = l?;
    let mut out = BTreeMap::new();
    for (name, arn) in [
        ("preSignUp", l.pre_sign_up()),
        ("postConfirmation", l.post_confirmation()),
        ("preAuthentication", l.pre_authentication()),
        ("postAuthentication", l.post_authentication()),
        ("customMessage", l.custom_message()),
        ("defineAuthChallenge", l.define_auth_challenge()),
        ("createAuthChallenge", l.create_auth_challenge()),
        ("verifyAuthChallengeResponse", l.verify_auth_challenge_response()),
        ("userMigration", l.user_migration()),
    ] {
        if let Some(a) = arn.filter(|a| !a.is_empty()) {
            out.insert(name.to_string(), a.to_string());
        }
    }
    match (l.pre_token_generation_config(), l.pre_token_generation()) {
        (Some(c), _) if c.lambda_version() == &PreTokenGenerationLambdaVersionType::V20 => {
            out.insert("preTokenGeneration".into(), c.lambda_arn().to_string());
        }
        (Some(c), _) => {
            out.insert("preTokenGeneration".into(), format!("{} ({})", c.lambda_arn(), c.lambda_version().as_str()));
        }
        (None, Some(a)) if !a.is_empty() => {
            out.insert("preTokenGeneration".into(), format!("{a} (V1_0)"));
        }
        _ => {}
    }
    (!out.is_empty()).then_some(out)
}

/// The SDK serialises `AdminCreateUserConfig.UnusedAccountValidityDays` (a plain `i32`)
/// even when unset, as 0. The field is deprecated in favour of
/// `PasswordPolicy.TemporaryPasswordValidityDays`, which tenantctl always sends; AWS refuses
/// requests that carry both, so it is taken out of the request body.
fn strip_unused_account_validity(req: &mut aws_smithy_runtime_api::client::orchestrator::HttpRequest) {
    let Some(new) = req.body().bytes().and_then(without_unused_account_validity) else { return };
    req.headers_mut().insert("content-length", new.len().to_string());
    *req.body_mut() = aws_smithy_types::body::SdkBody::from(new);
}

fn without_unused_account_validity(body: &[u8]) -> Option<Vec<u8>> {
    let mut v: serde_json::Value = serde_json::from_slice(body).ok()?;
    v.get_mut("AdminCreateUserConfig")?.as_object_mut()?.remove("UnusedAccountValidityDays")?;
    serde_json::to_vec(&v).ok()
}

fn password_policy(p: &PasswordState, live: Option<&PasswordPolicyType>) -> PasswordPolicyType {
    PasswordPolicyType::builder()
        .minimum_length(p.min_length)
        .require_uppercase(p.require_uppercase)
        .require_lowercase(p.require_lowercase)
        .require_numbers(p.require_numbers)
        .require_symbols(p.require_symbols)
        .temporary_password_validity_days(p.temporary_password_validity_days)
        .set_password_history_size(live.and_then(|l| l.password_history_size()))
        .build()
}

fn deletion_protection(on: bool) -> DeletionProtectionType {
    if on {
        DeletionProtectionType::Active
    } else {
        DeletionProtectionType::Inactive
    }
}

fn mfa_type(mfa: &str) -> UserPoolMfaType {
    match mfa.to_ascii_uppercase().as_str() {
        "ON" => UserPoolMfaType::On,
        "OPTIONAL" => UserPoolMfaType::Optional,
        _ => UserPoolMfaType::Off,
    }
}

/// A custom attribute for CreateUserPool / AddCustomAttributes: bare name (Cognito adds
/// `custom:`), never developer-only, never required.
pub(crate) fn schema_attribute(name: &str, a: &AttributeState) -> SchemaAttributeType {
    let bare = name.strip_prefix("custom:").unwrap_or(name);
    let b =
        SchemaAttributeType::builder().name(bare).developer_only_attribute(false).mutable(a.mutable).required(false);
    if a.data_type == "Number" {
        let b = b.attribute_data_type(AttributeDataType::Number);
        if a.min_value.is_some() || a.max_value.is_some() {
            b.number_attribute_constraints(
                NumberAttributeConstraintsType::builder()
                    .set_min_value(a.min_value.clone())
                    .set_max_value(a.max_value.clone())
                    .build(),
            )
            .build()
        } else {
            b.build()
        }
    } else {
        b.attribute_data_type(AttributeDataType::String)
            .string_attribute_constraints(
                StringAttributeConstraintsType::builder()
                    .min_length(a.min_length.clone().unwrap_or_else(|| "0".into()))
                    .max_length(a.max_length.clone().unwrap_or_else(|| "2048".into()))
                    .build(),
            )
            .build()
    }
}

/// A pool name this platform could own: `<platform>` or `<platform>-...`.
/// The pools that carry a desired pool's name without tenantctl's tags (issue 23, item 9), when
/// no managed pool holds that address: an `adopt` session takes over those it covers
/// (`--platform` the shared pool, `--tenant` silo pools) by adding them to `managed` (the plan
/// then tags them); any other is an error that names the pool id and the way back, before
/// anything is planned or written.
fn untagged_pools(
    platform: &str,
    desired: &World,
    adopt: super::Adopt,
    untagged: Vec<UserPoolType>,
    managed: &mut BTreeMap<String, (String, UserPoolType, Option<String>)>,
) -> Result<(), AwsError> {
    // A desired pool's name -> its address and silo tenant (none: the shared pool).
    let wanted: BTreeMap<&str, (&str, Option<&str>)> = desired
        .items
        .iter()
        .filter(|(_, i)| i.kind == KIND)
        .map(|(a, i)| (i.name.as_str(), (a.as_str(), i.tenant.as_deref())))
        .collect();
    let mut refused = Vec::new();
    let mut adopted: BTreeMap<String, String> = BTreeMap::new();
    for pool in untagged {
        let (Some(id), Some(name)) = (pool.id().map(str::to_string), pool.name()) else { continue };
        let Some(&(address, tenant)) = wanted.get(name) else { continue };
        if managed.contains_key(address) && !adopted.contains_key(address) {
            // A managed pool holds the address; this one is someone else's.
            continue;
        }
        let takes = match adopt {
            super::Adopt::Platform => tenant.is_none(),
            super::Adopt::Tenant => tenant.is_some(),
            super::Adopt::Nothing => false,
        };
        if !takes {
            refused.push(untagged_message(platform, tenant, name, &id));
            continue;
        }
        if let Some(other) = adopted.get(address) {
            return Err(AwsError::Conflict(format!(
                "two user pools named `{name}` lack tenantctl's tags ({other} and {id}); tenantctl cannot tell \
                 which one to adopt. Delete or rename the other one, then run again"
            )));
        }
        adopted.insert(address.to_string(), id.clone());
        managed.insert(address.to_string(), (id, pool, tenant.map(str::to_string)));
    }
    if refused.is_empty() {
        Ok(())
    } else {
        Err(AwsError::Conflict(refused.join("\n")))
    }
}

/// What a pool with a managed pool's name but without tenantctl's tags is, and the way back.
fn untagged_message(platform: &str, tenant: Option<&str>, name: &str, id: &str) -> String {
    let (what, adopt) = match tenant {
        None => ("the platform's shared pool".to_string(), "tenantctl adopt --platform".to_string()),
        Some(t) => (format!("tenant `{t}`'s silo pool"), format!("tenantctl adopt --tenant {t}")),
    };
    format!(
        "user pool {id} is named `{name}`, {what}, but lacks tenantctl's tags ({TAG_MANAGED}=true, \
         {TAG_PLATFORM}={platform}): tenantctl will not create a second pool beside it (its users would \
         be left behind). `{adopt}` takes it over after showing the diff; or restore its tags"
    )
}

fn is_candidate_name(platform: &str, name: &str) -> bool {
    name == platform || name.strip_prefix(platform).is_some_and(|r| r.starts_with('-'))
}

fn pool_tags(p: &UserPoolType) -> Tags {
    p.user_pool_tags().map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default()
}

fn is_managed(platform: &str, tags: &Tags) -> bool {
    tags.get(TAG_MANAGED).map(String::as_str) == Some("true")
        && tags.get(TAG_PLATFORM).map(String::as_str) == Some(platform)
}

/// The address of a managed pool and its silo tenant: the shared pool is named exactly
/// `<platform>`; a silo pool's tenant comes from its `tenant_id` tag (else from its name).
fn pool_address(platform: &str, name: &str, tags: &Tags) -> Option<(String, Option<String>)> {
    if name == platform {
        return Some((names::shared_pool_address(), None));
    }
    let tenant = tags
        .get(TAG_TENANT)
        .filter(|t| !t.is_empty())
        .cloned()
        .or_else(|| name.strip_prefix(platform).and_then(|r| r.strip_prefix('-')).map(str::to_string))
        .filter(|t| !t.is_empty())?;
    Some((names::silo_pool_address(&tenant), Some(tenant)))
}

/// The managed settings of a described pool.
fn pool_settings(p: &UserPoolType) -> PoolSettings {
    let pp = p.policies().and_then(|x| x.password_policy());
    PoolSettings {
        deletion_protection: p.deletion_protection() == Some(&DeletionProtectionType::Active),
        mfa: p.mfa_configuration().map(|m| m.as_str().to_string()).unwrap_or_else(|| "OFF".into()),
        allow_admin_create_user_only: p.admin_create_user_config().is_some_and(|a| a.allow_admin_create_user_only()),
        password_policy: PasswordState {
            // Cognito's defaults when a part is absent.
            min_length: pp.and_then(|x| x.minimum_length()).unwrap_or(8),
            require_uppercase: pp.is_some_and(|x| x.require_uppercase()),
            require_lowercase: pp.is_some_and(|x| x.require_lowercase()),
            require_numbers: pp.is_some_and(|x| x.require_numbers()),
            require_symbols: pp.is_some_and(|x| x.require_symbols()),
            temporary_password_validity_days: pp.map_or(7, |x| x.temporary_password_validity_days()),
        },
        tags: pool_tags(p),
        feature_plan: p.user_pool_tier().map(|t| t.as_str().to_string()),
        threat_protection: p
            .user_pool_add_ons()
            .map(|a| a.advanced_security_mode().as_str().to_string())
            .filter(|m| m != "OFF"),
        triggers: live_triggers(p.lambda_config()),
    }
}

/// A `custom:*` schema attribute, normalised (prefix stripped, String defaults filled in).
pub(crate) fn attribute_state(a: &SchemaAttributeType) -> Option<(String, AttributeState)> {
    let name = a.name()?.strip_prefix("custom:")?.to_string();
    let non_empty = |s: Option<&str>| s.filter(|v| !v.is_empty()).map(str::to_string);
    let state = match a.attribute_data_type() {
        Some(AttributeDataType::Number) => {
            let c = a.number_attribute_constraints();
            AttributeState {
                data_type: "Number".into(),
                mutable: a.mutable().unwrap_or(false),
                min_length: None,
                max_length: None,
                min_value: non_empty(c.and_then(|c| c.min_value())),
                max_value: non_empty(c.and_then(|c| c.max_value())),
            }
        }
        other => {
            let c = a.string_attribute_constraints();
            AttributeState {
                data_type: other.map_or("String", |t| t.as_str()).to_string(),
                mutable: a.mutable().unwrap_or(false),
                min_length: Some(non_empty(c.and_then(|c| c.min_length())).unwrap_or_else(|| "0".into())),
                max_length: Some(non_empty(c.and_then(|c| c.max_length())).unwrap_or_else(|| "2048".into())),
                min_value: None,
                max_value: None,
            }
        }
    };
    Some((name, state))
}

/// The pool's user-name settings. Without `UsernameConfiguration` a pool is case-sensitive
/// (the API's default for pools created without it).
fn usernames_state(p: &UserPoolType) -> UsernamesState {
    UsernamesState {
        case_sensitive: p.username_configuration().is_none_or(|u| u.case_sensitive()),
        sign_in_with: p.username_attributes().iter().map(|a| a.as_str().to_string()).collect(),
        aliases: p.alias_attributes().iter().map(|a| a.as_str().to_string()).collect(),
    }
}

// ---------------------------------------------------------------- validation

/// A user pool's name (Cognito).
pub const MAX_POOL_NAME: usize = 128;

/// What Cognito accepts of a pool's settings (`Kind::validate`): the sign-in attributes, the
/// password policy, what the feature plan allows, a silo pool's name.
fn folder_rules(folder: &Folder) -> Vec<Diagnostic> {
    let p = &folder.platform;
    let pl = &p.value;
    let up = &pl.user_pool;
    let mut out = Vec::new();
    if let Some(u) = &up.usernames {
        for (j, a) in u.sign_in_with.iter().enumerate() {
            if !["email", "phone_number"].contains(&a.as_str()) {
                out.push(
                    p.at(
                        &format!("userPool.usernames.signInWith[{j}]"),
                        format!("`{a}` cannot be a sign-in attribute"),
                    )
                    .hint("signInWith takes email and/or phone_number ([] for free user names)"),
                );
            }
        }
        for (j, a) in u.aliases.iter().enumerate() {
            if !["email", "phone_number", "preferred_username"].contains(&a.as_str()) {
                out.push(
                    p.at(&format!("userPool.usernames.aliases[{j}]"), format!("`{a}` cannot be an alias"))
                        .hint("aliases take email, phone_number and/or preferred_username"),
                );
            }
        }
        if !u.aliases.is_empty() && !u.sign_in_with.is_empty() {
            out.push(
                p.at(
                    "userPool.usernames.aliases",
                    "aliases need free user names: Cognito refuses AliasAttributes next to UsernameAttributes",
                )
                .hint("set `signInWith: []` to use aliases, or drop `aliases`"),
            );
        }
    }
    let pp = &up.password_policy;
    if !(6..=99).contains(&pp.min_length) {
        out.push(p.at("userPool.passwordPolicy.minLength", "minLength must be 6..99"));
    }
    if !(0..=365).contains(&pp.temporary_password_validity_days) {
        out.push(p.at(
            "userPool.passwordPolicy.temporaryPasswordValidityDays",
            "temporaryPasswordValidityDays must be 0..365",
        ));
    }
    // What the feature plan allows (Cognito's feature plans): threat protection needs plus;
    // a pre-token-generation trigger (event version 2) needs essentials or plus. An absent
    // plan is Cognito's default, essentials.
    let plan = up.feature_plan.unwrap_or(crate::spec::model::FeaturePlan::Essentials);
    let plan_name = format!("{plan:?}").to_lowercase();
    if up.threat_protection != crate::spec::model::ThreatProtection::Off
        && plan != crate::spec::model::FeaturePlan::Plus
    {
        out.push(
            p.at(
                "userPool.threatProtection",
                format!(
                    "threat protection `{}` needs the plus feature plan; userPool.featurePlan is {plan_name}",
                    format!("{:?}", up.threat_protection).to_lowercase()
                ),
            )
            .hint("set userPool.featurePlan: plus, or threatProtection: off"),
        );
    }
    if up.triggers.contains_key("preTokenGeneration") && plan == crate::spec::model::FeaturePlan::Lite {
        out.push(
            p.at(
                "userPool.triggers.preTokenGeneration",
                format!("a pre-token-generation trigger (event version 2) needs the essentials or plus feature plan; userPool.featurePlan is {plan_name}"),
            )
            .hint("set userPool.featurePlan: essentials (or plus)"),
        );
    }
    for t in &folder.tenants {
        let tv = &t.value;
        if tenant_id_problem(&tv.id).is_none() && platform_re().is_match(&pl.name) && tv.isolation == Isolation::Silo {
            let pool = names::silo_pool(&pl.name, &tv.id);
            if pool.len() > MAX_POOL_NAME {
                out.push(t.at("id", format!("pool name `{pool}` is over Cognito's {MAX_POOL_NAME} characters")));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cognitoidentityprovider::types::{
        LambdaConfigType, MessageTemplateType, VerificationMessageTemplateType,
    };

    fn offline_client() -> aws_sdk_cognitoidentityprovider::Client {
        let conf = aws_sdk_cognitoidentityprovider::Config::builder()
            .behavior_version(aws_sdk_cognitoidentityprovider::config::BehaviorVersion::latest())
            .region(aws_sdk_cognitoidentityprovider::config::Region::new("us-east-1"))
            .build();
        aws_sdk_cognitoidentityprovider::Client::from_conf(conf)
    }

    fn pool_item(edit: impl FnOnce(&mut PoolSettings)) -> Item {
        let mut settings = settings();
        edit(&mut settings);
        PoolState {
            address: "platform/pool".into(),
            name: "saas".into(),
            tenant: None,
            settings,
            attributes: BTreeMap::new(),
            usernames: None,
        }
        .item()
    }

    fn changed(desired: &Item, live: &Item) -> Vec<String> {
        UserPool.compare("platform/pool", desired, live, &Ids::default()).unwrap().into_iter().map(|f| f.path).collect()
    }

    /// What the folder does not name is not compared: a feature plan it leaves out (Cognito's
    /// default), the live triggers while it names none. Threat protection is always managed
    /// (absent = off), and naming any trigger manages the whole LambdaConfig.
    #[test]
    fn feature_plan_threat_protection_and_triggers_compare() {
        let arn = |f: &str| format!("arn:aws:lambda:us-east-1:1:function:{f}");
        let live = pool_item(|s| {
            s.feature_plan = Some("ESSENTIALS".into());
            s.triggers = Some(BTreeMap::from([("preSignUp".into(), arn("manual"))]));
        });
        assert!(changed(&pool_item(|_| {}), &live).is_empty());
        let plus = pool_item(|s| {
            s.feature_plan = Some("PLUS".into());
            s.threat_protection = Some("AUDIT".into());
        });
        assert_eq!(changed(&plus, &live), ["feature_plan", "threat_protection"]);
        let triggers = pool_item(|s| {
            s.triggers = Some(BTreeMap::from([("preTokenGeneration".into(), arn("claims"))]));
        });
        assert_eq!(changed(&triggers, &live), ["triggers.preSignUp", "triggers.preTokenGeneration"]);
        // Turned off in the folder: changed back to off.
        let audit = pool_item(|s| s.threat_protection = Some("AUDIT".into()));
        assert_eq!(changed(&pool_item(|_| {}), &audit), ["threat_protection"]);
    }

    #[test]
    fn lambda_config_round_trip() {
        let t = BTreeMap::from([
            ("preSignUp".to_string(), "arn:a".to_string()),
            ("preTokenGeneration".to_string(), "arn:b".to_string()),
        ]);
        let l = lambda_config(&t).unwrap();
        assert_eq!(live_triggers(Some(&l)), Some(t));
        assert_eq!(
            live_triggers(Some(&LambdaConfigType::builder().pre_token_generation("arn:c").build())),
            Some(BTreeMap::from([("preTokenGeneration".to_string(), "arn:c (V1_0)".to_string())]))
        );
        assert_eq!(live_triggers(Some(&LambdaConfigType::builder().build())), None);
        assert!(lambda_config(&BTreeMap::from([("nope".to_string(), "arn:x".to_string())])).is_err());
    }

    fn settings() -> PoolSettings {
        PoolSettings {
            deletion_protection: true,
            mfa: "OPTIONAL".into(),
            allow_admin_create_user_only: true,
            password_policy: PasswordState {
                min_length: 12,
                require_uppercase: true,
                require_lowercase: true,
                require_numbers: true,
                require_symbols: false,
                temporary_password_validity_days: 3,
            },
            tags: Tags::from([
                ("tenantctl:managed".into(), "true".into()),
                ("tenantctl:platform".into(), "acme".into()),
            ]),
            feature_plan: None,
            threat_protection: None,
            triggers: None,
        }
    }

    #[test]
    fn deprecated_unused_account_validity_is_stripped() {
        let body = br#"{"UserPoolId":"p","AdminCreateUserConfig":{"AllowAdminCreateUserOnly":true,"UnusedAccountValidityDays":0}}"#;
        let out: serde_json::Value = serde_json::from_slice(&without_unused_account_validity(body).unwrap()).unwrap();
        assert_eq!(
            out,
            serde_json::json!({"UserPoolId": "p", "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": true}})
        );
        assert!(without_unused_account_validity(br#"{"UserPoolId":"p"}"#).is_none());
    }

    #[test]
    fn candidate_names() {
        assert!(is_candidate_name("acme", "acme"));
        assert!(is_candidate_name("acme", "acme-foo"));
        assert!(!is_candidate_name("acme", "acmefoo"));
        assert!(!is_candidate_name("acme", "xacme"));
    }

    #[test]
    fn addresses_from_name_and_tags() {
        let tags = Tags::from([("tenant_id".into(), "foo".into())]);
        assert_eq!(pool_address("acme", "acme", &Tags::new()), Some(("platform/pool".into(), None)));
        assert_eq!(pool_address("acme", "acme-foo", &tags), Some(("tenant/foo/pool".into(), Some("foo".into()))));
        assert_eq!(
            pool_address("acme", "acme-bar", &Tags::new()),
            Some(("tenant/bar/pool".into(), Some("bar".into())))
        );
        let managed = Tags::from([(TAG_MANAGED.into(), "true".into()), (TAG_PLATFORM.into(), "acme".into())]);
        assert!(is_managed("acme", &managed));
        assert!(!is_managed("other", &managed));
        assert!(!is_managed("acme", &tags));
    }

    #[test]
    fn string_attribute_defaults_are_filled_in() {
        let a = SchemaAttributeType::builder()
            .name("custom:plain")
            .attribute_data_type(AttributeDataType::String)
            .mutable(true)
            .string_attribute_constraints(StringAttributeConstraintsType::builder().build())
            .build();
        let (n, s) = attribute_state(&a).unwrap();
        assert_eq!(n, "plain");
        assert_eq!(s.min_length.as_deref(), Some("0"));
        assert_eq!(s.max_length.as_deref(), Some("2048"));
        assert!(s.mutable);
        let std = SchemaAttributeType::builder().name("email").build();
        assert!(attribute_state(&std).is_none());
    }

    #[test]
    fn attribute_round_trip() {
        for a in [
            AttributeState {
                data_type: "String".into(),
                mutable: false,
                min_length: Some("1".into()),
                max_length: Some("32".into()),
                min_value: None,
                max_value: None,
            },
            AttributeState {
                data_type: "Number".into(),
                mutable: true,
                min_length: None,
                max_length: None,
                min_value: Some("0".into()),
                max_value: Some("100".into()),
            },
            AttributeState {
                data_type: "Number".into(),
                mutable: true,
                min_length: None,
                max_length: None,
                min_value: None,
                max_value: None,
            },
        ] {
            let mut sent = schema_attribute("custom:x", &a);
            assert_eq!(sent.name(), Some("x"));
            // What Cognito answers: the name with its prefix.
            sent.name = Some("custom:x".into());
            assert_eq!(attribute_state(&sent), Some(("x".into(), a)));
        }
    }

    #[test]
    fn pool_settings_from_describe() {
        let p = UserPoolType::builder()
            .deletion_protection(DeletionProtectionType::Active)
            .policies(
                UserPoolPolicyType::builder()
                    .password_policy(password_policy(&settings().password_policy, None))
                    .build(),
            )
            .admin_create_user_config(AdminCreateUserConfigType::builder().allow_admin_create_user_only(true).build())
            .set_user_pool_tags(Some(settings().tags.into_iter().collect()))
            .build();
        let s = pool_settings(&p);
        assert_eq!(s.mfa, "OFF");
        assert_eq!(PoolSettings { mfa: "OPTIONAL".into(), ..s }, settings());
    }

    #[test]
    fn update_pool_sends_back_unmanaged_fields() {
        let live = UserPoolType::builder()
            .id("p1")
            .name("acme")
            .lambda_config(LambdaConfigType::builder().pre_sign_up("arn:aws:lambda:us-east-1:1:function:f").build())
            .email_verification_message("code {####}")
            .verification_message_template(
                VerificationMessageTemplateType::builder().email_message("code {####}").build(),
            )
            .mfa_configuration(UserPoolMfaType::Optional)
            .admin_create_user_config(
                AdminCreateUserConfigType::builder()
                    .allow_admin_create_user_only(false)
                    .unused_account_validity_days(7)
                    .invite_message_template(MessageTemplateType::builder().email_subject("hi").build())
                    .build(),
            )
            .policies(
                UserPoolPolicyType::builder()
                    .password_policy(PasswordPolicyType::builder().minimum_length(8).password_history_size(5).build())
                    .build(),
            )
            .build();
        let b = update_pool_request(offline_client().update_user_pool(), &live, "p1", &settings(), "OPTIONAL").unwrap();
        let i = b.as_input();
        assert_eq!(i.get_user_pool_id().as_deref(), Some("p1"));
        assert_eq!(i.get_pool_name().as_deref(), Some("acme"));
        assert_eq!(i.get_lambda_config(), &live.lambda_config().cloned());
        assert_eq!(i.get_email_verification_message().as_deref(), Some("code {####}"));
        assert!(i.get_verification_message_template().is_some());
        assert_eq!(i.get_mfa_configuration(), &Some(UserPoolMfaType::Optional));
        assert_eq!(i.get_deletion_protection(), &Some(DeletionProtectionType::Active));
        let admin = i.get_admin_create_user_config().as_ref().unwrap();
        assert!(admin.allow_admin_create_user_only());
        assert_eq!(admin.invite_message_template().and_then(|t| t.email_subject()), Some("hi"));
        let pp = i.get_policies().as_ref().unwrap().password_policy().unwrap();
        assert_eq!(pp.minimum_length(), Some(12));
        assert_eq!(pp.password_history_size(), Some(5));
        assert_eq!(pp.temporary_password_validity_days(), 3);
        assert_eq!(i.get_user_pool_tags().as_ref().unwrap().len(), 2);
    }

    /// A mode change carries the live SMS, email and WebAuthn settings through.
    #[test]
    fn mfa_change_keeps_sms_email_and_webauthn() {
        use aws_sdk_cognitoidentityprovider::operation::get_user_pool_mfa_config::GetUserPoolMfaConfigOutput;
        use aws_sdk_cognitoidentityprovider::types::{
            EmailMfaConfigType, SmsConfigurationType, SmsMfaConfigType, WebAuthnConfigurationType,
        };
        let sms = SmsMfaConfigType::builder()
            .sms_configuration(
                SmsConfigurationType::builder().sns_caller_arn("arn:aws:iam::123456789012:role/sms").build(),
            )
            .build();
        let live = GetUserPoolMfaConfigOutput::builder()
            .mfa_configuration(UserPoolMfaType::Optional)
            .sms_mfa_configuration(sms.clone())
            .email_mfa_configuration(EmailMfaConfigType::builder().message("code {####}").build())
            .web_authn_configuration(WebAuthnConfigurationType::builder().relying_party_id("auth.example").build())
            .build();
        let b = set_mfa_request(offline_client().set_user_pool_mfa_config(), "p1", "ON", &live);
        let i = b.as_input();
        assert_eq!(i.get_mfa_configuration(), &Some(UserPoolMfaType::On));
        assert_eq!(i.get_sms_mfa_configuration(), &Some(sms));
        assert!(i.get_email_mfa_configuration().is_some());
        assert!(i.get_web_authn_configuration().is_some());
        assert_eq!(i.get_software_token_mfa_configuration().as_ref().map(|t| t.enabled()), Some(true));
    }
}
