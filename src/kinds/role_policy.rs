//! `role_policy`: a policy of an IAM role ([`super::iam_role`], its parent): an inline policy
//! rendered from a template (for a shared role, without a tenant) (`<role>/policy/<name>`), or a managed policy someone attached to
//! a managed role (`<role>/attached/<arn>`, observed only: the folder attaches none, so it is
//! detached).
//!
//! - Desired and observed with its role (see `iam_role`); the physical id is the policy's
//!   name (inline) or ARN (attached).
//! - Created and updated with `PutRolePolicy`; deleted with `DeleteRolePolicy` (inline) or
//!   `DetachRolePolicy` (attached).
//! - Undeclared policies of a declared role are deleted, in `--tenant` plans too (their role
//!   was read whole). When the role goes, its policies go with it: the role's delete removes
//!   them, they have no change (nor orphan) of their own.

use futures::future::BoxFuture;
use futures::FutureExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use std::collections::BTreeMap;

use serde_json::json;

use super::{Desired, DesiredCtx, DesiredError, Kind};
use crate::aws::{call_err, Aws, AwsError, Category};
use crate::plan::{ItemRules, Resource};
use crate::spec::desired::{names, render_policy, render_shared_policy, shared_roles, tenant_roles, RenderEnv};
use crate::spec::model::Platform;
use crate::spec::Folder;
use crate::state::wiring::usage_plan_address;
use crate::state::{canonical_policy, Text};
use crate::state::{Ids, Item, World};

pub struct RolePolicy;

pub const KIND: &str = "role_policy";

/// A policy item's state.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum PolicyState {
    /// An inline policy (its document is a leaf of the plan's fields).
    Inline { document: Value },
    /// An attached managed policy.
    Attached { arn: String },
}

fn item(role: &str, tenant: Option<&str>, name: &str, state: PolicyState) -> Item {
    Item {
        kind: KIND.to_string(),
        name: name.to_string(),
        tenant: tenant.map(str::to_string),
        parent: Some(role.to_string()),
        state: serde_json::to_value(state).expect("policy state serializes"),
        after: Vec::new(),
    }
}

/// The inline policy `name` of the role at `role`.
pub fn inline(role: &str, tenant: Option<&str>, name: &str, document: &Value) -> (String, Item) {
    (format!("{role}/policy/{name}"), item(role, tenant, name, PolicyState::Inline { document: document.clone() }))
}

/// The managed policy `arn` attached to the role at `role`.
pub fn attached(role: &str, tenant: Option<&str>, arn: &str) -> (String, Item) {
    (format!("{role}/attached/{arn}"), item(role, tenant, arn, PolicyState::Attached { arn: arn.to_string() }))
}

fn state(item: &Item) -> Result<PolicyState, AwsError> {
    serde_json::from_value(item.state.clone())
        .map_err(|e| AwsError::Other(format!("policy `{}`: unreadable state: {e}", item.name)))
}

fn role_of<'a>(item: &Item, parent: Option<&'a str>) -> Result<&'a str, AwsError> {
    parent.ok_or_else(|| AwsError::Other(format!("policy `{}`: no role", item.name)))
}

// ---------------------------------------------------------------------------------------
// Desired
// ---------------------------------------------------------------------------------------

/// The desired inline policies: each tenant role's, rendered from its templates, and the
/// authorizer's managed execution role's (when the folder names no role for the function).
fn desired_policies(folder: &Folder, env: &RenderEnv) -> Desired {
    let pl = &folder.platform.value;
    let mut out = Vec::new();
    // Contract §1.7: the shared roles' policies, rendered without a tenant.
    for (role, spec) in pl.roles.iter().filter(|_| shared_roles(pl)) {
        for pol in &spec.policies {
            let Some(tpl) = folder.policies.get(pol) else { continue };
            let doc = render_shared_policy(tpl, pl, role, env)
                .map_err(|source| DesiredError { policy: pol.clone(), source })?;
            out.push(inline(&names::shared_role_address(role), None, pol, &canonical_policy(&doc)));
        }
    }
    for t in folder.tenants.iter().map(|t| &t.value).filter(|_| !shared_roles(pl)) {
        for role in tenant_roles(pl, t) {
            let Some(spec) = pl.roles.get(role) else { continue };
            for pol in &spec.policies {
                let Some(tpl) = folder.policies.get(pol) else { continue };
                let doc = render_policy(tpl, pl, t, role, env)
                    .map_err(|source| DesiredError { policy: pol.clone(), source })?;
                out.push(inline(&names::role_address(&t.id, role), Some(&t.id), pol, &canonical_policy(&doc)));
            }
        }
    }
    let function = pl.authorizer.as_ref().and_then(|a| a.function.as_ref()).filter(|f| f.role.is_none());
    if let Some(f) = function {
        let role = names::authorizer_role_address();
        for (name, doc) in authorizer_policies(pl, &f.name, env) {
            out.push(inline(&role, None, &name, &doc));
        }
    }
    Ok(out)
}

/// The managed execution role's `logs` policy: the function's log groups.
fn logs_policy(function: &str, env: &RenderEnv) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "Logs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [
                format!("arn:{}:logs:{}:{}:log-group:/aws/lambda/{}", env.partition, env.region, env.account_id, function),
                format!("arn:{}:logs:{}:{}:log-group:/aws/lambda/{}:*", env.partition, env.region, env.account_id, function)
            ]
        }]
    })
}

