//! API Gateway + Lambda adapter for the tenant authorizer.
//!
//! `observe` reads the REST API (which must exist: tenantctl wires an authorizer into an API,
//! it never creates one), its authorizer (by name), the guarded methods, and for a Lambda
//! authorizer the function and tenantctl's statement of its resource policy; with
//! `authorizer.stage`, what that stage serves (`GetStage`, then `GetDeployment` with
//! `embed=apisummary`). `execute` runs one `PutFunction`, `PutAuthorizer`, `PutPermission`,
//! `SetMethodAuth` or `DeployStage`, resolving the ids tokens of [`crate::plan::authorizer`]
//! with the ids known at that moment.
//!
//! Observed shapes (see the plan module's docs): `methods: []` reads every method but
//! `OPTIONS` into `world.methods`; only statements with tenantctl's Sid are read (several
//! with that Sid are folded into one `PermissionState` whose `statement_id` lists them
//! joined by `,`); other statements belong to others and are left alone.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};

use aws_sdk_apigateway::types::{AuthorizerType, Op as PatchOp, PatchOperation};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Architecture, Environment, FunctionCode, LastUpdateStatus, Runtime};
use serde_json::Value;
use tokio::sync::Mutex;

use super::{call_err, Aws, AwsError, Category};
use crate::plan::Op;
use crate::spec::model::AuthorizerSpec;
use crate::state::wiring::{
    method_address, method_key, ALL_METHODS, APIGW_PRINCIPAL, AUTHORIZER_ADDRESS, FUNCTION_ADDRESS, REST_API_ADDRESS,
    STATEMENT_ID,
};
use crate::state::Text;
use crate::state::{AuthorizerConfig, FunctionState, Ids, MethodAuth, PermissionState, StageState, World};

/// How long a Lambda call is retried while IAM propagates a new execution role, or while an
/// earlier update of the function is still in progress.
const PAGE: i32 = 500;

