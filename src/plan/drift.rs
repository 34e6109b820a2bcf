//! Drift: the same comparison as a plan, read the other way round (contract §5): `missing`
//! (declared, absent), `changed` (present, differs), `unexpected` (present in a managed place,
//! declared nowhere, orphans included). `expected` is the declared value, `actual` the live one.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Action, Plan, Resource};

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Missing,
    Changed,
    Unexpected,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DriftField {
    pub path: String,
    pub expected: Value,
    pub actual: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DriftItem {
    pub kind: Kind,
    pub resource: Resource,
    pub address: String,
    pub fields: Vec<DriftField>,
}

/// Drift items from a plan made without `--prune` (orphans are unexpected too).
pub fn from_plan(plan: &Plan) -> Vec<DriftItem> {
    let mut items: Vec<DriftItem> = plan
        .changes
        .iter()
        .map(|c| DriftItem {
            kind: match c.action {
                Action::Create => Kind::Missing,
                Action::Update | Action::Replace => Kind::Changed,
                Action::Delete => Kind::Unexpected,
            },
            resource: c.resource,
            address: c.address.clone(),
            fields: c
                .fields
                .iter()
                .map(|f| DriftField { path: f.path.clone(), expected: f.after.clone(), actual: f.before.clone() })
                .collect(),
        })
        .collect();
    items.extend(plan.orphans.iter().map(|o| DriftItem {
        kind: Kind::Unexpected,
        resource: o.resource,
        address: o.address.clone(),
        fields: Vec::new(),
    }));
    items.sort_by(|a, b| a.address.cmp(&b.address).then(a.kind.cmp(&b.kind)));
    items
}
