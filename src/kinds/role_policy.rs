//! `role_policy`: a policy of an IAM role ([`super::iam_role`], its parent): an inline policy
//! rendered from a template (`<role>/policy/<name>`), or a managed policy someone attached to
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

use super::{Desired, DesiredCtx, Kind};
use crate::aws::{call_err, Aws, AwsError, Category};
use crate::plan::{ItemRules, Resource};
use crate::spec::Folder;
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

impl ItemRules for RolePolicy {
    fn resource(&self) -> Resource {
        Resource::RolePolicy
    }

    /// After the roles, before the pools; deletes too.
    fn phase(&self, _item: &Item, _delete: bool) -> u8 {
        2
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

    fn rules(&self) -> &dyn ItemRules {
        self
    }

    /// The inline policies of the desired roles (see `iam_role`), rendered from the templates.
    fn desired(&self, folder: &Folder, ctx: &DesiredCtx, _world: &World) -> Desired {
        let items = super::iam_role::desired_items(folder, &ctx.env, true)?;
        Ok(items.into_iter().filter(|(_, i)| i.kind == KIND).collect())
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