/// Reads the REST API's authorizer, its function, permission and the listed methods.
pub async fn observe(aws: &Aws, spec: &AuthorizerSpec, world: &mut World, ids: &mut Ids) -> Result<(), AwsError> {
    let api = find_rest_api(aws, &spec.rest_api).await?;
    ids.set(REST_API_ADDRESS, api.clone());

    // Authorizers: ours by name; every id -> name, to name the authorizer of each method.
    let mut names: HashMap<String, String> = HashMap::new();
    let mut position: Option<String> = None;
    loop {
        aws.limiter.acquire(Category::ApiGateway).await;
        let out = aws
            .apigw
            .get_authorizers()
            .rest_api_id(&api)
            .limit(PAGE)
            .set_position(position.clone())
            .send()
            .await
            .map_err(|e| call_err("apigateway:GetAuthorizers", e))?;
        for a in out.items() {
            let (Some(id), Some(name)) = (a.id(), a.name()) else {
                continue;
            };
            names.insert(id.to_string(), name.to_string());
            if name != spec.name {
                continue;
            }
            if let Some(other) = ids.id(AUTHORIZER_ADDRESS) {
                return Err(AwsError::Other(format!(
                    "REST API {api} has several authorizers named `{name}` ({other}, {id}); delete the extra one, tenantctl manages exactly one"
                )));
            }
            ids.set(AUTHORIZER_ADDRESS, id);
            world.authorizer = Some(AuthorizerConfig {
                name: name.to_string(),
                auth_type: a.r#type().map(|t| t.as_str().to_string()).unwrap_or_default(),
                authorizer_uri: a.authorizer_uri().map(str::to_string),
                identity_source: a.identity_source().unwrap_or_default().to_string(),
                identity_validation_expression: a
                    .identity_validation_expression()
                    .filter(|x| !x.is_empty())
                    .map(str::to_string),
                result_ttl_seconds: a.authorizer_result_ttl_in_seconds().unwrap_or(300),
                provider_arns: a.provider_arns().iter().map(Text::from).collect(),
            });
        }
        position = out.position().map(str::to_string);
        if position.is_none() || out.items().is_empty() {
            break;
        }
    }

    // Methods: "METHOD /path" -> (resource id, authorization type, authorizer id).
    type Found = (String, Option<String>, Option<String>);
    let mut found: BTreeMap<String, Found> = BTreeMap::new();
    let mut position: Option<String> = None;
    loop {
        // GetResources has its own quota (5 requests per 2 s): `limits::OPERATIONS`.
        aws.limiter.acquire_op("apigateway:GetResources", None).await;
        let out = aws
            .apigw
            .get_resources()
            .rest_api_id(&api)
            .limit(PAGE)
            .embed("methods")
            .set_position(position.clone())
            .send()
            .await
            .map_err(|e| call_err("apigateway:GetResources", e))?;
        for r in out.items() {
            let (Some(id), Some(path)) = (r.id(), r.path()) else {
                continue;
            };
            for (verb, m) in r.resource_methods().into_iter().flatten() {
                found.insert(
                    method_key(verb, path),
                    (id.to_string(), m.authorization_type().map(str::to_string), m.authorizer_id().map(str::to_string)),
                );
            }
        }
        position = out.position().map(str::to_string);
        if position.is_none() || out.items().is_empty() {
            break;
        }
    }
    let wanted: Vec<String> = if spec.methods.is_empty() {
        found.keys().filter(|k| !k.starts_with("OPTIONS ")).cloned().collect()
    } else {
        spec.methods.iter().map(|m| method_key(&m.method, &m.path)).collect()
    };
    for (key, (rid, _, _)) in &found {
        ids.set(method_address(key), rid.clone());
    }
    for key in wanted {
        let Some((rid, auth_type, auth_id)) = found.get(&key).cloned() else {
            return Err(AwsError::Other(format!(
                "authorizer.methods: {key} does not exist on REST API `{}` ({api}); create the method first, or remove it from the list",
                spec.rest_api
            )));
        };
        // Without method details in the listing (embed not honoured), ask for the method.
        let (auth_type, auth_id) = match auth_type {
            Some(t) => (t, auth_id),
            None => {
                let verb = key.split_once(' ').map_or(key.as_str(), |(v, _)| v);
                aws.limiter.acquire(Category::ApiGateway).await;
                let m = aws
                    .apigw
                    .get_method()
                    .rest_api_id(&api)
                    .resource_id(&rid)
                    .http_method(verb)
                    .send()
                    .await
                    .map_err(|e| call_err("apigateway:GetMethod", e))?;
                (m.authorization_type().unwrap_or("NONE").to_string(), m.authorizer_id().map(str::to_string))
            }
        };
        let authorizer = match auth_type.as_str() {
            "CUSTOM" | "COGNITO_USER_POOLS" => {
                auth_id.map(|id| names.get(&id).cloned().unwrap_or_else(|| format!("(unknown authorizer {id})")))
            }
            _ => None,
        };
        world.methods.insert(key, MethodAuth { authorization_type: auth_type, authorizer });
    }
    if let Some(stage) = &spec.stage {
        world.stage = Some(observe_stage(aws, &api, stage).await?);
    }

    let Some(fspec) = &spec.function else {
        return Ok(());
    };
    aws.limiter.acquire(Category::Lambda).await;
    let out = match aws.lambda.get_function().function_name(&fspec.name).send().await {
        Ok(out) => out,
        Err(e) => {
            let e = call_err("lambda:GetFunction", e);
            return if e.is_not_found() { Ok(()) } else { Err(e) };
        }
    };
    let Some(c) = out.configuration() else {
        return Ok(());
    };
    if let Some(arn) = c.function_arn() {
        ids.set(FUNCTION_ADDRESS, arn);
    }
    world.function = Some(FunctionState {
        name: c.function_name().unwrap_or(&fspec.name).to_string(),
        runtime: c.runtime().map(|r| r.as_str().to_string()).unwrap_or_default(),
        handler: c.handler().unwrap_or_default().to_string(),
        role: c.role().unwrap_or_default().to_string(),
        memory_mb: c.memory_size().unwrap_or(128),
        timeout_seconds: c.timeout().unwrap_or(3),
        architecture: c.architectures().first().map_or("x86_64", |a| a.as_str()).to_string(),
        code_sha256: c.code_sha256().unwrap_or_default().to_string(),
        environment: c
            .environment()
            .and_then(|e| e.variables())
            .map(|v| v.iter().map(|(k, v)| (k.clone(), Text::from(v))).collect())
            .unwrap_or_default(),
        tags: out.tags().map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default(),
        code: None,
    });

    aws.limiter.acquire(Category::Lambda).await;
    match aws.lambda.get_policy().function_name(&fspec.name).send().await {
        Ok(p) => {
            let doc: Value = p.policy().and_then(|s| serde_json::from_str(s).ok()).ok_or_else(|| {
                AwsError::Other(format!("lambda:GetPolicy of {}: the policy is not JSON", fspec.name))
            })?;
            world.permission = apigateway_permission(&doc);
        }
        Err(e) => {
            let e = call_err("lambda:GetPolicy", e);
            if !e.is_not_found() {
                return Err(e);
            }
        }
    }
    Ok(())
}

