//! `authorizer`: the REST API's authorizer (`authorizer`, by name), at [`AUTHORIZER_ADDRESS`];
//! its id is the API Gateway authorizer id, its parent the REST API (`rest_api`).
//!
//! A Lambda authorizer (TOKEN, invoking the `lambda_function`) or a Cognito one
//! (COGNITO_USER_POOLS, whose provider ARNs name the pools by id: references). Created, patched
//! field by field (provider ARNs one add or remove each, as Terraform does), never deleted.
//! [`ItemRules::check`] stops the plan when a Cognito authorizer has no pool.
//!
//! Observed with the REST API: `GetRestApis` finds it (a missing one is an error with a
//! hint), `GetAuthorizers` lists its authorizers, whose names by id the REST API's item keeps
//! (`method_auth` names the authorizer of each method with them).

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_apigateway::types::{AuthorizerType, Op as PatchOp, PatchOperation};
use futures::future::BoxFuture;
use futures::FutureExt;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{fc, opt_json, rest_api, typed, Desired, DesiredCtx, Kind, ObserveScope, Observed};
use crate::aws::{call_err, Aws, AwsError, Category};
use crate::plan::{FieldChange, ItemRules, PlanError, Resource};
use crate::spec::desired::{function_arn, RenderEnv};
use crate::spec::model::duration_minutes;
use crate::spec::{model, Diagnostic, Folder};
use crate::state::wiring::BEARER_JWT_EXPRESSION;
use crate::state::{Ids, Item, Text, World};

pub use crate::state::wiring::{AUTHORIZER_ADDRESS, REST_API_ADDRESS};

pub struct Authorizer;

pub const KIND: &str = "authorizer";

/// The authorizer's settings; `T` is [`Text`] in plans (references) and `String` once they are
/// resolved.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuthorizerConfig<T: Ord = Text> {
    pub name: String,
    /// TOKEN | COGNITO_USER_POOLS
    pub auth_type: String,
    pub authorizer_uri: Option<String>,
    pub identity_source: String,
    /// The regular expression API Gateway checks the identity against before it invokes a
    /// TOKEN authorizer.
    pub identity_validation_expression: Option<String>,
    pub result_ttl_seconds: i32,
    /// Pool ARNs (references to the pools' ids).
    pub provider_arns: BTreeSet<T>,
}

pub fn item(a: &AuthorizerConfig) -> Item {
    Item {
        kind: KIND.to_string(),
        name: a.name.clone(),
        tenant: None,
        parent: Some(REST_API_ADDRESS.to_string()),
        state: serde_json::to_value(a).expect("state serializes"),
        // A TOKEN authorizer invokes the function (when tenantctl deploys it).
        after: vec![crate::state::wiring::FUNCTION_ADDRESS.to_string()],
    }
}

/// The settings of an item (desired or observed) of this kind.
pub fn state(item: &Item) -> Option<AuthorizerConfig> {
    serde_json::from_value(item.state.clone()).ok()
}

impl ItemRules for Authorizer {
    fn resource(&self) -> Resource {
        Resource::new(KIND)
    }

    /// API Gateway serves an authorizer change once the stage is deployed again.
    fn served_after_deployment(&self) -> bool {
        true
    }

    fn owns_undeclared(&self) -> bool {
        false
    }

    fn check(&self, desired: &World, _observed: &World, _ids: &Ids) -> Result<(), PlanError> {
        let Some(a) = desired.items.get(AUTHORIZER_ADDRESS).filter(|i| i.kind == KIND).and_then(state) else {
            return Ok(());
        };
        if a.auth_type == "COGNITO_USER_POOLS" && a.provider_arns.is_empty() {
            return Err(PlanError::Check {
                message: "authorizer: a cognito authorizer needs at least one user pool; declare a tenant first".into(),
                hint: super::lambda_function::HINT.into(),
            });
        }
        Ok(())
    }

    fn create_fields(&self, desired: &Item, ids: &Ids) -> Vec<FieldChange> {
        let Some(d) = state(desired) else { return Vec::new() };
        let arns_shown: BTreeSet<String> = d.provider_arns.iter().map(|a| a.shown(ids)).collect();
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
        f
    }

    fn compare(&self, _address: &str, desired: &Item, live: &Item, ids: &Ids) -> Result<Vec<FieldChange>, PlanError> {
        let (Some(d), Some(o)) = (state(desired), state(live)) else {
            return Ok(Vec::new());
        };
        let arns_shown: BTreeSet<String> = d.provider_arns.iter().map(|a| a.shown(ids)).collect();
        let arns_resolved: Option<BTreeSet<String>> = d.provider_arns.iter().map(|a| a.resolve(ids)).collect();
        let live_arns: BTreeSet<String> = o.provider_arns.iter().map(|a| a.shown(ids)).collect();
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
        Ok(f)
    }
}

