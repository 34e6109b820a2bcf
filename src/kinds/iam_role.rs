//! `iam_role`: a tenant's IAM role (`tenant/<tenant>/role/<role>`, named
//! `<platform>-<tenant>-<role>`), a shared role (contract §1.7 `tenancy.roles: shared`:
//! `platform/role/<role>`, named `<platform>-<role>`, no tenant) or the authorizer's managed
//! execution role (`platform/authorizer/role`, no tenant), at the path `/tenantctl/<platform>/`. Its inline
//! policies are instances of [`super::role_policy`], which live in it.
//!
//! - Desired: the tenant roles and the authorizer's managed execution role ([`desired_items`];
//!   their inline policies are `role_policy`'s instances, rendered from the templates).
//! - Observed with its policies (`Kind::observe`): a full read costs pages, not calls per
//!   role (`ListRoles` by path prefix for the description and maximum session duration,
//!   `GetAccountAuthorizationDetails` for trust, inline and attached policies, tags and
//!   boundary); `--tenant` reads only the desired roles (`GetRole` and their policy lists),
//!   whose ARNs tell the account. `adopt` also sees roles with contract names that lack
//!   tenantctl's tags. The physical id is the role's name.
//! - Updated with targeted calls ([`RoleUpdate`]): the trust policy, the settings, the
//!   boundary, the tags; the path never changes (observation only reads roles at the path).
//! - A role that no tenant owns (the authorizer's) is an orphan of the platform when the folder
//!   no longer declares it: deleted only with `--prune`. `--tenant` plans never delete roles.
//! - Deleting a role removes its inline and attached policies and its instance profiles first
//!   (its policies have no changes of their own then).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aws_sdk_iam::types::{EntityType, Tag};
use futures::future::BoxFuture;
use futures::FutureExt;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::role_policy::{delete_role_policy, detach_role_policy};
use super::{role_policy, Desired, DesiredCtx, DesiredError, Kind, ObserveScope, Observed};
use crate::aws::{account_of_arn, call_err, Aws, AwsError, Category};
use crate::plan::quotas::{after_plan, AccountFigures, DEFAULT_TRUST_POLICY_SIZE, INLINE_POLICY_CHARS_PER_ROLE};
use crate::plan::{Deps, Key, Op, Plan, PlanError};
use crate::plan::{ItemRules, Resource};
use crate::spec::desired::{
    names, platform_tags, render_policy, render_shared_policy, shared_role_tags, shared_roles, tenant_roles,
    tenant_tags, RenderEnv, TAG_MANAGED, TAG_PLATFORM,
};
use crate::spec::model::Platform;
use crate::spec::validate::{arn_re, platform_re, role_re, tenant_id_problem};
use crate::spec::{desired, Diagnostic, Folder};
use crate::state::{canonical_policy, parse_policy_document, Ids, Item, RoleState, Tags, World};

pub struct IamRole;

pub const KIND: &str = "iam_role";

/// A role's own fields, as its item's state (its policies are items of their own).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RoleFields {
    pub path: String,
    pub description: Option<String>,
    pub max_session_duration: i32,
    pub permissions_boundary: Option<String>,
    pub trust_policy: Value,
    pub tags: Tags,
}

fn fields(item: &Item) -> Result<RoleFields, AwsError> {
    serde_json::from_value(item.state.clone())
        .map_err(|e| AwsError::Other(format!("role `{}`: unreadable state: {e}", item.name)))
}

/// The items of a role: the role, its inline policies and its attached managed policies
/// (observed only: the folder attaches none).
pub fn items(role: &RoleState) -> Vec<(String, Item)> {
    let state = RoleFields {
        path: role.path.clone(),
        description: role.description.clone(),
        max_session_duration: role.max_session_duration,
        permissions_boundary: role.permissions_boundary.clone(),
        trust_policy: role.trust_policy.clone(),
        tags: role.tags.clone(),
    };
    let mut out = vec![(
        role.address.clone(),
        Item {
            kind: KIND.to_string(),
            name: role.name.clone(),
            tenant: role.tenant.clone(),
            parent: None,
            state: serde_json::to_value(state).expect("role state serializes"),
            after: Vec::new(),
        },
    )];
    for (name, doc) in &role.policies {
        out.push(role_policy::inline(&role.address, role.tenant.as_deref(), name, doc));
    }
    for arn in &role.attached_policies {
        out.push(role_policy::attached(&role.address, role.tenant.as_deref(), arn));
    }
    out
}

/// Whether `desired` holds a role that was not read (creating roles needs the account's role
/// figures, see `plan::quotas`).
fn creates_roles(desired: &World, read: &[RoleState]) -> bool {
    let read: BTreeSet<&str> = read.iter().map(|r| r.address.as_str()).collect();
    desired.items.iter().any(|(a, i)| i.kind == KIND && !read.contains(a.as_str()))
}

/// The names of the roles of `world` that lack tenantctl's managed tag (what `adopt` takes
/// over).
pub fn unmanaged(world: &World) -> Vec<String> {
    world
        .items
        .values()
        .filter(|i| i.kind == KIND)
        .filter(|i| i.state["tags"].get(TAG_MANAGED).and_then(Value::as_str) != Some("true"))
        .map(|i| i.name.clone())
        .collect()
}