/// What `stage` serves: its deployment and, from `GetDeployment` with `embed=apisummary`, each
/// deployed method's authorization type. A stage that does not exist has no deployment.
async fn observe_stage(aws: &Aws, api: &str, stage: &str) -> Result<StageState, AwsError> {
    let mut state = StageState { name: stage.to_string(), ..StageState::default() };
    aws.limiter.acquire(Category::ApiGateway).await;
    let deployment = match aws.apigw.get_stage().rest_api_id(api).stage_name(stage).send().await {
        Ok(out) => out.deployment_id().map(str::to_string),
        Err(e) => {
            let e = call_err("apigateway:GetStage", e);
            if e.is_not_found() {
                return Ok(state);
            }
            return Err(e);
        }
    };
    let Some(id) = deployment else {
        return Ok(state);
    };
    aws.limiter.acquire(Category::ApiGateway).await;
    let out = aws
        .apigw
        .get_deployment()
        .rest_api_id(api)
        .deployment_id(&id)
        .embed("apisummary")
        .send()
        .await
        .map_err(|e| call_err("apigateway:GetDeployment", e))?;
    let summary = out.api_summary().ok_or_else(|| {
        AwsError::Other(format!(
            "apigateway:GetDeployment of {api} deployment {id} (stage {stage}) returned no apiSummary for embed=apisummary"
        ))
    })?;
    for (path, methods) in summary {
        for (verb, m) in methods {
            state.methods.insert(method_key(verb, path), m.authorization_type().unwrap_or("NONE").to_string());
        }
    }
    state.deployment_id = Some(id);
    Ok(state)
}

/// The REST API's id, from its id or its (unique) name.
async fn find_rest_api(aws: &Aws, wanted: &str) -> Result<String, AwsError> {
    let mut by_name = Vec::new();
    let mut position: Option<String> = None;
    loop {
        aws.limiter.acquire(Category::ApiGateway).await;
        let out = aws
            .apigw
            .get_rest_apis()
            .limit(PAGE)
            .set_position(position.clone())
            .send()
            .await
            .map_err(|e| call_err("apigateway:GetRestApis", e))?;
        for a in out.items() {
            if a.id() == Some(wanted) {
                return Ok(wanted.to_string());
            }
            if a.name() == Some(wanted) {
                by_name.extend(a.id().map(str::to_string));
            }
        }
        position = out.position().map(str::to_string);
        if position.is_none() || out.items().is_empty() {
            break;
        }
    }
    match by_name.len() {
        1 => Ok(by_name.remove(0)),
        0 => Err(AwsError::Other(format!(
            "REST API `{wanted}` (authorizer.restApi) not found in {}\n  hint: the REST API must exist already; tenantctl only wires the authorizer into it. Name it by its name or id.",
            aws.ctx.region
        ))),
        _ => Err(AwsError::Other(format!(
            "{} REST APIs are named `{wanted}` ({})\n  hint: set authorizer.restApi to the id of the one to use",
            by_name.len(),
            by_name.join(", ")
        ))),
    }
}

/// tenantctl's statement(s) of a function's resource policy (Sid [`STATEMENT_ID`]), folded
/// into one state (module docs); None when there is none. Every other statement, API
/// Gateway's included, is someone else's.
pub fn apigateway_permission(policy: &Value) -> Option<PermissionState> {
    let statements: Vec<&Value> = match policy.get("Statement") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(v @ Value::Object(_)) => vec![v],
        _ => return None,
    };
    let as_list = |v: Option<&Value>| -> Vec<String> {
        match v {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
            _ => Vec::new(),
        }
    };
    let condition = |s: &Value, key: &str| -> Option<String> {
        let conds = s.get("Condition")?.as_object()?;
        conds.values().filter_map(Value::as_object).find_map(|m| {
            m.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).and_then(|(_, v)| as_list(Some(v)).into_iter().next())
        })
    };
    let mut states: Vec<PermissionState> = Vec::new();
    for s in statements {
        let principals = match s.get("Principal") {
            Some(Value::Object(p)) => as_list(p.get("Service")),
            _ => Vec::new(),
        };
        if s.get("Sid").and_then(Value::as_str) != Some(STATEMENT_ID) {
            continue;
        }
        states.push(PermissionState {
            statement_id: STATEMENT_ID.to_string(),
            copies: 1,
            action: as_list(s.get("Action")).join(","),
            // What the statement really allows (a changed principal is drift).
            principal: if principals.iter().any(|p| p == APIGW_PRINCIPAL) || principals.is_empty() {
                APIGW_PRINCIPAL.to_string()
            } else {
                principals.join(",")
            },
            source_arn: condition(s, "AWS:SourceArn").map(Text::from),
            source_account: condition(s, "AWS:SourceAccount"),
        });
    }
    let copies = states.len();
    let mut state = states.into_iter().next()?;
    state.copies = copies;
    Some(state)
}