impl Kind for Authorizer {
    fn service(&self) -> super::Service {
        super::Service::ApiGateway
    }

    fn platform_wide(&self) -> bool {
        true
    }

    /// The folder's authorizer: a Lambda one (`TOKEN`, invoking the function) or a Cognito one
    /// trusting every desired pool.
    fn desired(&self, folder: &Folder, ctx: &DesiredCtx, world: &World) -> Desired {
        let Some(spec) = folder.platform.value.wired_authorizer() else { return Ok(Vec::new()) };
        let RenderEnv { partition: p, region: r, account_id: a } = &ctx.env;
        let (auth_type, authorizer_uri, provider_arns, validation) = match &spec.function {
            Some(fs) if spec.auth_type == model::AuthorizerType::Lambda => {
                let function = function_arn(&ctx.env, &fs.name);
                let uri = format!("arn:{p}:apigateway:{r}:lambda:path/2015-03-31/functions/{function}/invocations");
                ("TOKEN", Some(uri), BTreeSet::new(), Some(BEARER_JWT_EXPRESSION.to_string()))
            }
            _ => {
                let arns = world
                    .pools()
                    .keys()
                    .map(|addr| Text::lit(format!("arn:{p}:cognito-idp:{r}:{a}:userpool/")).id(addr.clone()))
                    .collect();
                ("COGNITO_USER_POOLS", None, arns, None)
            }
        };
        let config = AuthorizerConfig {
            name: spec.name.clone(),
            auth_type: auth_type.to_string(),
            authorizer_uri,
            identity_source: spec.identity_source.clone(),
            identity_validation_expression: validation,
            result_ttl_seconds: spec.result_ttl_seconds,
            provider_arns,
        };
        Ok(vec![(AUTHORIZER_ADDRESS.to_string(), item(&config))])
    }

