//! `usage_plan`: one API Gateway usage plan per tier (contract §1.6), `<platform>-<tier>`, at
//! `platform/usage_plan/<tier>`, with the tier's throttle and quota and the managed tags; its id
//! is the usage plan id. Declared only with `apiUsage` (and observed only then: removing
//! `apiUsage` leaves the plans alone).
//!
//! - The stage it meters is a kind of its own (`usage_plan_stage`), attached after the stage
//!   exists (tenantctl may create the stage in the same apply); the plan itself comes first,
//!   so the keys' memberships, the authorizer's environment and its key-reading permission can
//!   name its id.
//! - Observed with `GetUsagePlans` (500 a page): the plans carrying tenantctl's managed tags of
//!   this platform. The same pages give the plans' stages (`usage_plan_stage` items).
//! - Updated with `UpdateUsagePlan` patch operations (throttle, quota) and `TagResource` /
//!   `UntagResource` for tags; deleted (a tier no tenant uses any more, removed from the
//!   folder) after its stages are detached.

use std::sync::OnceLock;

use aws_sdk_apigateway::types::{Op as PatchOp, QuotaPeriodType, QuotaSettings, ThrottleSettings};
use futures::future::BoxFuture;
use futures::FutureExt;
use regex::Regex;
use serde::{Deserialize, Serialize};

use super::authorizer::patch;
use super::{rest_api, typed, Desired, DesiredCtx, Kind, ObserveScope, Observed};
use crate::aws::{call_err, Aws, AwsError, Category};
use crate::plan::{ItemRules, Resource};
use crate::spec::desired::{platform_tags, TAG_MANAGED, TAG_PLATFORM};
use crate::spec::validate::re;
use crate::spec::{Diagnostic, Folder};
use crate::state::{Item, Tags, World};

pub struct UsagePlan;

pub const KIND: &str = "usage_plan";

/// `<platform>-<tier>` (contract §1.6).
pub fn name(platform: &str, tier: &str) -> String {
    format!("{platform}-{tier}")
}

/// `platform/usage_plan/<tier>` (`state::wiring::usage_plan_address`).
pub fn address(tier: &str) -> String {
    crate::state::wiring::usage_plan_address(tier)
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Throttle {
    pub rate_limit: f64,
    pub burst_limit: i32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Quota {
    pub limit: i32,
    /// DAY | WEEK | MONTH
    pub period: String,
    pub offset: i32,
}

/// What tenantctl manages of a usage plan.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PlanState {
    pub name: String,
    pub throttle: Option<Throttle>,
    pub quota: Option<Quota>,
    pub tags: Tags,
}

pub fn item(state: &PlanState) -> Item {
    Item {
        kind: KIND.to_string(),
        name: state.name.clone(),
        tenant: None,
        parent: None,
        state: serde_json::to_value(state).expect("state serializes"),
        after: Vec::new(),
    }
}

/// The desired plans: one per tier, when the folder declares `apiUsage`.
pub fn desired_plans(folder: &Folder) -> Vec<(String, Item)> {
    let pl = &folder.platform.value;
    if pl.api_usage.is_none() {
        return Vec::new();
    }
    pl.tiers
        .iter()
        .map(|(tier, spec)| {
            let state = PlanState {
                name: name(&pl.name, tier),
                throttle: spec
                    .throttle
                    .as_ref()
                    .map(|t| Throttle { rate_limit: t.rate_limit, burst_limit: t.burst_limit }),
                quota: spec.quota.as_ref().map(|q| Quota {
                    limit: q.limit,
                    period: q.period.aws_name().to_string(),
                    offset: q.offset,
                }),
                tags: platform_tags(pl),
            };
            (address(tier), item(&state))
        })
        .collect()
}

/// Whether AWS tags say the resource is this platform's.
pub(super) fn ours(tags: Option<&std::collections::HashMap<String, String>>, platform: &str) -> bool {
    tags.is_some_and(|t| {
        t.get(TAG_MANAGED).map(String::as_str) == Some("true")
            && t.get(TAG_PLATFORM).map(String::as_str) == Some(platform)
    })
}

/// `arn:<partition>:apigateway:<region>::<path>` (for `TagResource`).
pub(super) fn arn(aws: &Aws, path: &str) -> String {
    format!("arn:{}:apigateway:{}::{path}", aws.ctx.partition, aws.ctx.region)
}

/// Makes the tags of the resource `arn` (live `have`) match `want`.
pub(super) async fn retag(aws: &Aws, arn: &str, have: &Tags, want: &Tags) -> Result<(), AwsError> {
    let add: Vec<(&String, &String)> = want.iter().filter(|(k, v)| have.get(*k) != Some(*v)).collect();
    let remove: Vec<&String> = have.keys().filter(|k| !want.contains_key(*k)).collect();
    if !add.is_empty() {
        aws.limiter.acquire(Category::ApiGateway).await;
        let mut req = aws.apigw.tag_resource().resource_arn(arn);
        for (k, v) in add {
            req = req.tags(k, v);
        }
        req.send().await.map_err(|e| call_err("apigateway:TagResource", e))?;
    }
    if !remove.is_empty() {
        aws.limiter.acquire(Category::ApiGateway).await;
        aws.apigw
            .untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(remove.into_iter().cloned().collect()))
            .send()
            .await
            .map_err(|e| call_err("apigateway:UntagResource", e))?;
    }
    Ok(())
}