/// Executes one authorizer-related op (`PutFunction`, `PutAuthorizer`, `PutPermission`,
/// `SetMethodAuth`, `DeployStage`).
pub async fn execute(aws: &Aws, op: &Op, ids: &Mutex<Ids>, config_dir: &Path) -> Result<(), AwsError> {
    match op {
        Op::PutFunction { function, code, create, update_code, update_config } => {
            put_function(aws, function, code, *create, *update_code, *update_config, ids, config_dir).await
        }
        Op::PutAuthorizer { config, create } => put_authorizer(aws, config, *create, ids).await,
        Op::PutPermission { function, permission, remove } => {
            put_permission(aws, function, permission, remove, ids).await
        }
        Op::SetMethodAuth { key, auth } => set_method_auth(aws, key, auth, ids).await,
        Op::DeployStage { stage } => deploy_stage(aws, stage, ids).await,
        other => Err(AwsError::Other(format!("not an authorizer op: {other:?}"))),
    }
}

fn resolved(value: &Text, ids: &Ids, what: &str) -> Result<String, AwsError> {
    value.resolve(ids).ok_or_else(|| {
        AwsError::Other(format!(
            "{what}: `{}` names an id that is not known (a pool, app client, REST API or authorizer that was not created)",
            value.shown(ids)
        ))
    })
}

/// The id of the resource at `address`, which must be known by now.
fn known(ids: &Ids, address: &str, what: &str) -> Result<String, AwsError> {
    ids.id(address)
        .map(str::to_string)
        .ok_or_else(|| AwsError::Other(format!("{what}: its id is not known (observe first)")))
}

/// Retries `f` while IAM propagates a new role or an earlier function update runs.
async fn retrying<T, F, Fut>(mut f: F) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AwsError>>,
{
    let deadline = Instant::now() + super::propagation_window();
    let mut delay = Duration::from_secs(1);
    loop {
        match f().await {
            Err(AwsError::Call { code, message, .. })
                if is_transient(&code, &message) && Instant::now() + delay < deadline =>
            {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(8));
            }
            other => return other,
        }
    }
}

fn is_transient(code: &str, message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    (code == "InvalidParameterValueException" && m.contains("cannot be assumed"))
        || (code == "ResourceConflictException"
            && (m.contains("in progress") || m.contains("cannot be performed at this time")))
}

fn read_code(config_dir: &Path, code: &str) -> Result<Vec<u8>, AwsError> {
    if code.is_empty() {
        return Err(AwsError::Other(
            "PutFunction without a code path (plan it with plan::authorizer::AuthorizerDesired::diff)".into(),
        ));
    }
    let path = config_dir.join(code);
    std::fs::read(&path)
        .map_err(|e| AwsError::Other(format!("authorizer.function.code: cannot read {}: {e}", path.display())))
}

/// How long after a create tenantctl looks again for a twin made by a concurrent apply.
const TWIN_SETTLE: Duration = Duration::from_millis(1500);

/// The ids of the REST API's authorizers named `name`, lowest first.
async fn authorizers_named(aws: &Aws, api: &str, name: &str) -> Result<Vec<String>, AwsError> {
    let mut found = Vec::new();
    let mut position: Option<String> = None;
    loop {
        aws.limiter.acquire(Category::ApiGateway).await;
        let out = aws
            .apigw
            .get_authorizers()
            .rest_api_id(api)
            .limit(PAGE)
            .set_position(position.clone())
            .send()
            .await
            .map_err(|e| call_err("apigateway:GetAuthorizers", e))?;
        found.extend(out.items().iter().filter(|a| a.name() == Some(name)).filter_map(|a| a.id().map(str::to_string)));
        position = out.position().map(str::to_string);
        if position.is_none() || out.items().is_empty() {
            break;
        }
    }
    found.sort();
    Ok(found)
}

