//! The operations behind the commands: load the folder, connect, observe, plan. Commands in
//! `cli/` stay small and only parse flags and render.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use sha2::{Digest, Sha256};

use crate::aws::{self, Aws, AwsError, Limiter};
use crate::kinds;
use crate::plan::{self, Plan, PlanError, PlanOptions};
use crate::spec::{self, desired, desired::RenderEnv, Folder, SpecErrors};
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
    world.roles.retain(|_, r| r.tenant.as_deref().is_some_and(|t| keep.contains(t)));
    world.items.retain(|_, i| i.tenant.as_deref().is_some_and(|t| keep.contains(t)));
    let items = &world.items;
    world.pools.retain(|addr, p| match &p.tenant {
        Some(t) => keep.contains(t.as_str()),
        None => items.values().any(|i| i.kind == kinds::group::KIND && i.parent.as_deref() == Some(addr.as_str())),
    });
    world.function = None;
    world.permission = None;
    world.authorizer = None;
    world.methods.clear();
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
        let folder = spec::load_valid(config_dir)?;
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
            let found = if adopt {
                aws::iam::observe_adoptable(&aws, &d0, &mut observed).await?
            } else {
                aws::iam::observe(&aws, &d0, true, &mut observed).await?
            };
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
        let user_pools = aws::cognito::observe(&aws, &desired, scoped, &mut observed, &mut ids).await?;
        kinds::observe(&aws, &folder, &desired, scoped, &mut observed, &mut ids).await?;
        if !scoped {
            aws::iam::observe(&aws, &desired, false, &mut observed).await?;
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
                aws::authorizer::observe(&aws, spec, &mut observed, &mut ids).await?;
            }
        }
        // Count quotas: the account's figures, read (one IAM call) only when roles are to be
        // created, so a converged plan costs nothing more.
        let mut figures = plan::quotas::AccountFigures { user_pools: Some(user_pools), ..Default::default() };
        if desired.roles.keys().any(|a| !observed.roles.contains_key(a)) {
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
        plan::authorizer::check(&self.desired, &self.observed, &self.ids)
            .map_err(|m| OpsError::other(m, Some("see the authorizer section of the README")))?;
        let plan = plan::plan_with(&self.desired, &self.observed, &self.ids, opts, &kinds::rules())?;
        plan::quotas::check(&plan, &self.desired, &self.figures)?;
        Ok(plan)
    }

    /// Fingerprint of the live state this plan was made from (for stale-plan checks).
    pub fn state_fingerprint(&self) -> String {
        let v = serde_json::json!({"world": self.observed, "ids": self.ids});
        hex(&Sha256::digest(serde_json::to_vec(&v).expect("json")))
    }
}