/// The authorizer role's inline policies: `logs`, and with `apiUsage` (contract §1.6)
/// `usage-plan-keys`: `apigateway:GET` on the key list of each tier's usage plan only (the
/// authorizer reads its tenants' key values there at cold start), one statement per plan so
/// that each names one plan id (a reference, known once the plan exists).
fn authorizer_policies(pl: &Platform, function: &str, env: &RenderEnv) -> BTreeMap<String, Value> {
    let logs = canonical_policy(&logs_policy(function, env));
    let mut out = BTreeMap::from([("logs".to_string(), logs)]);
    if pl.api_usage.is_some() && !pl.tiers.is_empty() {
        let statements: Vec<Value> = pl
            .tiers
            .keys()
            .map(|tier| {
                let arn = Text::lit(format!("arn:{}:apigateway:{}::/usageplans/", env.partition, env.region))
                    .id(usage_plan_address(tier))
                    .s("/keys");
                json!({"Sid": format!("UsagePlanKeys{}", tier.to_ascii_uppercase()), "Effect": "Allow", "Action": "apigateway:GET", "Resource": arn})
            })
            .collect();
        out.insert(
            "usage-plan-keys".to_string(),
            canonical_policy(&json!({"Version": "2012-10-17", "Statement": statements})),
        );
    }
    out
}

impl ItemRules for RolePolicy {
    fn resource(&self) -> Resource {
        Resource::new(KIND)
    }

    fn goes_with_parent(&self) -> bool {
        true
    }

    fn owns_undeclared_in_scope(&self) -> bool {
        true
    }
}

impl Kind for RolePolicy {
    fn service(&self) -> super::Service {
        super::Service::Iam
    }

    /// The inline policies of the desired roles (see `iam_role`), rendered from the templates.
    fn desired(&self, folder: &Folder, ctx: &DesiredCtx, _world: &World) -> Desired {
        desired_policies(folder, &ctx.env)
    }

    fn inventory(&self, _address: &str, _item: &Item, _ids: &Ids, _ctx: &crate::aws::Ctx) -> Option<Value> {
        None
    }

    fn create<'a>(
        &'a self,
        aws: &'a Aws,
        item: &'a Item,
        parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<String, AwsError>> {
        async move {
            put_role_policy(aws, item, role_of(item, parent)?).await?;
            Ok(item.name.clone())
        }
        .boxed()
    }

    fn update<'a>(
        &'a self,
        aws: &'a Aws,
        item: &'a Item,
        _live: &'a Item,
        _id: &'a str,
        parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        async move { put_role_policy(aws, item, role_of(item, parent)?).await }.boxed()
    }

    fn delete<'a>(
        &'a self,
        aws: &'a Aws,
        live: &'a Item,
        id: &'a str,
        parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        async move {
            let role = role_of(live, parent)?;
            match state(live)? {
                PolicyState::Inline { .. } => delete_role_policy(aws, role, id).await,
                PolicyState::Attached { .. } => detach_role_policy(aws, role, id).await,
            }
        }
        .boxed()
    }
}

async fn put_role_policy(aws: &Aws, item: &Item, role: &str) -> Result<(), AwsError> {
    let PolicyState::Inline { document } = state(item)? else {
        return Err(AwsError::Other(format!("policy `{}`: only inline policies are put", item.name)));
    };
    let doc = serde_json::to_string(&document).expect("json");
    aws.limiter.acquire(Category::IamWrite).await;
    aws.iam
        .put_role_policy()
        .role_name(role)
        .policy_name(&item.name)
        .policy_document(doc)
        .send()
        .await
        .map_err(|e| call_err("iam:PutRolePolicy", e))?;
    Ok(())
}

pub(super) async fn delete_role_policy(aws: &Aws, role: &str, name: &str) -> Result<(), AwsError> {
    aws.limiter.acquire(Category::IamWrite).await;
    crate::aws::done_if_gone(
        aws.iam
            .delete_role_policy()
            .role_name(role)
            .policy_name(name)
            .send()
            .await
            .map_err(|e| call_err("iam:DeleteRolePolicy", e)),
    )
}

pub(super) async fn detach_role_policy(aws: &Aws, role: &str, arn: &str) -> Result<(), AwsError> {
    aws.limiter.acquire(Category::IamWrite).await;
    crate::aws::done_if_gone(
        aws.iam
            .detach_role_policy()
            .role_name(role)
            .policy_arn(arn)
            .send()
            .await
            .map_err(|e| call_err("iam:DetachRolePolicy", e)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn inline_and_attached_policies_read_back() {
        let (a, i) = inline("tenant/acme/role/admin", Some("acme"), "data", &json!({"Statement": []}));
        assert_eq!(a, "tenant/acme/role/admin/policy/data");
        assert_eq!(state(&i).unwrap(), PolicyState::Inline { document: json!({"Statement": []}) });
        let arn = "arn:aws:iam::aws:policy/AdministratorAccess";
        let (a, i) = attached("tenant/acme/role/admin", Some("acme"), arn);
        assert_eq!(a, format!("tenant/acme/role/admin/attached/{arn}"));
        assert_eq!((i.name.as_str(), i.parent.as_deref()), (arn, Some("tenant/acme/role/admin")));
        assert_eq!(state(&i).unwrap(), PolicyState::Attached { arn: arn.into() });
    }
}