/// Where a role of this platform sits in the world: (address, tenant), from its name. A name
/// with one part after the platform (`<platform>-<role>`, role names hold no hyphen) is a
/// shared role, platform-wide.
pub fn role_address(platform: &str, name: &str) -> Option<(String, Option<String>)> {
    if name == names::authorizer_role(platform) {
        return Some((names::authorizer_role_address(), None));
    }
    let rest = name.strip_prefix(platform)?.strip_prefix('-')?;
    if role_re().is_match(rest) {
        return Some((names::shared_role_address(rest), None));
    }
    let (tenant, role) = rest.rsplit_once('-')?;
    if tenant.is_empty() || role.is_empty() {
        return None;
    }
    Some((names::role_address(tenant, role), Some(tenant.to_string())))
}

// ---------------------------------------------------------------------------------------
// Desired
// ---------------------------------------------------------------------------------------

/// The desired roles' items: the tenant roles, with their trust policy canonical, and the
/// authorizer's managed execution role (their inline policies are `role_policy`'s).
fn desired_items(folder: &Folder, env: &RenderEnv) -> Result<Vec<(String, Item)>, DesiredError> {
    let mut out = Vec::new();
    let managed = authorizer_role(folder);
    for r in render_roles(folder, env, &[], false)? {
        let mut st = r.state;
        st.trust_policy = canonical_policy(&st.trust_policy);
        let mut role = items(&st);
        if let Some(m) = &managed {
            // Tenant roles trust it: IAM refuses a trust policy naming a role that does not
            // exist.
            role[0].1.after.push(m.address.clone());
        }
        out.extend(role);
    }
    out.extend(managed.iter().flat_map(items));
    Ok(out)
}

/// What a shared role's trust policy requires of the session tag `tenant_id`
/// (`StringLike`): IAM's globs know only `*` and `?`, which cannot express the contract's
/// tenant id pattern (a character class and a length); `?*` (at least one character) is the
/// closest they come without refusing a valid id. The trusted principals pass the tenant.
pub const SHARED_TENANT_GLOB: &str = "?*";

/// The trust policy of a shared role (contract §1.7): `trust.principals` (never the
/// authorizer) may assume it, tag the session and set its source identity, only with the
/// session tag `tenant_id` present (`Null: false`), non-empty ([`SHARED_TENANT_GLOB`]), and no
/// other session tag key.
pub fn shared_trust_policy(pl: &Platform) -> Value {
    session_trust(
        pl,
        json!({
            "Null": {"aws:RequestTag/tenant_id": "false"},
            "StringLike": {"aws:RequestTag/tenant_id": SHARED_TENANT_GLOB},
            "ForAllValues:StringEquals": {"aws:TagKeys": ["tenant_id"]}
        }),
    )
}

/// A trust policy letting `trust.principals` assume the role, tag the session and set its
/// source identity under `condition`.
fn session_trust(pl: &Platform, condition: Value) -> Value {
    let principals: Vec<String> = pl.trust.principals.iter().cloned().collect::<BTreeSet<_>>().into_iter().collect();
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "TenantSession",
            "Effect": "Allow",
            "Principal": {"AWS": principals},
            "Action": ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"],
            "Condition": condition
        }]
    })
}

/// The trust policy of a tenant role (contract §3): `trust.principals` (never the authorizer,
/// which calls no STS) may assume it, tag the session and set its source identity, only with
/// `aws:RequestTag/tenant_id` equal to this tenant and no other session tag key.
pub fn trust_policy(pl: &Platform, tenant: &str) -> Value {
    session_trust(
        pl,
        json!({
            "StringEquals": {"aws:RequestTag/tenant_id": tenant},
            "ForAllValues:StringEquals": {"aws:TagKeys": ["tenant_id"]}
        }),
    )
}

/// One rendered tenant role (or shared role, without a tenant), as `render` prints it.
pub struct RenderedRole {
    pub tenant: Option<String>,
    pub role: String,
    pub state: RoleState,
}

/// Every tenant role of the folder (optionally only some tenants), rendered.
pub fn rendered(folder: &Folder, env: &RenderEnv, only: &[String]) -> Result<Vec<RenderedRole>, DesiredError> {
    render_roles(folder, env, only, true)
}