impl ItemRules for UsagePlan {
    fn resource(&self) -> Resource {
        Resource::new(KIND)
    }
}

/// One page of `GetUsagePlans` and what it says (shared with `usage_plan_stage` and
/// `usage_plan_key`, which observe from the plans found).
pub(super) struct LivePlan {
    pub tier: String,
    pub id: String,
    pub state: PlanState,
    /// `apiId:stage`
    pub stages: Vec<(String, String)>,
}

/// This platform's usage plans (`GetUsagePlans`, 500 a page).
pub(super) async fn live_plans(aws: &Aws, platform: &str) -> Result<Vec<LivePlan>, AwsError> {
    let mut out = Vec::new();
    let mut position: Option<String> = None;
    let prefix = format!("{platform}-");
    loop {
        aws.limiter.acquire(Category::ApiGateway).await;
        let page = aws
            .apigw
            .get_usage_plans()
            .limit(rest_api::PAGE)
            .set_position(position.clone())
            .send()
            .await
            .map_err(|e| call_err("apigateway:GetUsagePlans", e))?;
        for p in page.items() {
            let (Some(id), Some(name)) = (p.id(), p.name()) else { continue };
            if !ours(p.tags(), platform) {
                continue;
            }
            let Some(tier) = name.strip_prefix(&prefix) else { continue };
            let tags: Tags =
                p.tags().map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default();
            let state = PlanState {
                name: name.to_string(),
                throttle: p
                    .throttle()
                    .filter(|t| t.rate_limit() != 0.0 || t.burst_limit() != 0)
                    .map(|t| Throttle { rate_limit: t.rate_limit(), burst_limit: t.burst_limit() }),
                quota: p.quota().filter(|q| q.limit() != 0).map(|q| Quota {
                    limit: q.limit(),
                    period: q.period().map(|p| p.as_str().to_string()).unwrap_or_default(),
                    offset: q.offset(),
                }),
                tags,
            };
            let stages =
                p.api_stages().iter().filter_map(|s| Some((s.api_id()?.to_string(), s.stage()?.to_string()))).collect();
            out.push(LivePlan { tier: tier.to_string(), id: id.to_string(), state, stages });
        }
        position = page.position().map(str::to_string);
        if position.is_none() || page.items().is_empty() {
            break;
        }
    }
    out.sort_by(|a, b| (&a.tier, &a.id).cmp(&(&b.tier, &b.id)));
    Ok(out)
}

impl Kind for UsagePlan {
    fn service(&self) -> super::Service {
        super::Service::ApiGateway
    }

    fn desired(&self, folder: &Folder, _ctx: &DesiredCtx, _world: &World) -> Desired {
        Ok(desired_plans(folder))
    }

    /// The plans and their stages (module docs); only with `apiUsage`. Two plans of one tier
    /// (a concurrent apply): the lowest id is the tier's, the other is extra (deleted).
    fn observe<'a>(&'a self, aws: &'a Aws, scope: &'a ObserveScope<'a>) -> BoxFuture<'a, Result<Observed, AwsError>> {
        let folder = scope.folder;
        let ids = scope.ids;
        async move {
            let pl = &folder.platform.value;
            let Some(usage) = &pl.api_usage else { return Ok(Vec::new()) };
            let api = ids.id(crate::state::wiring::REST_API_ADDRESS);
            let mut out = Vec::new();
            let mut seen = std::collections::BTreeSet::new();
            for p in live_plans(aws, &pl.name).await? {
                let addr = if seen.insert(p.tier.clone()) {
                    address(&p.tier)
                } else {
                    format!("{}#{}", address(&p.tier), p.id)
                };
                for (api_id, stage) in &p.stages {
                    // The declared stage by its name; any other by `apiId:stage` (undeclared).
                    let key = if Some(api_id.as_str()) == api && *stage == usage.stage {
                        stage.clone()
                    } else {
                        format!("{api_id}:{stage}")
                    };
                    out.push((
                        super::usage_plan_stage::address(&addr, &key),
                        super::usage_plan_stage::observed(&addr, api_id, stage),
                        format!("{api_id}:{stage}"),
                    ));
                }
                out.push((addr, item(&p.state), p.id));
            }
            Ok(out)
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
            let st: PlanState = typed(item)?;
            aws.limiter.acquire(Category::ApiGateway).await;
            let out =
                aws.apigw
                    .create_usage_plan()
                    .name(&st.name)
                    .description("tenantctl: API usage of the tenants of this tier")
                    .set_throttle(st.throttle.as_ref().map(|t| {
                        ThrottleSettings::builder().rate_limit(t.rate_limit).burst_limit(t.burst_limit).build()
                    }))
                    .set_quota(st.quota.as_ref().map(|q| {
                        QuotaSettings::builder()
                            .limit(q.limit)
                            .offset(q.offset)
                            .period(QuotaPeriodType::from(q.period.as_str()))
                            .build()
                    }))
                    .set_tags(Some(st.tags.clone().into_iter().collect()))
                    .send()
                    .await
                    .map_err(|e| call_err("apigateway:CreateUsagePlan", e))?;
            out.id()
                .map(str::to_string)
                .ok_or_else(|| AwsError::Other(format!("apigateway:CreateUsagePlan of `{}`: no id", st.name)))
        }
        .boxed()
    }

