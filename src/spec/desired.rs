//! From a validated folder to the desired [`World`]: physical names (contract §2), tags, the
//! pinned trust policy and rendered inline policies (§3), pool settings and clients.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::model::AuthorizerType;
use super::model::{AttributeType, Isolation, Mfa, Platform, Tenant, ThreatProtection};
use super::template::{self, TemplateError};
use super::{Folder, PolicyTemplate};
use crate::kinds::authorizer::{self as authorizer_kind, AuthorizerConfig};
use crate::kinds::lambda_function::{self, FunctionState};
use crate::kinds::lambda_permission::{self, PermissionState};
use crate::kinds::method_auth::{self, MethodAuth};
use crate::kinds::rest_api;
use crate::kinds::stage_deployment::{self, StageState};
use crate::state::partition::cognito_issuer;
use crate::state::wiring::*;
use crate::state::{
    canonical_policy, AttributeState, PasswordState, PoolSettings, PoolState, RoleState, Tags, Text, World,
};

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
    pub fn authorizer_role_address() -> String {
        "platform/authorizer/role".to_string()
    }
}

pub const TAG_MANAGED: &str = "tenantctl:managed";
pub const TAG_PLATFORM: &str = "tenantctl:platform";
pub const TAG_TENANT: &str = "tenant_id";

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

/// ARN of the authorizer function's execution role, when there is a Lambda authorizer.
pub fn authorizer_exec_role_arn(pl: &Platform, env: &RenderEnv) -> Option<String> {
    let a = pl.authorizer.as_ref()?;
    let f = a.function.as_ref()?;
    Some(f.role.clone().unwrap_or_else(|| {
        names::role_arn(&env.partition, &env.account_id, &pl.name, &names::authorizer_role(&pl.name))
    }))
}

/// The trust policy of a tenant role: the platform's principals may assume it and tag the
/// session, only with `aws:RequestTag/tenant_id` equal to this tenant.
pub fn trust_policy(pl: &Platform, tenant: &str, env: &RenderEnv) -> Value {
    let mut principals: BTreeSet<String> = pl.trust.principals.iter().cloned().collect();
    if let Some(arn) = authorizer_exec_role_arn(pl, env) {
        principals.insert(arn);
    }
    let principals: Vec<String> = principals.into_iter().collect();
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "TenantSession",
            "Effect": "Allow",
            "Principal": {"AWS": principals},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": {"StringEquals": {"aws:RequestTag/tenant_id": tenant}}
        }]
    })
}

/// One rendered tenant role, as `render` prints it.
pub struct RenderedRole {
    pub tenant: String,
    pub role: String,
    pub state: RoleState,
}

/// Every tenant role of the folder (optionally only some tenants), rendered.
pub fn tenant_roles_rendered(
    folder: &Folder,
    env: &RenderEnv,
    only: &[String],
) -> Result<Vec<RenderedRole>, (String, TemplateError)> {
    let pl = &folder.platform.value;
    let mut out = Vec::new();
    for t in &folder.tenants {
        let t = &t.value;
        if !only.is_empty() && !only.contains(&t.id) {
            continue;
        }
        for role in tenant_roles(pl, t) {
            let Some(spec) = pl.roles.get(role) else {
                continue;
            };
            let mut policies = BTreeMap::new();
            for pol in &spec.policies {
                let Some(tpl) = folder.policies.get(pol) else {
                    continue;
                };
                let doc = render_policy(tpl, pl, t, role, env).map_err(|e| (pol.clone(), e))?;
                policies.insert(pol.clone(), doc);
            }
            out.push(RenderedRole {
                tenant: t.id.clone(),
                role: role.to_string(),
                state: RoleState {
                    address: names::role_address(&t.id, role),
                    name: names::iam_role(&pl.name, &t.id, role),
                    path: names::role_path(&pl.name),
                    tenant: Some(t.id.clone()),
                    description: spec.description.clone(),
                    max_session_duration: spec.max_session_duration.unwrap_or(3600),
                    permissions_boundary: pl.permissions_boundary.clone(),
                    trust_policy: trust_policy(pl, &t.id, env),
                    tags: tenant_tags(pl, t),
                    policies,
                    attached_policies: BTreeSet::new(),
                },
            });
        }
    }
    Ok(out)
}

