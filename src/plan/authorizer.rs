//! The authorizer wiring, pure: its desired state (from the folder, the pools and the code's
//! hash) and its diff against what the adapter observed. No AWS types, no async.
//!
//! # Ids that are not known yet: tokens
//!
//! The function's environment names user pools and app clients by id, the invoke permission
//! names the REST API and the authorizer by id, and a Cognito authorizer lists pool ARNs. On a
//! first apply none of these exist when the plan is made, so the desired state holds tokens
//! that [`resolve`] replaces with ids from [`Ids`]:
//!
//! | token | resolved from |
//! | --- | --- |
//! | `{{pool_id:<pool address>}}` | `ids.pools[<pool address>]` |
//! | `{{client_id:<pool address>/<client name>}}` | `ids.clients[<pool address>/<client name>]` (see [`client_key`]) |
//! | `{{rest_api_id}}` | `ids.rest_api` |
//! | `{{authorizer_id}}` | `ids.authorizer` |
//!
//! The diff resolves the desired value with the ids known at plan time and compares it with
//! the observed one; a value that cannot be resolved yet always differs. The ops carry the
//! tokens, and the adapter resolves them with the ids known when it runs (an earlier step of
//! the same apply may have created the pool or the authorizer); a token still unresolved then
//! is an error.
//!
//! # `methods: []`: every method of the API
//!
//! The desired methods then hold one entry under the key [`ALL_METHODS`] (`"*"`). The adapter's
//! `observe` reads every method of the REST API (except `OPTIONS`, which browsers call for
//! CORS preflight without credentials) into the observed `world.methods`, and [`diff`]
//! expands `"*"` to those keys.
//!
//! # The invoke permission as observed
//!
//! Only tenantctl's own statement ([`STATEMENT_ID`]) of the function's resource policy is
//! tenantctl's: other statements, `apigateway.amazonaws.com` ones included (another REST API
//! that uses the same function), are never read into the observed world, so they are neither
//! drift nor deleted. When tenantctl's Sid appears several times (an emulator accepts
//! duplicates), the observed `statement_id` lists them joined by `,` (Lambda statement ids
//! cannot hold a comma); the diff then removes them and adds the one statement again.
//!
//! # The stage (`authorizer.stage`)
//!
//! API Gateway serves authorizer and method changes only after a deployment. With a stage
//! declared, the desired `world.stage` names it and the observed one holds what its
//! deployment serves (`GetDeployment` with `embed=apisummary`: each deployed method's
//! `authorizationType`). [`diff`] then
//! - adds a `stage.<stage>.authorization_type` field to the method's change when the stage
//!   serves a declared method with another authorization type (or not at all): drift reports
//!   the method as `changed` even when the draft is right;
//! - appends one `stage_deployment` change (op [`Op::DeployStage`], after the methods) when
//!   the stage serves something stale or when the authorizer or a method changes.
//!
//! `apisummary` does not show which authorizer a method uses nor the authorizer's settings:
//! an authorizer change made without a deployment (before the stage was declared) is not
//! visible from the stage.

use std::collections::{BTreeMap, BTreeSet};

use crate::aws::partition::cognito_issuer;
use serde_json::{json, Value};

use crate::plan::{Action, Change, FieldChange, Op, Resource};
use crate::spec::desired::{self, RenderEnv};
use crate::spec::model::AuthorizerType;
use crate::spec::Folder;
use crate::state::{AuthorizerConfig, FunctionState, Ids, MethodAuth, PermissionState, PoolState, StageState, World};

/// Statement id of the invoke permission tenantctl manages.
pub const STATEMENT_ID: &str = "tenantctl-apigateway-invoke";
pub const APIGW_PRINCIPAL: &str = "apigateway.amazonaws.com";
pub const INVOKE_ACTION: &str = "lambda:InvokeFunction";
/// Desired-methods key meaning "every method of the REST API" (`methods: []`).
pub const ALL_METHODS: &str = "*";
/// The authorizer function's handler (custom runtime: the `bootstrap` executable).
pub const HANDLER: &str = "bootstrap";
/// Lambda's limit on the total size of a function's environment variables.
pub const MAX_ENV_BYTES: usize = 4096;
/// `TENANTCTL_ROLES` needs a precedence for every role; Cognito ranks a group without one
/// after every group that has one.
pub const DEFAULT_ROLE_PRECEDENCE: i32 = i32::MAX;

/// `identityValidationExpression` of a TOKEN authorizer: API Gateway answers 401 without
/// invoking the function unless the header is `Bearer ` and a JWT's three base64url parts.
pub const BEARER_JWT_EXPRESSION: &str = r"^Bearer [-0-9A-Za-z_]+\.[-0-9A-Za-z_]+\.[-0-9A-Za-z_]+$";
/// The value a stage's `deployment_id` is planned to take: a deployment apply creates.
pub const NEW_DEPLOYMENT: &str = "(new deployment)";

pub const FUNCTION_ADDRESS: &str = "platform/authorizer/function";
pub const PERMISSION_ADDRESS: &str = "platform/authorizer/permission";
pub const AUTHORIZER_ADDRESS: &str = "platform/authorizer";

pub const REST_API_TOKEN: &str = "{{rest_api_id}}";
pub const AUTHORIZER_TOKEN: &str = "{{authorizer_id}}";

pub fn stage_address(stage: &str) -> String {
    format!("platform/authorizer/stage/{stage}")
}

pub fn method_address(key: &str) -> String {
    format!("platform/authorizer/method/{key}")
}

/// `"GET /orders"`: the key of a method in `World::methods` and `Ids::resources`.
pub fn method_key(method: &str, path: &str) -> String {
    format!("{} {}", method.to_ascii_uppercase(), path)
}

/// The key of an app client in [`Ids::clients`]: `<pool address>/<client name>`.
pub fn client_key(pool_address: &str, client: &str) -> String {
    format!("{pool_address}/{client}")
}

pub fn pool_id_token(pool_address: &str) -> String {
    format!("{{{{pool_id:{pool_address}}}}}")
}

pub fn client_id_token(pool_address: &str, client: &str) -> String {
    format!("{{{{client_id:{}}}}}", client_key(pool_address, client))
}

/// Replaces every token (module docs) with its id. None when one is not known (yet), or
/// names something this module does not know.
pub fn resolve(value: &str, ids: &Ids) -> Option<String> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            break;
        };
        out.push_str(&rest[..start]);
        let token = &after[..end];
        let id = match token.split_once(':') {
            Some(("pool_id", addr)) => ids.pools.get(addr)?,
            Some(("client_id", key)) => ids.clients.get(key)?,
            None if token == "rest_api_id" => ids.rest_api.as_ref()?,
            None if token == "authorizer_id" => ids.authorizer.as_ref()?,
            _ => return None,
        };
        out.push_str(id);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Some(out)
}

