//! Pure planning: desired + observed [`World`] -> ordered [`Change`]s, orphans and drift.
//! No AWS types and no async here. The Cognito rules live here: custom attributes are
//! add-only, a pool is never replaced.

mod diff;
pub mod drift;
pub mod quotas;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::state::{
    AttributeState, AuthorizerConfig, ClientState, FunctionState, GroupState, MethodAuth, PermissionState,
    PoolSettings, PoolState, ResourceServerState, RoleState, Tags,
};

pub mod authorizer;

pub use diff::{diff_values, field_changes, plan, PlanOptions};

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    Delete,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
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
        }
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
    PutGroup {
        pool: String,
        name: String,
        group: GroupState,
        create: bool,
    },
    DeleteGroup {
        pool: String,
        name: String,
    },
    PutResourceServer {
        pool: String,
        identifier: String,
        server: ResourceServerState,
        create: bool,
    },
    DeleteResourceServer {
        pool: String,
        identifier: String,
    },
    /// Create, or read-modify-write update, of an app client.
    PutClient {
        pool: String,
        name: String,
        client: ClientState,
        create: bool,
    },
    DeleteClient {
        pool: String,
        name: String,
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
            Op::PutResourceServer { .. } => 5,
            Op::PutClient { .. } => 6,
            Op::PutGroup { .. } => 7,
            Op::PutFunction { .. } => 8,
            Op::PutAuthorizer { .. } => 9,
            Op::PutPermission { .. } => 10,
            Op::SetMethodAuth { .. } => 11,
            Op::DeployStage { .. } => 12,
            // Deletions last, dependants first.
            Op::DeleteClient { .. } | Op::DeleteGroup { .. } => 13,
            Op::DeleteResourceServer { .. } => 14,
            Op::DeletePool { .. } => 15,
            Op::DeleteRole { .. } => 16,
        }
    }
}

/// The last segment of a role ARN (`arn:...:role/path/name` -> `name`).
fn role_name_of_arn(arn: &str) -> Option<&str> {
    arn.contains(":role/").then(|| arn.rsplit('/').next()).flatten().filter(|n| !n.is_empty())
}

/// The role names of every role ARN in a JSON value (a trust policy's principals).
fn role_names_in(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.extend(role_name_of_arn(s).map(str::to_string)),
        Value::Array(a) => a.iter().for_each(|x| role_names_in(x, out)),
        Value::Object(o) => o.values().for_each(|x| role_names_in(x, out)),
        _ => {}
    }
}

/// The dependency keys of the id tokens (`{{pool_id:..}}`, `{{client_id:..}}`,
/// `{{authorizer_id}}`, see [`authorizer`]) anywhere in `op`: it names those resources by id.
fn token_needs(op: &Op) -> Vec<String> {
    let text = serde_json::to_string(op).unwrap_or_default();
    let mut needs = Vec::new();
    let mut rest = text.as_str();
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        match after[..end].split_once(':') {
            Some(("pool_id", addr)) => needs.push(format!("pool:{addr}")),
            Some(("client_id", key)) => needs.push(format!("client:{key}")),
            None if &after[..end] == "authorizer_id" => needs.push("authorizer".into()),
            _ => {}
        }
        rest = &after[end + 2..];
    }
    needs
}

/// What one op makes exist (or changes) and what must be done before it: see [`Op::deps`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deps {
    /// Keys this op provides: every op needing one of them waits for it.
    pub provides: Vec<String>,
    /// Keys this op waits for (those no change of the plan provides are already there).
    pub needs: Vec<String>,
}

impl Op {
    /// Whether this op removes something.
    pub fn is_delete(&self) -> bool {
        matches!(
            self,
            Op::DeleteGroup { .. }
                | Op::DeleteResourceServer { .. }
                | Op::DeleteClient { .. }
                | Op::DeletePool { .. }
                | Op::DeleteRole { .. }
                | Op::DeleteRolePolicy { .. }
                | Op::DetachRolePolicy { .. }
        )
    }

