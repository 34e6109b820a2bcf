//! The authorizer wiring, pure: its desired state (from the folder, the pools and the code's
//! hash) and its diff against what the adapter observed. No AWS types, no async.
//!
//! # Ids that are not known yet: references
//!
//! The function's environment names user pools and app clients by id, the invoke permission
//! names the REST API and the authorizer by id, and a Cognito authorizer lists pool ARNs. On a
//! first apply none of these exist when the plan is made, so the desired state holds
//! [`Text`] values with references ([`crate::state::Ref`]) to those resources' addresses,
//! looked up in [`Ids`]. The diff resolves them with the ids known at plan time and compares
//! the result with the observed value; a value that cannot be resolved yet always differs and
//! shows [`crate::state::UNKNOWN`] in the plan. The ops carry the references, and the adapter
//! resolves them with the ids known when it runs (an earlier step of the same apply may have
//! created the pool or the authorizer); a reference still unresolved then is an error.
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
//! duplicates), the observed `copies` counts them; the diff then removes them and adds the
//! one statement again.
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

use serde_json::{json, Value};

use crate::plan::{Action, Change, FieldChange, Op, Resource};
pub use crate::state::wiring::*;
use crate::state::{AuthorizerConfig, FunctionState, Ids, MethodAuth, PermissionState, World};

/// Problems that stop `plan`/`apply` before anything runs: the code zip missing when the
/// function must be created, a Cognito authorizer without any pool, an environment over
/// Lambda's 4 KB. The message names the field.
pub fn check(desired: &World, observed: &World, ids: &Ids) -> Result<(), String> {
    if let Some(f) = &desired.function {
        let code = f.code.as_deref().unwrap_or("");
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
        let size: usize = f.environment.iter().map(|(k, v)| k.len() + v.shown(ids).len()).sum();
        if size > MAX_ENV_BYTES {
            return Err(format!(
                "authorizer.function: its environment (issuers and client ids of {} pools) would be about {size} bytes, over Lambda's {MAX_ENV_BYTES}-byte limit",
                f.environment.get("TENANTCTL_ISSUERS").map_or(0, |v| v.shown(ids).split(',').count())
            ));
        }
    }
    if let Some(a) = &desired.authorizer {
        if a.auth_type == "COGNITO_USER_POOLS" && a.provider_arns.is_empty() {
            return Err("authorizer: a cognito authorizer needs at least one user pool; declare a tenant first".into());
        }
    }
    Ok(())
}

fn fc(path: impl Into<String>, before: Value, after: Value) -> FieldChange {
    FieldChange { path: path.into(), before, after }
}

fn opt_json(v: Option<&String>) -> Value {
    v.map_or(Value::Null, |s| json!(s))
}

/// Changes for the function, permission, authorizer, method authorization and stage.
pub fn diff(desired: &World, observed: &World, ids: &Ids, out: &mut Vec<Change>) {
    let start = out.len();
    if let Some(f) = &desired.function {
        diff_function(f, observed.function.as_ref(), ids, out);
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

fn diff_function(d: &FunctionState, o: Option<&FunctionState>, ids: &Ids, out: &mut Vec<Change>) {
    let code = d.code.as_deref().unwrap_or("");
    let env: BTreeMap<&String, (Option<String>, String)> =
        d.environment.iter().map(|(k, v)| (k, (v.resolve(ids), v.shown(ids)))).collect();
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
        let before = o.environment.get(k).map(|t| t.shown(ids));
        let before = before.as_ref();
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
    let arns_shown: BTreeSet<String> = d.provider_arns.iter().map(|a| a.shown(ids)).collect();
    let arns_resolved: Option<BTreeSet<String>> = d.provider_arns.iter().map(|a| a.resolve(ids)).collect();
    let live_arns: BTreeSet<String> =
        o.map(|o| o.provider_arns.iter().map(|a| a.shown(ids)).collect()).unwrap_or_default();
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
            if arns_resolved.as_ref() != Some(&live_arns) {
                f.push(fc("provider_arns", json!(live_arns), json!(arns_shown)));
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
    let source_arn = d.source_arn.as_ref().map(|s| s.resolve(ids));
    let source_arn_shown = d.source_arn.as_ref().map(|s| s.shown(ids));
    let live_arn = o.and_then(|o| o.source_arn.as_ref()).map(|s| s.shown(ids));
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
            let sids: Vec<String> = vec![o.statement_id.clone(); o.copies];
            let mut f = Vec::new();
            if o.statement_id != d.statement_id || o.copies != 1 {
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
                Some(resolved) => resolved.is_some() && *resolved == live_arn,
            };
            if !arn_same {
                f.push(fc("source_arn", opt_json(live_arn.as_ref()), opt_json(source_arn_shown.as_ref())));
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