/// The value to show in a plan: resolved when possible, else with its tokens.
fn shown(value: &str, ids: &Ids) -> String {
    resolve(value, ids).unwrap_or_else(|| value.to_string())
}

/// Everything tenantctl manages for the authorizer, desired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizerDesired {
    /// The Lambda function (type `lambda`) and its code path relative to the config folder.
    /// `code_sha256` is empty when the zip was not found (see [`check`]).
    pub function: Option<(FunctionState, String)>,
    /// API Gateway's permission to invoke the function (type `lambda`).
    pub permission: Option<PermissionState>,
    pub authorizer: AuthorizerConfig,
    /// `"METHOD /path"` (or [`ALL_METHODS`]) -> authorization.
    pub methods: BTreeMap<String, MethodAuth>,
    /// The stage apply deploys (`authorizer.stage`).
    pub stage: Option<String>,
}

impl AuthorizerDesired {
    pub fn code_path(&self) -> Option<&str> {
        self.function.as_ref().map(|(_, c)| c.as_str())
    }

    /// Puts the wiring into the desired world (function, permission, authorizer, methods).
    pub fn apply_to(&self, world: &mut World) {
        world.function = self.function.as_ref().map(|(f, _)| f.clone());
        world.permission = self.permission.clone();
        world.authorizer = Some(self.authorizer.clone());
        world.methods = self.methods.clone();
        world.stage = self.stage.as_ref().map(|name| StageState { name: name.clone(), ..StageState::default() });
    }

    /// [`diff`] with the code path of this desired state.
    pub fn diff(&self, observed: &World, ids: &Ids, out: &mut Vec<Change>) {
        let mut w = World::default();
        self.apply_to(&mut w);
        diff_with_code(&w, self.code_path().unwrap_or(""), observed, ids, out);
    }
}