    /// The dependency edges of this op, as keys (the engine waits for every earlier change of
    /// the plan that provides a key this op needs). Creates and updates follow references:
    /// `role:<name>` (a role, by the group, function or trust policy that names its ARN),
    /// `pool:<address>`, `schema:<pool>` (attributes and resource servers a client may name),
    /// `client:<pool>/<name>`, `function`, `authorizer`, `permission`, `methods`, and the id
    /// tokens an op carries. Deletes run in reverse: a removal provides `gone-*` keys that
    /// the removal of what it pointed at waits for (a pool's groups, clients and servers
    /// before the pool, a role's policies and its tenant's groups before the role), and waits
    /// for the updates that stop naming it (the function before a pool or client goes, the clients
    /// before a resource server, the pool's own update before its deletion).
    pub fn deps(&self) -> Deps {
        let k = |s: &str, x: &str| format!("{s}:{x}");
        let (provides, mut needs): (Vec<String>, Vec<String>) = match self {
            Op::CreateRole { role } | Op::UpdateRole { role, .. } => {
                let mut needs = Vec::new();
                role_names_in(&role.trust_policy, &mut needs);
                needs.retain(|n| *n != role.name);
                (vec![k("role", &role.name), "roles".into()], needs.iter().map(|n| k("role", n)).collect())
            }
            Op::PutRolePolicy { role, .. } => (vec![], vec![k("role", role)]),
            Op::DeleteRolePolicy { role, .. } | Op::DetachRolePolicy { role, .. } => {
                (vec![k("gone-policy", role)], vec![k("role", role)])
            }
            Op::CreatePool { pool } => (vec![k("pool", &pool.address)], vec![]),
            Op::UpdatePool { pool, .. } => (vec![k("pool", pool)], vec![]),
            Op::AddAttribute { pool, .. } => (vec![k("schema", pool)], vec![k("pool", pool)]),
            Op::PutResourceServer { pool, .. } => (vec![k("schema", pool)], vec![k("pool", pool)]),
            Op::PutClient { pool, name, .. } => (
                vec![k("client", &format!("{pool}/{name}")), k("clients", pool)],
                vec![k("pool", pool), k("schema", pool)],
            ),
            Op::PutGroup { pool, name, group, .. } => {
                let mut needs = vec![k("pool", pool)];
                needs.extend(group.role_arn.as_deref().and_then(role_name_of_arn).map(|r| k("role", r)));
                (vec![k("group", name)], needs)
            }
            Op::PutFunction { function, .. } => {
                (vec!["function".into()], role_name_of_arn(&function.role).map(|r| k("role", r)).into_iter().collect())
            }
            Op::PutAuthorizer { .. } => (vec!["authorizer".into()], vec!["function".into()]),
            Op::PutPermission { .. } => (vec!["permission".into()], vec!["function".into(), "authorizer".into()]),
            Op::SetMethodAuth { .. } => (vec!["methods".into()], vec!["authorizer".into()]),
            Op::DeployStage { .. } => (vec![], vec!["authorizer".into(), "permission".into(), "methods".into()]),
            Op::DeleteGroup { pool, name } => (vec![k("gone-child", pool), k("gone-group", name)], vec![]),
            Op::DeleteClient { pool, .. } => {
                (vec![k("gone-child", pool), k("gone-client", pool)], vec!["function".into()])
            }
            Op::DeleteResourceServer { pool, .. } => {
                (vec![k("gone-child", pool)], vec![k("gone-client", pool), k("clients", pool)])
            }
            Op::DeletePool { pool, .. } => {
                (vec![], vec![k("gone-child", pool), k("pool", pool), "function".into(), "authorizer".into()])
            }
            Op::DeleteRole { name } => {
                // The groups that may name it: a tenant's group `<tenant>-<role>` names the
                // role `<platform>-<tenant>-<role>`, so every name after a `-` of the role's.
                let mut needs = vec![k("gone-policy", name), "function".into(), "roles".into()];
                for (at, _) in name.match_indices('-') {
                    needs.push(k("group", &name[at + 1..]));
                    needs.push(k("gone-group", &name[at + 1..]));
                }
                (vec![], needs)
            }
        };
        needs.extend(token_needs(self));
        needs.sort();
        needs.dedup();
        Deps { provides, needs }
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
}

impl PlanError {
    pub fn hint(&self) -> &str {
        match self {
            PlanError::Quota { remedy, .. } => remedy,
            PlanError::AttributeChange { .. } => "put the attribute back as it was, or add a new attribute under another name; tenantctl never replaces a user pool",
            PlanError::AttributeRemoved { .. } => "declare the attribute again (it stays in the pool); tenantctl never replaces a user pool",
            PlanError::ClientSecretChange { .. } => "put generateSecret back, or declare a client under a new name with the secret setting you want (and remove the old one once nothing uses it)",
            PlanError::UsernamesChange { .. } => "put userPool.usernames back as the live pool has it, or remove the field (an absent `usernames` never changes an existing pool); tenantctl never replaces a user pool",
        }
    }
}

#[cfg(test)]
mod tests;
