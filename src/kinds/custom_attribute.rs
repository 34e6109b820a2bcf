//! `custom_attribute`: a custom attribute of a user pool (`userPool.customAttributes`, and the
//! tenant attribute), named `custom:<name>` at `<pool>/attribute/<name>`.
//!
//! - Add-only, as Cognito has it: an attribute cannot be changed nor removed. A declared one
//!   that differs from the live one is [`PlanError::AttributeChange`]; a live one the folder
//!   no longer declares is [`PlanError::AttributeRemoved`]. Both name the pool and the
//!   attribute, and nothing is written.
//! - A new pool is created with its attributes (`CreateUserPool` carries the schema): they
//!   have no change of their own. An existing pool gets a new one by `AddCustomAttributes`.
//! - Lives in its pool and goes with it. Compared only in whole-folder plans.
//! - Desired from the desired pools' states; observed with its pool (`World::insert_pool`;
//!   `DescribeUserPool` carries the schema): no call of its own to read it.

use std::collections::{BTreeMap, BTreeSet};

use futures::future::BoxFuture;
use futures::FutureExt;

use super::user_pool::{attribute_state, schema_attribute};
use super::{Desired, DesiredCtx, Kind, ObserveScope, Observed};
use crate::aws::cognito::{describe_pool, is_exists};
use crate::aws::{call_err, Aws, AwsError};
use crate::plan::{field_changes, ItemRules, PlanError, Resource};
use crate::spec::Folder;
use crate::state::{AttributeState, Ids, Item, World, ATTRIBUTE_KIND};

pub struct CustomAttribute;

pub const KIND: &str = ATTRIBUTE_KIND;

fn state(item: &Item) -> Result<AttributeState, AwsError> {
    serde_json::from_value(item.state.clone())
        .map_err(|e| AwsError::Other(format!("custom attribute `{}`: unexpected state: {e}", item.name)))
}

/// `custom:<name>` -> `<name>`.
fn bare(name: &str) -> &str {
    name.strip_prefix("custom:").unwrap_or(name)
}

impl ItemRules for CustomAttribute {
    fn resource(&self) -> Resource {
        Resource::CustomAttribute
    }

    fn phase(&self, _item: &Item, delete: bool) -> u8 {
        if delete {
            13
        } else {
            4
        }
    }

    fn owns_undeclared(&self) -> bool {
        false
    }

    fn goes_with_parent(&self) -> bool {
        true
    }

    fn scoped(&self) -> bool {
        false
    }

    /// A live attribute of a declared pool that the folder no longer declares.
    fn check(&self, desired: &World, observed: &World, _ids: &Ids) -> Result<(), PlanError> {
        for (address, o) in observed.items.iter().filter(|(_, i)| i.kind == KIND) {
            let Some(pool) = o.parent.as_deref().and_then(|p| desired.items.get(p)) else { continue };
            if !desired.items.contains_key(address) {
                return Err(PlanError::AttributeRemoved { pool: pool.name.clone(), name: bare(&o.name).to_string() });
            }
        }
        Ok(())
    }

    /// A new pool's attributes come with its create.
    fn expand(&self, _address: &str, desired: &Item, observed: &World) -> Option<Vec<(String, Item)>> {
        let pool_exists = desired.parent.as_deref().is_some_and(|p| observed.items.contains_key(p));
        (!pool_exists).then(Vec::new)
    }

    /// Cognito cannot change an attribute.
    fn check_change(&self, desired: &Item, live: &Item, pool: &str) -> Result<(), PlanError> {
        if desired.state == live.state {
            return Ok(());
        }
        let (d, o): (AttributeState, AttributeState) = match (state(desired), state(live)) {
            (Ok(d), Ok(o)) => (d, o),
            _ => return Ok(()),
        };
        let Some(f) = field_changes(Some(&o), Some(&d)).into_iter().next() else { return Ok(()) };
        Err(PlanError::AttributeChange {
            pool: pool.to_string(),
            name: bare(&desired.name).to_string(),
            field: f.path,
            before: f.before.to_string(),
            after: f.after.to_string(),
        })
    }
}

