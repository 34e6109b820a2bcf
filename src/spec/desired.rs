//! Folder-wide helpers of the desired state: physical names (contract §2), tags, the AWS
//! values templates need ([`RenderEnv`]) and rendered policy templates (§3). Each kind builds
//! its own desired instances with them (`crate::kinds`, [`Kind::desired`]).
//!
//! [`Kind::desired`]: crate::kinds::Kind::desired

use serde_json::Value;

use super::model::{Platform, Tenancy, Tenant};
use super::template::{self, TemplateError};
use super::PolicyTemplate;
use crate::state::Tags;

pub use crate::state::minified_len;

/// Physical names (contract §2).
pub mod names {
    pub fn shared_pool(platform: &str) -> String {
        platform.to_string()
    }
    pub fn silo_pool(platform: &str, tenant: &str) -> String {
        format!("{platform}-{tenant}")
    }
    /// Read back with [`crate::state::parse_group`].
    pub fn group(tenant: &str, role: &str) -> String {
        format!("{tenant}-{role}")
    }
    pub fn iam_role(platform: &str, tenant: &str, role: &str) -> String {
        format!("{platform}-{tenant}-{role}")
    }
    /// A shared role (contract §1.7 `tenancy.roles: shared`): one per platform role.
    pub fn shared_iam_role(platform: &str, role: &str) -> String {
        format!("{platform}-{role}")
    }
    /// A shared group (contract §1.7 `tenancy.groups: shared`): the role's name, in each pool.
    pub fn shared_group(role: &str) -> String {
        role.to_string()
    }
    pub fn role_path(platform: &str) -> String {
        format!("/tenantctl/{platform}/")
    }
    pub fn authorizer_role(platform: &str) -> String {
        format!("{platform}-authorizer")
    }
    /// A silo pool's hosted-UI domain prefix (contract §1.4).
    pub fn silo_domain(domain: &str, tenant: &str) -> String {
        format!("{domain}-{tenant}")
    }
    pub fn role_arn(partition: &str, account: &str, platform: &str, name: &str) -> String {
        format!("arn:{partition}:iam::{account}:role/tenantctl/{platform}/{name}")
    }

    /// Addresses used in plans and drift reports.
    pub fn shared_pool_address() -> String {
        "platform/pool".to_string()
    }
    pub fn silo_pool_address(tenant: &str) -> String {
        format!("tenant/{tenant}/pool")
    }
    pub fn role_address(tenant: &str, role: &str) -> String {
        format!("tenant/{tenant}/role/{role}")
    }
    /// A shared role's address: platform-wide, no tenant.
    pub fn shared_role_address(role: &str) -> String {
        format!("platform/role/{role}")
    }
    pub fn authorizer_role_address() -> String {
        "platform/authorizer/role".to_string()
    }
}

pub const TAG_MANAGED: &str = "tenantctl:managed";
pub const TAG_PLATFORM: &str = "tenantctl:platform";
pub const TAG_TENANT: &str = "tenant_id";
/// The tag of a shared role (contract §1.7): `tenantctl:tenancy=shared`.
pub const TAG_TENANCY: &str = "tenantctl:tenancy";

/// Whether the platform's roles are shared (`tenancy.roles: shared`).
pub fn shared_roles(pl: &Platform) -> bool {
    pl.tenancy.roles == Tenancy::Shared
}

/// Whether the platform's groups are shared (`tenancy.groups: shared`).
pub fn shared_groups(pl: &Platform) -> bool {
    pl.tenancy.groups == Tenancy::Shared
}

/// A shared role's tags: tenantctl's, the platform's and `tenantctl:tenancy=shared` (no
/// `tenant_id`: the role is no single tenant's).
pub fn shared_role_tags(pl: &Platform) -> Tags {
    let mut tags = platform_tags(pl);
    tags.insert(TAG_TENANCY.into(), "shared".into());
    tags
}

/// AWS values templates and names need besides the folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderEnv {
    pub account_id: String,
    pub region: String,
    pub partition: String,
}

impl RenderEnv {
    /// For offline commands: the platform's region and a placeholder account.
    pub fn offline(pl: &Platform) -> Self {
        RenderEnv {
            account_id: "000000000000".into(),
            region: pl.region.clone().unwrap_or_else(|| "us-east-1".into()),
            partition: "aws".into(),
        }
    }
}

/// The roles a tenant gets: its own list, or every platform role.
pub fn tenant_roles<'a>(pl: &'a Platform, t: &'a Tenant) -> Vec<&'a str> {
    match &t.roles {
        Some(r) => r.iter().map(String::as_str).collect(),
        None => pl.roles.keys().map(String::as_str).collect(),
    }
}

pub fn platform_tags(pl: &Platform) -> Tags {
    let mut tags = pl.tags.clone();
    tags.insert(TAG_MANAGED.into(), "true".into());
    tags.insert(TAG_PLATFORM.into(), pl.name.clone());
    tags
}

pub fn tenant_tags(pl: &Platform, t: &Tenant) -> Tags {
    let mut tags = platform_tags(pl);
    for (k, v) in &t.tags {
        tags.insert(k.clone(), v.clone());
    }
    tags.insert(TAG_TENANT.into(), t.id.clone());
    tags
}

/// Renders one policy template for (tenant, role).
pub fn render_policy(
    tpl: &PolicyTemplate,
    pl: &Platform,
    t: &Tenant,
    role: &str,
    env: &RenderEnv,
) -> Result<Value, TemplateError> {
    template::render(
        &tpl.doc,
        &template::Context {
            tenant_id: &t.id,
            vars: &t.vars,
            platform: &pl.name,
            role,
            account_id: &env.account_id,
            region: &env.region,
        },
    )
}

/// Renders one policy template for a shared role (no tenant: `validate` refuses
/// `{{tenant.*}}` in a shared role's policy; were one left, it would render empty, which the
/// renderer refuses as widening).
pub fn render_shared_policy(
    tpl: &PolicyTemplate,
    pl: &Platform,
    role: &str,
    env: &RenderEnv,
) -> Result<Value, TemplateError> {
    let none = std::collections::BTreeMap::new();
    template::render(
        &tpl.doc,
        &template::Context {
            tenant_id: "",
            vars: &none,
            platform: &pl.name,
            role,
            account_id: &env.account_id,
            region: &env.region,
        },
    )
}

/// ARN of the authorizer function's execution role, when there is a Lambda authorizer.
pub fn authorizer_exec_role_arn(pl: &Platform, env: &RenderEnv) -> Option<String> {
    let a = pl.authorizer.as_ref()?;
    let f = a.function.as_ref()?;
    Some(f.role.clone().unwrap_or_else(|| {
        names::role_arn(&env.partition, &env.account_id, &pl.name, &names::authorizer_role(&pl.name))
    }))
}

/// A trigger's function ARN: as given, or built from the function's name.
pub fn trigger_arn(env: &RenderEnv, function: &str) -> String {
    if function.starts_with("arn:") {
        function.to_string()
    } else {
        function_arn(env, function)
    }
}

/// `arn:<partition>:lambda:<region>:<account>:function:<name>`
pub fn function_arn(env: &RenderEnv, name: &str) -> String {
    format!("arn:{}:lambda:{}:{}:function:{name}", env.partition, env.region, env.account_id)
}