fn attribute_state(
    t: AttributeType,
    mutable: bool,
    min_len: Option<u32>,
    max_len: Option<u32>,
    min: Option<i64>,
    max: Option<i64>,
) -> AttributeState {
    match t {
        AttributeType::String => AttributeState {
            data_type: "String".into(),
            mutable,
            // Cognito fills these defaults in; compare against what it will return.
            min_length: Some(min_len.unwrap_or(0).to_string()),
            max_length: Some(max_len.unwrap_or(2048).to_string()),
            min_value: None,
            max_value: None,
        },
        AttributeType::Number => AttributeState {
            data_type: "Number".into(),
            mutable,
            min_length: None,
            max_length: None,
            min_value: min.map(|v| v.to_string()),
            max_value: max.map(|v| v.to_string()),
        },
    }
}

/// The desired state of the pools: the shared pool when any tenant is pooled, one per silo.
/// A trigger's function ARN: as given, or built from the function's name.
pub fn trigger_arn(env: &RenderEnv, function: &str) -> String {
    if function.starts_with("arn:") {
        function.to_string()
    } else {
        function_arn(env, function)
    }
}

pub fn pools(folder: &Folder, env: &RenderEnv) -> BTreeMap<String, PoolState> {
    let pl = &folder.platform.value;
    let up = &pl.user_pool;
    let mut attributes = BTreeMap::new();
    attributes.insert(
        up.tenant_attribute.clone(),
        attribute_state(AttributeType::String, false, Some(1), Some(32), None, None),
    );
    for a in &up.custom_attributes {
        let n = a.name.strip_prefix("custom:").unwrap_or(&a.name).to_string();
        attributes.insert(n, attribute_state(a.attr_type, a.mutable, a.min_length, a.max_length, a.min, a.max));
    }
    let usernames = up.usernames.as_ref().map(|u| crate::state::UsernamesState {
        case_sensitive: u.case_sensitive,
        sign_in_with: u.sign_in_with.iter().cloned().collect(),
        aliases: u.aliases.iter().cloned().collect(),
    });
    let pp = &up.password_policy;
    let settings = |tags: Tags| PoolSettings {
        deletion_protection: up.deletion_protection,
        mfa: match up.mfa {
            Mfa::Off => "OFF",
            Mfa::Optional => "OPTIONAL",
            Mfa::On => "ON",
        }
        .into(),
        allow_admin_create_user_only: !up.self_sign_up,
        password_policy: PasswordState {
            min_length: pp.min_length as i32,
            require_uppercase: pp.require_uppercase,
            require_lowercase: pp.require_lowercase,
            require_numbers: pp.require_numbers,
            require_symbols: pp.require_symbols,
            temporary_password_validity_days: pp.temporary_password_validity_days as i32,
        },
        tags,
        feature_plan: up.feature_plan.map(|f| f.tier().to_string()),
        threat_protection: match up.threat_protection {
            ThreatProtection::Off => None,
            ThreatProtection::Audit => Some("AUDIT".into()),
            ThreatProtection::Enforced => Some("ENFORCED".into()),
        },
        triggers: (!up.triggers.is_empty())
            .then(|| up.triggers.iter().map(|(k, f)| (k.clone(), trigger_arn(env, f))).collect()),
    };
    let mut out = BTreeMap::new();
    let pooled: Vec<&Tenant> =
        folder.tenants.iter().map(|t| &t.value).filter(|t| t.isolation == Isolation::Pooled).collect();
    if !pooled.is_empty() {
        let address = names::shared_pool_address();
        out.insert(
            address.clone(),
            PoolState {
                address,
                name: names::shared_pool(&pl.name),
                tenant: None,
                settings: settings(platform_tags(pl)),
                attributes: attributes.clone(),
                usernames: usernames.clone(),
            },
        );
    }
    for t in folder.tenants.iter().map(|t| &t.value).filter(|t| t.isolation == Isolation::Silo) {
        let address = names::silo_pool_address(&t.id);
        out.insert(
            address.clone(),
            PoolState {
                address,
                name: names::silo_pool(&pl.name, &t.id),
                tenant: Some(t.id.clone()),
                settings: settings(tenant_tags(pl, t)),
                attributes: attributes.clone(),
                usernames: usernames.clone(),
            },
        );
    }
    out
}