/// The tenant roles (with `tenancy.roles: shared`: the shared roles, whatever `only` says),
/// with their rendered policies when `with_policies` (`render` prints them; the desired ones
/// are `role_policy`'s instances).
fn render_roles(
    folder: &Folder,
    env: &RenderEnv,
    only: &[String],
    with_policies: bool,
) -> Result<Vec<RenderedRole>, DesiredError> {
    let pl = &folder.platform.value;
    let mut out = Vec::new();
    if shared_roles(pl) {
        for (role, spec) in &pl.roles {
            let mut policies = BTreeMap::new();
            for pol in spec.policies.iter().filter(|_| with_policies) {
                let Some(tpl) = folder.policies.get(pol) else {
                    continue;
                };
                let doc = render_shared_policy(tpl, pl, role, env)
                    .map_err(|source| DesiredError { policy: pol.clone(), source })?;
                policies.insert(pol.clone(), doc);
            }
            out.push(RenderedRole {
                tenant: None,
                role: role.clone(),
                state: RoleState {
                    address: names::shared_role_address(role),
                    name: names::shared_iam_role(&pl.name, role),
                    path: names::role_path(&pl.name),
                    tenant: None,
                    description: spec.description.clone(),
                    max_session_duration: spec.max_session_duration.unwrap_or(3600),
                    permissions_boundary: pl.permissions_boundary.clone(),
                    trust_policy: shared_trust_policy(pl),
                    tags: shared_role_tags(pl),
                    policies,
                    attached_policies: BTreeSet::new(),
                },
            });
        }
        return Ok(out);
    }
    for t in &folder.tenants {
        let t = &t.value;
        if !only.is_empty() && !only.contains(&t.id) {
            continue;
        }
        for role in tenant_roles(pl, t) {
            let Some(spec) = pl.roles.get(role) else {
                continue;
            };
            let mut policies = BTreeMap::new();
            for pol in spec.policies.iter().filter(|_| with_policies) {
                let Some(tpl) = folder.policies.get(pol) else {
                    continue;
                };
                let doc = render_policy(tpl, pl, t, role, env)
                    .map_err(|source| DesiredError { policy: pol.clone(), source })?;
                policies.insert(pol.clone(), doc);
            }
            out.push(RenderedRole {
                tenant: Some(t.id.clone()),
                role: role.to_string(),
                state: RoleState {
                    address: names::role_address(&t.id, role),
                    name: names::iam_role(&pl.name, &t.id, role),
                    path: names::role_path(&pl.name),
                    tenant: Some(t.id.clone()),
                    description: spec.description.clone(),
                    max_session_duration: spec.max_session_duration.unwrap_or(3600),
                    permissions_boundary: pl.permissions_boundary.clone(),
                    trust_policy: trust_policy(pl, &t.id),
                    tags: tenant_tags(pl, t),
                    policies,
                    attached_policies: BTreeSet::new(),
                },
            });
        }
    }
    Ok(out)
}

/// The managed execution role of the Lambda authorizer (when the folder names none).
pub fn authorizer_role(folder: &Folder) -> Option<RoleState> {
    let pl = &folder.platform.value;
    let f = pl.authorizer.as_ref()?.function.as_ref()?;
    if f.role.is_some() {
        return None;
    }
    let trust = json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    });
    Some(RoleState {
        address: names::authorizer_role_address(),
        name: names::authorizer_role(&pl.name),
        path: names::role_path(&pl.name),
        tenant: None,
        description: Some("tenantctl: execution role of the tenant authorizer".into()),
        max_session_duration: 3600,
        permissions_boundary: None,
        trust_policy: canonical_policy(&trust),
        tags: platform_tags(pl),
        // Its inline policies are `role_policy`'s instances.
        policies: BTreeMap::new(),
        attached_policies: BTreeSet::new(),
    })
}

impl ItemRules for IamRole {
    fn resource(&self) -> Resource {
        Resource::new(KIND)
    }

    /// The account's roles quota, each role's trust policy size and its inline policies'
    /// characters.
    fn check_quotas(&self, plan: &Plan, desired: &World, figures: &AccountFigures) -> Result<(), PlanError> {
        roles_quota(plan, figures)?;
        trust_policy_sizes(plan, figures)?;
        inline_policy_chars(desired)
    }

    /// A role ARN in another item's state names it ([`Key::Role`]).
    fn order(&self, desired: &Item, _live: Option<&Item>, deps: &mut Deps) {
        deps.provides.push(Key::Role(desired.name.clone()));
    }

    /// After the plan's role creates and updates (IAM checks the roles a trust policy names)
    /// and after the changes that stop naming it (a group that pointed at it).
    fn delete_order(&self, live: &Item, deps: &mut Deps) {
        deps.needs.extend([Key::Kind(self.resource()), Key::RoleReleased(live.name.clone())]);
    }

    fn platform_orphans(&self) -> bool {
        true
    }

    /// A shared role (contract §1.7) the folder no longer declares is deleted (the platform
    /// switched to per-tenant roles, or dropped the role), as a declared tenant's role would
    /// be; the authorizer's managed role stays an orphan (kept unless `--prune`).
    fn platform_orphan(&self, live: &Item) -> bool {
        live.state["tags"].get(crate::spec::desired::TAG_TENANCY).and_then(Value::as_str) != Some("shared")
    }
}

impl Kind for IamRole {
    fn service(&self) -> super::Service {
        super::Service::Iam
    }

    /// The tenant roles and the authorizer's managed execution role (see the module docs).
    fn desired(&self, folder: &Folder, ctx: &DesiredCtx, _world: &World) -> Desired {
        desired_items(folder, &ctx.env)
    }

