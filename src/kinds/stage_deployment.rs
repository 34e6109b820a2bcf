//! `stage_deployment`: the deployment of the REST API to the stage `authorizer.stage` names, at
//! `platform/authorizer/stage/<stage>`; its id is the deployment the stage serves, its parent
//! the REST API.
//!
//! API Gateway serves authorizer and method changes only after a deployment. Observed: the
//! stage's deployment (`GetStage`) and what it serves (`GetDeployment` with
//! `embed=apisummary`: each deployed method's `authorizationType`); no item when the stage
//! does not exist or serves no deployment. Planned by [`ItemRules::finish`], after every other
//! item:
//! - a method the stage serves with another authorization type (or not at all) gets a
//!   `stage.<stage>.authorization_type` field in its change (a change of its own when its
//!   draft is right: drift reports the method as `changed` all the same);
//! - one `stage_deployment` change (`CreateDeployment`, after the methods) when the stage
//!   serves something stale or when the authorizer or a method changes.
//!
//! `apisummary` does not show which authorizer a method uses nor the authorizer's settings:
//! an authorizer change made without a deployment (before the stage was declared) is not
//! visible from the stage.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use futures::future::BoxFuture;
use futures::FutureExt;
use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::authorizer::rest_api_id;
use super::{fc, method_auth, opt_json, Desired, DesiredCtx, Kind, ObserveScope, Observed};
use crate::aws::{call_err, Aws, AwsError, Category};
use crate::plan::{Action, Change, ItemRules, Op, PlanError, PlanOptions, Resource};
use crate::spec::validate::re;
use crate::spec::{Diagnostic, Folder};
use crate::state::{Item, World};

pub use crate::state::wiring::{method_key, stage_address, NEW_DEPLOYMENT, REST_API_ADDRESS};

pub struct StageDeployment;

pub const KIND: &str = "stage_deployment";

/// What a stage serves.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct StageState {
    pub name: String,
    /// The deployment the stage serves (desired: None).
    pub deployment_id: Option<String>,
    /// `"METHOD /path"` -> the deployed method's `authorizationType`.
    pub methods: BTreeMap<String, String>,
}

pub fn item(s: &StageState) -> Item {
    Item {
        kind: KIND.to_string(),
        name: s.name.clone(),
        tenant: None,
        parent: Some(REST_API_ADDRESS.to_string()),
        state: serde_json::to_value(s).expect("state serializes"),
        // Deployed after every authorizer, permission and method change of the plan.
        after: vec![
            crate::state::wiring::AUTHORIZER_ADDRESS.to_string(),
            crate::state::wiring::PERMISSION_ADDRESS.to_string(),
            "kind:method_auth".to_string(),
        ],
    }
}

/// What an item (desired or observed) of this kind says of its stage.
pub fn state(item: &Item) -> Option<StageState> {
    serde_json::from_value(item.state.clone()).ok()
}

impl ItemRules for StageDeployment {
    fn resource(&self) -> Resource {
        Resource::new(KIND)
    }

    fn deploys(&self) -> bool {
        true
    }

    fn owns_undeclared(&self) -> bool {
        false
    }

    /// Planned by [`ItemRules::finish`].
    fn expand(&self, _address: &str, _desired: &Item, _observed: &World) -> Option<Vec<(String, Item)>> {
        Some(Vec::new())
    }

    /// The module docs' rule.
    fn finish(
        &self,
        desired: &World,
        wanted: &BTreeMap<String, Item>,
        observed: &World,
        _opts: &PlanOptions,
        kinds: &[&dyn ItemRules],
        changes: &mut Vec<Change>,
    ) -> Result<(), PlanError> {
        let served_after_deployment =
            |r: Resource| kinds.iter().any(|k| k.resource() == r && k.served_after_deployment());
        for (address, d) in desired.items.iter().filter(|(_, i)| i.kind == KIND) {
            let stage = d.name.as_str();
            let live = observed
                .items
                .get(address)
                .filter(|o| o.kind == KIND)
                .filter(|o| state(o).is_some_and(|s| s.deployment_id.is_some()));
            let live_state = live.and_then(state);
            let live_id = live_state.as_ref().and_then(|s| s.deployment_id.clone());
            let mut stale = Vec::new();
            for (maddr, m) in wanted.iter().filter(|(_, i)| i.kind == method_auth::KIND) {
                let Some(auth) = method_auth::state(m) else { continue };
                let key = &m.name;
                let served = live_state.as_ref().and_then(|s| s.methods.get(key));
                if served == Some(&auth.authorization_type) {
                    continue;
                }
                let before = opt_json(served);
                stale.push(fc(
                    format!("methods.{key}.authorization_type"),
                    before.clone(),
                    json!(auth.authorization_type),
                ));
                let field = fc(format!("stage.{stage}.authorization_type"), before, json!(auth.authorization_type));
                match changes.iter_mut().find(|c| c.resource == Resource::new("method_auth") && c.name == *key) {
                    Some(c) => c.fields.push(field),
                    None => changes.push(method_auth::change(maddr, m, observed.items.get(maddr), vec![field])),
                }
            }
            let api_changed = changes.iter().any(|c| served_after_deployment(c.resource));
            if stale.is_empty() && !api_changed {
                continue;
            }
            let mut fields = vec![fc("deployment_id", opt_json(live_id.as_ref()), json!(NEW_DEPLOYMENT))];
            fields.extend(stale);
            changes.push(Change {
                action: if live_id.is_some() { Action::Update } else { Action::Create },
                resource: Resource::new("stage_deployment"),
                address: address.clone(),
                name: stage.to_string(),
                tenant: None,
                fields,
                op: Op::Item {
                    address: address.clone(),
                    desired: Some(d.clone()),
                    live: live.cloned(),
                    replace: false,
                },
            });
        }
        Ok(())
    }
}

