//! Pure planning: desired + observed [`World`] -> ordered [`Change`]s, orphans and drift.
//! No AWS types and no async here. The Cognito rules live here: custom attributes are
//! add-only, a pool is never replaced.

mod diff;
pub mod drift;
pub mod items;
pub mod quotas;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::state::{
    AttributeState, AuthorizerConfig, FunctionState, MethodAuth, PermissionState, PoolSettings, PoolState, RoleState,
    Tags,
};

pub mod authorizer;

pub use diff::{diff_values, field_changes, plan, plan_with, PlanOptions};
pub use items::ItemRules;

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    Delete,
    /// Deleted and created again: AWS cannot change it in place (never a user pool).
    Replace,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Resource {
    UserPool,
    CustomAttribute,
    Group,
    ResourceServer,
    AppClient,
    IamRole,
    RolePolicy,
    LambdaFunction,
    LambdaPermission,
    Authorizer,
    MethodAuth,
    StageDeployment,
    /// A kind of the kind model (`crate::kinds`), by its name.
    Kind(&'static str),
}

const NAMED: [Resource; 12] = [
    Resource::UserPool,
    Resource::CustomAttribute,
    Resource::Group,
    Resource::ResourceServer,
    Resource::AppClient,
    Resource::IamRole,
    Resource::RolePolicy,
    Resource::LambdaFunction,
    Resource::LambdaPermission,
    Resource::Authorizer,
    Resource::MethodAuth,
    Resource::StageDeployment,
];

impl Serialize for Resource {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Resource {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Resource, D::Error> {
        let name = String::deserialize(d)?;
        Ok(Resource::named(&name))
    }
}

impl Resource {
    pub fn as_str(self) -> &'static str {
        match self {
            Resource::UserPool => "user_pool",
            Resource::CustomAttribute => "custom_attribute",
            Resource::Group => "group",
            Resource::ResourceServer => "resource_server",
            Resource::AppClient => "app_client",
            Resource::IamRole => "iam_role",
            Resource::RolePolicy => "role_policy",
            Resource::LambdaFunction => "lambda_function",
            Resource::LambdaPermission => "lambda_permission",
            Resource::Authorizer => "authorizer",
            Resource::MethodAuth => "method_auth",
            Resource::StageDeployment => "stage_deployment",
            Resource::Kind(name) => name,
        }
    }

    /// The resource of this name (a saved plan's): a kind of the kind model when it is not one
    /// of the others.
    pub fn named(name: &str) -> Resource {
        static KINDS: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());
        if let Some(r) = NAMED.iter().find(|r| r.as_str() == name) {
            return *r;
        }
        let mut known = KINDS.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(k) = known.iter().find(|k| **k == name) {
            return Resource::Kind(k);
        }
        let k: &'static str = Box::leak(name.to_string().into_boxed_str());
        known.push(k);
        Resource::Kind(k)
    }
}

/// One field that changes: `before` is the live value, `after` the one apply sets.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FieldChange {
    pub path: String,
    pub before: Value,
    pub after: Value,
}

/// What an adapter executes for one change. Pools, clients and the authorizer are named by
/// address; the engine resolves their ids (which may come from an earlier step of the same
/// apply).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    CreatePool {
        pool: PoolState,
    },
    /// Read-modify-write of the pool: only these settings change.
    UpdatePool {
        pool: String,
        settings: PoolSettings,
    },
    AddAttribute {
        pool: String,
        name: String,
        attribute: AttributeState,
    },
    DeletePool {
        pool: String,
        force_delete_users: bool,
    },

    CreateRole {
        role: RoleState,
    },
    UpdateRole {
        role: RoleState,
        trust: bool,
        settings: bool,
        boundary: bool,
        tags_set: Tags,
        tags_remove: BTreeSet<String>,
    },
    DeleteRole {
        name: String,
    },
    PutRolePolicy {
        role: String,
        name: String,
        document: Value,
    },
    DeleteRolePolicy {
        role: String,
        name: String,
    },
    DetachRolePolicy {
        role: String,
        arn: String,
    },

    /// Create or update the authorizer function; `code` is the zip path, uploaded when
    /// `update_code` (always on create).
    PutFunction {
        function: FunctionState,
        code: String,
        create: bool,
        update_code: bool,
        update_config: bool,
    },
    PutAuthorizer {
        config: AuthorizerConfig,
        create: bool,
    },
    /// Replace the invoke permission (remove `remove` statement ids first).
    PutPermission {
        function: String,
        permission: PermissionState,
        remove: Vec<String>,
    },
    SetMethodAuth {
        key: String,
        auth: MethodAuth,
    },
    /// CreateDeployment of the REST API to this stage (after authorizer and method changes).
    DeployStage {
        stage: String,
    },
    /// A change of a kind-model kind, executed by its kind (`crate::kinds`): create (no
    /// `live`), update, replace (delete `live`, create `desired`) or delete (no `desired`).
    Item {
        address: String,
        desired: Option<crate::state::Item>,
        live: Option<crate::state::Item>,
        replace: bool,
        /// From the kind's rules ([`ItemRules::phase`]).
        phase: u8,
    },
}