    /// The platform's managed roles with their policies (`role_policy`'s instances; a role's
    /// id is its name, a policy's its name or ARN). A `--tenant` session reads only the roles
    /// `desired` holds, and notes the account their ARNs show (sparing the STS call); `adopt`:
    /// those roles managed or not (a role with a contract name but without tenantctl's tags is
    /// taken over by tagging it; one at another path cannot be, IAM cannot move a role: that
    /// is an error). When a desired role was not read, the account's role figures are read too
    /// (`GetAccountSummary`, for the count quotas), so a converged plan costs nothing more.
    fn observe<'a>(&'a self, aws: &'a Aws, scope: &'a ObserveScope<'a>) -> BoxFuture<'a, Result<Observed, AwsError>> {
        async move {
            let mut roles = Vec::new();
            let adopt = scope.adopt == super::Adopt::Tenant;
            let scoped = scope.scoped() || adopt;
            let account = observe_roles(aws, scope.desired, scoped, adopt, &mut roles).await?;
            if creates_roles(scope.desired, &roles) {
                let (roles, trust) = crate::aws::iam::account_summary(aws).await?;
                scope.note(|n| {
                    n.figures.roles = roles;
                    n.figures.trust_policy_size_quota = trust;
                });
            }
            scope.note(|n| n.account_id = n.account_id.take().or(account));
            Ok(roles
                .iter()
                .flat_map(items)
                .map(|(address, item)| {
                    let id = item.name.clone();
                    (address, item, id)
                })
                .collect())
        }
        .boxed()
    }

    fn shows_tenant(&self) -> bool {
        true
    }

    /// With its ARN (from its path and name).
    fn inventory(&self, address: &str, item: &Item, _ids: &Ids, ctx: &crate::aws::Ctx) -> Option<Value> {
        let path = item.state["path"].as_str().unwrap_or_default();
        Some(serde_json::json!({"resource": KIND, "address": address, "name": item.name, "tenant": item.tenant,
            "arn": format!("arn:{}:iam::{}:role{path}{}", ctx.partition, ctx.account_id, item.name)}))
    }

    fn create<'a>(
        &'a self,
        aws: &'a Aws,
        item: &'a Item,
        _parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<String, AwsError>> {
        async move {
            let role = fields(item)?;
            let iam = &aws.iam;
            let trust = serde_json::to_string(&role.trust_policy).expect("json");
            let created = propagating("CreateRole", || async {
                aws.limiter.acquire(Category::IamWrite).await;
                iam.create_role()
                    .role_name(&item.name)
                    .path(&role.path)
                    .assume_role_policy_document(&trust)
                    .set_description(role.description.clone())
                    .max_session_duration(role.max_session_duration)
                    .set_permissions_boundary(role.permissions_boundary.clone())
                    .set_tags(Some(tag_list(&role.tags)))
                    .send()
                    .await
                    .map_err(|e| call_err("iam:CreateRole", e))
            })
            .await;
            if let Err(e) = created {
                if e.code() != Some("EntityAlreadyExists") {
                    return Err(e);
                }
                // Someone made it meanwhile: another tenantctl run, or a person.
                let theirs = get_role(aws, &item.name, true).await.ok().flatten();
                if let Some((live, _)) =
                    theirs.as_ref().filter(|(r, _)| managed(&aws.ctx.platform, &r.tags) && r.path == role.path)
                {
                    // Another run of this platform created it: bring it to the desired state.
                    let live = items(live).into_iter().next().map(|(_, i)| i).expect("a role's first item is the role");
                    self.update(aws, item, &live, &item.name, None).await?;
                    return Ok(item.name.clone());
                }
                let ours = theirs.is_some_and(|(r, _)| managed(&aws.ctx.platform, &r.tags));
                return Err(AwsError::Conflict(if ours {
                    format!("role {} was created by another tenantctl run while this apply ran (a concurrent apply?); run apply again once it has finished", item.name)
                } else {
                    let tenant = item.tenant.as_deref().unwrap_or("ID");
                    format!("role {} exists without tenantctl's tags: `tenantctl adopt --tenant {tenant}` takes it over after showing the diff", item.name)
                }));
            }
            Ok(item.name.clone())
        }
        .boxed()
    }