/// The desired world: pools and IAM roles with their policies (the authorizer wiring is added by
/// [`add_authorizer`], which needs the code's hash).
pub fn world(folder: &Folder, env: &RenderEnv) -> Result<World, (String, TemplateError)> {
    let mut items = BTreeMap::new();
    for r in tenant_roles_rendered(folder, env, &[])? {
        let mut st = r.state;
        st.trust_policy = canonical_policy(&st.trust_policy);
        st.policies = st.policies.iter().map(|(k, v)| (k.clone(), canonical_policy(v))).collect();
        items.extend(crate::kinds::iam_role::items(&st));
    }
    if let Some(r) = authorizer_role(folder, env) {
        // Tenant roles trust it: IAM refuses a trust policy naming a role that does not exist.
        for i in items.values_mut().filter(|i| i.kind == crate::kinds::iam_role::KIND) {
            i.after.push(r.address.clone());
        }
        items.extend(crate::kinds::iam_role::items(&r));
    }
    let mut world = World { items };
    for p in pools(folder, env).into_values() {
        world.insert_pool(p);
    }
    Ok(world)
}

/// The managed execution role of the Lambda authorizer (when the folder names none).
pub fn authorizer_role(folder: &Folder, env: &RenderEnv) -> Option<RoleState> {
    let pl = &folder.platform.value;
    let f = pl.authorizer.as_ref()?.function.as_ref()?;
    if f.role.is_some() {
        return None;
    }
    let logs = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "Logs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [
                format!("arn:{}:logs:{}:{}:log-group:/aws/lambda/{}", env.partition, env.region, env.account_id, f.name),
                format!("arn:{}:logs:{}:{}:log-group:/aws/lambda/{}:*", env.partition, env.region, env.account_id, f.name)
            ]
        }]
    });
    let trust = json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    });
    Some(RoleState {
        address: names::authorizer_role_address(),
        name: names::authorizer_role(&pl.name),
        path: names::role_path(&pl.name),
        tenant: None,
        description: Some("tenantctl: execution role of the tenant authorizer".into()),
        max_session_duration: 3600,
        permissions_boundary: None,
        trust_policy: canonical_policy(&trust),
        tags: platform_tags(pl),
        policies: authorizer_policies(pl, env, canonical_policy(&logs)),
        attached_policies: BTreeSet::new(),
    })
}