impl Kind for CustomAttribute {
    fn rules(&self) -> &dyn ItemRules {
        self
    }

    /// Those of each desired pool (its state carries them: `CreateUserPool` creates them).
    fn desired(&self, _folder: &Folder, _ctx: &DesiredCtx, world: &World) -> Desired {
        Ok(world.pools().values().flat_map(|p| p.attribute_items()).collect())
    }

    /// Those of the live pools (`DescribeUserPool` carries the schema): no call of its own.
    fn observe<'a>(&'a self, _aws: &'a Aws, scope: &'a ObserveScope<'a>) -> BoxFuture<'a, Result<Observed, AwsError>> {
        let pools = scope.observed.pools();
        let found: Observed =
            pools.values().flat_map(|p| p.attribute_items()).map(|(a, i)| (a, i, String::new())).collect();
        async move { Ok(found) }.boxed()
    }

    /// Those of the pools the session keeps.
    fn in_scope(&self, _address: &str, item: &Item, desired: &World, tenants: &BTreeSet<&str>) -> bool {
        let pool = item.parent.as_deref().and_then(|p| Some((p, desired.items.get(p)?)));
        pool.is_some_and(|(address, pool)| super::user_pool::UserPool.in_scope(address, pool, desired, tenants))
    }

    /// Not listed: the pool's row stands for its schema.
    fn inventory(&self, _a: &str, _i: &Item, _ids: &Ids, _c: &crate::aws::Ctx) -> Option<serde_json::Value> {
        None
    }

    fn create<'a>(
        &'a self,
        aws: &'a Aws,
        item: &'a Item,
        parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<String, AwsError>> {
        async move {
            let pool = parent.ok_or_else(|| AwsError::Other(format!("custom attribute `{}`: no pool", item.name)))?;
            let attribute = state(item)?;
            let name = bare(&item.name);
            aws.limiter.acquire_op("cognito-idp:AddCustomAttributes", None).await;
            let added = aws
                .cognito
                .add_custom_attributes()
                .user_pool_id(pool)
                .custom_attributes(schema_attribute(name, &attribute))
                .send()
                .await
                .map_err(|e| call_err("cognito-idp:AddCustomAttributes", e));
            match added {
                // Added meanwhile (a concurrent apply): fine when it is the same definition.
                Err(e) if is_exists(&e) => adopt(aws, pool, name, &attribute, e).await?,
                other => other.map(|_| ())?,
            }
            // No physical id of its own: it is a field of its pool.
            Ok(String::new())
        }
        .boxed()
    }

    /// Never planned ([`ItemRules::check_change`] refuses every change).
    fn update<'a>(
        &'a self,
        _aws: &'a Aws,
        item: &'a Item,
        _live: &'a Item,
        _id: &'a str,
        _parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        async move { Err(AwsError::Other(format!("custom attribute `{}`: Cognito cannot change it", item.name))) }
            .boxed()
    }

    /// Never planned (it goes with its pool).
    fn delete<'a>(
        &'a self,
        _aws: &'a Aws,
        live: &'a Item,
        _id: &'a str,
        _parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        async move { Err(AwsError::Other(format!("custom attribute `{}`: Cognito cannot remove it", live.name))) }
            .boxed()
    }
}

/// AddCustomAttributes found the attribute there: fine when the live one has the desired
/// definition (a concurrent apply added it); otherwise the original error.
async fn adopt(
    aws: &Aws,
    pool_id: &str,
    name: &str,
    attribute: &AttributeState,
    err: AwsError,
) -> Result<(), AwsError> {
    let live = describe_pool(aws, pool_id).await?;
    let live: BTreeMap<String, AttributeState> = live.schema_attributes().iter().filter_map(attribute_state).collect();
    if live.get(name) == Some(attribute) {
        Ok(())
    } else {
        Err(err)
    }
}
