//! `method_auth`: the authorization of one method of the REST API (`authorizer.methods`), at
//! `platform/authorizer/method/<METHOD /path>`; its id is the method's resource id, its parent
//! the REST API. A field tenantctl patches on an object it does not own: the method must
//! exist (observation says so otherwise), is only ever updated (`UpdateMethod`), never
//! created or deleted, and methods the folder does not list are left alone.
//!
//! `methods: []` means every method of the API: the desired side holds one item named
//! [`ALL_METHODS`] (`*`), which [`ItemRules::expand`] turns into one per observed method;
//! observation then reads every method but `OPTIONS` (which browsers call for CORS preflight
//! without credentials).

use std::collections::{BTreeSet, HashSet};

use aws_sdk_apigateway::types::Op as PatchOp;
use futures::future::BoxFuture;
use futures::FutureExt;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::authorizer::{patch, rest_api_id};
use super::{fc, opt_json, rest_api, typed, Desired, DesiredCtx, Kind, ObserveScope, Observed};
use crate::aws::{call_err, Aws, AwsError, Call, Category};
use crate::plan::{Action, Change, FieldChange, ItemRules, Op, PlanError, Resource};
use crate::spec::model::AuthorizerType;
use crate::spec::{Diagnostic, Folder};
use crate::state::{Ids, Item, Text, World};

pub use crate::state::wiring::{method_address, method_key, ALL_METHODS, AUTHORIZER_ADDRESS, REST_API_ADDRESS};

pub struct MethodAuthKind;

pub const KIND: &str = "method_auth";

/// How a method is guarded; `T` is [`Text`] in plans (references) and `String` once they are
/// resolved.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct MethodAuth<T = Text> {
    /// NONE | CUSTOM | COGNITO_USER_POOLS
    pub authorization_type: String,
    /// The authorizer's name.
    pub authorizer: Option<String>,
    /// Desired: the authorizer's id (a reference to [`AUTHORIZER_ADDRESS`]), which apply
    /// sets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorizer_id: Option<T>,
    /// `apiKeyRequired` (contract §1.6, `apiUsage`): desired Some(true) when tenants' API
    /// usage is metered, None when the folder leaves it alone; observed as the method has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_required: Option<bool>,
}

/// The item of the method `key` (`"GET /orders"`, or [`ALL_METHODS`]).
pub fn item(key: &str, auth: &MethodAuth) -> Item {
    Item {
        kind: KIND.to_string(),
        name: key.to_string(),
        tenant: None,
        parent: Some(REST_API_ADDRESS.to_string()),
        state: serde_json::to_value(auth).expect("state serializes"),
        // A method's authorization follows its authorizer's changes.
        after: vec![crate::state::wiring::AUTHORIZER_ADDRESS.to_string()],
    }
}

/// The authorization of an item (desired or observed) of this kind.
pub fn state(item: &Item) -> Option<MethodAuth> {
    serde_json::from_value(item.state.clone()).ok()
}

/// The fields that differ (`live` None: a method not observed).
fn fields(d: &MethodAuth, o: Option<&MethodAuth>) -> Vec<FieldChange> {
    let mut fields = Vec::new();
    if o.map(|o| &o.authorization_type) != Some(&d.authorization_type) {
        fields.push(fc(
            "authorization_type",
            o.map_or(Value::Null, |o| json!(o.authorization_type)),
            json!(d.authorization_type),
        ));
    }
    if o.map(|o| &o.authorizer) != Some(&d.authorizer) {
        fields.push(fc(
            "authorizer",
            o.map_or(Value::Null, |o| opt_json(o.authorizer.as_ref())),
            opt_json(d.authorizer.as_ref()),
        ));
    }
    if let Some(want) = d.api_key_required {
        let have = o.and_then(|o| o.api_key_required);
        if have != Some(want) {
            fields.push(fc("api_key_required", have.map_or(Value::Null, |h| json!(h)), json!(want)));
        }
    }
    fields
}