    fn update<'a>(
        &'a self,
        aws: &'a Aws,
        item: &'a Item,
        live: &'a Item,
        id: &'a str,
        _parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        async move {
            let role = fields(item)?;
            let RoleUpdate { trust, settings, boundary, tags_set, tags_remove } = RoleUpdate::of(item, live)?;
            let iam = &aws.iam;
            if trust {
                let doc = serde_json::to_string(&role.trust_policy).expect("json");
                propagating("UpdateAssumeRolePolicy", || async {
                    aws.limiter.acquire(Category::IamWrite).await;
                    iam.update_assume_role_policy()
                        .role_name(id)
                        .policy_document(&doc)
                        .send()
                        .await
                        .map_err(|e| call_err("iam:UpdateAssumeRolePolicy", e))
                })
                .await?;
            }
            if settings {
                aws.limiter.acquire(Category::IamWrite).await;
                // UpdateRole clears an omitted description: always send both fields.
                iam.update_role()
                    .role_name(id)
                    .description(role.description.clone().unwrap_or_default())
                    .max_session_duration(role.max_session_duration)
                    .send()
                    .await
                    .map_err(|e| call_err("iam:UpdateRole", e))?;
            }
            if boundary {
                aws.limiter.acquire(Category::IamWrite).await;
                match &role.permissions_boundary {
                    Some(b) => {
                        iam.put_role_permissions_boundary()
                            .role_name(id)
                            .permissions_boundary(b)
                            .send()
                            .await
                            .map_err(|e| call_err("iam:PutRolePermissionsBoundary", e))?;
                    }
                    None => {
                        iam.delete_role_permissions_boundary()
                            .role_name(id)
                            .send()
                            .await
                            .map_err(|e| call_err("iam:DeleteRolePermissionsBoundary", e))?;
                    }
                }
            }
            for step in tag_steps(&tags_set, &tags_remove) {
                aws.limiter.acquire(Category::IamWrite).await;
                match step {
                    TagStep::Untag(keys) => {
                        iam.untag_role()
                            .role_name(id)
                            .set_tag_keys(Some(keys))
                            .send()
                            .await
                            .map_err(|e| call_err("iam:UntagRole", e))?;
                    }
                    TagStep::Tag(tags) => {
                        iam.tag_role()
                            .role_name(id)
                            .set_tags(Some(tag_list(&tags)))
                            .send()
                            .await
                            .map_err(|e| call_err("iam:TagRole", e))?;
                    }
                }
            }
            Ok(())
        }
        .boxed()
    }

    fn delete<'a>(
        &'a self,
        aws: &'a Aws,
        _live: &'a Item,
        id: &'a str,
        _parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        async move {
            let iam = &aws.iam;
            let name = id;
            // A role with policies cannot be deleted: remove them first.
            aws.limiter.acquire(Category::IamRead).await;
            let list = iam
                .list_role_policies()
                .role_name(name)
                .send()
                .await
                .map_err(|e| call_err("iam:ListRolePolicies", e))?;
            for p in list.policy_names() {
                delete_role_policy(aws, name, p).await?;
            }
            aws.limiter.acquire(Category::IamRead).await;
            let att = iam
                .list_attached_role_policies()
                .role_name(name)
                .send()
                .await
                .map_err(|e| call_err("iam:ListAttachedRolePolicies", e))?;
            for arn in att.attached_policies().iter().filter_map(|p| p.policy_arn()) {
                detach_role_policy(aws, name, arn).await?;
            }
            // A role in an instance profile cannot be deleted (DeleteConflict): take it out of
            // them first (the role is tenantctl's by tag and path; the profiles stay).
            aws.limiter.acquire(Category::IamRead).await;
            let profiles = iam
                .list_instance_profiles_for_role()
                .role_name(name)
                .send()
                .await
                .map_err(|e| call_err("iam:ListInstanceProfilesForRole", e));
            let profiles = match profiles {
                Ok(p) => p.instance_profiles().iter().map(|p| p.instance_profile_name().to_string()).collect(),
                Err(e) if e.is_not_found() => Vec::new(),
                Err(e) => return Err(e),
            };
            for profile in profiles {
                aws.limiter.acquire(Category::IamWrite).await;
                crate::aws::done_if_gone(
                    iam.remove_role_from_instance_profile()
                        .instance_profile_name(&profile)
                        .role_name(name)
                        .send()
                        .await
                        .map_err(|e| call_err("iam:RemoveRoleFromInstanceProfile", e)),
                )?;
            }
            aws.limiter.acquire(Category::IamWrite).await;
            crate::aws::done_if_gone(
                iam.delete_role().role_name(name).send().await.map_err(|e| call_err("iam:DeleteRole", e)),
            )
        }
        .boxed()
    }

    fn validate(&self, folder: &Folder) -> Vec<Diagnostic> {
        folder_rules(folder)
    }
}

/// What an update of a role changes, each with its own calls: the trust policy
/// (`UpdateAssumeRolePolicy`), the settings (`UpdateRole`: description and maximum session
/// duration), the boundary (`Put`/`DeleteRolePermissionsBoundary`), the tags (`UntagRole`
/// of the removed keys, `TagRole` of the set ones).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleUpdate {
    pub trust: bool,
    pub settings: bool,
    pub boundary: bool,
    pub tags_set: Tags,
    pub tags_remove: BTreeSet<String>,
}

impl RoleUpdate {
    /// The update that makes the live role (`live`) match the desired one (`desired`).
    pub fn of(desired: &Item, live: &Item) -> Result<RoleUpdate, AwsError> {
        let (d, o) = (fields(desired)?, fields(live)?);
        Ok(RoleUpdate {
            trust: o.trust_policy != d.trust_policy,
            settings: o.description != d.description || o.max_session_duration != d.max_session_duration,
            boundary: o.permissions_boundary != d.permissions_boundary,
            tags_set: d
                .tags
                .iter()
                .filter(|(k, v)| o.tags.get(*k) != Some(v))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            tags_remove: o.tags.keys().filter(|k| !d.tags.contains_key(*k)).cloned().collect(),
        })
    }
}

fn doc(raw: Option<&str>) -> Value {
    raw.and_then(parse_policy_document).map(|v| canonical_policy(&v)).unwrap_or(Value::Null)
}

