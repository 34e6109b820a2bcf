//! `api_key_source`: the REST API's `apiKeySource`, which `apiUsage` sets to `AUTHORIZER` (the
//! authorizer's `usageIdentifierKey` names the caller's API key; callers send none), at
//! `platform/rest_api/api_key_source`. A field tenantctl patches on an object it does not own
//! (like `method_auth`): read with `GetRestApi`, changed with `UpdateRestApi`
//! (`replace /apiKeySource`), never deleted; without `apiUsage` it is neither read nor
//! changed (removing `apiUsage` leaves the API as it is). API Gateway serves it after a
//! deployment: a change of it makes the stage deployment (`authorizer.stage`) deploy again.

use aws_sdk_apigateway::types::Op as PatchOp;
use futures::future::BoxFuture;
use futures::FutureExt;
use serde_json::json;

use super::authorizer::{patch, rest_api_id};
use super::{Desired, DesiredCtx, Kind, ObserveScope, Observed};
use crate::aws::{call_err, Aws, AwsError, Category};
use crate::plan::{ItemRules, Resource};
use crate::spec::model::AuthorizerType;
use crate::spec::{Diagnostic, Folder};
use crate::state::wiring::REST_API_ADDRESS;
use crate::state::{Ids, Item, World};

pub struct ApiKeySource;

pub const KIND: &str = "api_key_source";
pub const ADDRESS: &str = "platform/rest_api/api_key_source";
/// The source `apiUsage` needs.
pub const AUTHORIZER: &str = "AUTHORIZER";

pub fn item(source: &str) -> Item {
    Item {
        kind: KIND.to_string(),
        name: "apiKeySource".to_string(),
        tenant: None,
        parent: Some(REST_API_ADDRESS.to_string()),
        state: json!({"api_key_source": source}),
        after: Vec::new(),
    }
}

impl ItemRules for ApiKeySource {
    fn resource(&self) -> Resource {
        Resource::new(KIND)
    }

    /// API Gateway serves a key source change once the stage is deployed again.
    fn served_after_deployment(&self) -> bool {
        true
    }

    fn owns_undeclared(&self) -> bool {
        false
    }
}

impl Kind for ApiKeySource {
    fn service(&self) -> super::Service {
        super::Service::ApiGateway
    }

    fn platform_wide(&self) -> bool {
        true
    }

    fn desired(&self, folder: &Folder, _ctx: &DesiredCtx, _world: &World) -> Desired {
        Ok(match &folder.platform.value.api_usage {
            Some(_) => vec![(ADDRESS.to_string(), item(AUTHORIZER))],
            None => Vec::new(),
        })
    }

    fn observe<'a>(&'a self, aws: &'a Aws, scope: &'a ObserveScope<'a>) -> BoxFuture<'a, Result<Observed, AwsError>> {
        let folder = scope.folder;
        let ids = scope.ids;
        async move {
            if folder.platform.value.api_usage.is_none() {
                return Ok(Vec::new());
            }
            let Some(api) = ids.id(REST_API_ADDRESS) else { return Ok(Vec::new()) };
            aws.limiter.acquire(Category::ApiGateway).await;
            let out = aws
                .apigw
                .get_rest_api()
                .rest_api_id(api)
                .send()
                .await
                .map_err(|e| call_err("apigateway:GetRestApi", e))?;
            // API Gateway's default is HEADER.
            let source = out.api_key_source().map_or("HEADER", |s| s.as_str()).to_string();
            Ok(vec![(ADDRESS.to_string(), item(&source), api.to_string())])
        }
        .boxed()
    }

    fn inventory(&self, _address: &str, _item: &Item, _ids: &Ids, _ctx: &crate::aws::Ctx) -> Option<serde_json::Value> {
        None
    }

    fn create<'a>(
        &'a self,
        aws: &'a Aws,
        item: &'a Item,
        parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<String, AwsError>> {
        async move {
            let api = rest_api_id(parent, "apiKeySource")?;
            self.update(aws, item, item, api, parent).await?;
            Ok(api.to_string())
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
        async move {
            let api = rest_api_id(parent, "apiKeySource")?;
            let source = item.state.get("api_key_source").and_then(|v| v.as_str()).unwrap_or(AUTHORIZER);
            aws.limiter.acquire(Category::ApiGateway).await;
            aws.apigw
                .update_rest_api()
                .rest_api_id(api)
                .patch_operations(patch(PatchOp::Replace, "/apiKeySource", source))
                .send()
                .await
                .map_err(|e| call_err("apigateway:UpdateRestApi", e))?;
            Ok(())
        }
        .boxed()
    }

    fn delete<'a>(
        &'a self,
        _aws: &'a Aws,
        _live: &'a Item,
        _id: &'a str,
        _parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        // Never planned (owns_undeclared is false): the REST API is not tenantctl's.
        async { Ok(()) }.boxed()
    }

    fn validate(&self, folder: &Folder) -> Vec<Diagnostic> {
        folder_rules(folder)
    }
}

// ---------------------------------------------------------------- validation

/// `apiUsage` needs a Lambda authorizer (`Kind::validate`): it names each caller's API key.
fn folder_rules(folder: &Folder) -> Vec<Diagnostic> {
    let p = &folder.platform;
    let pl = &p.value;
    let mut out = Vec::new();
    if pl.api_usage.is_none() {
        return out;
    }
    match &pl.authorizer {
        None => out.push(
            p.at("apiUsage", "apiUsage needs a Lambda `authorizer`: it returns each tenant's API key to API Gateway")
                .hint("declare authorizer (type lambda) on the same REST API"),
        ),
        Some(a) => {
            if a.auth_type != AuthorizerType::Lambda {
                out.push(p.at(
                        "apiUsage",
                        "apiUsage needs a Lambda authorizer (type lambda): a Cognito authorizer cannot name the tenant's API key",
                    ));
            }
        }
    }
    out
}