#[allow(clippy::too_many_arguments)]
async fn put_function(
    aws: &Aws,
    f: &FunctionState,
    code: &str,
    create: bool,
    update_code: bool,
    update_config: bool,
    ids: &Mutex<Ids>,
    config_dir: &Path,
) -> Result<(), AwsError> {
    let snapshot = ids.lock().await.clone();
    let mut variables = HashMap::new();
    for (k, v) in &f.environment {
        variables.insert(k.clone(), resolved(v, &snapshot, &format!("function environment {k}"))?);
    }
    let environment = Environment::builder().set_variables(Some(variables)).build();
    let tags: HashMap<String, String> = f.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect();

    if create {
        let zip = Blob::new(read_code(config_dir, code)?);
        let out = retrying(|| async {
            aws.limiter.acquire(Category::Lambda).await;
            aws.lambda
                .create_function()
                .function_name(&f.name)
                .runtime(Runtime::from(f.runtime.as_str()))
                .role(&f.role)
                .handler(&f.handler)
                .code(FunctionCode::builder().zip_file(zip.clone()).build())
                .memory_size(f.memory_mb)
                .timeout(f.timeout_seconds)
                .architectures(Architecture::from(f.architecture.as_str()))
                .environment(environment.clone())
                .set_tags(Some(tags.clone()))
                .send()
                .await
                .map_err(|e| call_err("lambda:CreateFunction", e))
        })
        .await;
        match out {
            // Created meanwhile by a concurrent apply: bring it to the desired code and settings.
            Err(e) if e.code() == Some("ResourceConflictException") && e.to_string().contains("already exist") => {
                wait_updated(aws, &f.name).await?;
                return Box::pin(put_function(aws, f, code, false, true, true, ids, config_dir)).await;
            }
            out => {
                if let Some(arn) = out?.function_arn() {
                    ids.lock().await.set(FUNCTION_ADDRESS, arn);
                }
            }
        }
        return Ok(());
    }

    if update_code {
        let zip = Blob::new(read_code(config_dir, code)?);
        retrying(|| async {
            aws.limiter.acquire(Category::Lambda).await;
            aws.lambda
                .update_function_code()
                .function_name(&f.name)
                .zip_file(zip.clone())
                // Only UpdateFunctionCode changes the architecture.
                .architectures(Architecture::from(f.architecture.as_str()))
                .send()
                .await
                .map_err(|e| call_err("lambda:UpdateFunctionCode", e))
        })
        .await?;
        wait_updated(aws, &f.name).await?;
    }
    if update_config {
        retrying(|| async {
            aws.limiter.acquire(Category::Lambda).await;
            aws.lambda
                .update_function_configuration()
                .function_name(&f.name)
                .runtime(Runtime::from(f.runtime.as_str()))
                .role(&f.role)
                .handler(&f.handler)
                .memory_size(f.memory_mb)
                .timeout(f.timeout_seconds)
                .environment(environment.clone())
                .send()
                .await
                .map_err(|e| call_err("lambda:UpdateFunctionConfiguration", e))
        })
        .await?;
        let arn = wait_updated(aws, &f.name).await?;
        // Tenantctl's tags are set; tags others added stay.
        aws.limiter.acquire(Category::Lambda).await;
        aws.lambda
            .tag_resource()
            .resource(&arn)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| call_err("lambda:TagResource", e))?;
        ids.lock().await.set(FUNCTION_ADDRESS, arn);
    }
    Ok(())
}

/// Waits until the function's last update finished (AWS refuses a second update meanwhile);
/// returns its ARN.
async fn wait_updated(aws: &Aws, name: &str) -> Result<String, AwsError> {
    let poll = || async {
        aws.limiter.acquire(Category::Lambda).await;
        let c = aws
            .lambda
            .get_function_configuration()
            .function_name(name)
            .send()
            .await
            .map_err(|e| call_err("lambda:GetFunctionConfiguration", e))?;
        Ok(UpdateStatus {
            status: c.last_update_status().cloned(),
            reason: c.last_update_status_reason().map(str::to_string),
            arn: c.function_arn().unwrap_or(name).to_string(),
        })
    };
    wait_until_updated(name, poll, super::propagation_window(), Duration::from_secs(2)).await
}

/// One `GetFunctionConfiguration` answer, as [`wait_until_updated`] needs it.
#[derive(Debug, Clone)]
struct UpdateStatus {
    status: Option<LastUpdateStatus>,
    reason: Option<String>,
    arn: String,
}

/// Polls until the last update is no longer in progress, for at most `window`: an update
/// still in progress at the deadline is an error that says so (the next write would be
/// refused, and the function may still run the old code or configuration); a failed update is
/// an error with Lambda's reason.
async fn wait_until_updated<F, Fut>(
    name: &str,
    mut poll: F,
    window: Duration,
    interval: Duration,
) -> Result<String, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<UpdateStatus, AwsError>>,
{
    let started = Instant::now();
    let deadline = started + window;
    loop {
        let s = poll().await?;
        match s.status {
            Some(LastUpdateStatus::InProgress) => {
                if Instant::now() >= deadline {
                    return Err(AwsError::Other(format!(
                        "lambda function {name}: its update is still in progress after {} s; it may not run the new code or configuration yet (run apply again once it has finished; TENANTCTL_PROPAGATION_TIMEOUT sets the wait)",
                        started.elapsed().as_secs()
                    )));
                }
                tokio::time::sleep(interval.min(deadline.saturating_duration_since(Instant::now()))).await;
            }
            Some(LastUpdateStatus::Failed) => {
                return Err(AwsError::Other(format!(
                    "lambda function {name}: update failed: {}",
                    s.reason.as_deref().unwrap_or("no reason given")
                )))
            }
            _ => return Ok(s.arn),
        }
    }
}

