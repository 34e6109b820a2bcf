//! The operations behind the commands: load the folder, connect, observe, plan. Commands in
//! `cli/` stay small and only parse flags and render.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use sha2::{Digest, Sha256};

use crate::aws::{self, Aws, AwsError, Limiter};
use crate::kinds;
use crate::plan::{self, Action, Plan, PlanError, PlanOptions, Resource};
use crate::spec::{desired, desired::RenderEnv, Folder, SpecErrors};
use crate::state::{Ids, World};

#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error("{0}")]
    Spec(#[from] SpecErrors),
    #[error("{0}")]
    Aws(#[from] AwsError),
    #[error("{0}")]
    Plan(#[from] PlanError),
    #[error("{message}")]
    Other { message: String, hint: Option<String> },
}

impl OpsError {
    pub fn other(message: impl Into<String>, hint: Option<&str>) -> Self {
        OpsError::Other { message: message.into(), hint: hint.map(str::to_string) }
    }
}

/// `TENANTCTL_EMULATOR=1`: tenantctl runs against the local emulator, and the authorizer
/// fetches the pools' keys from it (`TENANTCTL_JWKS_URL`) instead of from the issuers.
pub const EMULATOR_ENV: &str = "TENANTCTL_EMULATOR";

/// AWS settings from the command line.
#[derive(Debug, Clone, Default)]
pub struct AwsArgs {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint: Option<String>,
}

/// Everything a command that talks to AWS works on.
pub struct Session {
    pub config_dir: PathBuf,
    pub folder: Folder,
    pub aws: Aws,
    pub env: RenderEnv,
    pub desired: World,
    pub observed: World,
    pub ids: Ids,
    /// `--tenant` given: only those tenants' resources were read.
    pub tenants: Vec<String>,
    pub started: Instant,
    /// The account's figures for the count quotas (see `plan::quotas`).
    pub figures: plan::quotas::AccountFigures,
}

/// The tenants a `--tenant` list names must exist in the folder.
pub fn check_tenants(folder: &Folder, tenants: &[String]) -> Result<(), OpsError> {
    for id in tenants {
        if folder.tenant(id).is_none() {
            return Err(OpsError::other(
                format!("no tenant `{id}` in the folder"),
                Some("the ids are those of the tenants/ files"),
            ));
        }
    }
    Ok(())
}

/// SHA-256 of every file under tenants/ and policies/ (and the authorizer code), by path.
pub fn folder_fingerprint(folder: &Folder) -> String {
    let mut files = Vec::new();
    for sub in ["tenants", "policies"] {
        collect(&folder.root.join(sub), &mut files);
    }
    if let Some(code) =
        folder.platform.value.authorizer.as_ref().and_then(|a| a.function.as_ref()).map(|f| folder.root.join(&f.code))
    {
        files.push(code);
    }
    files.sort();
    let mut h = Sha256::new();
    for f in files {
        h.update(f.strip_prefix(&folder.root).unwrap_or(&f).to_string_lossy().as_bytes());
        h.update([0]);
        h.update(std::fs::read(&f).unwrap_or_default());
        h.update([0]);
    }
    hex(&h.finalize())
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else {
            out.push(p);
        }
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Base64 SHA-256 of a file, as Lambda's CodeSha256.
pub fn code_sha256(path: &Path) -> Option<String> {
    use base64::Engine;
    let bytes = std::fs::read(path).ok()?;
    Some(base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&bytes)))
}

/// Keeps only the named tenants' pools (the shared one when it holds a group of theirs), roles
/// and items.
fn scope(world: &mut World, tenants: &[String]) {
    let keep: BTreeSet<&str> = tenants.iter().map(String::as_str).collect();
    let theirs = |i: &crate::state::Item| i.tenant.as_deref().is_some_and(|t| keep.contains(t));
    let pools: BTreeSet<String> = world
        .items
        .iter()
        .filter(|(addr, i)| {
            i.kind == kinds::user_pool::KIND
                && (theirs(i)
                    || (i.tenant.is_none()
                        && world.items.values().any(|g| {
                            g.kind == kinds::group::KIND && g.parent.as_deref() == Some(addr.as_str()) && theirs(g)
                        })))
        })
        .map(|(addr, _)| addr.clone())
        .collect();
    world.items.retain(|addr, i| match i.kind.as_str() {
        kinds::user_pool::KIND => pools.contains(addr),
        kinds::custom_attribute::KIND => i.parent.as_ref().is_some_and(|p| pools.contains(p)),
        _ => theirs(i),
    });
}

/// The desired world without one tenant: its roles, its silo pool, its groups in the shared
/// pool.
pub fn without_tenant(desired: &mut World, tenant: &str) {
    desired.items.retain(|_, i| i.tenant.as_deref() != Some(tenant));
}

/// What `destroy` runs of a plan: the tenant's deletions, and the pool update that turns
/// deletion protection off before its pool is deleted (only ever inside an explicit destroy or
/// `--prune`). Nothing else: no orphans, no other tenant's change, no platform-wide change.
pub fn destroy_changes(plan: &mut Plan, tenant: &str) {
    plan.changes.retain(|c| {
        c.tenant.as_deref() == Some(tenant) && (c.action == Action::Delete || c.resource == Resource::new("user_pool"))
    });
    plan.orphans.clear();
}

impl Session {
    /// Loads and validates the folder (no AWS call when it is invalid), connects, reads the
    /// live state.
    pub async fn open(
        config_dir: &Path,
        args: &AwsArgs,
        tenants: &[String],
        limiter: Limiter,
    ) -> Result<Session, OpsError> {
        Self::open_inner(config_dir, args, tenants, limiter, false).await
    }

    /// A `--tenant` session that also sees the tenant's roles with contract names that lack
    /// tenantctl's tags, so that planning tags (adopts) them.
    pub async fn open_adopt(config_dir: &Path, args: &AwsArgs, tenant: &str) -> Result<Session, OpsError> {
        Self::open_inner(config_dir, args, &[tenant.to_string()], Limiter::default(), true).await
    }

    async fn open_inner(
        config_dir: &Path,
        args: &AwsArgs,
        tenants: &[String],
        limiter: Limiter,
        adopt: bool,
    ) -> Result<Session, OpsError> {
        let started = Instant::now();
        let folder = crate::check::load_valid(config_dir)?;
        check_tenants(&folder, tenants)?;
        let pl = &folder.platform.value;
        let region = args.region.clone().or_else(|| pl.region.clone());
        let mut aws = aws::connect(&pl.name, region, args.profile.clone(), args.endpoint.clone(), limiter).await?;
        let scoped = !tenants.is_empty();
        let mut observed = World::default();
        let mut ids = Ids::default();
        if scoped {
            // IAM first: the role ARNs it reads tell the account, which saves the STS call.
            let env0 = RenderEnv {
                account_id: "000000000000".into(),
                region: aws.ctx.region.clone(),
                partition: aws.ctx.partition.clone(),
            };
            let mut d0 = desired::world(&folder, &env0)
                .map_err(|(pol, e)| OpsError::other(format!("rendering `{pol}`: {e}"), None))?;
            scope(&mut d0, tenants);
            let found = kinds::iam_role::observe(&aws, &d0, true, adopt, &mut observed, &mut ids).await?;
            if let Some(acct) = found {
                aws.ctx.account_id = acct;
            }
        }
        aws.resolve_account().await?;
        let env = RenderEnv {
            account_id: aws.ctx.account_id.clone(),
            region: aws.ctx.region.clone(),
            partition: aws.ctx.partition.clone(),
        };
        let mut desired = desired::world(&folder, &env)
            .map_err(|(pol, e)| OpsError::other(format!("rendering `{pol}`: {e}"), None))?;
        kinds::desired(&folder, &env, &mut desired);
        if scoped {
            scope(&mut desired, tenants);
        }
        let user_pools = kinds::user_pool::observe(&aws, &desired, scoped, &mut observed, &mut ids).await?;
        kinds::observe(&aws, &folder, &desired, scoped, &mut observed, &mut ids).await?;
        if !scoped {
            kinds::iam_role::observe(&aws, &desired, false, false, &mut observed, &mut ids).await?;
        }
        if !scoped {
            if let Some(spec) = &pl.authorizer {
                let sha = spec.function.as_ref().and_then(|f| code_sha256(&config_dir.join(&f.code)));
                // The authorizer fetches keys from the emulator only in emulator mode.
                let emulator = std::env::var(EMULATOR_ENV).ok();
                let jwks = desired::jwks_endpoint(emulator.as_deref(), aws.ctx.endpoint.as_deref()).map_err(|m| {
                    OpsError::other(m, Some("TENANTCTL_EMULATOR=1 is for the local emulator only (README)"))
                })?;
                desired::add_authorizer(&folder, &env, &mut desired, sha, jwks.as_deref());
            }
        }
        // Count quotas: the account's figures, read (one IAM call) only when roles are to be
        // created, so a converged plan costs nothing more.
        let mut figures = plan::quotas::AccountFigures { user_pools: Some(user_pools), ..Default::default() };
        if kinds::iam_role::creates_roles(&desired, &observed) {
            let (roles, trust) = aws::iam::account_summary(&aws).await?;
            figures.roles = roles;
            figures.trust_policy_size_quota = trust;
        }
        Ok(Session {
            figures,
            config_dir: config_dir.to_path_buf(),
            folder,
            aws,
            env,
            desired,
            observed,
            ids,
            tenants: tenants.to_vec(),
            started,
        })
    }

    pub fn options(&self, prune: bool) -> PlanOptions {
        PlanOptions {
            prune,
            scoped: !self.tenants.is_empty(),
            tenants: self.folder.tenants.iter().map(|t| t.value.id.clone()).collect(),
            force_delete_users: false,
        }
    }

    pub fn plan(&self, opts: &PlanOptions) -> Result<Plan, OpsError> {
        self.plan_towards(&self.desired, opts)
    }

    /// Plans from the live state towards `desired` (the folder's world, or an edit of it).
    fn plan_towards(&self, desired: &World, opts: &PlanOptions) -> Result<Plan, OpsError> {
        let plan = plan::plan_with(desired, &self.observed, &self.ids, opts, &kinds::rules())?;
        plan::check_quotas(&plan, desired, &self.figures, &kinds::rules())?;
        Ok(plan)
    }

    /// `destroy --tenant`: the plan that offboards one tenant (a session of every tenant).
    /// It is planned towards the folder without that tenant ([`without_tenant`]), as an
    /// explicit prune of it, and keeps only that tenant's deletions ([`destroy_changes`]).
    pub fn destroy_plan(&self, tenant: &str, force_delete_users: bool) -> Result<Plan, OpsError> {
        if self.folder.tenant(tenant).is_none() && !kinds::iam_role::has_roles_of(&self.observed, tenant) {
            return Err(OpsError::other(format!("no tenant `{tenant}` in the folder or in AWS"), None));
        }
        let mut desired = self.desired.clone();
        without_tenant(&mut desired, tenant);
        let mut opts = self.options(true);
        opts.tenants.remove(tenant);
        opts.force_delete_users = force_delete_users;
        let mut plan = self.plan_towards(&desired, &opts)?;
        destroy_changes(&mut plan, tenant);
        Ok(plan)
    }

    /// Fingerprint of the live state this plan was made from (for stale-plan checks).
    pub fn state_fingerprint(&self) -> String {
        let v = serde_json::json!({"world": self.observed, "ids": self.ids});
        hex(&Sha256::digest(serde_json::to_vec(&v).expect("json")))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::kinds::group::{self, GroupState};
    use crate::plan::{Change, Op, Orphan};
    use crate::state::{Item, PoolSettings, PoolState, RoleState};

    /// A pool and its groups (items).
    fn pool(address: &str, tenant: Option<&str>, groups: &[&str]) -> (PoolState, Vec<(String, Item)>) {
        let pool = PoolState {
            address: address.into(),
            name: address.into(),
            tenant: tenant.map(str::to_string),
            settings: PoolSettings::default(),
            attributes: BTreeMap::new(),
            usernames: None,
        };
        let groups = groups
            .iter()
            .map(|g| {
                let state = GroupState { description: None, precedence: None, role_arn: None };
                (group::address(address, g), group::item(address, tenant, g, &state))
            })
            .collect();
        (pool, groups)
    }

    fn role(tenant: &str, r: &str) -> RoleState {
        RoleState {
            address: desired::names::role_address(tenant, r),
            name: format!("saas-{tenant}-{r}"),
            path: "/tenantctl/saas/".into(),
            tenant: Some(tenant.into()),
            description: None,
            max_session_duration: 3600,
            permissions_boundary: None,
            trust_policy: serde_json::json!({}),
            tags: Default::default(),
            policies: Default::default(),
            attached_policies: Default::default(),
        }
    }

    #[test]
    fn without_tenant_drops_its_roles_silo_pool_and_shared_groups_only() {
        let pools = [
            pool("platform/pool", None, &["acme-admin", "acme-member", "acme-corp-admin", "acmex-admin", "Admins"]),
            pool("tenant/acme/pool", Some("acme"), &["acme-admin"]),
            pool("tenant/acme-corp/pool", Some("acme-corp"), &["acme-corp-admin"]),
        ];
        let roles = [role("acme", "admin"), role("acme-corp", "admin")];
        let mut w = World {
            items: roles
                .iter()
                .flat_map(crate::kinds::iam_role::items)
                .chain(pools.iter().flat_map(|(_, groups)| groups.clone()))
                .collect(),
        };
        for (p, _) in &pools {
            w.insert_pool(p.clone());
        }
        without_tenant(&mut w, "acme");
        assert_eq!(w.pools().keys().collect::<Vec<_>>(), ["platform/pool", "tenant/acme-corp/pool"]);
        let kept = |kind: &str, parent: Option<&str>| -> Vec<String> {
            w.items
                .values()
                .filter(|i| i.kind == kind && i.parent.as_deref() == parent)
                .map(|i| i.name.clone())
                .collect()
        };
        assert_eq!(kept(group::KIND, Some("platform/pool")), ["Admins", "acme-corp-admin", "acmex-admin"]);
        assert_eq!(kept("iam_role", None), ["saas-acme-corp-admin"]);
    }

    #[test]
    fn destroy_keeps_the_tenants_deletions_and_its_pool_update_only() {
        let change = |action, resource, tenant: Option<&str>| Change {
            action,
            resource,
            address: format!("{resource:?}/{action:?}/{tenant:?}"),
            name: "n".into(),
            tenant: tenant.map(str::to_string),
            fields: vec![],
            op: Op::Item { address: "s".into(), desired: None, live: None, replace: false },
        };
        let mut p = Plan {
            changes: vec![
                change(Action::Delete, Resource::new("group"), Some("acme")),
                change(Action::Delete, Resource::new("iam_role"), Some("acme")),
                change(Action::Update, Resource::new("user_pool"), Some("acme")),
                change(Action::Delete, Resource::new("user_pool"), Some("acme")),
                change(Action::Update, Resource::new("iam_role"), Some("acme")),
                change(Action::Create, Resource::new("group"), Some("acme")),
                change(Action::Delete, Resource::new("group"), Some("globex")),
                change(Action::Update, Resource::new("user_pool"), None),
            ],
            orphans: vec![Orphan {
                resource: Resource::new("iam_role"),
                address: "a".into(),
                name: "n".into(),
                tenant: None,
            }],
        };
        destroy_changes(&mut p, "acme");
        let kept: Vec<_> = p.changes.iter().map(|c| (c.action, c.resource)).collect();
        assert_eq!(
            kept,
            [
                (Action::Delete, Resource::new("group")),
                (Action::Delete, Resource::new("iam_role")),
                (Action::Update, Resource::new("user_pool")),
                (Action::Delete, Resource::new("user_pool"))
            ]
        );
        assert!(p.orphans.is_empty());
    }
}
