//! `tenantctl permissions`: the least-privilege IAM policy for one use of a folder (contract
//! §4), offline.
//!
//! Every AWS operation tenantctl calls is declared here once, by the kind that calls it
//! ([`CALLS`]), as a read (plan, drift), a write (apply) or a teardown (a write that deleting
//! calls: apply and `destroy`), with when the folder makes that kind call AWS at all (no API
//! Gateway or Lambda without `authorizer`, no CloudWatch without `monitoring`). A test reads
//! each kind's source and fails when it names an operation its declaration lacks.
//!
//! The operations become IAM actions (API Gateway's management actions are its HTTP verbs,
//! CloudWatch's prefix is `cloudwatch`) on resources narrowed where IAM allows: the roles by
//! the path `/tenantctl/<platform>/`, the functions by name, the alarms by the platform's
//! name prefix, the pools' writes by the tag `tenantctl:platform`. The account is `*`: the
//! folder does not name it.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::kinds;
use crate::spec::desired::{names, TAG_PLATFORM};
use crate::spec::model::Platform;
use crate::spec::Folder;

/// What a policy is for: the command it lets run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    Plan,
    Drift,
    Apply,
    Destroy,
}

/// What an operation does, hence which uses need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reads: every use.
    Read,
    /// Creates and updates: apply.
    Write,
    /// Writes that deleting a resource calls: apply and destroy.
    Teardown,
}

impl Use {
    fn needs(self, access: Access) -> bool {
        match self {
            Use::Plan | Use::Drift => access == Access::Read,
            Use::Apply => true,
            Use::Destroy => access != Access::Write,
        }
    }
}

/// Where a kind's operations act, for their `Resource`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The user pools (writes: only those tagged with the platform).
    Pools,
    /// The platform's IAM roles (its path).
    Roles,
    /// The authorizer function.
    Function,
    /// The pools' trigger functions.
    Triggers,
    /// API Gateway (by the operation's path).
    ApiGateway,
    /// The pools' CloudWatch alarms.
    Alarms,
}

/// What one kind calls.
pub struct KindCalls {
    /// The kind (`kinds::KINDS`' resource name).
    pub kind: &'static str,
    /// Its module, `src/kinds/<module>.rs`.
    pub module: &'static str,
    /// Whether the folder makes the kind call AWS.
    pub used: fn(&Folder) -> bool,
    pub scope: Scope,
    /// Every operation it calls (`service:Operation`), with what it does.
    pub calls: &'static [(&'static str, Access)],
}

use Access::{Read, Teardown, Write};

fn always(_: &Folder) -> bool {
    true
}
fn authorizer(f: &Folder) -> bool {
    f.platform.value.authorizer.is_some()
}
fn function(f: &Folder) -> bool {
    f.platform.value.authorizer.as_ref().is_some_and(|a| a.function.is_some())
}
fn stage(f: &Folder) -> bool {
    f.platform.value.authorizer.as_ref().is_some_and(|a| a.stage.is_some())
}
fn api_usage(f: &Folder) -> bool {
    f.platform.value.api_usage.is_some()
}
fn monitoring(f: &Folder) -> bool {
    f.platform.value.monitoring.is_some()
}
fn domain(f: &Folder) -> bool {
    f.platform.value.user_pool.domain.is_some()
}
fn triggers(f: &Folder) -> bool {
    !f.platform.value.user_pool.triggers.is_empty()
}
fn identity_providers(f: &Folder) -> bool {
    kinds::identity_provider::declares_any(f)
}