/// A method change with these fields (the stage's rule adds one for a method whose draft is
/// right but which the stage serves otherwise: its update sets the draft again, harmless).
pub(super) fn change(address: &str, desired: &Item, live: Option<&Item>, fields: Vec<FieldChange>) -> Change {
    Change {
        action: Action::Update,
        resource: Resource::new("method_auth"),
        address: address.to_string(),
        name: desired.name.clone(),
        tenant: None,
        fields,
        op: Op::Item {
            address: address.to_string(),
            desired: Some(desired.clone()),
            live: live.cloned(),
            replace: false,
        },
    }
}

impl ItemRules for MethodAuthKind {
    fn resource(&self) -> Resource {
        Resource::new(KIND)
    }

    /// API Gateway serves a method change once the stage is deployed again.
    fn served_after_deployment(&self) -> bool {
        true
    }

    fn owns_undeclared(&self) -> bool {
        false
    }

    /// `*`: every observed method.
    fn expand(&self, _address: &str, desired: &Item, observed: &World) -> Option<Vec<(String, Item)>> {
        if desired.name != ALL_METHODS {
            return None;
        }
        Some(
            observed
                .items
                .iter()
                .filter(|(_, o)| o.kind == KIND)
                .map(|(addr, o)| (addr.clone(), Item { name: o.name.clone(), ..desired.clone() }))
                .collect(),
        )
    }

    fn create_fields(&self, desired: &Item, _ids: &Ids) -> Vec<FieldChange> {
        state(desired).map(|d| fields(&d, None)).unwrap_or_default()
    }

    fn compare(&self, _address: &str, desired: &Item, live: &Item, _ids: &Ids) -> Result<Vec<FieldChange>, PlanError> {
        Ok(match (state(desired), state(live)) {
            (Some(d), Some(o)) => fields(&d, Some(&o)),
            _ => Vec::new(),
        })
    }
}

impl Kind for MethodAuthKind {
    fn service(&self) -> super::Service {
        super::Service::ApiGateway
    }

    fn platform_wide(&self) -> bool {
        true
    }

    /// The methods the folder's authorizer guards (`methods: []`: every method, one instance
    /// that [`ItemRules::expand`] stands for them).
    fn desired(&self, folder: &Folder, _ctx: &DesiredCtx, _world: &World) -> Desired {
        let Some(spec) = folder.platform.value.wired_authorizer() else { return Ok(Vec::new()) };
        let lambda = spec.auth_type == AuthorizerType::Lambda;
        let auth = MethodAuth {
            authorization_type: if lambda { "CUSTOM" } else { "COGNITO_USER_POOLS" }.to_string(),
            authorizer: Some(spec.name.clone()),
            authorizer_id: Some(Text::default().id(AUTHORIZER_ADDRESS)),
            // Contract §1.6: metered methods need the key the authorizer names.
            api_key_required: folder.platform.value.api_usage.as_ref().map(|_| true),
        };
        let methods: Vec<String> = if spec.methods.is_empty() {
            vec![ALL_METHODS.to_string()]
        } else {
            spec.methods.iter().map(|m| method_key(&m.method, &m.path)).collect()
        };
        Ok(methods.iter().map(|key| (method_address(key), item(key, &auth))).collect())
    }