fn patch(op: PatchOp, path: &str, value: impl Into<String>) -> PatchOperation {
    PatchOperation::builder().op(op).path(path).value(value).build()
}

async fn put_authorizer(aws: &Aws, config: &AuthorizerConfig, create: bool, ids: &Mutex<Ids>) -> Result<(), AwsError> {
    let snapshot = ids.lock().await.clone();
    let api = known(&snapshot, REST_API_ADDRESS, "the REST API")?;
    let mut arns = BTreeSet::new();
    for a in &config.provider_arns {
        arns.insert(resolved(a, &snapshot, "authorizer provider ARN")?);
    }
    // Made meanwhile by a concurrent apply: adopt it (update it to the desired state).
    let existing = if create { authorizers_named(aws, &api, &config.name).await?.into_iter().next() } else { None };
    if let Some(id) = &existing {
        ids.lock().await.set(AUTHORIZER_ADDRESS, id.clone());
        return Box::pin(put_authorizer(aws, config, false, ids)).await;
    }
    if create {
        aws.limiter.acquire(Category::ApiGateway).await;
        let out = aws
            .apigw
            .create_authorizer()
            .rest_api_id(&api)
            .name(&config.name)
            .r#type(AuthorizerType::from(config.auth_type.as_str()))
            .set_authorizer_uri(config.authorizer_uri.clone())
            .identity_source(&config.identity_source)
            .set_identity_validation_expression(config.identity_validation_expression.clone())
            .authorizer_result_ttl_in_seconds(config.result_ttl_seconds)
            .set_provider_arns((!arns.is_empty()).then(|| arns.iter().cloned().collect()))
            .send()
            .await
            .map_err(|e| call_err("apigateway:CreateAuthorizer", e))?;
        let ours = out.id().unwrap_or_default().to_string();
        ids.lock().await.set(AUTHORIZER_ADDRESS, ours.clone());
        // API Gateway does not keep names unique: a concurrent apply that looked before this
        // create may have made a twin. Every run that sees both keeps the lowest id (a look
        // again after TWIN_SETTLE sees a twin made after the look that found none).
        for pass in 0..2 {
            if pass == 1 {
                tokio::time::sleep(TWIN_SETTLE).await;
            }
            let twins = authorizers_named(aws, &api, &config.name).await?;
            let Some(keeper) = twins.iter().min().filter(|k| **k != ours).cloned() else {
                if twins.len() > 1 {
                    break;
                }
                continue;
            };
            aws.limiter.acquire(Category::ApiGateway).await;
            aws.apigw
                .delete_authorizer()
                .rest_api_id(&api)
                .authorizer_id(&ours)
                .send()
                .await
                .map_err(|e| call_err("apigateway:DeleteAuthorizer", e))?;
            ids.lock().await.set(AUTHORIZER_ADDRESS, keeper);
            return Box::pin(put_authorizer(aws, config, false, ids)).await;
        }
        return Ok(());
    }
    let id = known(&snapshot, AUTHORIZER_ADDRESS, &format!("authorizer {}", config.name))?;
    aws.limiter.acquire(Category::ApiGateway).await;
    let cur = aws
        .apigw
        .get_authorizer()
        .rest_api_id(&api)
        .authorizer_id(&id)
        .send()
        .await
        .map_err(|e| call_err("apigateway:GetAuthorizer", e))?;
    let mut ops = Vec::new();
    if cur.r#type().map(|t| t.as_str()) != Some(config.auth_type.as_str()) {
        ops.push(patch(PatchOp::Replace, "/type", &config.auth_type));
    }
    if let Some(uri) = &config.authorizer_uri {
        if cur.authorizer_uri() != Some(uri.as_str()) {
            ops.push(patch(PatchOp::Replace, "/authorizerUri", uri));
        }
    }
    if cur.identity_source() != Some(config.identity_source.as_str()) {
        ops.push(patch(PatchOp::Replace, "/identitySource", &config.identity_source));
    }
    let cur_validation = cur.identity_validation_expression().filter(|x| !x.is_empty());
    if cur_validation != config.identity_validation_expression.as_deref() {
        ops.push(patch(
            PatchOp::Replace,
            "/identityValidationExpression",
            config.identity_validation_expression.clone().unwrap_or_default(),
        ));
    }
    if cur.authorizer_result_ttl_in_seconds().unwrap_or(300) != config.result_ttl_seconds {
        ops.push(patch(PatchOp::Replace, "/authorizerResultTtlInSeconds", config.result_ttl_seconds.to_string()));
    }
    // Provider ARNs are a list: one add or remove per ARN (as Terraform does).
    let have: BTreeSet<String> = cur.provider_arns().iter().cloned().collect();
    for a in arns.difference(&have) {
        ops.push(patch(PatchOp::Add, "/providerARNs", a));
    }
    for a in have.difference(&arns) {
        ops.push(patch(PatchOp::Remove, "/providerARNs", a));
    }
    if ops.is_empty() {
        return Ok(());
    }
    aws.limiter.acquire(Category::ApiGateway).await;
    aws.apigw
        .update_authorizer()
        .rest_api_id(&api)
        .authorizer_id(&id)
        .set_patch_operations(Some(ops))
        .send()
        .await
        .map_err(|e| call_err("apigateway:UpdateAuthorizer", e))?;
    Ok(())
}