/// The authorizer's desired state; None when the platform declares no authorizer.
///
/// `pools` are the desired pools (their pool and client ids become tokens), `code_sha256` the
/// base64 SHA-256 of the code zip (None when the file is missing), `jwks_endpoint` the
/// emulator's URL when tenantctl runs in emulator mode (`TENANTCTL_EMULATOR=1`, see
/// [`jwks_endpoint`]): the function then fetches keys from it, not from the issuer.
///
/// `TENANTCTL_ISSUERS` maps each pool's issuer to what it may speak for: `ISSUER=TENANT` for
/// a silo tenant's pool, `ISSUER=*` for the shared pool (only tenants not bound to another
/// issuer).
pub fn desired(
    folder: &Folder,
    env: &RenderEnv,
    pools: &BTreeMap<String, PoolState>,
    code_sha256: Option<String>,
    jwks_endpoint: Option<&str>,
) -> Option<AuthorizerDesired> {
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
            let issuers: Vec<String> = pools
                .iter()
                .map(|(addr, pool)| {
                    format!("{}={}", cognito_issuer(r, &pool_id_token(addr)), pool.tenant.as_deref().unwrap_or("*"))
                })
                .collect();
            let clients: Vec<String> = pools
                .iter()
                .flat_map(|(addr, pool)| pool.clients.keys().map(move |c| client_id_token(addr, c)))
                .collect();
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
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            environment.insert("TENANTCTL_ISSUERS".to_string(), issuers.join(","));
            environment.insert("TENANTCTL_CLIENT_IDS".to_string(), clients.join(","));
            environment.insert("TENANTCTL_PLATFORM".to_string(), pl.name.clone());
            environment.insert("TENANTCTL_ACCOUNT_ID".to_string(), a.clone());
            environment.insert("TENANTCTL_REGION".to_string(), r.clone());
            environment.insert("TENANTCTL_TOKEN_USE".to_string(), spec.token_use.clone());
            environment.insert("TENANTCTL_TENANT_ATTRIBUTE".to_string(), pl.user_pool.tenant_attribute.clone());
            environment.insert("TENANTCTL_ROLES".to_string(), roles.join(","));
            if !idp_tenants.is_empty() {
                environment.insert("TENANTCTL_IDP_TENANTS".to_string(), idp_tenants.join(","));
            }
            if let Some(ep) = jwks_endpoint {
                environment.insert(
                    "TENANTCTL_JWKS_URL".to_string(),
                    format!("{}/{{pool_id}}/.well-known/jwks.json", ep.trim_end_matches('/')),
                );
            }
            let role = desired::authorizer_exec_role_arn(pl, env)?;
            function = Some((
                FunctionState {
                    name: fs.name.clone(),
                    runtime: fs.runtime.clone(),
                    handler: HANDLER.to_string(),
                    role,
                    memory_mb: fs.memory_mb,
                    timeout_seconds: fs.timeout_seconds,
                    architecture: fs.architecture.clone(),
                    code_sha256: code_sha256.unwrap_or_default(),
                    environment,
                    tags: desired::platform_tags(pl),
                },
                fs.code.clone(),
            ));
            permission = Some(PermissionState {
                statement_id: STATEMENT_ID.to_string(),
                action: INVOKE_ACTION.to_string(),
                principal: APIGW_PRINCIPAL.to_string(),
                source_arn: Some(format!(
                    "arn:{p}:execute-api:{r}:{a}:{REST_API_TOKEN}/authorizers/{AUTHORIZER_TOKEN}"
                )),
                source_account: Some(a.clone()),
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
                .map(|addr| format!("arn:{p}:cognito-idp:{r}:{a}:userpool/{}", pool_id_token(addr)))
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
    let auth = MethodAuth { authorization_type: method_type.to_string(), authorizer: Some(spec.name.clone()) };
    let methods = if spec.methods.is_empty() {
        BTreeMap::from([(ALL_METHODS.to_string(), auth)])
    } else {
        spec.methods.iter().map(|m| (method_key(&m.method, &m.path), auth.clone())).collect()
    };
    Some(AuthorizerDesired { function, permission, authorizer, methods, stage: spec.stage.clone() })
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

/// Problems that stop `plan`/`apply` before anything runs: the code zip missing when the
/// function must be created, a Cognito authorizer without any pool, an environment over
/// Lambda's 4 KB. The message names the field.
pub fn check(d: &AuthorizerDesired, observed: &World, ids: &Ids) -> Result<(), String> {
    if let Some((f, code)) = &d.function {
        if f.code_sha256.is_empty() && observed.function.is_none() {
            return Err(format!(
                "authorizer.function.code: `{code}` does not exist in the config folder, and function `{}` must be created from it (build it with scripts/build-authorizer {code})",
                f.name
            ));
        }
        if let Some(o) = &observed.function {
            if f.code_sha256.is_empty() && o.architecture != f.architecture {
                return Err(format!(
                    "authorizer.function.architecture: changing function `{}` from {} to {} uploads the code again (UpdateFunctionCode), and `{code}` does not exist in the config folder (build it with scripts/build-authorizer {code})",
                    f.name, o.architecture, f.architecture
                ));
            }
        }
        let size: usize = f.environment.iter().map(|(k, v)| k.len() + shown(v, ids).len()).sum();
        if size > MAX_ENV_BYTES {
            return Err(format!(
                "authorizer.function: its environment (issuers and client ids of {} pools) would be about {size} bytes, over Lambda's {MAX_ENV_BYTES}-byte limit",
                f.environment.get("TENANTCTL_ISSUERS").map_or(0, |v| v.split(',').count())
            ));
        }
    }
    if d.authorizer.auth_type == "COGNITO_USER_POOLS" && d.authorizer.provider_arns.is_empty() {
        return Err("authorizer: a cognito authorizer needs at least one user pool; declare a tenant first".into());
    }
    Ok(())
}

fn fc(path: impl Into<String>, before: Value, after: Value) -> FieldChange {
    FieldChange { path: path.into(), before, after }
}

fn opt_json(v: Option<&String>) -> Value {
    v.map_or(Value::Null, |s| json!(s))
}

/// Changes for the function, permission, authorizer and method authorization.
///
/// The desired world holds no code path: a `PutFunction` op from here carries an empty
/// `code`, which the adapter refuses when it has to upload the code. Callers that hold the
/// [`AuthorizerDesired`] use [`AuthorizerDesired::diff`] (or [`diff_with_code`]).
pub fn diff(desired: &World, observed: &World, ids: &Ids, out: &mut Vec<Change>) {
    diff_with_code(desired, "", observed, ids, out);
}

/// [`diff`], with the function's code path (relative to the config folder) for its op.
pub fn diff_with_code(desired: &World, code: &str, observed: &World, ids: &Ids, out: &mut Vec<Change>) {
    let start = out.len();
    if let Some(f) = &desired.function {
        diff_function(f, code, observed.function.as_ref(), ids, out);
    }
    if let Some(a) = &desired.authorizer {
        diff_authorizer(a, observed.authorizer.as_ref(), ids, out);
    }
    if let Some(p) = &desired.permission {
        let function = desired.function.as_ref().map_or("", |f| f.name.as_str());
        diff_permission(p, function, observed.permission.as_ref(), ids, out);
    }
    diff_methods(&desired.methods, &observed.methods, out);
    if let Some(stage) = &desired.stage {
        diff_stage(&stage.name, &desired.methods, observed, start, out);
    }
}

fn diff_function(d: &FunctionState, code: &str, o: Option<&FunctionState>, ids: &Ids, out: &mut Vec<Change>) {
    let env: BTreeMap<&String, (Option<String>, String)> =
        d.environment.iter().map(|(k, v)| (k, (resolve(v, ids), shown(v, ids)))).collect();
    let Some(o) = o else {
        let mut fields = vec![
            fc("name", Value::Null, json!(d.name)),
            fc("runtime", Value::Null, json!(d.runtime)),
            fc("handler", Value::Null, json!(d.handler)),
            fc("role", Value::Null, json!(d.role)),
            fc("memory_mb", Value::Null, json!(d.memory_mb)),
            fc("timeout_seconds", Value::Null, json!(d.timeout_seconds)),
            fc("architecture", Value::Null, json!(d.architecture)),
            fc("code_sha256", Value::Null, json!(d.code_sha256)),
        ];
        fields.extend(env.iter().map(|(k, (_, s))| fc(format!("environment.{k}"), Value::Null, json!(s))));
        fields.extend(d.tags.iter().map(|(k, v)| fc(format!("tags.{k}"), Value::Null, json!(v))));
        out.push(Change {
            action: Action::Create,
            resource: Resource::LambdaFunction,
            address: FUNCTION_ADDRESS.into(),
            name: d.name.clone(),
            tenant: None,
            fields,
            op: Op::PutFunction {
                function: d.clone(),
                code: code.to_string(),
                create: true,
                update_code: true,
                update_config: true,
            },
        });
        return;
    };
    let mut config = Vec::new();
    if d.runtime != o.runtime {
        config.push(fc("runtime", json!(o.runtime), json!(d.runtime)));
    }
    if d.handler != o.handler {
        config.push(fc("handler", json!(o.handler), json!(d.handler)));
    }
    if d.role != o.role {
        config.push(fc("role", json!(o.role), json!(d.role)));
    }
    if d.memory_mb != o.memory_mb {
        config.push(fc("memory_mb", json!(o.memory_mb), json!(d.memory_mb)));
    }
    if d.timeout_seconds != o.timeout_seconds {
        config.push(fc("timeout_seconds", json!(o.timeout_seconds), json!(d.timeout_seconds)));
    }
    let keys: BTreeSet<&String> = env.keys().copied().chain(o.environment.keys()).collect();
    for k in keys {
        let before = o.environment.get(k);
        match env.get(k) {
            Some((resolved, shown)) if resolved.is_none() || resolved.as_ref() != before => {
                config.push(fc(format!("environment.{k}"), opt_json(before), json!(shown)))
            }
            None => config.push(fc(format!("environment.{k}"), opt_json(before), Value::Null)),
            Some(_) => {}
        }
    }
    // Tags: tenantctl sets its own and leaves others' alone.
    for (k, v) in &d.tags {
        if o.tags.get(k) != Some(v) {
            config.push(fc(format!("tags.{k}"), opt_json(o.tags.get(k)), json!(v)));
        }
    }
    let code_changed = !d.code_sha256.is_empty() && d.code_sha256 != o.code_sha256;
    // Lambda changes `Architectures` with UpdateFunctionCode (UpdateFunctionConfiguration has
    // no such field): a new architecture uploads the code again.
    let arch_changed = d.architecture != o.architecture;
    let update_code = code_changed || arch_changed;
    let update_config = !config.is_empty();
    if !update_code && !update_config {
        return;
    }
    let mut fields = Vec::new();
    if arch_changed {
        fields.push(fc("architecture", json!(o.architecture), json!(d.architecture)));
    }
    if code_changed {
        fields.push(fc("code_sha256", json!(o.code_sha256), json!(d.code_sha256)));
    }
    fields.extend(config);
    out.push(Change {
        action: Action::Update,
        resource: Resource::LambdaFunction,
        address: FUNCTION_ADDRESS.into(),
        name: d.name.clone(),
        tenant: None,
        fields,
        op: Op::PutFunction { function: d.clone(), code: code.to_string(), create: false, update_code, update_config },
    });
}

fn diff_authorizer(d: &AuthorizerConfig, o: Option<&AuthorizerConfig>, ids: &Ids, out: &mut Vec<Change>) {
    let arns_shown: BTreeSet<String> = d.provider_arns.iter().map(|a| shown(a, ids)).collect();
    let arns_resolved: Option<BTreeSet<String>> = d.provider_arns.iter().map(|a| resolve(a, ids)).collect();
    let (action, fields) = match o {
        None => {
            let mut f = vec![fc("name", Value::Null, json!(d.name)), fc("type", Value::Null, json!(d.auth_type))];
            if let Some(u) = &d.authorizer_uri {
                f.push(fc("authorizer_uri", Value::Null, json!(u)));
            }
            f.push(fc("identity_source", Value::Null, json!(d.identity_source)));
            if let Some(x) = &d.identity_validation_expression {
                f.push(fc("identity_validation_expression", Value::Null, json!(x)));
            }
            f.push(fc("result_ttl_seconds", Value::Null, json!(d.result_ttl_seconds)));
            if !d.provider_arns.is_empty() {
                f.push(fc("provider_arns", Value::Null, json!(arns_shown)));
            }
            (Action::Create, f)
        }
        Some(o) => {
            let mut f = Vec::new();
            if d.auth_type != o.auth_type {
                f.push(fc("type", json!(o.auth_type), json!(d.auth_type)));
            }
            if d.authorizer_uri != o.authorizer_uri {
                f.push(fc("authorizer_uri", opt_json(o.authorizer_uri.as_ref()), opt_json(d.authorizer_uri.as_ref())));
            }
            if d.identity_source != o.identity_source {
                f.push(fc("identity_source", json!(o.identity_source), json!(d.identity_source)));
            }
            if d.identity_validation_expression != o.identity_validation_expression {
                f.push(fc(
                    "identity_validation_expression",
                    opt_json(o.identity_validation_expression.as_ref()),
                    opt_json(d.identity_validation_expression.as_ref()),
                ));
            }
            if d.result_ttl_seconds != o.result_ttl_seconds {
                f.push(fc("result_ttl_seconds", json!(o.result_ttl_seconds), json!(d.result_ttl_seconds)));
            }
            if arns_resolved.as_ref() != Some(&o.provider_arns) {
                f.push(fc("provider_arns", json!(o.provider_arns), json!(arns_shown)));
            }
            if f.is_empty() {
                return;
            }
            (Action::Update, f)
        }
    };
    out.push(Change {
        action,
        resource: Resource::Authorizer,
        address: AUTHORIZER_ADDRESS.into(),
        name: d.name.clone(),
        tenant: None,
        fields,
        op: Op::PutAuthorizer { config: d.clone(), create: action == Action::Create },
    });
}

fn diff_permission(d: &PermissionState, function: &str, o: Option<&PermissionState>, ids: &Ids, out: &mut Vec<Change>) {
    let source_arn = d.source_arn.as_ref().map(|s| resolve(s, ids));
    let source_arn_shown = d.source_arn.as_ref().map(|s| shown(s, ids));
    let (action, fields, remove) = match o {
        None => (
            Action::Create,
            vec![
                fc("statement_id", Value::Null, json!(d.statement_id)),
                fc("action", Value::Null, json!(d.action)),
                fc("principal", Value::Null, json!(d.principal)),
                fc("source_arn", Value::Null, opt_json(source_arn_shown.as_ref())),
                fc("source_account", Value::Null, opt_json(d.source_account.as_ref())),
            ],
            Vec::new(),
        ),
        Some(o) => {
            let sids: Vec<String> = o.statement_id.split(',').map(str::to_string).collect();
            let mut f = Vec::new();
            if sids != [d.statement_id.clone()] {
                f.push(fc("statement_ids", json!(sids), json!([d.statement_id])));
            }
            if d.action != o.action {
                f.push(fc("action", json!(o.action), json!(d.action)));
            }
            if d.principal != o.principal {
                f.push(fc("principal", json!(o.principal), json!(d.principal)));
            }
            let arn_same = match &source_arn {
                None => o.source_arn.is_none(),
                Some(resolved) => resolved.is_some() && *resolved == o.source_arn,
            };
            if !arn_same {
                f.push(fc("source_arn", opt_json(o.source_arn.as_ref()), opt_json(source_arn_shown.as_ref())));
            }
            if d.source_account != o.source_account {
                f.push(fc("source_account", opt_json(o.source_account.as_ref()), opt_json(d.source_account.as_ref())));
            }
            if f.is_empty() {
                return;
            }
            (Action::Update, f, sids)
        }
    };
    out.push(Change {
        action,
        resource: Resource::LambdaPermission,
        address: PERMISSION_ADDRESS.into(),
        name: d.statement_id.clone(),
        tenant: None,
        fields,
        op: Op::PutPermission { function: function.to_string(), permission: d.clone(), remove },
    });
}

/// The desired methods with [`ALL_METHODS`] expanded to the observed ones.
fn wanted_methods<'a>(
    desired: &'a BTreeMap<String, MethodAuth>,
    observed: &'a BTreeMap<String, MethodAuth>,
) -> BTreeMap<&'a String, &'a MethodAuth> {
    let mut want: BTreeMap<&String, &MethodAuth> = BTreeMap::new();
    if let Some(all) = desired.get(ALL_METHODS) {
        for k in observed.keys() {
            want.insert(k, all);
        }
    }
    for (k, v) in desired.iter().filter(|(k, _)| *k != ALL_METHODS) {
        want.insert(k, v);
    }
    want
}

fn diff_methods(
    desired: &BTreeMap<String, MethodAuth>,
    observed: &BTreeMap<String, MethodAuth>,
    out: &mut Vec<Change>,
) {
    for (key, d) in wanted_methods(desired, observed) {
        let o = observed.get(key);
        if o == Some(d) {
            continue;
        }
        let mut fields = Vec::new();
        let before_type = o.map_or(Value::Null, |o| json!(o.authorization_type));
        if o.map(|o| &o.authorization_type) != Some(&d.authorization_type) {
            fields.push(fc("authorization_type", before_type, json!(d.authorization_type)));
        }
        if o.map(|o| &o.authorizer) != Some(&d.authorizer) {
            fields.push(fc(
                "authorizer",
                o.map_or(Value::Null, |o| opt_json(o.authorizer.as_ref())),
                opt_json(d.authorizer.as_ref()),
            ));
        }
        out.push(Change {
            action: Action::Update,
            resource: Resource::MethodAuth,
            address: method_address(key),
            name: key.clone(),
            tenant: None,
            fields,
            op: Op::SetMethodAuth { key: key.clone(), auth: d.clone() },
        });
    }
}

/// The stage (module docs): methods it serves stale, and the deployment apply makes after
/// the authorizer or method changes pushed since `start`.
fn diff_stage(
    stage: &str,
    desired: &BTreeMap<String, MethodAuth>,
    observed: &World,
    start: usize,
    out: &mut Vec<Change>,
) {
    let live = observed.stage.as_ref().filter(|s| s.name == stage && s.deployment_id.is_some());
    let live_id = live.and_then(|s| s.deployment_id.clone());
    let mut stale = Vec::new();
    for (key, d) in wanted_methods(desired, &observed.methods) {
        let served = live.and_then(|s| s.methods.get(key));
        if served == Some(&d.authorization_type) {
            continue;
        }
        let before = opt_json(served);
        stale.push(fc(format!("methods.{key}.authorization_type"), before.clone(), json!(d.authorization_type)));
        let field = fc(format!("stage.{stage}.authorization_type"), before, json!(d.authorization_type));
        match out[start..].iter_mut().find(|c| c.resource == Resource::MethodAuth && c.name == *key) {
            Some(c) => c.fields.push(field),
            // The draft is right, the stage serves something else: the method is drift all
            // the same. Its op sets the draft again (harmless); the deployment below fixes it.
            None => out.push(Change {
                action: Action::Update,
                resource: Resource::MethodAuth,
                address: method_address(key),
                name: key.clone(),
                tenant: None,
                fields: vec![field],
                op: Op::SetMethodAuth { key: key.clone(), auth: d.clone() },
            }),
        }
    }
    let api_changed = out[start..].iter().any(|c| matches!(c.resource, Resource::Authorizer | Resource::MethodAuth));
    if stale.is_empty() && !api_changed {
        return;
    }
    let mut fields = vec![fc("deployment_id", opt_json(live_id.as_ref()), json!(NEW_DEPLOYMENT))];
    fields.extend(stale);
    out.push(Change {
        action: if live_id.is_some() { Action::Update } else { Action::Create },
        resource: Resource::StageDeployment,
        address: stage_address(stage),
        name: stage.to_string(),
        tenant: None,
        fields,
        op: Op::DeployStage { stage: stage.to_string() },
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn env() -> RenderEnv {
        RenderEnv { account_id: "123456789012".into(), region: "us-east-1".into(), partition: "aws".into() }
    }

    fn folder() -> Folder {
        crate::spec::load_valid(Path::new(env!("CARGO_MANIFEST_DIR"))).expect("example folder is valid")
    }

    fn setup() -> (AuthorizerDesired, Ids) {
        let f = folder();
        let pools = desired::pools(&f, &env());
        let d = desired(&f, &env(), &pools, Some("c2hh".into()), Some("http://127.0.0.1:5000/")).unwrap();
        let mut ids = Ids::default();
        for (addr, pool) in &pools {
            ids.pools.insert(addr.clone(), format!("us-east-1_{}", addr.replace('/', "")));
            for c in pool.clients.keys() {
                ids.clients.insert(client_key(addr, c), format!("cid{}{c}", addr.replace('/', "")));
            }
        }
        ids.rest_api = Some("api123".into());
        ids.authorizer = Some("auth42".into());
        (d, ids)
    }

    /// The world the adapter would observe after a successful apply.
    fn applied(d: &AuthorizerDesired, ids: &Ids) -> World {
        let mut w = World::default();
        d.apply_to(&mut w);
        let mut f = w.function.take().unwrap();
        f.environment = f.environment.iter().map(|(k, v)| (k.clone(), resolve(v, ids).unwrap())).collect();
        w.function = Some(f);
        let mut p = w.permission.take().unwrap();
        p.source_arn = p.source_arn.map(|s| resolve(&s, ids).unwrap());
        w.permission = Some(p);
        w
    }

    fn changes(d: &AuthorizerDesired, o: &World, ids: &Ids) -> Vec<Change> {
        let mut out = Vec::new();
        d.diff(o, ids, &mut out);
        out
    }

    #[test]
    fn resolve_replaces_tokens() {
        let (_, ids) = setup();
        assert_eq!(
            resolve("a/{{rest_api_id}}/authorizers/{{authorizer_id}}", &ids).as_deref(),
            Some("a/api123/authorizers/auth42")
        );
        assert_eq!(resolve("{{pool_id:platform/pool}}", &ids).as_deref(), Some("us-east-1_platformpool"));
        assert_eq!(resolve("{{pool_id:tenant/nope/pool}}", &ids), None);
        assert_eq!(resolve("{{what}}", &ids), None);
        assert_eq!(resolve("http://x/{pool_id}/jwks", &ids).as_deref(), Some("http://x/{pool_id}/jwks"));
        assert_eq!(resolve("open {{ only", &ids).as_deref(), Some("open {{ only"));
    }

    #[test]
    fn desired_follows_the_contract() {
        let (d, ids) = setup();
        let (f, code) = d.function.as_ref().unwrap();
        assert_eq!(code, "authorizer.zip");
        assert_eq!(f.name, "acme-saas-authorizer");
        assert_eq!(f.handler, "bootstrap");
        assert_eq!(f.role, "arn:aws:iam::123456789012:role/tenantctl/acmesaas/acmesaas-authorizer");
        let e = |k: &str| resolve(&f.environment[k], &ids).unwrap();
        // Each issuer with what it may speak for: the shared pool `*`, a silo pool its tenant.
        assert_eq!(
            e("TENANTCTL_ISSUERS"),
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_platformpool=*,https://cognito-idp.us-east-1.amazonaws.com/us-east-1_tenantinitechpool=initech"
        );
        assert_eq!(e("TENANTCTL_CLIENT_IDS"), "cidplatformpoolweb,cidtenantinitechpoolweb");
        assert_eq!(e("TENANTCTL_ROLES"), "admin:1,member:10");
        // The example platform presents access tokens (authorizer.tokenUse: access).
        assert_eq!(e("TENANTCTL_TOKEN_USE"), "access");
        assert_eq!(f.architecture, "x86_64");
        assert_eq!(d.authorizer.identity_validation_expression.as_deref(), Some(BEARER_JWT_EXPRESSION));
        assert_eq!(e("TENANTCTL_JWKS_URL"), "http://127.0.0.1:5000/{pool_id}/.well-known/jwks.json");
        assert_eq!(f.tags["tenantctl:managed"], "true");
        assert_eq!(
            d.authorizer.authorizer_uri.as_deref(),
            Some("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:acme-saas-authorizer/invocations")
        );
        assert_eq!(
            resolve(d.permission.as_ref().unwrap().source_arn.as_ref().unwrap(), &ids).unwrap(),
            "arn:aws:execute-api:us-east-1:123456789012:api123/authorizers/auth42"
        );
        assert_eq!(
            d.methods["GET /orders"],
            MethodAuth { authorization_type: "CUSTOM".into(), authorizer: Some("tenant-authorizer".into()) }
        );
    }

    #[test]
    fn create_from_nothing_orders_all_four() {
        let (d, _) = setup();
        let mut o = World::default();
        o.methods.insert("GET /orders".into(), MethodAuth { authorization_type: "NONE".into(), authorizer: None });
        let c = changes(&d, &o, &Ids::default());
        let kinds: Vec<(Action, Resource)> = c.iter().map(|c| (c.action, c.resource)).collect();
        assert_eq!(
            kinds,
            vec![
                (Action::Create, Resource::LambdaFunction),
                (Action::Create, Resource::Authorizer),
                (Action::Create, Resource::LambdaPermission),
                (Action::Update, Resource::MethodAuth)
            ]
        );
        match &c[0].op {
            Op::PutFunction { code, create, update_code, .. } => {
                assert_eq!(code, "authorizer.zip");
                assert!(*create && *update_code);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(c[3].address, "platform/authorizer/method/GET /orders");
    }

    #[test]
    fn unchanged_means_no_change() {
        let (d, ids) = setup();
        let o = applied(&d, &ids);
        assert_eq!(changes(&d, &o, &ids), vec![]);
        check(&d, &o, &ids).unwrap();
    }

    #[test]
    fn env_drift_is_one_config_update() {
        let (d, ids) = setup();
        let mut o = applied(&d, &ids);
        let f = o.function.as_mut().unwrap();
        f.environment.insert("TENANTCTL_ISSUERS".into(), "https://evil.example".into());
        f.environment.insert("EXTRA".into(), "1".into());
        let c = changes(&d, &o, &ids);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].action, Action::Update);
        let paths: Vec<&str> = c[0].fields.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["environment.EXTRA", "environment.TENANTCTL_ISSUERS"]);
        assert_eq!(c[0].fields[0].after, Value::Null);
        match &c[0].op {
            Op::PutFunction { create, update_code, update_config, .. } => {
                assert!(!create && !update_code && *update_config)
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unresolved_ids_differ() {
        let (d, mut ids) = setup();
        let o = applied(&d, &ids);
        ids.pools.remove("tenant/initech/pool");
        let c = changes(&d, &o, &ids);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].fields[0].path, "environment.TENANTCTL_ISSUERS");
        assert!(c[0].fields[0].after.as_str().unwrap().contains("{{pool_id:tenant/initech/pool}}"));
    }

    #[test]
    fn code_drift_is_code_only() {
        let (d, ids) = setup();
        let mut o = applied(&d, &ids);
        o.function.as_mut().unwrap().code_sha256 = "b2xk".into();
        let c = changes(&d, &o, &ids);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].fields, vec![fc("code_sha256", json!("b2xk"), json!("c2hh"))]);
        match &c[0].op {
            Op::PutFunction { update_code, update_config, .. } => assert!(*update_code && !update_config),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn missing_zip_blocks_create_only() {
        let f = folder();
        let pools = desired::pools(&f, &env());
        let d = desired(&f, &env(), &pools, None, None).unwrap();
        let (_, ids) = setup();
        let err = check(&d, &World::default(), &ids).unwrap_err();
        assert!(err.contains("authorizer.function.code"), "{err}");
        // Existing function: the code is left as it is.
        let mut o = applied(&d, &ids);
        o.function.as_mut().unwrap().code_sha256 = "b2xk".into();
        check(&d, &o, &ids).unwrap();
        assert_eq!(changes(&d, &o, &ids), vec![]);
    }

    #[test]
    fn widened_permission_is_replaced() {
        let (d, ids) = setup();
        let mut o = applied(&d, &ids);
        // tenantctl's Sid twice (an emulator accepts duplicates): both go, one comes back.
        // Statements with other Sids are never observed (they are someone else's).
        let p = o.permission.as_mut().unwrap();
        p.statement_id = format!("{STATEMENT_ID},{STATEMENT_ID}");
        let c = changes(&d, &o, &ids);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].resource, Resource::LambdaPermission);
        assert_eq!(c[0].fields, vec![fc("statement_ids", json!([STATEMENT_ID, STATEMENT_ID]), json!([STATEMENT_ID]))]);
        match &c[0].op {
            Op::PutPermission { function, remove, permission } => {
                assert_eq!(function, "acme-saas-authorizer");
                assert_eq!(remove, &vec![STATEMENT_ID.to_string(), STATEMENT_ID.to_string()]);
                assert_eq!(permission, d.permission.as_ref().unwrap());
            }
            other => panic!("{other:?}"),
        }
        // A statement without SourceArn in tenantctl's own Sid.
        let mut o = applied(&d, &ids);
        o.permission.as_mut().unwrap().source_arn = None;
        let c = changes(&d, &o, &ids);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].fields[0].path, "source_arn");
        assert_eq!(c[0].fields[0].before, Value::Null);
    }

    #[test]
    fn method_drift_and_all_methods() {
        let (mut d, ids) = setup();
        let mut o = applied(&d, &ids);
        o.methods.insert("GET /orders".into(), MethodAuth { authorization_type: "NONE".into(), authorizer: None });
        let c = changes(&d, &o, &ids);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].resource, Resource::MethodAuth);
        assert_eq!(
            c[0].fields,
            vec![
                fc("authorization_type", json!("NONE"), json!("CUSTOM")),
                fc("authorizer", Value::Null, json!("tenant-authorizer"))
            ]
        );
        // methods: [] -> every observed method.
        let all = d.methods.remove("GET /orders").unwrap();
        d.methods.insert(ALL_METHODS.into(), all.clone());
        o.methods.insert("POST /orders".into(), all);
        let c = changes(&d, &o, &ids);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].name, "GET /orders");
    }

    #[test]
    fn authorizer_drift() {
        let (d, ids) = setup();
        let mut o = applied(&d, &ids);
        o.authorizer.as_mut().unwrap().result_ttl_seconds = 0;
        let c = changes(&d, &o, &ids);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].fields, vec![fc("result_ttl_seconds", json!(0), json!(300))]);
        assert_eq!(c[0].op, Op::PutAuthorizer { config: d.authorizer.clone(), create: false });
    }

    fn stage_setup(stage: &str) -> (AuthorizerDesired, Ids, World) {
        let (mut d, ids) = setup();
        d.stage = Some(stage.to_string());
        let mut o = applied(&d, &ids);
        o.stage = Some(StageState {
            name: stage.into(),
            deployment_id: Some("dep1".into()),
            methods: BTreeMap::from([("GET /orders".to_string(), "CUSTOM".to_string())]),
        });
        (d, ids, o)
    }

    #[test]
    fn no_stage_no_deployment() {
        let (d, ids) = setup();
        assert_eq!(d.stage, None);
        let mut o = applied(&d, &ids);
        o.authorizer.as_mut().unwrap().result_ttl_seconds = 0;
        let c = changes(&d, &o, &ids);
        assert_eq!(c.len(), 1);
        assert!(c.iter().all(|c| c.resource != Resource::StageDeployment));
    }

    #[test]
    fn stage_serving_the_authorizer_is_clean() {
        let (d, ids, o) = stage_setup("prod");
        assert_eq!(changes(&d, &o, &ids), vec![]);
    }

    #[test]
    fn stage_serving_a_method_without_the_authorizer_is_drift_and_deployed() {
        let (d, ids, mut o) = stage_setup("prod");
        // The draft is right; the stage still serves the method unguarded.
        o.stage.as_mut().unwrap().methods.insert("GET /orders".into(), "NONE".into());
        let c = changes(&d, &o, &ids);
        let kinds: Vec<(Action, Resource, &str)> =
            c.iter().map(|c| (c.action, c.resource, c.address.as_str())).collect();
        assert_eq!(
            kinds,
            vec![
                (Action::Update, Resource::MethodAuth, "platform/authorizer/method/GET /orders"),
                (Action::Update, Resource::StageDeployment, "platform/authorizer/stage/prod"),
            ]
        );
        assert_eq!(c[0].fields, vec![fc("stage.prod.authorization_type", json!("NONE"), json!("CUSTOM"))]);
        assert_eq!(
            c[1].fields,
            vec![
                fc("deployment_id", json!("dep1"), json!(NEW_DEPLOYMENT)),
                fc("methods.GET /orders.authorization_type", json!("NONE"), json!("CUSTOM"))
            ]
        );
        assert_eq!(c[1].op, Op::DeployStage { stage: "prod".into() });
        assert!(
            Op::DeployStage { stage: "prod".into() }.phase()
                > Op::SetMethodAuth { key: String::new(), auth: d.methods["GET /orders"].clone() }.phase()
        );
        // A method the stage does not serve at all is drift too.
        o.stage.as_mut().unwrap().methods.clear();
        let c = changes(&d, &o, &ids);
        assert_eq!(c[0].fields, vec![fc("stage.prod.authorization_type", Value::Null, json!("CUSTOM"))]);
        // Draft and stage both wrong: one method change with both fields.
        o.methods.insert("GET /orders".into(), MethodAuth { authorization_type: "NONE".into(), authorizer: None });
        let c = changes(&d, &o, &ids);
        assert_eq!(c.len(), 2);
        let paths: Vec<&str> = c[0].fields.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["authorization_type", "authorizer", "stage.prod.authorization_type"]);
    }

    #[test]
    fn authorizer_or_method_change_deploys_the_stage() {
        let (d, ids, mut o) = stage_setup("prod");
        o.authorizer.as_mut().unwrap().result_ttl_seconds = 0;
        let c = changes(&d, &o, &ids);
        let kinds: Vec<Resource> = c.iter().map(|c| c.resource).collect();
        assert_eq!(kinds, vec![Resource::Authorizer, Resource::StageDeployment]);
        assert_eq!(c[1].fields, vec![fc("deployment_id", json!("dep1"), json!(NEW_DEPLOYMENT))]);
        // A function or permission change alone needs no deployment.
        let (d, ids, mut o) = stage_setup("prod");
        o.function.as_mut().unwrap().memory_mb = 512;
        let c = changes(&d, &o, &ids);
        assert_eq!(c.iter().map(|c| c.resource).collect::<Vec<_>>(), vec![Resource::LambdaFunction]);
        // A stage that does not exist yet is created by the deployment.
        let (d, ids, mut o) = stage_setup("prod");
        o.stage = Some(StageState { name: "prod".into(), deployment_id: None, methods: BTreeMap::new() });
        let c = changes(&d, &o, &ids);
        assert_eq!(c.last().map(|c| (c.action, c.resource)), Some((Action::Create, Resource::StageDeployment)));
    }

    #[test]
    fn issuers_and_arns_follow_the_partition() {
        let f = folder();
        let cn =
            RenderEnv { account_id: "123456789012".into(), region: "cn-north-1".into(), partition: "aws-cn".into() };
        let pools = desired::pools(&f, &cn);
        let d = desired(&f, &cn, &pools, Some("c2hh".into()), None).unwrap();
        let (fun, _) = d.function.as_ref().unwrap();
        let issuers = &fun.environment["TENANTCTL_ISSUERS"];
        for iss in issuers.split(',') {
            assert!(iss.starts_with("https://cognito-idp.cn-north-1.amazonaws.com.cn/"), "{iss}");
        }
        assert!(fun.role.starts_with("arn:aws-cn:iam::"), "{}", fun.role);
        assert!(d
            .authorizer
            .authorizer_uri
            .as_ref()
            .unwrap()
            .starts_with("arn:aws-cn:apigateway:cn-north-1:lambda:path/"));
        assert!(d.authorizer.authorizer_uri.as_ref().unwrap().contains("functions/arn:aws-cn:lambda:cn-north-1:"));
        assert!(d
            .permission
            .as_ref()
            .unwrap()
            .source_arn
            .as_ref()
            .unwrap()
            .starts_with("arn:aws-cn:execute-api:cn-north-1:"));
        assert!(!fun.environment.contains_key("TENANTCTL_JWKS_URL"), "no emulator: keys come from the issuer");
    }

    #[test]
    fn jwks_url_only_in_emulator_mode() {
        assert_eq!(jwks_endpoint(None, Some("http://127.0.0.1:5000")), Ok(None));
        assert_eq!(jwks_endpoint(Some("0"), Some("http://127.0.0.1:5000")), Ok(None));
        assert_eq!(
            jwks_endpoint(Some("1"), Some("http://127.0.0.1:5000")).unwrap().as_deref(),
            Some("http://127.0.0.1:5000")
        );
        assert!(jwks_endpoint(Some("1"), None).unwrap_err().contains("--endpoint-url"));
        assert!(jwks_endpoint(Some("yes"), Some("http://x")).is_err());
    }

    #[test]
    fn architecture_is_planned_and_uploads_the_code() {
        let (d, ids) = setup();
        let mut o = applied(&d, &ids);
        o.function.as_mut().unwrap().architecture = "arm64".into();
        let c = changes(&d, &o, &ids);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].fields, vec![fc("architecture", json!("arm64"), json!("x86_64"))]);
        match &c[0].op {
            Op::PutFunction { function, update_code, update_config, .. } => {
                assert!(*update_code && !update_config);
                assert_eq!(function.architecture, "x86_64");
            }
            other => panic!("{other:?}"),
        }
        // Created with its architecture.
        let c = changes(&d, &World::default(), &ids);
        assert!(c[0].fields.contains(&fc("architecture", Value::Null, json!("x86_64"))));
        // Without the zip the architecture cannot change: check says so.
        let f = folder();
        let pools = desired::pools(&f, &env());
        let nozip = desired(&f, &env(), &pools, None, None).unwrap();
        let err = check(&nozip, &o, &ids).unwrap_err();
        assert!(err.contains("authorizer.function.architecture"), "{err}");
    }

    #[test]
    fn identity_validation_expression_is_a_bearer_jwt() {
        let re = regex::Regex::new(BEARER_JWT_EXPRESSION).unwrap();
        assert!(re.is_match("Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln-_x"));
        for bad in [
            "garbage",
            "Bearer a.b",
            "Bearer a.b.c.d",
            "Bearer a.b.c ",
            "Basic a.b.c",
            "Bearer a.b.c\nx",
            "Bearer a.b.c==",
        ] {
            assert!(!re.is_match(bad), "{bad:?}");
        }
        // The authorizer accepts what passes the expression.
        assert_eq!(tenantctl_authorizer_bearer("Bearer a.b.c"), "a.b.c");
        let (d, ids) = setup();
        let mut o = applied(&d, &ids);
        o.authorizer.as_mut().unwrap().identity_validation_expression = None;
        let c = changes(&d, &o, &ids);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].fields, vec![fc("identity_validation_expression", Value::Null, json!(BEARER_JWT_EXPRESSION))]);
    }

    /// `authorizer/src/apigw.rs` `bearer_token` strips `Bearer ` (any case): the expression's
    /// prefix is one it accepts.
    fn tenantctl_authorizer_bearer(h: &str) -> &str {
        h.strip_prefix("Bearer ").unwrap_or(h)
    }

    fn validate_with(edit: impl Fn(String) -> String) -> Vec<String> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let dir = tempfile::tempdir().unwrap();
        for sub in ["tenants", "policies"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
            for e in std::fs::read_dir(root.join(sub)).unwrap() {
                let e = e.unwrap();
                std::fs::copy(e.path(), dir.path().join(sub).join(e.file_name())).unwrap();
            }
        }
        let pf = dir.path().join("tenants/platform.yaml");
        let text = std::fs::read_to_string(&pf).unwrap();
        std::fs::write(&pf, edit(text)).unwrap();
        match crate::spec::load_valid(dir.path()) {
            Ok(_) => Vec::new(),
            Err(e) => e.0.iter().map(|d| format!("{}: {}", d.location(), d.message)).collect(),
        }
    }

    #[test]
    fn validate_authorizer_fields() {
        assert_eq!(validate_with(|t| t), Vec::<String>::new());
        let errs = validate_with(|t| t.replace("tokenUse: access", "tokenUse: refresh"));
        assert!(errs.len() == 1 && errs[0].contains("tokenUse") && errs[0].contains("platform.yaml:"), "{errs:?}");
        let errs =
            validate_with(|t| t.replace("    timeoutSeconds: 5\n", "    timeoutSeconds: 5\n    architecture: arm\n"));
        assert!(errs.len() == 1 && errs[0].contains("architecture `arm`"), "{errs:?}");
        assert_eq!(
            validate_with(|t| t.replace("    timeoutSeconds: 5\n", "    timeoutSeconds: 5\n    architecture: arm64\n")),
            Vec::<String>::new()
        );
        let errs =
            validate_with(|t| t.replace("  resultTtlSeconds: 300\n", "  resultTtlSeconds: 300\n  stage: pr-od\n"));
        assert!(errs.len() == 1 && errs[0].contains("stage name"), "{errs:?}");
        assert_eq!(
            validate_with(|t| t.replace("  resultTtlSeconds: 300\n", "  resultTtlSeconds: 300\n  stage: prod\n")),
            Vec::<String>::new()
        );
    }

    #[test]
    fn cache_ttl_is_capped_by_token_validity() {
        // access 5m: a 300 s cache is fine, 301 s outlives the token.
        let short = |ttl: &'static str| {
            move |t: String| {
                t.replace("access: 60m", "access: 5m")
                    .replace("resultTtlSeconds: 300", &format!("resultTtlSeconds: {ttl}"))
            }
        };
        assert_eq!(validate_with(short("300")), Vec::<String>::new());
        let errs = validate_with(short("301"));
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(
            errs[0].contains("resultTtlSeconds 301") && errs[0].contains("access token validity of app client `web`"),
            "{errs:?}"
        );
        // The place is the resultTtlSeconds line.
        let text =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tenants/platform.yaml")).unwrap();
        let line = text.lines().position(|l| l.contains("resultTtlSeconds")).unwrap() + 1;
        assert!(errs[0].contains(&format!("platform.yaml:{line}:")), "{errs:?}");
        // Without a tokenValidity, Cognito's 60 minutes cap it; 3600 is the hard limit.
        let errs = validate_with(|t| {
            t.replace("      tokenValidity: {access: 60m, id: 60m, refresh: 30d}\n", "")
                .replace("resultTtlSeconds: 300", "resultTtlSeconds: 3600")
        });
        assert_eq!(errs, Vec::<String>::new());
        let errs = validate_with(|t| {
            t.replace("id: 60m", "id: 30m").replace("resultTtlSeconds: 300", "resultTtlSeconds: 3600")
        });
        assert!(errs.len() == 1 && errs[0].contains("ID token validity"), "{errs:?}");
        let errs = validate_with(|t| t.replace("resultTtlSeconds: 300", "resultTtlSeconds: 3601"));
        assert!(errs.len() == 1 && errs[0].contains("0..3600"), "{errs:?}");
    }
}