/// Every kind that calls AWS, with its operations (module docs). A kind's calls include those
/// of the helpers it uses (`aws::cognito::describe_pool`, `aws::iam::account_summary`,
/// `lambda_permission::add`, `role_policy::delete_role_policy`).
pub static CALLS: &[KindCalls] = &[
    KindCalls {
        kind: "rest_api",
        module: "rest_api",
        used: authorizer,
        scope: Scope::ApiGateway,
        calls: &[("apigateway:GetRestApis", Read)],
    },
    KindCalls {
        kind: "iam_role",
        module: "iam_role",
        used: always,
        scope: Scope::Roles,
        calls: &[
            ("iam:GetAccountSummary", Read),
            ("iam:ListRoles", Read),
            ("iam:GetAccountAuthorizationDetails", Read),
            ("iam:GetRole", Read),
            ("iam:ListRolePolicies", Read),
            ("iam:GetRolePolicy", Read),
            ("iam:ListAttachedRolePolicies", Read),
            ("iam:ListInstanceProfilesForRole", Read),
            ("iam:CreateRole", Write),
            ("iam:UpdateAssumeRolePolicy", Write),
            ("iam:UpdateRole", Write),
            ("iam:PutRolePermissionsBoundary", Write),
            ("iam:DeleteRolePermissionsBoundary", Write),
            ("iam:TagRole", Write),
            ("iam:UntagRole", Write),
            ("iam:DeleteRolePolicy", Teardown),
            ("iam:DetachRolePolicy", Teardown),
            ("iam:RemoveRoleFromInstanceProfile", Teardown),
            ("iam:DeleteRole", Teardown),
        ],
    },
    KindCalls {
        kind: "usage_plan",
        module: "usage_plan",
        used: api_usage,
        scope: Scope::ApiGateway,
        calls: &[
            ("apigateway:GetUsagePlans", Read),
            ("apigateway:GetUsagePlan", Read),
            ("apigateway:CreateUsagePlan", Write),
            ("apigateway:TagResource", Write),
            ("apigateway:UntagResource", Write),
            ("apigateway:UpdateUsagePlan", Teardown),
            ("apigateway:DeleteUsagePlan", Teardown),
        ],
    },
    KindCalls {
        kind: "api_key",
        module: "api_key",
        used: api_usage,
        scope: Scope::ApiGateway,
        calls: &[
            ("apigateway:GetApiKeys", Read),
            ("apigateway:CreateApiKey", Write),
            ("apigateway:UpdateApiKey", Write),
            ("apigateway:DeleteApiKey", Teardown),
        ],
    },
    KindCalls {
        kind: "role_policy",
        module: "role_policy",
        used: always,
        scope: Scope::Roles,
        calls: &[("iam:PutRolePolicy", Write), ("iam:DeleteRolePolicy", Teardown), ("iam:DetachRolePolicy", Teardown)],
    },
    KindCalls {
        kind: "usage_plan_key",
        module: "usage_plan_key",
        used: api_usage,
        scope: Scope::ApiGateway,
        calls: &[
            ("apigateway:GetUsagePlanKeys", Read),
            ("apigateway:CreateUsagePlanKey", Write),
            ("apigateway:DeleteUsagePlanKey", Teardown),
        ],
    },
    KindCalls {
        kind: "user_pool",
        module: "user_pool",
        used: always,
        scope: Scope::Pools,
        calls: &[
            ("cognito-idp:ListUserPools", Read),
            ("cognito-idp:DescribeUserPool", Read),
            ("cognito-idp:GetUserPoolMfaConfig", Read),
            ("cognito-idp:ListUsers", Read),
            ("cognito-idp:CreateUserPool", Write),
            // `destroy` turns deletion protection off (an update) before deleting a pool.
            ("cognito-idp:UpdateUserPool", Teardown),
            ("cognito-idp:SetUserPoolMfaConfig", Teardown),
            ("cognito-idp:DeleteUserPoolDomain", Teardown),
            ("cognito-idp:DeleteUserPool", Teardown),
        ],
    },
    KindCalls {
        kind: "custom_attribute",
        module: "custom_attribute",
        used: always,
        scope: Scope::Pools,
        calls: &[("cognito-idp:DescribeUserPool", Read), ("cognito-idp:AddCustomAttributes", Write)],
    },
    KindCalls {
        kind: "identity_provider",
        module: "identity_provider",
        used: identity_providers,
        scope: Scope::Pools,
        calls: &[
            ("cognito-idp:ListIdentityProviders", Read),
            ("cognito-idp:DescribeIdentityProvider", Read),
            ("cognito-idp:CreateIdentityProvider", Write),
            ("cognito-idp:UpdateIdentityProvider", Write),
            ("cognito-idp:DeleteIdentityProvider", Teardown),
        ],
    },
    KindCalls {
        kind: "pool_domain",
        module: "pool_domain",
        used: domain,
        scope: Scope::Pools,
        calls: &[
            ("cognito-idp:DescribeUserPool", Read),
            ("cognito-idp:CreateUserPoolDomain", Write),
            ("cognito-idp:DeleteUserPoolDomain", Teardown),
        ],
    },
    KindCalls {
        kind: "resource_server",
        module: "resource_server",
        used: always,
        scope: Scope::Pools,
        calls: &[
            ("cognito-idp:ListResourceServers", Read),
            ("cognito-idp:CreateResourceServer", Write),
            ("cognito-idp:UpdateResourceServer", Write),
            ("cognito-idp:DeleteResourceServer", Teardown),
        ],
    },
    KindCalls {
        kind: "app_client",
        module: "app_client",
        used: always,
        scope: Scope::Pools,
        calls: &[
            ("cognito-idp:ListUserPoolClients", Read),
            ("cognito-idp:DescribeUserPoolClient", Read),
            ("cognito-idp:CreateUserPoolClient", Write),
            ("cognito-idp:UpdateUserPoolClient", Write),
            ("cognito-idp:DeleteUserPoolClient", Teardown),
        ],
    },
    KindCalls {
        kind: "group",
        module: "group",
        used: always,
        scope: Scope::Pools,
        calls: &[
            ("cognito-idp:ListGroups", Read),
            ("cognito-idp:GetGroup", Read),
            ("cognito-idp:CreateGroup", Write),
            ("cognito-idp:UpdateGroup", Write),
            ("cognito-idp:DeleteGroup", Teardown),
        ],
    },
    KindCalls {
        kind: "lambda_function",
        module: "lambda_function",
        used: function,
        scope: Scope::Function,
        calls: &[
            ("lambda:GetFunction", Read),
            ("lambda:GetFunctionConfiguration", Read),
            ("lambda:CreateFunction", Write),
            ("lambda:UpdateFunctionCode", Write),
            ("lambda:UpdateFunctionConfiguration", Write),
            ("lambda:TagResource", Write),
        ],
    },
    KindCalls {
        kind: "alarm",
        module: "pool_alarm",
        used: monitoring,
        scope: Scope::Alarms,
        calls: &[
            ("monitoring:DescribeAlarms", Read),
            ("monitoring:ListTagsForResource", Read),
            ("monitoring:PutMetricAlarm", Write),
            ("monitoring:TagResource", Write),
            ("monitoring:UntagResource", Write),
            ("monitoring:DeleteAlarms", Teardown),
        ],
    },
    KindCalls {
        kind: "authorizer",
        module: "authorizer",
        used: authorizer,
        scope: Scope::ApiGateway,
        calls: &[
            ("apigateway:GetRestApis", Read),
            ("apigateway:GetAuthorizers", Read),
            ("apigateway:GetAuthorizer", Read),
            ("apigateway:CreateAuthorizer", Write),
            ("apigateway:UpdateAuthorizer", Write),
            // A twin made by a concurrent apply is deleted on create.
            ("apigateway:DeleteAuthorizer", Write),
        ],
    },
    KindCalls {
        kind: "lambda_permission",
        module: "lambda_permission",
        used: function,
        scope: Scope::Function,
        calls: &[("lambda:GetPolicy", Read), ("lambda:AddPermission", Write), ("lambda:RemovePermission", Write)],
    },
    KindCalls {
        kind: "trigger_permission",
        module: "trigger_permission",
        used: triggers,
        scope: Scope::Triggers,
        calls: &[("lambda:GetPolicy", Read), ("lambda:AddPermission", Write), ("lambda:RemovePermission", Write)],
    },
    KindCalls {
        kind: "method_auth",
        module: "method_auth",
        used: authorizer,
        scope: Scope::ApiGateway,
        calls: &[("apigateway:GetResources", Read), ("apigateway:GetMethod", Read), ("apigateway:UpdateMethod", Write)],
    },
    KindCalls {
        kind: "api_key_source",
        module: "api_key_source",
        used: api_usage,
        scope: Scope::ApiGateway,
        calls: &[("apigateway:GetRestApi", Read), ("apigateway:UpdateRestApi", Write)],
    },
    KindCalls {
        kind: "stage_deployment",
        module: "stage_deployment",
        used: stage,
        scope: Scope::ApiGateway,
        calls: &[
            ("apigateway:GetStage", Read),
            ("apigateway:GetDeployment", Read),
            ("apigateway:CreateDeployment", Write),
        ],
    },
    KindCalls {
        kind: "usage_plan_stage",
        module: "usage_plan_stage",
        used: api_usage,
        scope: Scope::ApiGateway,
        calls: &[("apigateway:UpdateUsagePlan", Write)],
    },
];