impl Op {
    /// Execution phase: every change of a phase runs after all changes of earlier phases.
    pub fn phase(&self) -> u8 {
        match self {
            Op::CreateRole { role } | Op::UpdateRole { role, .. } if role.tenant.is_none() => 0,
            Op::CreateRole { .. } | Op::UpdateRole { .. } => 1,
            Op::PutRolePolicy { .. } | Op::DetachRolePolicy { .. } | Op::DeleteRolePolicy { .. } => 2,
            Op::CreatePool { .. } | Op::UpdatePool { .. } => 3,
            Op::AddAttribute { .. } => 4,
            Op::PutFunction { .. } => 8,
            Op::PutAuthorizer { .. } => 9,
            Op::PutPermission { .. } => 10,
            Op::SetMethodAuth { .. } => 11,
            Op::DeployStage { .. } => 12,
            Op::Item { phase, .. } => *phase,
            // Deletions last, dependants first.
            Op::DeletePool { .. } => 15,
            Op::DeleteRole { .. } => 16,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Change {
    pub action: Action,
    pub resource: Resource,
    pub address: String,
    pub name: String,
    pub tenant: Option<String>,
    pub fields: Vec<FieldChange>,
    #[serde(skip)]
    pub op: Option<Op>,
}

/// A managed resource of a tenant that has no file any more (kept unless `--prune`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Orphan {
    pub resource: Resource,
    pub address: String,
    pub name: String,
    pub tenant: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Plan {
    pub changes: Vec<Change>,
    pub orphans: Vec<Orphan>,
}

impl Plan {
    pub fn summary(&self) -> BTreeMap<&'static str, usize> {
        let mut s = BTreeMap::from([("create", 0), ("update", 0), ("delete", 0)]);
        for c in &self.changes {
            *s.entry(match c.action {
                Action::Create => "create",
                Action::Update => "update",
                Action::Delete => "delete",
                Action::Replace => "replace",
            })
            .or_default() += 1;
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
    #[error("quota {quota} would be crossed: {detail}")]
    Quota { quota: String, detail: String, remedy: String },
    /// A change a kind's rules refuse (see [`ItemRules::compare`]).
    #[error("{resource} `{address}`: {message}")]
    Refused { resource: String, address: String, message: String, hint: String },
}

impl PlanError {
    pub fn hint(&self) -> &str {
        match self {
            PlanError::Quota { remedy, .. } => remedy,
            PlanError::Refused { hint, .. } => hint,
            PlanError::AttributeChange { .. } => "put the attribute back as it was, or add a new attribute under another name; tenantctl never replaces a user pool",
            PlanError::AttributeRemoved { .. } => "declare the attribute again (it stays in the pool); tenantctl never replaces a user pool",
            PlanError::ClientSecretChange { .. } => "put generateSecret back, or declare a client under a new name with the secret setting you want (and remove the old one once nothing uses it)",
            PlanError::UsernamesChange { .. } => "put userPool.usernames back as the live pool has it, or remove the field (an absent `usernames` never changes an existing pool); tenantctl never replaces a user pool",
        }
    }
}

#[cfg(test)]
mod tests;