/// The authorizer role's inline policies: `logs`, and with `apiUsage` (contract §1.6)
/// `usage-plan-keys`: `apigateway:GET` on the key list of each tier's usage plan only (the
/// authorizer reads its tenants' key values there at cold start), one statement per plan so
/// that each names one plan id (a reference, known once the plan exists).
fn authorizer_policies(pl: &Platform, env: &RenderEnv, logs: Value) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::from([("logs".to_string(), logs)]);
    if pl.api_usage.is_some() && !pl.tiers.is_empty() {
        let statements: Vec<Value> = pl
            .tiers
            .keys()
            .map(|tier| {
                let arn = Text::lit(format!("arn:{}:apigateway:{}::/usageplans/", env.partition, env.region))
                    .id(crate::kinds::usage_plan::address(tier))
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

/// Adds the authorizer wiring (function, invoke permission, authorizer, methods, stage) to
/// the desired `world`, whose pools it names by reference; nothing when the platform declares
/// no authorizer.
///
/// `code_sha256` is the
/// base64 SHA-256 of the code zip (None when the file is missing), `jwks_endpoint` the
/// emulator's URL when tenantctl runs in emulator mode (`TENANTCTL_EMULATOR=1`, see
/// [`jwks_endpoint`]): the function then fetches keys from it, not from the issuer.
///
/// `TENANTCTL_ISSUERS` maps each pool's issuer to what it may speak for: `ISSUER=TENANT` for
/// a silo tenant's pool, `ISSUER=*` for the shared pool (only tenants not bound to another
/// issuer).
pub fn add_authorizer(
    folder: &Folder,
    env: &RenderEnv,
    world: &mut World,
    code_sha256: Option<String>,
    jwks_endpoint: Option<&str>,
) {
    let clients: Vec<String> =
        world.items.iter().filter(|(_, i)| i.kind == crate::kinds::app_client::KIND).map(|(a, _)| a.clone()).collect();
    let Some(items) = authorizer(folder, env, &world.pools(), &clients, code_sha256, jwks_endpoint) else {
        return;
    };
    world.items.extend(items);
}

fn authorizer(
    folder: &Folder,
    env: &RenderEnv,
    pools: &BTreeMap<String, PoolState>,
    clients: &[String],
    code_sha256: Option<String>,
    jwks_endpoint: Option<&str>,
) -> Option<Vec<(String, crate::state::Item)>> {
    let pl = &folder.platform.value;
    let spec = pl.authorizer.as_ref()?;
    let p = &env.partition;
    let r = &env.region;
    let a = &env.account_id;

    let mut function = None;
    let mut permission = None;
    let (auth_type, authorizer_uri, provider_arns, method_type, validation) = match spec.auth_type {
        AuthorizerType::Lambda => {
            let fs = spec.function.as_ref()?;
            let mut environment = BTreeMap::new();
            let issuers: Vec<Text> = pools
                .iter()
                .map(|(addr, pool)| {
                    let issuer = cognito_issuer(r, "{id}");
                    let (before, after) = issuer.split_once("{id}").expect("issuer has the pool id");
                    Text::lit(before).id(addr.clone()).s(after).s(format!("={}", pool.tenant.as_deref().unwrap_or("*")))
                })
                .collect();
            let clients: Vec<Text> = clients.iter().map(|c| Text::default().id(c.clone())).collect();
            let roles: Vec<String> = pl
                .roles
                .iter()
                .map(|(name, rs)| format!("{name}:{}", rs.precedence.unwrap_or(DEFAULT_ROLE_PRECEDENCE)))
                .collect();
            let idp_tenants: Vec<String> = folder
                .tenants
                .iter()
                .flat_map(|t| {
                    let id = &t.value.id;
                    t.value.identity_providers.iter().map(move |idp| format!("{id}-{}:{id}", idp.name))
                })
                // The pool's own providers bind no tenant (`*`, contract §1.4).
                .chain(pl.user_pool.identity_providers.iter().map(|idp| format!("{}:*", idp.name)))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            environment.insert("TENANTCTL_ISSUERS".to_string(), join(issuers));
            environment.insert("TENANTCTL_CLIENT_IDS".to_string(), join(clients));
            environment.insert("TENANTCTL_PLATFORM".to_string(), pl.name.clone().into());
            environment.insert("TENANTCTL_ACCOUNT_ID".to_string(), a.into());
            environment.insert("TENANTCTL_REGION".to_string(), r.into());
            environment.insert("TENANTCTL_TOKEN_USE".to_string(), spec.token_use.clone().into());
            environment.insert("TENANTCTL_TENANT_ATTRIBUTE".to_string(), pl.user_pool.tenant_attribute.clone().into());
            environment.insert("TENANTCTL_ROLES".to_string(), roles.join(",").into());
            if !idp_tenants.is_empty() {
                environment.insert("TENANTCTL_IDP_TENANTS".to_string(), idp_tenants.join(",").into());
            }
            if let Some(ep) = jwks_endpoint {
                environment.insert(
                    "TENANTCTL_JWKS_URL".to_string(),
                    format!("{}/{{pool_id}}/.well-known/jwks.json", ep.trim_end_matches('/')).into(),
                );
            }
            // Contract §1.6: the tiers' usage plans, whose keys the authorizer reads at cold
            // start (by id, never their values: see `crate::kinds::usage_plan_key`).
            if pl.api_usage.is_some() && !pl.tiers.is_empty() {
                let plans: Vec<Text> =
                    pl.tiers.keys().map(|t| Text::default().id(crate::kinds::usage_plan::address(t))).collect();
                environment.insert("TENANTCTL_USAGE_PLANS".to_string(), join(plans));
                if let Some(ep) = jwks_endpoint {
                    environment.insert("TENANTCTL_APIGW_ENDPOINT".to_string(), ep.trim_end_matches('/').into());
                }
            }
            let role = authorizer_exec_role_arn(pl, env)?;
            function = Some(FunctionState {
                name: fs.name.clone(),
                runtime: fs.runtime.clone(),
                handler: HANDLER.to_string(),
                role,
                memory_mb: fs.memory_mb,
                timeout_seconds: fs.timeout_seconds,
                architecture: fs.architecture.clone(),
                code_sha256: code_sha256.unwrap_or_default(),
                environment,
                tags: platform_tags(pl),
                code: Some(fs.code.clone()),
                code_file: Some(folder.root.join(&fs.code)),
            });
            permission = Some(PermissionState {
                statement_id: STATEMENT_ID.to_string(),
                copies: 1,
                action: INVOKE_ACTION.to_string(),
                principal: APIGW_PRINCIPAL.to_string(),
                source_arn: Some(
                    Text::lit(format!("arn:{p}:execute-api:{r}:{a}:"))
                        .id(REST_API_ADDRESS)
                        .s("/authorizers/")
                        .id(AUTHORIZER_ADDRESS),
                ),
                source_account: Some(a.clone()),
                function: fs.name.clone(),
            });
            let uri = format!(
                "arn:{p}:apigateway:{r}:lambda:path/2015-03-31/functions/{}/invocations",
                function_arn(env, &fs.name)
            );
            ("TOKEN", Some(uri), BTreeSet::new(), "CUSTOM", Some(BEARER_JWT_EXPRESSION.to_string()))
        }
        AuthorizerType::Cognito => {
            let arns = pools
                .keys()
                .map(|addr| Text::lit(format!("arn:{p}:cognito-idp:{r}:{a}:userpool/")).id(addr.clone()))
                .collect();
            ("COGNITO_USER_POOLS", None, arns, "COGNITO_USER_POOLS", None)
        }
    };
    let authorizer = AuthorizerConfig {
        name: spec.name.clone(),
        auth_type: auth_type.to_string(),
        authorizer_uri,
        identity_source: spec.identity_source.clone(),
        identity_validation_expression: validation,
        result_ttl_seconds: spec.result_ttl_seconds,
        provider_arns,
    };
    let auth = MethodAuth {
        authorization_type: method_type.to_string(),
        authorizer: Some(spec.name.clone()),
        authorizer_id: Some(Text::default().id(AUTHORIZER_ADDRESS)),
        // Contract §1.6: metered methods need the key the authorizer names.
        api_key_required: pl.api_usage.as_ref().map(|_| true),
    };
    let methods: Vec<String> = if spec.methods.is_empty() {
        vec![ALL_METHODS.to_string()]
    } else {
        spec.methods.iter().map(|m| method_key(&m.method, &m.path)).collect()
    };
    let mut items = vec![
        (REST_API_ADDRESS.to_string(), rest_api::item(&spec.rest_api)),
        (AUTHORIZER_ADDRESS.to_string(), authorizer_kind::item(&authorizer)),
    ];
    items.extend(function.map(|f| (FUNCTION_ADDRESS.to_string(), lambda_function::item(&f))));
    items.extend(permission.map(|p| (PERMISSION_ADDRESS.to_string(), lambda_permission::item(&p))));
    items.extend(methods.iter().map(|key| (method_address(key), method_auth::item(key, &auth))));
    if let Some(name) = &spec.stage {
        let stage = StageState { name: name.clone(), ..StageState::default() };
        items.push((stage_address(name), stage_deployment::item(&stage)));
    }
    Some(items)
}

/// The emulator endpoint the authorizer fetches keys from, from the value of
/// `TENANTCTL_EMULATOR` and the endpoint tenantctl talks to. Only `TENANTCTL_EMULATOR=1` turns
/// emulator mode on: a mere `--endpoint-url` (a proxy, a VPC endpoint) must never redirect the
/// authorizer's trust anchor, which is otherwise derived from the issuer.
pub fn jwks_endpoint(emulator: Option<&str>, endpoint: Option<&str>) -> Result<Option<String>, String> {
    match emulator.map(str::trim) {
        None | Some("") | Some("0") => Ok(None),
        Some("1") => match endpoint.filter(|e| !e.is_empty()) {
            Some(ep) => Ok(Some(ep.to_string())),
            None => {
                Err("TENANTCTL_EMULATOR=1 needs the emulator's endpoint: pass --endpoint-url or set AWS_ENDPOINT_URL"
                    .into())
            }
        },
        Some(other) => Err(format!("TENANTCTL_EMULATOR must be 1 (emulator mode) or unset, not `{other}`")),
    }
}

/// `arn:<partition>:lambda:<region>:<account>:function:<name>`
pub fn function_arn(env: &RenderEnv, name: &str) -> String {
    format!("arn:{}:lambda:{}:{}:function:{name}", env.partition, env.region, env.account_id)
}

fn join(parts: Vec<Text>) -> Text {
    let mut out = Text::default();
    for (i, p) in parts.into_iter().enumerate() {
        if i > 0 {
            out = out.s(",");
        }
        out = out.append(p);
    }
    out
}
