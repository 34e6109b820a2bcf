//! The operations behind the commands: load the folder, connect, observe, plan. Commands in
//! `cli/` stay small and only parse flags and render.

use std::path::{Path, PathBuf};
use std::time::Instant;

use sha2::{Digest, Sha256};

use crate::aws::{Aws, AwsError, Limiter};
use crate::kinds::DesiredCtx;
use crate::plan::{Action, Plan, PlanError, PlanOptions, Resource};
use crate::spec::desired::RenderEnv;
use crate::spec::{Folder, SpecErrors};
use crate::state::{Ids, World};
use crate::{aws, kinds, plan};

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

/// The desired world of a session (a `--tenant` one: only the named tenants'), rendered with
/// the account known so far (a placeholder until then), and the values it was rendered with.
fn desired_world(folder: &Folder, aws: &Aws, tenants: &[String]) -> Result<(RenderEnv, World), OpsError> {
    let account_id = match aws.ctx.account_id.as_str() {
        "" => "000000000000".to_string(),
        a => a.to_string(),
    };
    let env = RenderEnv { account_id, region: aws.ctx.region.clone(), partition: aws.ctx.partition.clone() };
    // A `--tenant` session plans of the platform-wide resources only the authorizer's
    // function (its configuration names every tenant): it reads the code and the emulator
    // setting too.
    let ctx = DesiredCtx::for_session(folder, env.clone(), aws.ctx.endpoint.as_deref())
        .map_err(|m| OpsError::other(m, Some("TENANTCTL_EMULATOR=1 is for the local emulator only (README)")))?;
    let mut desired = kinds::desired(folder, &ctx).map_err(|e| OpsError::other(e.to_string(), None))?;
    if !tenants.is_empty() {
        kinds::scope(&mut desired, tenants);
    }
    Ok((env, desired))
}

/// The desired world without one tenant: its roles, its silo pool, its groups in the shared
/// pool.
pub fn without_tenant(desired: &mut World, tenant: &str) {
    desired.items.retain(|_, i| i.tenant.as_deref() != Some(tenant));
}

/// What `destroy` runs of a plan: the tenant's deletions, the pool update that turns
/// deletion protection off before its pool is deleted (only ever inside an explicit destroy or
/// `--prune`), and the update of what names every tenant (the authorizer's configuration,
/// [`kinds::Kind::names_every_tenant`]: the tenant leaves it, before its pool goes). Nothing
/// else: no orphans, no other tenant's change, no other platform-wide change.
pub fn destroy_changes(plan: &mut Plan, tenant: &str) {
    plan.changes.retain(|c| {
        let names_every_tenant = c.action == Action::Update
            && c.tenant.is_none()
            && kinds::of(c.resource.as_str()).is_some_and(|k| k.names_every_tenant());
        names_every_tenant
            || c.tenant.as_deref() == Some(tenant)
                && (c.action == Action::Delete || c.resource == Resource::new("user_pool"))
    });
    plan.orphans.clear();
}

impl Session {
    /// Loads and validates the folder (no AWS call when it is invalid), connects, builds the
    /// desired world (every kind's [`kinds::desired`]), reads the live state (every kind's
    /// [`kinds::observe`]).
    pub async fn open(
        config_dir: &Path,
        args: &AwsArgs,
        tenants: &[String],
        limiter: Limiter,
    ) -> Result<Session, OpsError> {
        Self::open_inner(config_dir, args, tenants, limiter, kinds::Adopt::Nothing).await
    }

    /// A `--tenant` session that also sees the tenant's roles with contract names that lack
    /// tenantctl's tags, so that planning tags (adopts) them.
    ///
    /// Without a tenant (`adopt --platform`): a whole-folder session that takes over the shared
    /// pool when it lacks tenantctl's tags.
    pub async fn open_adopt(config_dir: &Path, args: &AwsArgs, tenant: Option<&str>) -> Result<Session, OpsError> {
        let (tenants, adopt) = match tenant {
            Some(t) => (vec![t.to_string()], kinds::Adopt::Tenant),
            None => (Vec::new(), kinds::Adopt::Platform),
        };
        Self::open_inner(config_dir, args, &tenants, Limiter::default(), adopt).await
    }

    async fn open_inner(
        config_dir: &Path,
        args: &AwsArgs,
        tenants: &[String],
        limiter: Limiter,
        adopt: kinds::Adopt,
    ) -> Result<Session, OpsError> {
        let started = Instant::now();
        let folder = crate::check::load_valid(config_dir)?;
        check_tenants(&folder, tenants)?;
        let pl = &folder.platform.value;
        let region = args.region.clone().or_else(|| pl.region.clone());
        let mut aws = aws::connect(&pl.name, region, args.profile.clone(), args.endpoint.clone(), limiter).await?;
        let scoped = !tenants.is_empty();
        // The account: a whole-folder session asks STS; a `--tenant` one learns it from what it
        // reads (its roles' ARNs), which spares that call, and renders again once it knows it.
        if !scoped {
            aws.resolve_account().await?;
        }
        let (mut env, mut desired) = desired_world(&folder, &aws, tenants)?;
        let observation = kinds::observe(&aws, &folder, &desired, tenants, adopt).await?;
        if aws.ctx.account_id.is_empty() {
            aws.ctx.account_id = observation.account.account_id.clone().unwrap_or_default();
            aws.resolve_account().await?;
            (env, desired) = desired_world(&folder, &aws, tenants)?;
        }
        let kinds::Observation { world: observed, ids, account } = observation;
        if scoped {
            kinds::settle_scoped(&mut desired, &observed, &ids);
        }
        Ok(Session {
            figures: account.figures,
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
        if self.folder.tenant(tenant).is_none() && !kinds::shows_tenant(&self.observed, tenant) {
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
            address: crate::spec::desired::names::role_address(tenant, r),
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
    fn destroy_keeps_the_tenants_deletions_its_pool_update_and_the_authorizers_configuration() {
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
                change(Action::Update, Resource::new("lambda_function"), None),
                change(Action::Update, Resource::new("authorizer"), None),
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
                (Action::Delete, Resource::new("user_pool")),
                (Action::Update, Resource::new("lambda_function"))
            ]
        );
        assert!(p.orphans.is_empty());
    }
}