    /// Throttle and quota by patch operations, tags by `TagResource`/`UntagResource`.
    fn update<'a>(
        &'a self,
        aws: &'a Aws,
        item: &'a Item,
        live: &'a Item,
        id: &'a str,
        _parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        async move {
            let want: PlanState = typed(item)?;
            let have: PlanState = typed(live)?;
            let ops = plan_patch(&have, &want);
            if !ops.is_empty() {
                aws.limiter.acquire(Category::ApiGateway).await;
                aws.apigw
                    .update_usage_plan()
                    .usage_plan_id(id)
                    .set_patch_operations(Some(ops))
                    .send()
                    .await
                    .map_err(|e| call_err("apigateway:UpdateUsagePlan", e))?;
            }
            if want.tags != have.tags {
                retag(aws, &arn(aws, &format!("/usageplans/{id}")), &have.tags, &want.tags).await?;
            }
            Ok(())
        }
        .boxed()
    }

    /// Detaches its stages (AWS refuses to delete a plan that still meters one), then deletes.
    fn delete<'a>(
        &'a self,
        aws: &'a Aws,
        _live: &'a Item,
        id: &'a str,
        _parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        async move {
            aws.limiter.acquire(Category::ApiGateway).await;
            let cur = aws.apigw.get_usage_plan().usage_plan_id(id).send().await;
            // Gone already: deleted.
            let Some(cur) = crate::aws::none_if_gone(cur.map_err(|e| call_err("apigateway:GetUsagePlan", e)))? else {
                return Ok(());
            };
            let ops: Vec<_> = cur
                .api_stages()
                .iter()
                .filter_map(|s| Some(patch(PatchOp::Remove, "/apiStages", format!("{}:{}", s.api_id()?, s.stage()?))))
                .collect();
            if !ops.is_empty() {
                aws.limiter.acquire(Category::ApiGateway).await;
                aws.apigw
                    .update_usage_plan()
                    .usage_plan_id(id)
                    .set_patch_operations(Some(ops))
                    .send()
                    .await
                    .map_err(|e| call_err("apigateway:UpdateUsagePlan", e))?;
            }
            aws.limiter.acquire(Category::ApiGateway).await;
            crate::aws::done_if_gone(
                aws.apigw
                    .delete_usage_plan()
                    .usage_plan_id(id)
                    .send()
                    .await
                    .map_err(|e| call_err("apigateway:DeleteUsagePlan", e)),
            )
        }
        .boxed()
    }

    fn validate(&self, folder: &Folder) -> Vec<Diagnostic> {
        folder_rules(folder)
    }
}

/// The `UpdateUsagePlan` patch operations from `have` to `want` (throttle and quota).
pub fn plan_patch(have: &PlanState, want: &PlanState) -> Vec<aws_sdk_apigateway::types::PatchOperation> {
    let mut ops = Vec::new();
    match (&have.throttle, &want.throttle) {
        (Some(_), None) => ops.push(patch(PatchOp::Remove, "/throttle", "")),
        (h, Some(w)) => {
            let op = if h.is_some() { PatchOp::Replace } else { PatchOp::Add };
            if h.as_ref().map(|h| h.rate_limit) != Some(w.rate_limit) {
                ops.push(patch(op.clone(), "/throttle/rateLimit", w.rate_limit.to_string()));
            }
            if h.as_ref().map(|h| h.burst_limit) != Some(w.burst_limit) {
                ops.push(patch(op, "/throttle/burstLimit", w.burst_limit.to_string()));
            }
        }
        (None, None) => {}
    }
    match (&have.quota, &want.quota) {
        (Some(_), None) => ops.push(patch(PatchOp::Remove, "/quota", "")),
        (h, Some(w)) => {
            let op = if h.is_some() { PatchOp::Replace } else { PatchOp::Add };
            if h.as_ref().map(|h| h.limit) != Some(w.limit) {
                ops.push(patch(op.clone(), "/quota/limit", w.limit.to_string()));
            }
            if h.as_ref().map(|h| &h.period) != Some(&w.period) {
                ops.push(patch(op.clone(), "/quota/period", &w.period));
            }
            if h.as_ref().map(|h| h.offset) != Some(w.offset) {
                ops.push(patch(op, "/quota/offset", w.offset.to_string()));
            }
        }
        (None, None) => {}
    }
    ops
}