impl Kind for StageDeployment {
    fn service(&self) -> super::Service {
        super::Service::ApiGateway
    }

    fn platform_wide(&self) -> bool {
        true
    }

    /// The stage the folder's authorizer names, if any (its deployment is planned by
    /// [`ItemRules::finish`]).
    fn desired(&self, folder: &Folder, _ctx: &DesiredCtx, _world: &World) -> Desired {
        let Some(name) = folder.platform.value.wired_authorizer().and_then(|s| s.stage.as_ref()) else {
            return Ok(Vec::new());
        };
        let stage = StageState { name: name.clone(), ..StageState::default() };
        Ok(vec![(stage_address(name), item(&stage))])
    }

    #[allow(clippy::too_many_arguments)]
    fn observe<'a>(&'a self, aws: &'a Aws, scope: &'a ObserveScope<'a>) -> BoxFuture<'a, Result<Observed, AwsError>> {
        let folder = scope.folder;
        let ids = scope.ids;
        async move {
            let Some(stage) = folder.platform.value.authorizer.as_ref().and_then(|a| a.stage.as_ref()) else {
                return Ok(Vec::new());
            };
            let Some(api) = ids.id(REST_API_ADDRESS) else {
                return Ok(Vec::new());
            };
            let mut state = StageState { name: stage.to_string(), ..StageState::default() };
            aws.limiter.acquire(Category::ApiGateway).await;
            let deployment = match aws.apigw.get_stage().rest_api_id(api).stage_name(stage).send().await {
                Ok(out) => out.deployment_id().map(str::to_string),
                Err(e) => {
                    let e = call_err("apigateway:GetStage", e);
                    if e.is_not_found() {
                        return Ok(Vec::new());
                    }
                    return Err(e);
                }
            };
            let Some(id) = deployment else {
                return Ok(Vec::new());
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
            state.deployment_id = Some(id.clone());
            Ok(vec![(stage_address(stage), item(&state), id)])
        }
        .boxed()
    }

    /// `CreateDeployment` to the stage (which creates the stage when it is missing).
    fn create<'a>(
        &'a self,
        aws: &'a Aws,
        item: &'a Item,
        parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<String, AwsError>> {
        async move { deploy(aws, &item.name, rest_api_id(parent, &item.name)?).await }.boxed()
    }

    fn update<'a>(
        &'a self,
        aws: &'a Aws,
        item: &'a Item,
        _live: &'a Item,
        _id: &'a str,
        parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        async move { deploy(aws, &item.name, rest_api_id(parent, &item.name)?).await.map(|_| ()) }.boxed()
    }

    fn delete<'a>(
        &'a self,
        _aws: &'a Aws,
        live: &'a Item,
        _id: &'a str,
        _parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        async move { Err(AwsError::Other(format!("stage `{}`: tenantctl does not delete stages", live.name))) }.boxed()
    }

    fn validate(&self, folder: &Folder) -> Vec<Diagnostic> {
        folder_rules(folder)
    }
}

/// Deploys the REST API to `stage`; returns the deployment's id.
async fn deploy(aws: &Aws, stage: &str, api: &str) -> Result<String, AwsError> {
    aws.limiter.acquire(Category::ApiGateway).await;
    let out = aws
        .apigw
        .create_deployment()
        .rest_api_id(api)
        .stage_name(stage)
        .description("tenantctl: authorizer and method changes")
        .send()
        .await
        .map_err(|e| call_err("apigateway:CreateDeployment", e))?;
    Ok(out.id().unwrap_or_default().to_string())
}

// ---------------------------------------------------------------- validation

/// The stage's name (`Kind::validate`).
fn folder_rules(folder: &Folder) -> Vec<Diagnostic> {
    let p = &folder.platform;
    let mut out = Vec::new();
    let Some(a) = &p.value.authorizer else {
        return out;
    };
    if let Some(stage) = &a.stage {
        static S: OnceLock<Regex> = OnceLock::new();
        if !re(&S, r"^[A-Za-z0-9_]{1,128}$").is_match(stage) {
            out.push(p.at(
                "authorizer.stage",
                format!("stage name `{}` must be 1-128 letters, digits and _", stage.escape_debug()),
            ));
        }
    }
    out
}