/// Called by every session whatever the folder: the account (`aws::Aws::resolve_account`).
pub const SESSION_CALLS: &[&str] = &["sts:GetCallerIdentity"];

/// Where the policy's ARNs point: partition, region (`*` when the folder names none) and the
/// platform.
struct Arns<'a> {
    partition: &'static str,
    region: String,
    platform: &'a Platform,
}

impl Arns<'_> {
    fn pools(&self) -> String {
        format!("arn:{}:cognito-idp:{}:*:userpool/*", self.partition, self.region)
    }
    fn roles(&self) -> String {
        format!("arn:{}:iam::*:role{}*", self.partition, names::role_path(&self.platform.name))
    }
    fn function(&self, name_or_arn: &str) -> String {
        if name_or_arn.starts_with("arn:") {
            name_or_arn.to_string()
        } else {
            format!("arn:{}:lambda:{}:*:function:{name_or_arn}", self.partition, self.region)
        }
    }
    fn api(&self, path: &str) -> String {
        format!("arn:{}:apigateway:{}::{path}", self.partition, self.region)
    }
    fn alarms(&self) -> String {
        format!("arn:{}:cloudwatch:{}:*:alarm:{}-*", self.partition, self.region, self.platform.name)
    }
    /// The authorizer function's execution role: the folder's, else the one tenantctl makes.
    fn exec_role(&self) -> Option<String> {
        let f = self.platform.authorizer.as_ref()?.function.as_ref()?;
        Some(f.role.clone().unwrap_or_else(|| {
            format!("{}{}", self.roles().trim_end_matches('*'), names::authorizer_role(&self.platform.name))
        }))
    }
}