fn tags_of(tags: &[Tag]) -> Tags {
    tags.iter().map(|t| (t.key().to_string(), t.value().to_string())).collect()
}

fn managed(platform: &str, tags: &Tags) -> bool {
    tags.get(TAG_MANAGED).map(String::as_str) == Some("true")
        && tags.get(TAG_PLATFORM).map(String::as_str) == Some(platform)
}

async fn observe_roles(
    aws: &Aws,
    desired: &World,
    scoped: bool,
    adopt: bool,
    world: &mut Vec<RoleState>,
) -> Result<Option<String>, AwsError> {
    let platform = aws.ctx.platform.clone();
    let path = names::role_path(&platform);
    let mut account = None;
    if scoped {
        for d in desired.items.values().filter(|i| i.kind == KIND) {
            if let Some((r, acct)) = get_role(aws, &d.name, adopt).await? {
                account = account.or(acct);
                world.push(r);
            }
        }
        return Ok(account);
    }
    // Description and max session duration, from ListRoles pages.
    let mut settings: BTreeMap<String, (Option<String>, i32)> = BTreeMap::new();
    let mut marker = None;
    loop {
        aws.limiter.acquire(Category::IamRead).await;
        let out = aws
            .iam
            .list_roles()
            .path_prefix(&path)
            .max_items(1000)
            .set_marker(marker.take())
            .send()
            .await
            .map_err(|e| call_err("iam:ListRoles", e))?;
        for r in out.roles() {
            settings.insert(
                r.role_name().to_string(),
                (
                    r.description().filter(|d| !d.is_empty()).map(str::to_string),
                    r.max_session_duration().unwrap_or(3600),
                ),
            );
        }
        match out.marker() {
            Some(m) if out.is_truncated() => marker = Some(m.to_string()),
            _ => break,
        }
    }
    if settings.is_empty() {
        return Ok(None);
    }
    let mut marker = None;
    loop {
        aws.limiter.acquire(Category::IamRead).await;
        let out = aws
            .iam
            .get_account_authorization_details()
            .filter(EntityType::Role)
            .max_items(1000)
            .set_marker(marker.take())
            .send()
            .await
            .map_err(|e| call_err("iam:GetAccountAuthorizationDetails", e))?;
        for r in out.role_detail_list() {
            if r.path() != Some(path.as_str()) {
                continue;
            }
            let name = r.role_name().unwrap_or_default();
            if account.is_none() {
                account = r.arn().and_then(account_of_arn).map(str::to_string);
            }
            let tags = tags_of(r.tags());
            let Some((address, tenant)) = role_address(&platform, name) else { continue };
            if !managed(&platform, &tags) {
                continue;
            }
            let (description, max) = settings.get(name).cloned().unwrap_or((None, 3600));
            world.push(RoleState {
                address,
                name: name.to_string(),
                path: path.clone(),
                tenant,
                description,
                max_session_duration: max,
                permissions_boundary: r
                    .permissions_boundary()
                    .and_then(|b| b.permissions_boundary_arn())
                    .map(str::to_string),
                trust_policy: doc(r.assume_role_policy_document()),
                tags,
                policies: r
                    .role_policy_list()
                    .iter()
                    .map(|p| (p.policy_name().unwrap_or_default().to_string(), doc(p.policy_document())))
                    .collect(),
                attached_policies: r
                    .attached_managed_policies()
                    .iter()
                    .filter_map(|p| p.policy_arn().map(str::to_string))
                    .collect(),
            });
        }
        match out.marker() {
            Some(m) if out.is_truncated() => marker = Some(m.to_string()),
            _ => break,
        }
    }
    Ok(account)
}

/// One role with its policies (GetRole, ListRolePolicies, GetRolePolicy each, ListAttachedRolePolicies).
async fn get_role(aws: &Aws, name: &str, adopt: bool) -> Result<Option<(RoleState, Option<String>)>, AwsError> {
    let platform = &aws.ctx.platform;
    aws.limiter.acquire(Category::IamRead).await;
    let out = aws.iam.get_role().role_name(name).send().await.map_err(|e| call_err("iam:GetRole", e));
    let Some(out) = crate::aws::none_if_gone(out)? else { return Ok(None) };
    let Some(r) = out.role() else { return Ok(None) };
    let tags = tags_of(r.tags());
    let Some((address, tenant)) = role_address(platform, name) else { return Ok(None) };
    if adopt && r.path() != names::role_path(platform) {
        return Err(AwsError::Conflict(format!(
            "role {name} exists at path {} and cannot be adopted: IAM cannot move a role to {}; delete or rename it",
            r.path(),
            names::role_path(platform)
        )));
    }
    if !adopt && (!managed(platform, &tags) || r.path() != names::role_path(platform)) {
        return Ok(None);
    }
    let mut policies = BTreeMap::new();
    aws.limiter.acquire(Category::IamRead).await;
    let list =
        aws.iam.list_role_policies().role_name(name).send().await.map_err(|e| call_err("iam:ListRolePolicies", e))?;
    for p in list.policy_names() {
        aws.limiter.acquire(Category::IamRead).await;
        let got = aws
            .iam
            .get_role_policy()
            .role_name(name)
            .policy_name(p)
            .send()
            .await
            .map_err(|e| call_err("iam:GetRolePolicy", e))?;
        policies.insert(p.clone(), doc(Some(got.policy_document())));
    }
    aws.limiter.acquire(Category::IamRead).await;
    let attached = aws
        .iam
        .list_attached_role_policies()
        .role_name(name)
        .send()
        .await
        .map_err(|e| call_err("iam:ListAttachedRolePolicies", e))?;
    let account = account_of_arn(r.arn()).map(str::to_string);
    Ok(Some((
        RoleState {
            address,
            name: name.to_string(),
            path: r.path().to_string(),
            tenant,
            description: r.description().filter(|d| !d.is_empty()).map(str::to_string),
            max_session_duration: r.max_session_duration().unwrap_or(3600),
            permissions_boundary: r
                .permissions_boundary()
                .and_then(|b| b.permissions_boundary_arn())
                .map(str::to_string),
            trust_policy: doc(r.assume_role_policy_document()),
            tags,
            policies,
            attached_policies: attached
                .attached_policies()
                .iter()
                .filter_map(|p| p.policy_arn().map(str::to_string))
                .collect::<BTreeSet<_>>(),
        },
        account,
    )))
}

