//! `api_key`: one API Gateway API key per tenant of a tier (contract §1.6),
//! `<platform>-<tenant>`, at `tenant/<tenant>/api_key`, tagged with the managed tags and
//! `tenant_id`; its id is the key id. Declared only with `apiUsage`.
//!
//! - Its value is never read by tenantctl (observation asks for keys without values), never
//!   shown, never in a plan file: the authorizer reads the values itself (see
//!   `usage_plan_key` and the authorizer's `keys` module).
//! - Which plan it is in is `usage_plan_key`: a tier change moves the key between plans and
//!   keeps the key (its id, its value, its usage history).
//! - Observed with `GetApiKeys` (500 a page, `includeValues=false`): the keys carrying this
//!   platform's managed tags and a `tenant_id` tag. A second key of one tenant (a concurrent
//!   apply) is extra and deleted.
//! - `CreateApiKey` is limited to 5 requests per second per account (the limiter's
//!   `apigateway:CreateApiKey` bucket); updated with `UpdateApiKey` (`/enabled`, `/name`) and
//!   `TagResource`/`UntagResource`; deleted by `destroy` and `--prune`.

use std::collections::BTreeSet;

use aws_sdk_apigateway::types::Op as PatchOp;
use futures::future::BoxFuture;
use futures::FutureExt;
use serde::{Deserialize, Serialize};

use super::authorizer::patch;
use super::usage_plan::{arn, ours, retag};
use super::{rest_api, typed, Desired, DesiredCtx, Kind, ObserveScope, Observed};
use crate::aws::{call_err, Aws, AwsError, Call, Category};
use crate::plan::quotas::{after_plan, AccountFigures, API_KEYS_PER_REGION};
use crate::plan::{ItemRules, Plan, PlanError, Resource};
use crate::spec::desired::{tenant_tags, TAG_TENANT};
use crate::spec::{Diagnostic, Folder};
use crate::state::{Item, Tags, World};

pub struct ApiKey;

pub const KIND: &str = "api_key";

/// `<platform>-<tenant>` (contract §1.6).
pub fn name(platform: &str, tenant: &str) -> String {
    format!("{platform}-{tenant}")
}

/// `tenant/<tenant>/api_key`
pub fn address(tenant: &str) -> String {
    format!("tenant/{tenant}/api_key")
}

/// What tenantctl manages of a key (never its value).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeyState {
    pub name: String,
    pub enabled: bool,
    pub tags: Tags,
}

pub fn item(tenant: &str, state: &KeyState) -> Item {
    Item {
        kind: KIND.to_string(),
        name: state.name.clone(),
        tenant: Some(tenant.to_string()),
        parent: None,
        state: serde_json::to_value(state).expect("state serializes"),
        after: Vec::new(),
    }
}

impl ItemRules for ApiKey {
    fn resource(&self) -> Resource {
        Resource::new(KIND)
    }

    /// API keys per account and Region (not adjustable): the keys there are (every key, read
    /// by the observation's pages), plus the plan's creates, minus its deletes.
    fn check_quotas(&self, plan: &Plan, _desired: &World, figures: &AccountFigures) -> Result<(), PlanError> {
        let Some(used) = figures.api_keys else { return Ok(()) };
        let (Some(needed), creates, deletes) = after_plan(plan, self.resource(), used) else { return Ok(()) };
        if needed > API_KEYS_PER_REGION {
            return Err(PlanError::Quota {
                quota: "API Gateway API keys per account and Region".into(),
                detail: format!("API keys: {needed} needed (the account has {used}, this plan creates {creates} and deletes {deletes}): {needed} > {API_KEYS_PER_REGION}"),
                remedy: "this quota cannot be raised: delete API keys the account no longer uses (every key of the Region counts), or meter fewer tenants (a tenant has a key only in a tier, with apiUsage)".into(),
            });
        }
        Ok(())
    }
}

/// This platform's keys, by tenant (`GetApiKeys`, 500 a page, without values): (tenant, id,
/// state), lowest id first; and the count of every key of the account and Region.
pub(super) async fn live_keys(aws: &Aws, platform: &str) -> Result<(Vec<(String, String, KeyState)>, usize), AwsError> {
    let mut out = Vec::new();
    let mut total = 0;
    let mut position: Option<String> = None;
    loop {
        aws.limiter.acquire(Category::ApiGateway).await;
        let page = aws
            .apigw
            .get_api_keys()
            .limit(rest_api::PAGE)
            .include_values(false)
            .set_position(position.clone())
            .send()
            .await
            .map_err(|e| call_err("apigateway:GetApiKeys", e))?;
        total += page.items().len();
        for k in page.items() {
            let Some(id) = k.id() else { continue };
            if !ours(k.tags(), platform) {
                continue;
            }
            let Some(tenant) = k.tags().and_then(|t| t.get(TAG_TENANT)) else { continue };
            let tags: Tags =
                k.tags().map(|t| t.iter().map(|(a, b)| (a.clone(), b.clone())).collect()).unwrap_or_default();
            let state = KeyState { name: k.name().unwrap_or_default().to_string(), enabled: k.enabled(), tags };
            out.push((tenant.clone(), id.to_string(), state));
        }
        position = page.position().map(str::to_string);
        if position.is_none() || page.items().is_empty() {
            break;
        }
    }
    out.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    Ok((out, total))
}

impl Kind for ApiKey {
    fn service(&self) -> super::Service {
        super::Service::ApiGateway
    }

