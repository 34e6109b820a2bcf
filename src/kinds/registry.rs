//! What goes through every kind of the registry ([`KINDS`], in `kinds/mod.rs`): their desired
//! instances, their observation, the execution of a change by its kind. Apart from the kinds'
//! trait (`kinds/kind.rs`): a kind's module imports the trait, never the list.

use std::collections::BTreeSet;

use tokio::sync::Mutex;

use super::*;
use crate::aws::{Aws, AwsError};
use crate::plan::{ItemRules, Op};
use crate::spec::desired::RenderEnv;
use crate::spec::Folder;
use crate::state::refs::resolve_value;
use crate::state::{Ids, Item, World};

/// The kind of this name.
pub fn of(kind: &str) -> Option<&'static dyn Kind> {
    KINDS.iter().copied().find(|k| k.resource().as_str() == kind)
}

/// Every kind's planning rules (for `plan::plan_with`).
pub fn rules() -> Vec<&'static dyn ItemRules> {
    KINDS.iter().map(|&k| k as &dyn ItemRules).collect()
}

impl DesiredCtx {
    /// For a session: the code hash of the folder's authorizer function, and the emulator's
    /// endpoint when `TENANTCTL_EMULATOR=1` (`endpoint` being the one tenantctl talks to); an
    /// error names a wrong `TENANTCTL_EMULATOR` (read only when the folder has an authorizer).
    pub fn for_session(folder: &Folder, env: RenderEnv, endpoint: Option<&str>) -> Result<Self, String> {
        let Some(authorizer) = &folder.platform.value.authorizer else { return Ok(DesiredCtx::of(env)) };
        let code = authorizer.function.as_ref();
        let code_sha256 = code.and_then(|f| lambda_function::code_sha256(&folder.root.join(&f.code)));
        let emulator = std::env::var(lambda_function::EMULATOR_ENV).ok();
        let jwks_endpoint = lambda_function::jwks_endpoint(emulator.as_deref(), endpoint)?;
        Ok(DesiredCtx { env, code_sha256, jwks_endpoint })
    }
}

/// The desired world: every kind's desired instances, in registry order.
pub fn desired(folder: &Folder, ctx: &DesiredCtx) -> Result<World, DesiredError> {
    let mut world = World::default();
    for k in KINDS {
        let items = k.desired(folder, ctx, &world)?;
        world.items.extend(items);
    }
    Ok(world)
}

/// Reads every kind's live instances, in registry order (a `--tenant` session: only the named
/// tenants', and of what is platform-wide only what [`Kind::read_when_scoped`]).
pub async fn observe(
    aws: &Aws,
    folder: &Folder,
    desired: &World,
    tenants: &[String],
    adopt: Adopt,
) -> Result<Observation, AwsError> {
    let account = std::sync::Mutex::new(AccountNotes::default());
    let mut world = World::default();
    let mut ids = Ids::default();
    for k in KINDS.iter().filter(|k| tenants.is_empty() || k.read_when_scoped()) {
        let scope = ObserveScope { folder, desired, tenants, adopt, observed: &world, ids: &ids, account: &account };
        let found = k.observe(aws, &scope).await?;
        for (address, item, id) in found {
            if !id.is_empty() {
                ids.set(address.clone(), id);
            }
            world.items.insert(address, item);
        }
    }
    Ok(Observation { world, ids, account: account.into_inner().expect("account notes") })
}

/// Keeps only what a `--tenant` session of `tenants` plans: each kind says what it keeps
/// ([`Kind::in_scope`]).
pub fn scope(world: &mut World, tenants: &[String]) {
    let keep: BTreeSet<&str> = tenants.iter().map(String::as_str).collect();
    let kept: BTreeSet<String> = world
        .items
        .iter()
        .filter(|(address, i)| of(&i.kind).is_some_and(|k| k.in_scope(address, i, world, &keep)))
        .map(|(address, _)| address.clone())
        .collect();
    world.items.retain(|address, _| kept.contains(address));
}