// ---------------------------------------------------------------- validation

/// Usage plans per account and Region (API Gateway quota, default).
pub const MAX_USAGE_PLANS: usize = 300;

/// What API Gateway accepts of the tiers' usage plans (`Kind::validate`, contract §1.6): names,
/// throttles, quotas, how many.
fn folder_rules(folder: &Folder) -> Vec<Diagnostic> {
    let p = &folder.platform;
    let pl = &p.value;
    let mut out = Vec::new();
    for (name, tier) in &pl.tiers {
        let at = format!("tiers.{name}");
        if !tier_name_re().is_match(name) {
            out.push(p.at_key(&at, format!("tier name `{}` must match ^[a-z][a-z0-9]{{0,15}}$", name.escape_debug())));
        }
        if let Some(t) = &tier.throttle {
            if !(t.rate_limit.is_finite() && t.rate_limit >= 0.0) {
                out.push(p.at(&format!("{at}.throttle.rateLimit"), "rateLimit must be a number >= 0"));
            }
            if t.burst_limit < 0 {
                out.push(p.at(&format!("{at}.throttle.burstLimit"), "burstLimit must be >= 0"));
            }
        }
        if let Some(q) = &tier.quota {
            if q.limit < 1 {
                out.push(p.at(&format!("{at}.quota.limit"), "quota limit must be at least 1"));
            }
            let max_offset = match q.period {
                crate::spec::model::QuotaPeriod::Day => 0,
                crate::spec::model::QuotaPeriod::Week => 6,
                crate::spec::model::QuotaPeriod::Month => 27,
            };
            if !(0..=max_offset).contains(&q.offset) {
                out.push(p.at(
                    &format!("{at}.quota.offset"),
                    format!("quota offset for period {} must be 0..{max_offset}", q.period.aws_name()),
                ));
            }
        }
    }
    if pl.tiers.len() > MAX_USAGE_PLANS {
        out.push(
            p.at("tiers", format!("{} tiers: each is a usage plan, and an account holds at most {MAX_USAGE_PLANS} usage plans per Region", pl.tiers.len()))
                .hint("ask AWS to raise the usage plan quota, or use fewer tiers"),
        );
    }
    if pl.api_usage.is_some() && pl.tiers.is_empty() {
        out.push(p.at("apiUsage", "apiUsage needs `tiers`: each tier is a usage plan of the stage"));
    }
    out
}

fn tier_name_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"^[a-z][a-z0-9]{0,15}$")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(rate: f64, quota: Option<i32>) -> PlanState {
        PlanState {
            name: "saas-basic".into(),
            throttle: Some(Throttle { rate_limit: rate, burst_limit: 20 }),
            quota: quota.map(|limit| Quota { limit, period: "MONTH".into(), offset: 0 }),
            tags: Tags::new(),
        }
    }

    fn paths(ops: &[aws_sdk_apigateway::types::PatchOperation]) -> Vec<(String, String, String)> {
        ops.iter()
            .map(|o| {
                (
                    o.op().map(|x| x.as_str().to_string()).unwrap_or_default(),
                    o.path().unwrap_or_default().to_string(),
                    o.value().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn patch_sends_only_what_differs() {
        assert!(plan_patch(&st(10.0, Some(100)), &st(10.0, Some(100))).is_empty());
        assert_eq!(
            paths(&plan_patch(&st(50.0, Some(100)), &st(10.0, Some(100)))),
            [("replace".to_string(), "/throttle/rateLimit".to_string(), "10".to_string())]
        );
        assert_eq!(
            paths(&plan_patch(&st(10.0, Some(100)), &st(10.0, None))),
            [("remove".to_string(), "/quota".to_string(), String::new())]
        );
        let added = paths(&plan_patch(&st(10.0, None), &st(10.0, Some(5))));
        assert_eq!(added.len(), 3);
        assert!(added.iter().all(|(op, p, _)| op == "add" && p.starts_with("/quota/")));
    }
}

#[cfg(test)]
mod tiers_tests;