    /// One per tenant of a declared tier, with `apiUsage`.
    fn desired(&self, folder: &Folder, _ctx: &DesiredCtx, _world: &World) -> Desired {
        let pl = &folder.platform.value;
        if pl.api_usage.is_none() {
            return Ok(Vec::new());
        }
        Ok(folder
            .tenants
            .iter()
            .map(|t| &t.value)
            .filter(|t| t.tier.as_ref().is_some_and(|tier| pl.tiers.contains_key(tier)))
            .map(|t| {
                let state = KeyState { name: name(&pl.name, &t.id), enabled: true, tags: tenant_tags(pl, t) };
                (address(&t.id), item(&t.id, &state))
            })
            .collect())
    }

    /// The platform's keys; the pages also give the account's key count, for its quota.
    fn observe<'a>(&'a self, aws: &'a Aws, scope: &'a ObserveScope<'a>) -> BoxFuture<'a, Result<Observed, AwsError>> {
        let folder = scope.folder;
        async move {
            let pl = &folder.platform.value;
            if pl.api_usage.is_none() {
                return Ok(Vec::new());
            }
            let mut seen = BTreeSet::new();
            let (keys, total) = live_keys(aws, &pl.name).await?;
            scope.note(|n| n.figures.api_keys = Some(total));
            Ok(keys
                .into_iter()
                .map(|(tenant, id, state)| {
                    let addr = if seen.insert(tenant.clone()) {
                        address(&tenant)
                    } else {
                        format!("{}#{id}", address(&tenant))
                    };
                    (addr, item(&tenant, &state), id)
                })
                .collect())
        }
        .boxed()
    }

    fn create<'a>(
        &'a self,
        aws: &'a Aws,
        item: &'a Item,
        _parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<String, AwsError>> {
        async move {
            let st: KeyState = typed(item)?;
            // 5 requests per second per account (limits::OPERATIONS).
            let out = aws
                .apigw
                .create_api_key()
                .name(&st.name)
                .description("tenantctl: the tenant's usage identifier (its tier's usage plan)")
                .enabled(st.enabled)
                .set_tags(Some(st.tags.clone().into_iter().collect()))
                .send()
                .call(aws, "apigateway:CreateApiKey", None)
                .await?;
            out.id()
                .map(str::to_string)
                .ok_or_else(|| AwsError::Other(format!("apigateway:CreateApiKey of `{}`: no id", st.name)))
        }
        .boxed()
    }

    fn update<'a>(
        &'a self,
        aws: &'a Aws,
        item: &'a Item,
        live: &'a Item,
        id: &'a str,
        _parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        async move {
            let want: KeyState = typed(item)?;
            let have: KeyState = typed(live)?;
            let mut ops = Vec::new();
            if want.enabled != have.enabled {
                ops.push(patch(PatchOp::Replace, "/enabled", want.enabled.to_string()));
            }
            if want.name != have.name {
                ops.push(patch(PatchOp::Replace, "/name", &want.name));
            }
            if !ops.is_empty() {
                aws.limiter.acquire(Category::ApiGateway).await;
                aws.apigw
                    .update_api_key()
                    .api_key(id)
                    .set_patch_operations(Some(ops))
                    .send()
                    .await
                    .map_err(|e| call_err("apigateway:UpdateApiKey", e))?;
            }
            if want.tags != have.tags {
                retag(aws, &arn(aws, &format!("/apikeys/{id}")), &have.tags, &want.tags).await?;
            }
            Ok(())
        }
        .boxed()
    }

    fn delete<'a>(
        &'a self,
        aws: &'a Aws,
        _live: &'a Item,
        id: &'a str,
        _parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        async move {
            aws.limiter.acquire(Category::ApiGateway).await;
            crate::aws::done_if_gone(
                aws.apigw.delete_api_key().api_key(id).send().await.map_err(|e| call_err("apigateway:DeleteApiKey", e)),
            )
        }
        .boxed()
    }

    fn validate(&self, folder: &Folder) -> Vec<Diagnostic> {
        folder_rules(folder)
    }
}

// ---------------------------------------------------------------- validation

/// API keys per account and Region (API Gateway quota, default).
pub const MAX_API_KEYS: usize = 10_000;

/// With `apiUsage` every tenant has a tier, so an API key (`Kind::validate`), and the keys fit
/// API Gateway's quota.
fn folder_rules(folder: &Folder) -> Vec<Diagnostic> {
    let p = &folder.platform;
    let pl = &p.value;
    let mut out = Vec::new();
    if pl.api_usage.is_none() {
        return out;
    }
    let mut keyed = 0usize;
    for t in &folder.tenants {
        let tv = &t.value;
        match &tv.tier {
            Some(tier) => {
                if pl.tiers.contains_key(tier) {
                    keyed += 1;
                }
            }
            None => out.push(
                t.at("id", format!("tenant `{}` has no `tier`; with apiUsage every tenant needs one (its API key is in its tier's usage plan, and guarded methods require a key)", tv.id))
                    .hint(format!("add `tier: {}`", pl.tiers.keys().next().map_or("<tier>", String::as_str))),
            ),
        }
    }
    if keyed > MAX_API_KEYS {
        out.push(
            p.at(
                "apiUsage",
                format!("{keyed} tenants with an API key: an account holds at most {MAX_API_KEYS} API keys per Region"),
            )
            .hint("ask AWS to raise the API key quota"),
        );
    }
    out
}