    /// The REST API (an error when it does not exist) and its authorizers (module docs).
    #[allow(clippy::too_many_arguments)]
    fn observe<'a>(&'a self, aws: &'a Aws, scope: &'a ObserveScope<'a>) -> BoxFuture<'a, Result<Observed, AwsError>> {
        let folder = scope.folder;
        async move {
            let Some(spec) = &folder.platform.value.authorizer else {
                return Ok(Vec::new());
            };
            // Found by the `rest_api` kind, observed first.
            let Some(api) = scope.ids.id(REST_API_ADDRESS).map(str::to_string) else {
                return Ok(Vec::new());
            };
            // Ours by name; every id -> name, to name the authorizer of each method.
            let mut names: BTreeMap<String, String> = BTreeMap::new();
            let mut ours: Option<(String, AuthorizerConfig)> = None;
            let mut position: Option<String> = None;
            loop {
                aws.limiter.acquire(Category::ApiGateway).await;
                let out = aws
                    .apigw
                    .get_authorizers()
                    .rest_api_id(&api)
                    .limit(rest_api::PAGE)
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
                    if let Some((other, _)) = &ours {
                        return Err(AwsError::Other(format!(
                            "REST API {api} has several authorizers named `{name}` ({other}, {id}); delete the extra one, tenantctl manages exactly one"
                        )));
                    }
                    let config = AuthorizerConfig {
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
                    };
                    ours = Some((id.to_string(), config));
                }
                position = out.position().map(str::to_string);
                if position.is_none() || out.items().is_empty() {
                    break;
                }
            }
            let mut found =
                vec![(REST_API_ADDRESS.to_string(), rest_api::observed(&spec.rest_api, &names), api.clone())];
            if let Some((id, config)) = ours {
                found.push((AUTHORIZER_ADDRESS.to_string(), item(&config), id));
            }
            Ok(found)
        }
        .boxed()
    }

    fn create<'a>(
        &'a self,
        aws: &'a Aws,
        item: &'a Item,
        parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<String, AwsError>> {
        async move {
            let config: AuthorizerConfig<String> = typed(item)?;
            let api = rest_api_id(parent, &config.name)?;
            // Made meanwhile by a concurrent apply: adopt it (update it to the desired state).
            if let Some(id) = authorizers_named(aws, api, &config.name).await?.into_iter().next() {
                self.update(aws, item, item, &id, parent).await?;
                return Ok(id);
            }
            aws.limiter.acquire(Category::ApiGateway).await;
            let out = aws
                .apigw
                .create_authorizer()
                .rest_api_id(api)
                .name(&config.name)
                .r#type(AuthorizerType::from(config.auth_type.as_str()))
                .set_authorizer_uri(config.authorizer_uri.clone())
                .identity_source(&config.identity_source)
                .set_identity_validation_expression(config.identity_validation_expression.clone())
                .authorizer_result_ttl_in_seconds(config.result_ttl_seconds)
                .set_provider_arns(
                    (!config.provider_arns.is_empty()).then(|| config.provider_arns.iter().cloned().collect()),
                )
                .send()
                .await
                .map_err(|e| call_err("apigateway:CreateAuthorizer", e))?;
            let ours = out
                .id()
                .map(str::to_string)
                .ok_or_else(|| AwsError::Other(format!("apigateway:CreateAuthorizer of `{}`: no id", config.name)))?;
            // API Gateway does not keep names unique: a concurrent apply that looked before
            // this create may have made a twin. Every run that sees both keeps the lowest id (a
            // look again after TWIN_SETTLE sees a twin made after the look that found none).
            for pass in 0..2 {
                if pass == 1 {
                    crate::aws::slots::pause(TWIN_SETTLE).await;
                }
                let twins = authorizers_named(aws, api, &config.name).await?;
                let Some(keeper) = twins.iter().min().filter(|k| **k != ours).cloned() else {
                    if twins.len() > 1 {
                        break;
                    }
                    continue;
                };
                aws.limiter.acquire(Category::ApiGateway).await;
                aws.apigw
                    .delete_authorizer()
                    .rest_api_id(api)
                    .authorizer_id(&ours)
                    .send()
                    .await
                    .map_err(|e| call_err("apigateway:DeleteAuthorizer", e))?;
                self.update(aws, item, item, &keeper, parent).await?;
                return Ok(keeper);
            }
            Ok(ours)
        }
        .boxed()
    }

    /// Reads the live authorizer, patches what differs.
    fn update<'a>(
        &'a self,
        aws: &'a Aws,
        item: &'a Item,
        _live: &'a Item,
        id: &'a str,
        parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        async move {
            let config: AuthorizerConfig<String> = typed(item)?;
            let api = rest_api_id(parent, &config.name)?;
            aws.limiter.acquire(Category::ApiGateway).await;
            let cur = aws
                .apigw
                .get_authorizer()
                .rest_api_id(api)
                .authorizer_id(id)
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
                ops.push(patch(
                    PatchOp::Replace,
                    "/authorizerResultTtlInSeconds",
                    config.result_ttl_seconds.to_string(),
                ));
            }
            // Provider ARNs are a list: one add or remove per ARN (as Terraform does).
            let have: BTreeSet<String> = cur.provider_arns().iter().cloned().collect();
            for a in config.provider_arns.difference(&have) {
                ops.push(patch(PatchOp::Add, "/providerARNs", a));
            }
            for a in have.difference(&config.provider_arns) {
                ops.push(patch(PatchOp::Remove, "/providerARNs", a));
            }
            if ops.is_empty() {
                return Ok(());
            }
            aws.limiter.acquire(Category::ApiGateway).await;
            aws.apigw
                .update_authorizer()
                .rest_api_id(api)
                .authorizer_id(id)
                .set_patch_operations(Some(ops))
                .send()
                .await
                .map_err(|e| call_err("apigateway:UpdateAuthorizer", e))?;
            Ok(())
        }
        .boxed()
    }

    fn delete<'a>(
        &'a self,
        _aws: &'a Aws,
        live: &'a Item,
        _id: &'a str,
        _parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        async move { Err(AwsError::Other(format!("authorizer `{}`: tenantctl does not delete it", live.name))) }.boxed()
    }

    fn validate(&self, folder: &Folder) -> Vec<Diagnostic> {
        folder_rules(folder)
    }
}

/// The REST API's id (the parent's), which must be known by now.
pub(super) fn rest_api_id<'a>(parent: Option<&'a str>, what: &str) -> Result<&'a str, AwsError> {
    parent.ok_or_else(|| AwsError::Other(format!("{what}: the REST API's id is not known (observe first)")))
}

pub(super) fn patch(op: PatchOp, path: &str, value: impl Into<String>) -> PatchOperation {
    PatchOperation::builder().op(op).path(path).value(value).build()
}

