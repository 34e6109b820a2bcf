//! IAM adapter: reads the platform's roles (path `/tenantctl/<platform>/`) in bulk and
//! executes role ops.
//!
//! Full reads cost pages, not calls per role: `GetAccountAuthorizationDetails` (trust, inline
//! and attached policies, tags, boundary) plus `ListRoles` by path prefix (description and
//! maximum session duration, which the former omits). `--tenant` reads only that tenant's
//! roles with `GetRole` and their policy lists.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aws_sdk_iam::types::{EntityType, Tag};

use super::{call_err, Aws, AwsError, Category};
use crate::plan::Op;
use crate::spec::desired::{names, TAG_MANAGED, TAG_PLATFORM};
use crate::state::{canonical_policy, parse_policy_document, RoleState, Tags, World};

/// Where a role of this platform sits in the world: (address, tenant), from its name.
pub fn role_address(platform: &str, name: &str) -> Option<(String, Option<String>)> {
    if name == names::authorizer_role(platform) {
        return Some((names::authorizer_role_address(), None));
    }
    let rest = name.strip_prefix(platform)?.strip_prefix('-')?;
    let (tenant, role) = rest.rsplit_once('-')?;
    if tenant.is_empty() || role.is_empty() {
        return None;
    }
    Some((names::role_address(tenant, role), Some(tenant.to_string())))
}

fn doc(raw: Option<&str>) -> serde_json::Value {
    raw.and_then(parse_policy_document).map(|v| canonical_policy(&v)).unwrap_or(serde_json::Value::Null)
}

fn tags_of(tags: &[Tag]) -> Tags {
    tags.iter().map(|t| (t.key().to_string(), t.value().to_string())).collect()
}

fn managed(platform: &str, tags: &Tags) -> bool {
    tags.get(TAG_MANAGED).map(String::as_str) == Some("true")
        && tags.get(TAG_PLATFORM).map(String::as_str) == Some(platform)
}

/// Reads the platform's managed roles. When `scoped`, reads only the roles of `desired`.
/// Returns the account id seen in a role ARN, if any.
pub async fn observe(aws: &Aws, desired: &World, scoped: bool, world: &mut World) -> Result<Option<String>, AwsError> {
    observe_roles(aws, desired, scoped, false, world).await
}

/// For `adopt`: the roles of `desired`, managed or not (a role with a contract name but
/// without tenantctl's tags is taken over by tagging it). A role with the contract name at
/// another path cannot be adopted (IAM cannot move a role): that is an error.
pub async fn observe_adoptable(aws: &Aws, desired: &World, world: &mut World) -> Result<Option<String>, AwsError> {
    observe_roles(aws, desired, true, true, world).await
}