    /// The methods of the REST API (`GetResources` with `embed=methods`, by pages): the listed
    /// ones, or every one but `OPTIONS` for `methods: []`. A listed method that does not
    /// exist is an error.
    #[allow(clippy::too_many_arguments)]
    fn observe<'a>(&'a self, aws: &'a Aws, scope: &'a ObserveScope<'a>) -> BoxFuture<'a, Result<Observed, AwsError>> {
        let folder = scope.folder;
        let observed = scope.observed;
        let ids = scope.ids;
        async move {
            let Some(spec) = &folder.platform.value.authorizer else {
                return Ok(Vec::new());
            };
            let Some(api) = ids.id(REST_API_ADDRESS) else {
                return Ok(Vec::new());
            };
            // "METHOD /path" -> (resource id, authorization type, authorizer id).
            type Found = (String, Option<String>, Option<String>, Option<bool>);
            let mut found: std::collections::BTreeMap<String, Found> = std::collections::BTreeMap::new();
            let mut position: Option<String> = None;
            loop {
                // GetResources has its own quota (5 requests per 2 s): `limits::OPERATIONS`.
                let out = aws
                    .apigw
                    .get_resources()
                    .rest_api_id(api)
                    .limit(rest_api::PAGE)
                    .embed("methods")
                    .set_position(position.clone())
                    .send().call(aws, "apigateway:GetResources", None).await?;
                for r in out.items() {
                    let (Some(id), Some(path)) = (r.id(), r.path()) else {
                        continue;
                    };
                    for (verb, m) in r.resource_methods().into_iter().flatten() {
                        found.insert(
                            method_key(verb, path),
                            (
                                id.to_string(),
                                m.authorization_type().map(str::to_string),
                                m.authorizer_id().map(str::to_string),
                                m.api_key_required(),
                            ),
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
            let mut out = Vec::new();
            for key in wanted {
                let Some((rid, auth_type, auth_id, key_required)) = found.get(&key).cloned() else {
                    return Err(AwsError::Other(format!(
                        "authorizer.methods: {key} does not exist on REST API `{}` ({api}); create the method first, or remove it from the list",
                        spec.rest_api
                    )));
                };
                // Without method details in the listing (embed not honoured), ask for the method.
                let (auth_type, auth_id, key_required) = match auth_type {
                    Some(t) => (t, auth_id, key_required),
                    None => {
                        let verb = key.split_once(' ').map_or(key.as_str(), |(v, _)| v);
                        aws.limiter.acquire(Category::ApiGateway).await;
                        let m = aws
                            .apigw
                            .get_method()
                            .rest_api_id(api)
                            .resource_id(&rid)
                            .http_method(verb)
                            .send()
                            .await
                            .map_err(|e| call_err("apigateway:GetMethod", e))?;
                        (
                            m.authorization_type().unwrap_or("NONE").to_string(),
                            m.authorizer_id().map(str::to_string),
                            m.api_key_required(),
                        )
                    }
                };
                let authorizer = match auth_type.as_str() {
                    "CUSTOM" | "COGNITO_USER_POOLS" => auth_id.map(|id| {
                        rest_api::authorizer_name(observed, &id).unwrap_or_else(|| format!("(unknown authorizer {id})"))
                    }),
                    _ => None,
                };
                let auth = MethodAuth {
                    authorization_type: auth_type,
                    authorizer,
                    authorizer_id: None,
                    api_key_required: Some(key_required.unwrap_or(false)),
                };
                out.push((method_address(&key), item(&key, &auth), rid));
            }
            Ok(out)
        }
        .boxed()
    }

    fn create<'a>(
        &'a self,
        _aws: &'a Aws,
        item: &'a Item,
        _parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<String, AwsError>> {
        async move { Err(AwsError::Other(format!("authorizer.methods: {} does not exist on the REST API", item.name))) }
            .boxed()
    }

    /// `UpdateMethod`: the authorizer's id (when it names one) and the authorization type.
    fn update<'a>(
        &'a self,
        aws: &'a Aws,
        item: &'a Item,
        _live: &'a Item,
        id: &'a str,
        parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        async move {
            let key = item.name.as_str();
            if key == ALL_METHODS {
                return Err(AwsError::Other("UpdateMethod on `*`: the plan expands it to the API's methods".into()));
            }
            let auth: MethodAuth<String> = typed(item)?;
            let api = rest_api_id(parent, key)?;
            let (verb, _) = key
                .split_once(' ')
                .ok_or_else(|| AwsError::Other(format!("method key `{key}` is not `METHOD /path`")))?;
            let mut ops = Vec::new();
            if auth.authorizer.is_some() {
                let authorizer = auth.authorizer_id.clone().ok_or_else(|| {
                    AwsError::Other(format!("method {key}: the authorizer's id is not known (was it created?)"))
                })?;
                ops.push(patch(PatchOp::Replace, "/authorizerId", authorizer));
            }
            ops.push(patch(PatchOp::Replace, "/authorizationType", &auth.authorization_type));
            if let Some(required) = auth.api_key_required {
                ops.push(patch(PatchOp::Replace, "/apiKeyRequired", required.to_string()));
            }
            aws.limiter.acquire(Category::ApiGateway).await;
            aws.apigw
                .update_method()
                .rest_api_id(api)
                .resource_id(id)
                .http_method(verb)
                .set_patch_operations(Some(ops))
                .send()
                .await
                .map_err(|e| call_err("apigateway:UpdateMethod", e))?;
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
        async move { Err(AwsError::Other(format!("method {}: tenantctl does not delete methods", live.name))) }.boxed()
    }

    fn validate(&self, folder: &Folder) -> Vec<Diagnostic> {
        folder_rules(folder)
    }
}

// ---------------------------------------------------------------- validation

/// The guarded methods (`Kind::validate`): known HTTP methods, resource paths, each once.
fn folder_rules(folder: &Folder) -> Vec<Diagnostic> {
    let p = &folder.platform;
    let mut out = Vec::new();
    let Some(a) = &p.value.authorizer else {
        return out;
    };
    let mut seen = HashSet::new();
    for (i, m) in a.methods.iter().enumerate() {
        const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"];
        if !METHODS.contains(&m.method.as_str()) {
            out.push(p.at(&format!("authorizer.methods[{i}].method"), format!("unknown HTTP method `{}`", m.method)));
        }
        if !m.path.starts_with('/') {
            out.push(p.at(&format!("authorizer.methods[{i}].path"), "a resource path starts with /"));
        }
        out.extend(scope_rules(p, a, i, m));
        if !seen.insert((m.path.clone(), m.method.clone())) {
            out.push(
                p.at(&format!("authorizer.methods[{i}]"), format!("method {} {} is listed twice", m.method, m.path)),
            );
        }
    }
    out
}

/// A method's `scopes` (issue 23, item 7): each a declared resource server scope
/// (`<identifier>/<scope>`), and only with `tokenUse: access` (an ID token holds no scope).
fn scope_rules(
    p: &crate::spec::Located<crate::spec::model::Platform>,
    a: &crate::spec::model::AuthorizerSpec,
    i: usize,
    m: &crate::spec::model::MethodSpec,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if m.scopes.is_empty() {
        return out;
    }
    if a.token_use != "access" {
        out.push(
            p.at(
                &format!("authorizer.methods[{i}].scopes"),
                "scopes need tokenUse: access: an ID token holds no scope",
            )
            .hint("set authorizer.tokenUse: access, or remove the method's scopes"),
        );
    }
    let declared: BTreeSet<String> = p
        .value
        .user_pool
        .resource_servers
        .iter()
        .flat_map(|rs| rs.scopes.iter().map(move |sc| format!("{}/{}", rs.identifier, sc.name)))
        .collect();
    for (j, scope) in m.scopes.iter().enumerate() {
        if !declared.contains(scope) {
            let known = declared.iter().map(String::as_str).collect::<Vec<_>>().join(", ");
            out.push(
                p.at(
                    &format!("authorizer.methods[{i}].scopes[{j}]"),
                    format!("scope `{scope}` is no scope of userPool.resourceServers"),
                )
                .hint(if known.is_empty() {
                    "declare it in userPool.resourceServers".to_string()
                } else {
                    format!("declared scopes: {known}")
                }),
            );
        }
    }
    out
}