/// How long a create waits before it looks for a twin made by a concurrent apply again.
const TWIN_SETTLE: std::time::Duration = std::time::Duration::from_millis(1500);

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
            .limit(500)
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

// ---------------------------------------------------------------- validation

/// The authorizer's own fields (`Kind::validate`): its cache, token use, identity source and
/// type.
fn folder_rules(folder: &Folder) -> Vec<Diagnostic> {
    let p = &folder.platform;
    let mut out = Vec::new();
    let Some(a) = &p.value.authorizer else {
        return out;
    };
    if !(0..=3600).contains(&a.result_ttl_seconds) {
        out.push(p.at("authorizer.resultTtlSeconds", "resultTtlSeconds must be 0..3600"));
    } else if let Some((minutes, what)) = shortest_token_validity(&p.value.user_pool.app_clients) {
        // A cached Allow must not outlive the token it was computed from.
        let cap = minutes.saturating_mul(60);
        if i64::from(a.result_ttl_seconds) > cap {
            out.push(
                p.at(
                    "authorizer.resultTtlSeconds",
                    format!(
                        "resultTtlSeconds {} is longer than the {what} ({minutes} minutes = {} s): API Gateway would keep allowing an expired token from its cache",
                        a.result_ttl_seconds, cap
                    ),
                )
                .hint(format!("set resultTtlSeconds to at most {cap}")),
            );
        }
    }
    if a.token_use != "id" && a.token_use != "access" {
        out.push(
            p.at("authorizer.tokenUse", format!("tokenUse `{}` must be id or access", a.token_use.escape_debug())),
        );
    }
    out.extend(access_token_federation(folder, a));
    if a.name.is_empty() || a.rest_api.is_empty() {
        out.push(p.at("authorizer", "authorizer needs a name and a restApi"));
    }
    if !a.identity_source.starts_with("method.request.") {
        out.push(
            p.at("authorizer.identitySource", "identitySource must look like method.request.header.Authorization"),
        );
    }
    use crate::spec::model::AuthorizerType;
    match (a.auth_type, &a.function) {
        (AuthorizerType::Lambda, None) => out.push(p.at("authorizer", "a lambda authorizer needs `function`")),
        (AuthorizerType::Cognito, Some(_)) => {
            out.push(p.at("authorizer.function", "a cognito authorizer takes no `function`"))
        }
        _ => {}
    }
    out
}

/// `tokenUse: access` with tenant identity providers: an access token carries no
/// `identities`, and a linked account's token may lack the automatic group
/// `<poolId>_<provider>`, so the provider must be put into the token by a declared
/// `preTokenGeneration` trigger (issue 23, item 1; README "Federated users").
fn access_token_federation(folder: &Folder, a: &crate::spec::model::AuthorizerSpec) -> Option<Diagnostic> {
    let p = &folder.platform;
    if a.token_use != "access" || p.value.user_pool.triggers.contains_key("preTokenGeneration") {
        return None;
    }
    let t = folder.tenants.iter().find(|t| !t.value.identity_providers.is_empty())?;
    Some(
        p.at(
            "authorizer.tokenUse",
            format!(
                "tokenUse access with tenant identity providers (tenant `{}` has one in {}) needs a userPool.triggers.preTokenGeneration trigger: an access token carries no `identities` claim to bind the provider to its tenant",
                t.value.id,
                t.file
            ),
        )
        .hint("declare userPool.triggers.preTokenGeneration with a function that keeps the group <poolId>_<provider> in the token (README, \"Federated users\"), or use tokenUse: id"),
    )
}

/// The shortest access or ID token validity of the app clients, in minutes, with what it is
/// (Cognito's default is 60 minutes for both); None without clients.
fn shortest_token_validity(clients: &[crate::spec::model::AppClientSpec]) -> Option<(i64, String)> {
    const COGNITO_DEFAULT_MINUTES: i64 = 60;
    let mut best: Option<(i64, String)> = None;
    for c in clients {
        let tv = c.token_validity.clone().unwrap_or_default();
        for (kind, val) in [("access", &tv.access), ("ID", &tv.id)] {
            let minutes = match val {
                Some(s) => match duration_minutes(s) {
                    Some(m) => m,
                    None => continue, // reported by the pool rules
                },
                None => COGNITO_DEFAULT_MINUTES,
            };
            if best.as_ref().is_none_or(|(m, _)| minutes < *m) {
                best = Some((minutes, format!("{kind} token validity of app client `{}`", c.name)));
            }
        }
    }
    best
}

#[cfg(test)]
mod wiring_tests;