/// An API Gateway operation's HTTP verb and the resource paths it acts on (the API Gateway
/// REST API reference's request line; its IAM actions are the verbs, "Actions defined by
/// Amazon API Gateway Management").
pub fn api_gateway_action(op: &str) -> Option<(&'static str, &'static [&'static str])> {
    const RESTAPI: &[&str] = &["/restapis/*"];
    const KEYS: &[&str] = &["/apikeys", "/apikeys/*"];
    const PLANS: &[&str] = &["/usageplans", "/usageplans/*"];
    Some(match op.strip_prefix("apigateway:")? {
        "GetRestApis" => ("GET", &["/restapis"]),
        "GetRestApi" | "GetResources" | "GetMethod" | "GetAuthorizers" | "GetAuthorizer" | "GetStage"
        | "GetDeployment" => ("GET", RESTAPI),
        "UpdateRestApi" | "UpdateMethod" | "UpdateAuthorizer" => ("PATCH", RESTAPI),
        "CreateAuthorizer" | "CreateDeployment" => ("POST", RESTAPI),
        "DeleteAuthorizer" => ("DELETE", RESTAPI),
        "GetApiKeys" => ("GET", KEYS),
        "CreateApiKey" => ("POST", KEYS),
        "UpdateApiKey" => ("PATCH", KEYS),
        "DeleteApiKey" => ("DELETE", KEYS),
        "GetUsagePlans" | "GetUsagePlan" | "GetUsagePlanKeys" => ("GET", PLANS),
        "CreateUsagePlan" | "CreateUsagePlanKey" => ("POST", PLANS),
        "UpdateUsagePlan" => ("PATCH", PLANS),
        "DeleteUsagePlan" | "DeleteUsagePlanKey" => ("DELETE", PLANS),
        "TagResource" => ("PUT", &["/tags/*"]),
        "UntagResource" => ("DELETE", &["/tags/*"]),
        _ => return None,
    })
}

/// The IAM action of an operation outside API Gateway (CloudWatch's signing name
/// `monitoring` has the IAM prefix `cloudwatch`).
pub fn iam_action(op: &str) -> String {
    match op.strip_prefix("monitoring:") {
        Some(name) => format!("cloudwatch:{name}"),
        None => op.to_string(),
    }
}

/// Operations IAM cannot scope to a resource: `*`.
const UNSCOPED: &[&str] = &[
    "cognito-idp:ListUserPools",
    "cognito-idp:CreateUserPool",
    "iam:GetAccountSummary",
    "iam:ListRoles",
    "iam:GetAccountAuthorizationDetails",
    "monitoring:DescribeAlarms",
    "sts:GetCallerIdentity",
];

/// Where an operation's action goes: the statement's Sid, its resources and its condition.
type Key = (String, Vec<String>, Option<Value>);

/// A statement being built: its condition, resources and actions.
type Building = (Option<Value>, BTreeSet<String>, BTreeSet<String>);

/// The operations `use_` needs for `folder`, each with the scope of the kind calling it.
pub fn operations(folder: &Folder, use_: Use) -> Vec<(&'static str, Scope)> {
    let mut out: Vec<(&'static str, Scope)> = Vec::new();
    for k in CALLS.iter().filter(|k| (k.used)(folder)) {
        // `destroy` deletes one tenant's resources: nothing platform-wide.
        let platform_wide = kinds::of(k.kind).is_some_and(|kind| kind.platform_wide());
        for (op, access) in k.calls {
            let needed = use_.needs(*access) && !(use_ == Use::Destroy && platform_wide && *access != Read);
            if needed && !out.contains(&(*op, k.scope)) {
                out.push((op, k.scope));
            }
        }
    }
    out
}

/// The statement an operation goes in: (Sid, resources, condition).
fn statement_of(op: &str, scope: Scope, arns: &Arns, platform: &str) -> Vec<(Key, String)> {
    if UNSCOPED.contains(&op) {
        let service = iam_action(op).split(':').next().unwrap_or_default().to_string();
        return vec![((format!("{}Account", sid_service(&service)), vec!["*".into()], None), iam_action(op))];
    }
    let write = !is_read(op);
    let key: Key = match scope {
        Scope::Pools if write => (
            "CognitoPlatformPools".into(),
            vec![arns.pools()],
            Some(json!({"StringEquals": {format!("aws:ResourceTag/{TAG_PLATFORM}"): platform}})),
        ),
        Scope::Pools => ("CognitoPools".into(), vec![arns.pools()], None),
        Scope::Roles => ("PlatformRoles".into(), vec![arns.roles()], None),
        Scope::Function => {
            let f = arns.platform.authorizer.as_ref().and_then(|a| a.function.as_ref());
            ("AuthorizerFunction".into(), f.map(|f| arns.function(&f.name)).into_iter().collect(), None)
        }
        Scope::Triggers => {
            let mut fs: Vec<String> = arns.platform.user_pool.triggers.values().map(|f| arns.function(f)).collect();
            fs.sort();
            fs.dedup();
            ("TriggerFunctions".into(), fs, None)
        }
        Scope::Alarms => ("PlatformAlarms".into(), vec![arns.alarms()], None),
        Scope::ApiGateway => {
            let (verb, paths) = api_gateway_action(op).expect("every API Gateway operation has a verb");
            let key = (format!("ApiGateway{verb}"), paths.iter().map(|p| arns.api(p)).collect(), None);
            return vec![(key, format!("apigateway:{verb}"))];
        }
    };
    let mut out = vec![(key, iam_action(op))];
    // Lambda needs iam:PassRole on the execution role a function is given (Lambda developer
    // guide, "Lambda execution role").
    if matches!(op, "lambda:CreateFunction" | "lambda:UpdateFunctionConfiguration") {
        if let Some(role) = arns.exec_role() {
            let cond = json!({"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}});
            out.push((("PassAuthorizerRole".into(), vec![role], Some(cond)), "iam:PassRole".into()));
        }
    }
    out
}

fn sid_service(service: &str) -> &'static str {
    match service {
        "cognito-idp" => "Cognito",
        "iam" => "Iam",
        "cloudwatch" => "CloudWatch",
        _ => "Sts",
    }
}

/// Whether an operation only reads (its declared access).
fn is_read(op: &str) -> bool {
    CALLS.iter().flat_map(|k| k.calls.iter()).any(|(o, a)| *o == op && *a == Read) || SESSION_CALLS.contains(&op)
}

/// The policy document (`{"Version": "2012-10-17", "Statement": [...]}`) for `use_` of `folder`
/// in `region` (`--region`; None: the platform's, else any).
pub fn policy(folder: &Folder, use_: Use, region: Option<&str>) -> Value {
    let pl = &folder.platform.value;
    let region = region.or(pl.region.as_deref());
    let partition = region.map_or("aws", crate::aws::partition_of);
    let region = region.unwrap_or("*").to_string();
    let arns = Arns { partition, region, platform: pl };
    let mut ops: Vec<(&str, Scope)> = SESSION_CALLS.iter().map(|o| (*o, Scope::Pools)).collect();
    ops.extend(operations(folder, use_));
    // By Sid (unique in a policy): its condition, resources and actions.
    let mut statements: BTreeMap<String, Building> = BTreeMap::new();
    for (op, scope) in ops {
        for ((sid, resources, condition), action) in statement_of(op, scope, &arns, &pl.name) {
            if resources.is_empty() {
                continue;
            }
            let s = statements.entry(sid).or_insert_with(|| (condition, BTreeSet::new(), BTreeSet::new()));
            s.1.extend(resources);
            s.2.insert(action);
        }
    }
    let statements: Vec<Value> = statements
        .into_iter()
        .map(|(sid, (condition, resources, actions))| {
            let mut s = json!({"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources});
            if let Some(c) = condition {
                s["Condition"] = c;
            }
            s
        })
        .collect();
    json!({"Version": "2012-10-17", "Statement": statements})
}

#[cfg(test)]
mod tests;
