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

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::OnceLock;

use futures::future::BoxFuture;
use futures::FutureExt;
use regex::Regex;

use super::user_pool::{attribute_state, schema_attribute};
use super::{Desired, DesiredCtx, Kind, ObserveScope, Observed};
use crate::aws::cognito::{describe_pool, is_exists};
use crate::aws::{Aws, AwsError, Call};
use crate::plan::{field_changes, ItemRules, PlanError, Resource};
use crate::spec::model::AttributeType;
use crate::spec::validate::re;
use crate::spec::{Diagnostic, Folder};
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
        Resource::new(KIND)
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
    /// Per pool, as soon as the pool is read.
    fn read_per(&self) -> Option<&'static str> {
        Some(crate::state::POOL_KIND)
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
            let added = aws
                .cognito
                .add_custom_attributes()
                .user_pool_id(pool)
                .custom_attributes(schema_attribute(name, &attribute))
                .send()
                .call(aws, "cognito-idp:AddCustomAttributes", None)
                .await;
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

    fn validate(&self, folder: &Folder) -> Vec<Diagnostic> {
        folder_rules(folder)
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

// ---------------------------------------------------------------- validation

/// Custom attributes per user pool (Cognito).
pub const MAX_CUSTOM_ATTRIBUTES: usize = 50;

/// A custom attribute's name, without `custom:` (Cognito).
pub const MAX_ATTRIBUTE_NAME: usize = 20;

fn attr_name_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"^[A-Za-z0-9_]+$")
}

/// What Cognito accepts of the custom attributes (`Kind::validate`), the tenant attribute
/// among them.
fn folder_rules(folder: &Folder) -> Vec<Diagnostic> {
    let p = &folder.platform;
    let up = &p.value.user_pool;
    let ta = &up.tenant_attribute;
    let ta_full = format!("custom:{ta}");
    let mut out = Vec::new();
    if ta.is_empty() || ta.chars().count() > MAX_ATTRIBUTE_NAME || !attr_name_re().is_match(ta) {
        out.push(p.at(
            "userPool.tenantAttribute",
            format!(
                "tenant attribute `{}` must be 1-{MAX_ATTRIBUTE_NAME} characters of letters, digits and _",
                ta.escape_debug()
            ),
        ));
    }
    if up.custom_attributes.len() + 1 > MAX_CUSTOM_ATTRIBUTES {
        out.push(
            p.at(
                "userPool.customAttributes",
                format!(
                    "{} custom attributes plus the tenant attribute exceed Cognito's {MAX_CUSTOM_ATTRIBUTES} per pool",
                    up.custom_attributes.len()
                ),
            )
            .hint("custom attributes can never be removed from a pool; keep the list short"),
        );
    }
    let mut names = HashMap::new();
    for (i, a) in up.custom_attributes.iter().enumerate() {
        let path = format!("userPool.customAttributes[{i}]");
        let n = a.name.strip_prefix("custom:").unwrap_or(&a.name);
        if n.chars().count() > MAX_ATTRIBUTE_NAME {
            out.push(
                p.at(
                    &format!("{path}.name"),
                    format!(
                        "custom attribute name `{n}` is {} characters; Cognito allows {MAX_ATTRIBUTE_NAME}",
                        n.chars().count()
                    ),
                )
                .hint("choose a shorter name: custom attributes can never be renamed or removed"),
            );
        } else if n.is_empty() || !attr_name_re().is_match(n) {
            out.push(p.at(
                &format!("{path}.name"),
                format!("custom attribute name `{}` must be letters, digits and _", n.escape_debug()),
            ));
        }
        if let Some(prev) = names.insert(n.to_ascii_lowercase(), i) {
            out.push(p.at(
                &format!("{path}.name"),
                format!("custom attribute `{n}` is declared twice (also customAttributes[{prev}])"),
            ));
        }
        if n.eq_ignore_ascii_case(ta) {
            if a.mutable {
                out.push(
                    p.at(&format!("{path}.mutable"), format!("the tenant attribute `{ta_full}` must be immutable"))
                        .hint("a mutable tenant attribute lets a user move themselves into another tenant; remove this entry: tenantAttribute declares it, immutable"),
                );
            } else {
                out.push(
                    p.at(
                        &format!("{path}.name"),
                        format!("custom attribute `{n}` clashes with the tenant attribute `{ta_full}`"),
                    )
                    .hint("tenantAttribute declares it already; remove this entry or rename it"),
                );
            }
        }
        match a.attr_type {
            AttributeType::String => {
                if a.min.is_some() || a.max.is_some() {
                    out.push(p.at(&path, format!("string attribute `{n}` takes minLength/maxLength, not min/max")));
                }
                let (lo, hi) = (a.min_length.unwrap_or(0), a.max_length.unwrap_or(2048));
                if lo > hi || hi > 2048 {
                    out.push(
                        p.at(&path, format!("attribute `{n}`: length bounds {lo}..{hi} are invalid (at most 2048)")),
                    );
                }
            }
            AttributeType::Number => {
                if a.min_length.is_some() || a.max_length.is_some() {
                    out.push(p.at(&path, format!("number attribute `{n}` takes min/max, not minLength/maxLength")));
                }
                if let (Some(lo), Some(hi)) = (a.min, a.max) {
                    if lo > hi {
                        out.push(p.at(&path, format!("attribute `{n}`: min {lo} is above max {hi}")));
                    }
                }
            }
        }
    }
    out
}