/// A `--tenant` session, once observed: each desired instance settled by its kind
/// ([`Kind::settle_scoped`]) with its live instance, the ids read, and what the session plans
/// (the desired instances whose kind a `--tenant` plan compares, [`ItemRules::scoped_item`]).
pub fn settle_scoped(desired: &mut World, observed: &World, ids: &Ids) {
    let planned = World {
        items: desired
            .items
            .iter()
            .filter(|(_, i)| of(&i.kind).is_some_and(|k| k.scoped_item(i)))
            .map(|(a, i)| (a.clone(), i.clone()))
            .collect(),
    };
    for (address, item) in desired.items.iter_mut() {
        if let Some(kind) = of(&item.kind) {
            kind.settle_scoped(item, observed.items.get(address), &planned, ids);
        }
    }
}

/// Whether `observed` shows that `tenant` exists in AWS ([`Kind::shows_tenant`]).
pub fn shows_tenant(observed: &World, tenant: &str) -> bool {
    observed
        .items
        .values()
        .any(|i| i.tenant.as_deref() == Some(tenant) && of(&i.kind).is_some_and(|k| k.shows_tenant()))
}

/// Executes an [`Op::Item`] with its kind, keeping `ids` current.
pub async fn execute(aws: &Aws, op: &Op, ids: &Mutex<Ids>) -> Result<(), AwsError> {
    let Op::Item { address, desired, live, replace, .. } = op;
    let item = desired.as_ref().or(live.as_ref()).ok_or_else(|| AwsError::Other(format!("{address}: empty change")))?;
    let kind = of(&item.kind).ok_or_else(|| AwsError::Other(format!("{address}: unknown kind `{}`", item.kind)))?;
    let parent = match &item.parent {
        Some(p) => Some(ids.lock().await.id(p).map(str::to_string).ok_or_else(|| {
            AwsError::Other(format!("{address}: the id of `{p}`, which it lives in, is not known (was it created?)"))
        })?),
        None => None,
    };
    let parent = parent.as_deref();
    let id = ids.lock().await.id(address).map(str::to_string);
    let missing = || AwsError::Other(format!("{address}: its id is not known (observe first)"));
    // References in the desired state, resolved with the ids known now (an earlier change
    // of this apply may have created what they name).
    let desired = match desired {
        Some(d) => {
            let (state, known) = resolve_value(&d.state, &*ids.lock().await);
            if !known {
                return Err(AwsError::Other(format!(
                    "{address}: it names an id that is not known (a resource that was not created): {state}"
                )));
            }
            Some(Item { state, ..d.clone() })
        }
        None => None,
    };
    let desired = &desired;
    match (desired, live) {
        (Some(d), None) => {
            let id = kind.create(aws, d, parent).await?;
            // An empty id: the kind's instances have none of their own (a custom attribute).
            if !id.is_empty() {
                ids.lock().await.set(address.clone(), id);
            }
        }
        (Some(d), Some(o)) if *replace => {
            kind.delete(aws, o, id.as_deref().ok_or_else(missing)?, parent).await?;
            ids.lock().await.remove(address);
            let id = kind.create(aws, d, parent).await?;
            ids.lock().await.set(address.clone(), id);
        }
        (Some(d), Some(o)) => kind.update(aws, d, o, id.as_deref().ok_or_else(missing)?, parent).await?,
        (None, Some(o)) => {
            kind.delete(aws, o, id.as_deref().ok_or_else(missing)?, parent).await?;
            ids.lock().await.forget(address);
        }
        (None, None) => unreachable!("checked above"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The REST API's id is read first (by the `rest_api` kind): the tiers' kinds name their
    /// stages by it (else a converged folder plans to re-create every usage plan's stage:
    /// tests/tiers.rs), and the authorizer reads its authorizers in it. The authorizer's
    /// desired instance names the pools (a cognito authorizer's provider ARNs): after them.
    #[test]
    fn the_rest_api_id_is_read_before_the_kinds_that_name_it() {
        let at = |k: &str| KINDS.iter().position(|x| x.resource().as_str() == k).unwrap();
        assert_eq!(at(rest_api::KIND), 0);
        assert!(at(user_pool::KIND) < at(authorizer::KIND));
        for k in [usage_plan::KIND, usage_plan_stage::KIND, api_key::KIND, usage_plan_key::KIND, method_auth::KIND] {
            assert!(at(rest_api::KIND) < at(k), "{k} is observed before the REST API's id is known");
        }
    }
}
