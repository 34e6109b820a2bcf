//! The diff: desired vs observed, kind by kind (`plan::items`), into ordered changes; the
//! generic field diff the kinds share.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;

use super::{FieldChange, Plan, PlanError};
use crate::state::{Ids, World};

#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Delete orphans (resources of tenants whose files are gone).
    pub prune: bool,
    /// `--tenant`: only the named tenants' resources were read; compare only those.
    pub scoped: bool,
    /// Every tenant id the folder declares (to tell orphans from unexpected resources).
    pub tenants: BTreeSet<String>,
    /// Allow deleting pools that still have users (destroy --force-delete-users).
    pub force_delete_users: bool,
}

/// Leaf fields of a value, as `path -> value`. Policy documents are leaves.
fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(m) if !is_leaf(prefix) => {
            if m.is_empty() {
                out.push((prefix.to_string(), v.clone()));
            }
            for (k, x) in m {
                let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                flatten(&p, x, out);
            }
        }
        _ => out.push((prefix.to_string(), v.clone())),
    }
}

fn is_leaf(path: &str) -> bool {
    let last = path.rsplit('.').next().unwrap_or(path);
    matches!(last, "trust_policy" | "document") || path.starts_with("policies.")
}

/// Field-level differences between two serializable values.
pub fn field_changes<T: Serialize>(before: Option<&T>, after: Option<&T>) -> Vec<FieldChange> {
    let b = before.map(|x| serde_json::to_value(x).expect("state serializes")).unwrap_or(Value::Null);
    let a = after.map(|x| serde_json::to_value(x).expect("state serializes")).unwrap_or(Value::Null);
    diff_values("", &b, &a)
}

pub fn diff_values(prefix: &str, b: &Value, a: &Value) -> Vec<FieldChange> {
    let mut bf = Vec::new();
    let mut af = Vec::new();
    if !b.is_null() {
        flatten(prefix, b, &mut bf);
    }
    if !a.is_null() {
        flatten(prefix, a, &mut af);
    }
    let mut paths: BTreeSet<&String> = bf.iter().map(|(p, _)| p).collect();
    paths.extend(af.iter().map(|(p, _)| p));
    let get =
        |f: &[(String, Value)], p: &str| f.iter().find(|(q, _)| q == p).map(|(_, v)| v.clone()).unwrap_or(Value::Null);
    paths
        .into_iter()
        .filter_map(|p| {
            let (before, after) = (get(&bf, p), get(&af, p));
            (before != after).then(|| FieldChange { path: p.clone(), before, after })
        })
        .collect()
}

/// Plans the changes that make `observed` match `desired`: each kind (`kinds`: their rules,
/// `kinds::rules()`, in the registry's order) plans its items; the changes come in the
/// plan's order ([`super::order::sort`]).
pub fn plan_with(
    desired: &World,
    observed: &World,
    ids: &Ids,
    opts: &PlanOptions,
    kinds: &[&dyn super::ItemRules],
) -> Result<Plan, PlanError> {
    let mut changes = Vec::new();
    let mut orphans = Vec::new();
    let kept = |parent: &str| desired.items.contains_key(parent);
    let parent_name = |parent: &str| desired.items.get(parent).map(|i| i.name.clone()).unwrap_or_default();
    super::items::plan_items(desired, observed, ids, opts, kinds, &kept, &parent_name, &mut changes, &mut orphans)?;
    let changes = super::order::sort(changes, kinds)?;
    super::check_no_pool_replace(&changes)?;
    orphans.sort_by(|a, b| a.address.cmp(&b.address));
    Ok(Plan { changes, orphans })
}