fn tag_list(tags: &Tags) -> Vec<Tag> {
    tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build().expect("key and value")).collect()
}

/// Retries a write while IAM has not yet propagated a principal it refers to.
async fn propagating<T, F, Fut>(what: &str, mut f: F) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, AwsError>>,
{
    let mut delay = Duration::from_millis(500);
    let deadline = tokio::time::Instant::now() + crate::aws::propagation_window();
    loop {
        match f().await {
            Err(AwsError::Call { code, message, .. })
                if code == "MalformedPolicyDocument"
                    && message.contains("principal")
                    && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
            Err(e @ AwsError::Call { .. }) if e.code() == Some("MalformedPolicyDocument") => {
                return Err(AwsError::Other(format!(
                    "{what}: {e} (gave up after waiting for IAM to propagate the principal)"
                )))
            }
            other => return other,
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum TagStep {
    Untag(Vec<String>),
    Tag(Tags),
}

/// Removals before additions: IAM compares tag keys case-insensitively, so a key whose case
/// changes (`env` -> `Env`) must be untagged before it is set again, or the untag of the old
/// spelling would remove the new one and the change would take two applies.
fn tag_steps(set: &Tags, remove: &BTreeSet<String>) -> Vec<TagStep> {
    let mut steps = Vec::new();
    if !remove.is_empty() {
        steps.push(TagStep::Untag(remove.iter().cloned().collect()));
    }
    if !set.is_empty() {
        steps.push(TagStep::Tag(set.clone()));
    }
    steps
}

/// IAM roles per account: the roles there are, plus the plan's creates, minus its deletes.
fn roles_quota(plan: &Plan, figures: &AccountFigures) -> Result<(), PlanError> {
    let Some((used, quota)) = figures.roles else { return Ok(()) };
    let (Some(needed), creates, deletes) = after_plan(plan, IamRole.resource(), used) else { return Ok(()) };
    if needed > quota {
        return Err(PlanError::Quota {
            quota: "IAM roles per account (RolesQuota)".into(),
            detail: format!("the account has {used} roles, this plan creates {creates} (deletes {deletes}): {needed} > {quota}"),
            remedy: "ask AWS Support for a higher IAM roles quota (Service Quotas: IAM > Roles per account, up to 5,000), or share the roles (`tenancy.roles: shared`: one IAM role per platform role, whatever the number of tenants), or onboard fewer tenants or declare fewer roles (one IAM role per tenant and platform role)".into(),
        });
    }
    Ok(())
}

/// Each role's trust policy (its state's `trust_policy`) against the account's size quota.
fn trust_policy_sizes(plan: &Plan, figures: &AccountFigures) -> Result<(), PlanError> {
    let trust_quota = figures.trust_policy_size_quota.unwrap_or(DEFAULT_TRUST_POLICY_SIZE);
    for c in plan.changes.iter().filter(|c| c.resource == IamRole.resource()) {
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
    Ok(())
}

/// The characters of each desired role's inline policies (its `role_policy` items'
/// documents), against IAM's fixed per-role quota.
fn inline_policy_chars(desired: &World) -> Result<(), PlanError> {
    let mut inline: BTreeMap<&str, usize> = BTreeMap::new();
    for p in desired.items.values().filter(|i| i.kind == role_policy::KIND) {
        if let (Some(role), Some(doc)) = (p.parent.as_deref(), p.state.get("document")) {
            *inline.entry(role).or_default() += crate::state::minified_len(doc);
        }
    }
    for (addr, role) in desired.items.iter().filter(|(_, i)| i.kind == KIND) {
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

// ---------------------------------------------------------------- validation

pub const MAX_IAM_ROLE_NAME: usize = 64;

pub const MAX_TRUST_POLICY: usize = 2_048;

/// A character IAM accepts in a role description (CreateRole `Description` pattern).
pub fn iam_description_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{a}' | '\u{d}' | '\u{20}'..='\u{7e}' | '\u{a1}'..='\u{ff}')
}

/// What IAM accepts of a role (`Kind::validate`): `maxSessionDuration`, the description, the
/// trust principals, the permissions boundary, and every tenant role's physical name.
fn folder_rules(folder: &Folder) -> Vec<Diagnostic> {
    let p = &folder.platform;
    let pl = &p.value;
    let mut out = Vec::new();
    for (name, role) in &pl.roles {
        let path = format!("roles.{name}");
        if let Some(d) = role.max_session_duration {
            if !(3600..=43200).contains(&d) {
                out.push(
                    p.at(
                        &format!("{path}.maxSessionDuration"),
                        format!("maxSessionDuration {d} is outside IAM's 3600..43200 seconds"),
                    )
                    .hint("use a number of seconds between 3600 (1 h) and 43200 (12 h)"),
                );
            }
        }
        if let Some(desc) = &role.description {
            if desc.chars().count() > 1000 {
                out.push(p.at(&format!("{path}.description"), "role description is over IAM's 1000 characters"));
            }
            // IAM CreateRole/UpdateRole `Description`: pattern [\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*
            if let Some(c) = desc.chars().find(|c| !iam_description_char(*c)) {
                out.push(
                    p.at(
                        &format!("{path}.description"),
                        format!("role description contains `{}` (U+{:04X}), which IAM refuses: descriptions are Latin-1 only", c.escape_debug(), c as u32),
                    )
                    .hint("use plain Latin-1 text (no emoji, em dashes or curly quotes)"),
                );
            }
        }
    }
    for (i, pr) in pl.trust.principals.iter().enumerate() {
        if pr.contains('*') || pr.contains('?') || !arn_re().is_match(pr) {
            out.push(
                p.at(
                    &format!("trust.principals[{i}]"),
                    format!("trust principal `{}` must be a full IAM ARN without wildcards", pr.escape_debug()),
                )
                .hint("e.g. arn:aws:iam::123456789012:role/backend"),
            );
        }
    }
    if pl.trust.principals.is_empty() && pl.authorizer.is_none() {
        out.push(
            p.at("trust", "no trust principals: nothing could assume the tenant roles")
                .hint("list the backend roles in trust.principals"),
        );
    }
    if let Some(b) = &pl.permissions_boundary {
        if !arn_re().is_match(b) || !b.contains(":policy/") {
            out.push(p.at(
                "permissionsBoundary",
                format!("permissions boundary `{}` must be a managed policy ARN", b.escape_debug()),
            ));
        }
    }
    role_name_rules(folder, &mut out);
    out
}

/// A tenant role's name `<platform>-<tenant>-<role>` fits IAM's limit (once the parts are
/// valid: their own rules report them otherwise).
fn role_name_rules(folder: &Folder, out: &mut Vec<Diagnostic>) {
    let pl = &folder.platform.value;
    if shared_roles(pl) {
        // `<platform>-<role>`: at most 20 + 1 + 16 characters.
        return;
    }
    for t in &folder.tenants {
        let tv = &t.value;
        if tenant_id_problem(&tv.id).is_some() || !platform_re().is_match(&pl.name) {
            continue;
        }
        for role in desired::tenant_roles(pl, tv) {
            if !role_re().is_match(role) {
                continue;
            }
            let name = names::iam_role(&pl.name, &tv.id, role);
            if name.len() > MAX_IAM_ROLE_NAME {
                out.push(
                    t.at(
                        "id",
                        format!("IAM role name `{name}` is {} characters; IAM allows {MAX_IAM_ROLE_NAME}", name.len()),
                    )
                    .hint("shorten the tenant id, the platform name or the role name; tenantctl never cuts names"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_only_tag_change_untags_before_tagging() {
        let set = Tags::from([("Env".to_string(), "prod".to_string())]);
        let remove = BTreeSet::from(["env".to_string()]);
        assert_eq!(tag_steps(&set, &remove), vec![TagStep::Untag(vec!["env".into()]), TagStep::Tag(set.clone())]);
    }

    #[test]
    fn role_names_map_back_to_one_address() {
        assert_eq!(
            role_address("saas", "saas-acme-admin"),
            Some(("tenant/acme/role/admin".into(), Some("acme".into())))
        );
        assert_eq!(
            role_address("saas", "saas-acme-corp-member"),
            Some(("tenant/acme-corp/role/member".into(), Some("acme-corp".into())))
        );
        assert_eq!(role_address("saas", "saas-authorizer"), Some(("platform/authorizer/role".into(), None)));
        // A shared role (contract §1.7): platform-wide, no tenant.
        assert_eq!(role_address("saas", "saas-member2"), Some(("platform/role/member2".into(), None)));
        assert_eq!(role_address("saas", "saas-Member"), None);
        assert_eq!(role_address("saas", "other-acme-admin"), None);
        assert_eq!(role_address("saas", "saasx-acme-admin"), None);
    }
}

#[cfg(test)]
mod shared_tests;