async fn observe_roles(
    aws: &Aws,
    desired: &World,
    scoped: bool,
    adopt: bool,
    world: &mut World,
) -> Result<Option<String>, AwsError> {
    let platform = aws.ctx.platform.clone();
    let path = names::role_path(&platform);
    let mut account = None;
    if scoped {
        for d in desired.roles.values() {
            if let Some((r, acct)) = get_role(aws, &d.name, adopt).await? {
                account = account.or(acct);
                world.roles.insert(r.address.clone(), r);
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
                account = r.arn().and_then(super::account_of_arn).map(str::to_string);
            }
            let tags = tags_of(r.tags());
            let Some((address, tenant)) = role_address(&platform, name) else { continue };
            if !managed(&platform, &tags) {
                continue;
            }
            let (description, max) = settings.get(name).cloned().unwrap_or((None, 3600));
            world.roles.insert(
                address.clone(),
                RoleState {
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
                },
            );
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
    let out = match aws.iam.get_role().role_name(name).send().await {
        Ok(o) => o,
        Err(e) => {
            let e = call_err("iam:GetRole", e);
            return if e.is_not_found() { Ok(None) } else { Err(e) };
        }
    };
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
    let account = super::account_of_arn(r.arn()).map(str::to_string);
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
    let deadline = tokio::time::Instant::now() + super::propagation_window();
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

pub async fn execute(aws: &Aws, op: &Op) -> Result<(), AwsError> {
    let iam = &aws.iam;
    match op {
        Op::CreateRole { role } => {
            let trust = serde_json::to_string(&role.trust_policy).expect("json");
            let created = propagating("CreateRole", || async {
                aws.limiter.acquire(Category::IamWrite).await;
                iam.create_role()
                    .role_name(&role.name)
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
                let theirs = get_role(aws, &role.name, true).await.ok().flatten();
                if let Some((live, _)) =
                    theirs.as_ref().filter(|(r, _)| managed(&aws.ctx.platform, &r.tags) && r.path == role.path)
                {
                    // Another run of this platform created it: bring it to the desired state.
                    let update = Op::UpdateRole {
                        role: role.clone(),
                        trust: live.trust_policy != role.trust_policy,
                        settings: live.description != role.description
                            || live.max_session_duration != role.max_session_duration,
                        boundary: live.permissions_boundary != role.permissions_boundary,
                        tags_set: role
                            .tags
                            .iter()
                            .filter(|(k, v)| live.tags.get(*k) != Some(*v))
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect(),
                        tags_remove: live.tags.keys().filter(|k| !role.tags.contains_key(*k)).cloned().collect(),
                    };
                    return Box::pin(execute(aws, &update)).await;
                }
                let ours = theirs.is_some_and(|(r, _)| managed(&aws.ctx.platform, &r.tags));
                return Err(AwsError::Conflict(if ours {
                    format!("role {} was created by another tenantctl run while this apply ran (a concurrent apply?); run apply again once it has finished", role.name)
                } else {
                    let tenant = role.tenant.as_deref().unwrap_or("ID");
                    format!("role {} exists without tenantctl's tags: `tenantctl adopt --tenant {tenant}` takes it over after showing the diff", role.name)
                }));
            }
        }
        Op::UpdateRole { role, trust, settings, boundary, tags_set, tags_remove } => {
            if *trust {
                let doc = serde_json::to_string(&role.trust_policy).expect("json");
                propagating("UpdateAssumeRolePolicy", || async {
                    aws.limiter.acquire(Category::IamWrite).await;
                    iam.update_assume_role_policy()
                        .role_name(&role.name)
                        .policy_document(&doc)
                        .send()
                        .await
                        .map_err(|e| call_err("iam:UpdateAssumeRolePolicy", e))
                })
                .await?;
            }
            if *settings {
                aws.limiter.acquire(Category::IamWrite).await;
                // UpdateRole clears an omitted description: always send both fields.
                iam.update_role()
                    .role_name(&role.name)
                    .description(role.description.clone().unwrap_or_default())
                    .max_session_duration(role.max_session_duration)
                    .send()
                    .await
                    .map_err(|e| call_err("iam:UpdateRole", e))?;
            }
            if *boundary {
                aws.limiter.acquire(Category::IamWrite).await;
                match &role.permissions_boundary {
                    Some(b) => {
                        iam.put_role_permissions_boundary()
                            .role_name(&role.name)
                            .permissions_boundary(b)
                            .send()
                            .await
                            .map_err(|e| call_err("iam:PutRolePermissionsBoundary", e))?;
                    }
                    None => {
                        iam.delete_role_permissions_boundary()
                            .role_name(&role.name)
                            .send()
                            .await
                            .map_err(|e| call_err("iam:DeleteRolePermissionsBoundary", e))?;
                    }
                }
            }
            for step in tag_steps(tags_set, tags_remove) {
                aws.limiter.acquire(Category::IamWrite).await;
                match step {
                    TagStep::Untag(keys) => {
                        iam.untag_role()
                            .role_name(&role.name)
                            .set_tag_keys(Some(keys))
                            .send()
                            .await
                            .map_err(|e| call_err("iam:UntagRole", e))?;
                    }
                    TagStep::Tag(tags) => {
                        iam.tag_role()
                            .role_name(&role.name)
                            .set_tags(Some(tag_list(&tags)))
                            .send()
                            .await
                            .map_err(|e| call_err("iam:TagRole", e))?;
                    }
                }
            }
        }
        Op::PutRolePolicy { role, name, document } => {
            let doc = serde_json::to_string(document).expect("json");
            aws.limiter.acquire(Category::IamWrite).await;
            iam.put_role_policy()
                .role_name(role)
                .policy_name(name)
                .policy_document(doc)
                .send()
                .await
                .map_err(|e| call_err("iam:PutRolePolicy", e))?;
        }
        Op::DeleteRolePolicy { role, name } => delete_role_policy(aws, role, name).await?,
        Op::DetachRolePolicy { role, arn } => detach_role_policy(aws, role, arn).await?,
        Op::DeleteRole { name } => {
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
                ignore_missing(
                    iam.remove_role_from_instance_profile()
                        .instance_profile_name(&profile)
                        .role_name(name)
                        .send()
                        .await
                        .map_err(|e| call_err("iam:RemoveRoleFromInstanceProfile", e)),
                )?;
            }
            aws.limiter.acquire(Category::IamWrite).await;
            ignore_missing(iam.delete_role().role_name(name).send().await.map_err(|e| call_err("iam:DeleteRole", e)))?;
        }
        other => return Err(AwsError::Other(format!("iam adapter cannot execute {other:?}"))),
    }
    Ok(())
}

#[derive(Debug, PartialEq, Eq)]
enum TagStep {
    Untag(Vec<String>),
    Tag(crate::state::Tags),
}

/// Removals before additions: IAM compares tag keys case-insensitively, so a key whose case
/// changes (`env` -> `Env`) must be untagged before it is set again, or the untag of the old
/// spelling would remove the new one and the change would take two applies.
fn tag_steps(set: &crate::state::Tags, remove: &std::collections::BTreeSet<String>) -> Vec<TagStep> {
    let mut steps = Vec::new();
    if !remove.is_empty() {
        steps.push(TagStep::Untag(remove.iter().cloned().collect()));
    }
    if !set.is_empty() {
        steps.push(TagStep::Tag(set.clone()));
    }
    steps
}

async fn delete_role_policy(aws: &Aws, role: &str, name: &str) -> Result<(), AwsError> {
    aws.limiter.acquire(Category::IamWrite).await;
    ignore_missing(
        aws.iam
            .delete_role_policy()
            .role_name(role)
            .policy_name(name)
            .send()
            .await
            .map_err(|e| call_err("iam:DeleteRolePolicy", e)),
    )
}

async fn detach_role_policy(aws: &Aws, role: &str, arn: &str) -> Result<(), AwsError> {
    aws.limiter.acquire(Category::IamWrite).await;
    ignore_missing(
        aws.iam
            .detach_role_policy()
            .role_name(role)
            .policy_arn(arn)
            .send()
            .await
            .map_err(|e| call_err("iam:DetachRolePolicy", e)),
    )
}

/// Deleting what is already gone is success (re-runs converge).
fn ignore_missing<T>(r: Result<T, AwsError>) -> Result<(), AwsError> {
    match r {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_only_tag_change_untags_before_tagging() {
        let set = crate::state::Tags::from([("Env".to_string(), "prod".to_string())]);
        let remove = std::collections::BTreeSet::from(["env".to_string()]);
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
        assert_eq!(role_address("saas", "other-acme-admin"), None);
        assert_eq!(role_address("saas", "saasx-acme-admin"), None);
    }
}
