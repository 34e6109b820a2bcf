//! `rest_api`: the REST API the authorizer guards (`authorizer.restApi`, by name or id). A data
//! source: tenantctl reads it and acts on what lives in it (the authorizer, the methods'
//! authorization, the stage: their `parent`), and never creates, updates or deletes it. A
//! REST API that does not exist is an error of observation, with a hint.
//!
//! - Desired: one item at [`REST_API_ADDRESS`] naming it, when the folder's authorizer is wired
//!   (as the rest of the wiring); never planned ([`ItemRules::expand`] leaves nothing to
//!   compare).
//! - Observed first of every kind: its id in `Ids` under [`REST_API_ADDRESS`] (the tiers' kinds
//!   name their stages by it); the `authorizer` kind, which pages through its authorizers,
//!   completes its item's state with the name of every authorizer by id (a method names the
//!   authorizer it uses).

use std::collections::BTreeMap;

use futures::future::BoxFuture;
use futures::FutureExt;
use serde_json::json;

use super::{Desired, DesiredCtx, Kind, ObserveScope, Observed};
use crate::aws::{call_err, Aws, AwsError, Category};
use crate::plan::{ItemRules, Resource};
use crate::spec::Folder;
pub use crate::state::wiring::REST_API_ADDRESS;
use crate::state::{Item, World};

pub struct RestApi;

pub const KIND: &str = "rest_api";

/// API Gateway's largest page.
pub(super) const PAGE: i32 = 500;

/// The desired item: the REST API the folder names (`authorizer.restApi`).
pub fn item(wanted: &str) -> Item {
    Item {
        kind: KIND.to_string(),
        name: wanted.to_string(),
        tenant: None,
        parent: None,
        state: json!({"name": wanted}),
        after: Vec::new(),
    }
}

/// The observed item: the REST API as found, with its authorizers' names by id.
pub(super) fn observed(wanted: &str, authorizers: &BTreeMap<String, String>) -> Item {
    Item { state: json!({"name": wanted, "authorizers": authorizers}), ..item(wanted) }
}

/// The name of the REST API's authorizer `id`, as observed.
pub(super) fn authorizer_name(observed: &World, id: &str) -> Option<String> {
    observed.items.get(REST_API_ADDRESS)?.state.get("authorizers")?.get(id)?.as_str().map(str::to_string)
}

impl ItemRules for RestApi {
    fn resource(&self) -> Resource {
        Resource::new(KIND)
    }

    fn owns_undeclared(&self) -> bool {
        false
    }

    /// Read, never planned.
    fn expand(&self, _address: &str, _desired: &Item, _observed: &World) -> Option<Vec<(String, Item)>> {
        Some(Vec::new())
    }
}

impl Kind for RestApi {
    fn service(&self) -> super::Service {
        super::Service::ApiGateway
    }

    fn platform_wide(&self) -> bool {
        true
    }

    /// Its id (`GetRestApis` pages), first of every kind: the tiers' kinds name their stages
    /// by it. The `authorizer` kind adds the names of its authorizers, read with its own.
    fn observe<'a>(&'a self, aws: &'a Aws, scope: &'a ObserveScope<'a>) -> BoxFuture<'a, Result<Observed, AwsError>> {
        async move {
            let Some(spec) = &scope.folder.platform.value.authorizer else { return Ok(Vec::new()) };
            let api = find(aws, &spec.rest_api).await?;
            Ok(vec![(REST_API_ADDRESS.to_string(), observed(&spec.rest_api, &BTreeMap::new()), api)])
        }
        .boxed()
    }

    /// The REST API the folder's authorizer guards.
    fn desired(&self, folder: &Folder, _ctx: &DesiredCtx, _world: &World) -> Desired {
        let Some(spec) = folder.platform.value.wired_authorizer() else { return Ok(Vec::new()) };
        Ok(vec![(REST_API_ADDRESS.to_string(), item(&spec.rest_api))])
    }

    fn create<'a>(
        &'a self,
        _aws: &'a Aws,
        item: &'a Item,
        _parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<String, AwsError>> {
        async move { Err(read_only(item)) }.boxed()
    }

    fn update<'a>(
        &'a self,
        _aws: &'a Aws,
        item: &'a Item,
        _live: &'a Item,
        _id: &'a str,
        _parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        async move { Err(read_only(item)) }.boxed()
    }

    fn delete<'a>(
        &'a self,
        _aws: &'a Aws,
        live: &'a Item,
        _id: &'a str,
        _parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        async move { Err(read_only(live)) }.boxed()
    }
}

fn read_only(item: &Item) -> AwsError {
    AwsError::Other(format!("REST API `{}`: tenantctl only reads it", item.name))
}

/// The REST API's id, from its id or its (unique) name.
pub(super) async fn find(aws: &Aws, wanted: &str) -> Result<String, AwsError> {
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