async fn put_permission(
    aws: &Aws,
    function: &str,
    p: &PermissionState,
    remove: &[String],
    ids: &Mutex<Ids>,
) -> Result<(), AwsError> {
    let snapshot = ids.lock().await.clone();
    let source_arn = match &p.source_arn {
        Some(s) => Some(resolved(s, &snapshot, "invoke permission SourceArn")?),
        None => None,
    };
    for sid in remove {
        remove_statement(aws, function, sid).await?;
    }
    for attempt in 0..2 {
        aws.limiter.acquire(Category::Lambda).await;
        let res = aws
            .lambda
            .add_permission()
            .function_name(function)
            .statement_id(&p.statement_id)
            .action(&p.action)
            .principal(&p.principal)
            .set_source_arn(source_arn.clone())
            .set_source_account(p.source_account.clone())
            .send()
            .await
            .map_err(|e| call_err("lambda:AddPermission", e));
        match res {
            // Our Sid is there already (an interrupted apply): replace it.
            Err(e) if attempt == 0 && e.code() == Some("ResourceConflictException") => {
                remove_statement(aws, function, &p.statement_id).await?;
            }
            other => return other.map(|_| ()),
        }
    }
    Ok(())
}

async fn remove_statement(aws: &Aws, function: &str, sid: &str) -> Result<(), AwsError> {
    aws.limiter.acquire(Category::Lambda).await;
    match aws.lambda.remove_permission().function_name(function).statement_id(sid).send().await {
        Ok(_) => Ok(()),
        Err(e) => {
            let e = call_err("lambda:RemovePermission", e);
            if e.is_not_found() {
                Ok(())
            } else {
                Err(e)
            }
        }
    }
}

async fn set_method_auth(aws: &Aws, key: &str, auth: &MethodAuth, ids: &Mutex<Ids>) -> Result<(), AwsError> {
    if key == ALL_METHODS {
        return Err(AwsError::Other("SetMethodAuth on `*`: the diff expands it to the API's methods".into()));
    }
    let snapshot = ids.lock().await.clone();
    let api = known(&snapshot, REST_API_ADDRESS, "the REST API")?;
    let (verb, _) =
        key.split_once(' ').ok_or_else(|| AwsError::Other(format!("method key `{key}` is not `METHOD /path`")))?;
    let resource = snapshot
        .id(&method_address(key))
        .map(str::to_string)
        .ok_or_else(|| AwsError::Other(format!("authorizer.methods: {key} does not exist on the REST API")))?;
    let mut ops = Vec::new();
    if auth.authorizer.is_some() {
        let id = snapshot.id(AUTHORIZER_ADDRESS).map(str::to_string).ok_or_else(|| {
            AwsError::Other(format!("method {key}: the authorizer's id is not known (was it created?)"))
        })?;
        ops.push(patch(PatchOp::Replace, "/authorizerId", id));
    }
    ops.push(patch(PatchOp::Replace, "/authorizationType", &auth.authorization_type));
    aws.limiter.acquire(Category::ApiGateway).await;
    aws.apigw
        .update_method()
        .rest_api_id(&api)
        .resource_id(&resource)
        .http_method(verb)
        .set_patch_operations(Some(ops))
        .send()
        .await
        .map_err(|e| call_err("apigateway:UpdateMethod", e))?;
    Ok(())
}

