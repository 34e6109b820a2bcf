//! Pure planning: desired + observed [`World`] -> ordered [`Change`]s, orphans and drift.
//! No AWS types and no async here, and no kind by name: each kind's rules come in as
//! [`ItemRules`] (implemented in `crate::kinds`). The contract's last guard lives here: a
//! user pool is never replaced ([`check_no_pool_replace`]).

pub mod deps;
mod diff;
pub mod drift;
pub mod items;
pub mod order;
mod planner;
pub mod quotas;
pub mod saved;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use deps::{Deps, Key};
pub use diff::{diff_values, field_changes};
pub use items::{ItemRules, PlanOptions};
pub use planner::{check_quotas, plan_with};

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    Delete,
    /// A resource AWS cannot change in place: deleted and created again, as one change whose
    /// op is an [`Op::Item`] with `replace` set (its kind's [`ItemRules::replace_on`]). Never a
    /// user pool (contract §4, [`check_no_pool_replace`]).
    Replace,
}

impl Action {
    /// The word of the contract's JSON and of the plan's summary.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::Replace => "replace",
        }
    }
}

/// A kind's name: `Item::kind`, the `resource` of a change or an orphan (the contract's JSON,
/// a string). Each kind's module names its own (`Resource::new(KIND)`); [`Resource::named`]
/// reads one back (a saved plan's, an item's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Resource(&'static str);

impl Serialize for Resource {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for Resource {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Resource, D::Error> {
        let name = String::deserialize(d)?;
        Ok(Resource::named(&name))
    }
}

impl Resource {
    /// The kind of this name.
    pub const fn new(name: &'static str) -> Resource {
        Resource(name)
    }

    pub fn as_str(self) -> &'static str {
        self.0
    }

    /// The kind of this name, for a name read at run time (each distinct name is kept once).
    pub fn named(name: &str) -> Resource {
        static KNOWN: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());
        let mut known = KNOWN.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(k) = known.iter().find(|k| **k == name) {
            return Resource(k);
        }
        let k: &'static str = Box::leak(name.to_string().into_boxed_str());
        known.push(k);
        Resource(k)
    }
}

/// One field that changes: `before` is the live value, `after` the one apply sets.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FieldChange {
    pub path: String,
    pub before: Value,
    pub after: Value,
}

/// What the engine executes for one change. Other resources are named by address; the
/// engine resolves their ids (which may come from an earlier change of the same apply).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// A change of a kind-model kind, executed by its kind (`crate::kinds`): create (no
    /// `live`), update, replace (delete `live`, create `desired`) or delete (no `desired`).
    Item { address: String, desired: Option<crate::state::Item>, live: Option<crate::state::Item>, replace: bool },
}

impl Op {
    /// Whether it creates or deletes a user pool.
    fn is_pool(&self) -> bool {
        matches!(self, Op::Item { desired, live, .. }
            if desired.iter().chain(live.iter()).any(|i| i.kind == crate::state::POOL_KIND))
    }
}

impl Op {
    /// Whether this op removes something.
    pub fn is_delete(&self) -> bool {
        matches!(self, Op::Item { desired: None, .. })
    }
}

/// One planned change. `op` is what the engine executes; it is not part of the contract's
/// JSON (contract §5), so it is never serialized.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Change {
    pub action: Action,
    pub resource: Resource,
    pub address: String,
    pub name: String,
    pub tenant: Option<String>,
    pub fields: Vec<FieldChange>,
    #[serde(skip)]
    pub op: Op,
}

/// The plan's last guard of contract §4: no change replaces a user pool, however it was built.
pub fn check_no_pool_replace(changes: &[Change]) -> Result<(), PlanError> {
    match changes.iter().find(|c| {
        let replaces = c.action == Action::Replace || matches!(c.op, Op::Item { replace: true, .. });
        replaces && (c.resource == Resource::new("user_pool") || c.op.is_pool())
    }) {
        Some(c) => Err(PlanError::PoolReplace { pool: c.name.clone() }),
        None => Ok(()),
    }
}

/// A managed resource of a tenant that has no file any more (kept unless `--prune`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Orphan {
    pub resource: Resource,
    pub address: String,
    pub name: String,
    pub tenant: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Plan {
    pub changes: Vec<Change>,
    pub orphans: Vec<Orphan>,
}

impl Plan {
    pub fn summary(&self) -> BTreeMap<&'static str, usize> {
        let mut s = BTreeMap::from([("create", 0), ("update", 0), ("delete", 0), ("replace", 0)]);
        for c in &self.changes {
            *s.entry(c.action.as_str()).or_default() += 1;
        }
        s
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// A change Cognito or the contract forbids; plan stops with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("custom attribute `custom:{name}` of pool `{pool}`: {field} would change from {before} to {after}, which Cognito cannot do in place")]
    AttributeChange { pool: String, name: String, field: String, before: String, after: String },
    #[error("custom attribute `custom:{name}` exists in pool `{pool}` but is no longer declared; Cognito cannot remove custom attributes")]
    AttributeRemoved { pool: String, name: String },
    #[error("app client `{client}` of pool `{pool}`: generateSecret would change from {before} to {after}, which Cognito cannot do (a client's secret is chosen when it is created)")]
    ClientSecretChange { pool: String, client: String, before: bool, after: bool },
    #[error("pool `{pool}`: userPool.usernames.{field} is {after} in the folder but {before} in the live pool; Cognito fixes how users sign in when a pool is created, and a pool cannot be changed this way")]
    UsernamesChange { pool: String, field: String, before: String, after: String },
    #[error(
        "pool `{pool}`: the plan would replace a user pool (delete it and create it again), which tenantctl never does"
    )]
    PoolReplace { pool: String },
    /// Changes that wait for each other (see [`order`]): a kind's ordering hook declared an
    /// edge that cannot be honoured.
    #[error("the plan's changes wait for each other in a cycle: {}", changes.join(" -> "))]
    Cycle { changes: Vec<String> },
    #[error("quota {quota} would be crossed: {detail}")]
    Quota { quota: String, detail: String, remedy: String },
    /// A problem a kind's rules find before comparing (see [`ItemRules::check`]).
    #[error("{message}")]
    Check { message: String, hint: String },
    /// A change a kind's rules refuse (see [`ItemRules::compare`]).
    #[error("{resource} `{address}`: {message}")]
    Refused { resource: String, address: String, message: String, hint: String },
}

impl PlanError {
    pub fn hint(&self) -> &str {
        match self {
            PlanError::Quota { remedy, .. } => remedy,
            PlanError::Refused { hint, .. } | PlanError::Check { hint, .. } => hint,
            PlanError::AttributeChange { .. } => "put the attribute back as it was, or add a new attribute under another name; tenantctl never replaces a user pool",
            PlanError::AttributeRemoved { .. } => "declare the attribute again (it stays in the pool); tenantctl never replaces a user pool",
            PlanError::ClientSecretChange { .. } => "put generateSecret back, or declare a client under a new name with the secret setting you want (and remove the old one once nothing uses it)",
            PlanError::Cycle { .. } => "a bug in tenantctl's kinds (their ordering hooks): please report it with this message",
            PlanError::PoolReplace { .. } => "a pool's users and their passwords live only in the pool: change the setting in place, or create a new pool yourself and migrate the users",
            PlanError::UsernamesChange { .. } => "put userPool.usernames back as the live pool has it, or remove the field (an absent `usernames` never changes an existing pool); tenantctl never replaces a user pool",
        }
    }
}

#[cfg(test)]
mod tests;