/// Deploys the REST API to `stage` (CreateDeployment creates the stage when it is missing).
async fn deploy_stage(aws: &Aws, stage: &str, ids: &Mutex<Ids>) -> Result<(), AwsError> {
    let api = known(&*ids.lock().await, REST_API_ADDRESS, "the REST API")?;
    aws.limiter.acquire(Category::ApiGateway).await;
    aws.apigw
        .create_deployment()
        .rest_api_id(&api)
        .stage_name(stage)
        .description("tenantctl: authorizer and method changes")
        .send()
        .await
        .map_err(|e| call_err("apigateway:CreateDeployment", e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn permission_from_policy() {
        let policy = json!({"Version": "2012-10-17", "Id": "default", "Statement": [
            {"Sid": "tenantctl-apigateway-invoke", "Effect": "Allow", "Action": "lambda:InvokeFunction",
             "Principal": {"Service": "apigateway.amazonaws.com"}, "Resource": "arn:f",
             "Condition": {"ArnLike": {"AWS:SourceArn": "arn:aws:execute-api:us-east-1:1:a/authorizers/b"},
                           "StringEquals": {"AWS:SourceAccount": "1"}}},
            {"Sid": "other-service", "Effect": "Allow", "Action": "lambda:InvokeFunction",
             "Principal": {"Service": "events.amazonaws.com"}, "Resource": "arn:f"}
        ]});
        let p = apigateway_permission(&policy).unwrap();
        assert_eq!(p.statement_id, STATEMENT_ID);
        assert_eq!(p.source_arn, Some(Text::from("arn:aws:execute-api:us-east-1:1:a/authorizers/b")));
        assert_eq!(p.source_account.as_deref(), Some("1"));
        assert_eq!(p.action, "lambda:InvokeFunction");

        // Another REST API using the same function, and a statement without SourceArn that
        // someone else added: not tenantctl's, not observed (so never drift, never deleted).
        let mut shared = policy.clone();
        let st = shared["Statement"].as_array_mut().unwrap();
        st.insert(
            0,
            json!({"Sid": "other-api", "Effect": "Allow", "Action": "lambda:InvokeFunction",
            "Principal": {"Service": "apigateway.amazonaws.com"}, "Resource": "arn:f",
            "Condition": {"ArnLike": {"AWS:SourceArn": "arn:aws:execute-api:us-east-1:1:other/authorizers/x"}}}),
        );
        st.push(json!({"Sid": "wide", "Effect": "Allow", "Action": "lambda:InvokeFunction",
            "Principal": {"Service": "apigateway.amazonaws.com"}, "Resource": "arn:f"}));
        assert_eq!(apigateway_permission(&shared), Some(p.clone()));
        let only_others: Vec<Value> =
            shared["Statement"].as_array().unwrap().iter().filter(|s| s["Sid"] != STATEMENT_ID).cloned().collect();
        assert_eq!(apigateway_permission(&json!({"Statement": only_others})), None);

        // tenantctl's Sid twice: folded, so the diff replaces both.
        let mut dup = policy.clone();
        let ours = dup["Statement"][0].clone();
        dup["Statement"].as_array_mut().unwrap().push(ours);
        let twice = apigateway_permission(&dup).unwrap();
        assert_eq!((twice.statement_id.as_str(), twice.copies), (STATEMENT_ID, 2));

        assert_eq!(apigateway_permission(&json!({"Statement": []})), None);
    }

    fn status(s: Option<LastUpdateStatus>) -> Result<UpdateStatus, AwsError> {
        Ok(UpdateStatus { status: s, reason: Some("bad zip".into()), arn: "arn:f".into() })
    }

    #[tokio::test]
    async fn update_still_in_progress_at_the_deadline_is_an_error() {
        let polls = std::cell::Cell::new(0);
        let r = wait_until_updated(
            "f",
            || {
                polls.set(polls.get() + 1);
                async { status(Some(LastUpdateStatus::InProgress)) }
            },
            Duration::from_millis(30),
            Duration::from_millis(5),
        )
        .await;
        let err = r.unwrap_err().to_string();
        assert!(err.contains("still in progress"), "{err}");
        assert!(polls.get() >= 2, "polled until the deadline: {}", polls.get());
    }

    #[tokio::test]
    async fn update_finishing_in_time_returns_the_arn() {
        let polls = std::cell::Cell::new(0);
        let r =
            wait_until_updated(
                "f",
                || {
                    polls.set(polls.get() + 1);
                    let n = polls.get();
                    async move {
                        status(Some(if n < 3 { LastUpdateStatus::InProgress } else { LastUpdateStatus::Successful }))
                    }
                },
                Duration::from_secs(10),
                Duration::from_millis(1),
            )
            .await;
        assert_eq!(r.unwrap(), "arn:f");
        assert_eq!(polls.get(), 3);
        // No status at all (an emulator): done.
        let r = wait_until_updated("f", || async { status(None) }, Duration::ZERO, Duration::ZERO).await;
        assert_eq!(r.unwrap(), "arn:f");
    }

    #[tokio::test]
    async fn failed_update_is_an_error_with_the_reason() {
        let r = wait_until_updated(
            "f",
            || async { status(Some(LastUpdateStatus::Failed)) },
            Duration::from_secs(10),
            Duration::from_millis(1),
        )
        .await;
        let err = r.unwrap_err().to_string();
        assert!(err.contains("update failed: bad zip"), "{err}");
    }
}
