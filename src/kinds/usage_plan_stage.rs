//! `usage_plan_stage`: the API stage a tier's usage plan meters (`apiUsage.stage` of
//! `apiUsage.restApi`), at `<usage plan address>/stage/<stage>`; its parent is the usage plan,
//! its id `apiId:stage`.
//!
//! - A kind of its own so that the plan can exist before the stage does: with
//!   `authorizer.stage` equal to `apiUsage.stage`, tenantctl may create the stage in the same
//!   apply (the stage deployment), and the attachment comes after it (`after`).
//! - Observed with the plans (`usage_plan::observe`); a stage of another API or name attached
//!   to a tier's plan is undeclared (`<plan>/stage/<apiId>:<stage>`) and detached by `apply`
//!   (`drift`: unexpected).
//! - Created and deleted with `UpdateUsagePlan` `add`/`remove` `/apiStages`; it goes with its
//!   plan (the plan's delete detaches every stage).

use std::sync::OnceLock;

use aws_sdk_apigateway::types::Op as PatchOp;
use futures::future::BoxFuture;
use futures::FutureExt;
use regex::Regex;

use super::authorizer::patch;
use super::{typed, Desired, DesiredCtx, Kind};
use crate::aws::{call_err, Aws, AwsError, Category};
use crate::plan::{ItemRules, Resource};
use crate::spec::validate::re;
use crate::spec::{Diagnostic, Folder};
use crate::state::wiring::{stage_address, usage_plan_address, REST_API_ADDRESS};
use crate::state::{Ids, Item, Text, World};

pub struct UsagePlanStage;

pub const KIND: &str = "usage_plan_stage";

pub fn address(plan: &str, stage: &str) -> String {
    format!("{plan}/stage/{stage}")
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
struct StageRef<T = Text> {
    /// `apiId:stage`
    api_stage: T,
}

fn item(plan: &str, name: &str, api_stage: Text, after: Vec<String>) -> Item {
    Item {
        kind: KIND.to_string(),
        name: name.to_string(),
        tenant: None,
        parent: Some(plan.to_string()),
        state: serde_json::to_value(StageRef { api_stage }).expect("state serializes"),
        after,
    }
}

/// An attachment as observed.
pub(super) fn observed(plan: &str, api_id: &str, stage: &str) -> Item {
    let state = StageRef { api_stage: format!("{api_id}:{stage}") };
    Item {
        state: serde_json::to_value(state).expect("state serializes"),
        ..item(plan, stage, Text::default(), Vec::new())
    }
}

impl ItemRules for UsagePlanStage {
    fn resource(&self) -> Resource {
        Resource::new(KIND)
    }

    fn replace_on(&self) -> &'static [&'static str] {
        &["api_stage"]
    }

    fn goes_with_parent(&self) -> bool {
        true
    }
}

impl Kind for UsagePlanStage {
    fn service(&self) -> super::Service {
        super::Service::ApiGateway
    }

    fn platform_wide(&self) -> bool {
        true
    }

    fn desired(&self, folder: &Folder, _ctx: &DesiredCtx, _world: &World) -> Desired {
        let pl = &folder.platform.value;
        let Some(usage) = &pl.api_usage else { return Ok(Vec::new()) };
        // The stage tenantctl deploys (and may create) comes first.
        let after = match pl.authorizer.as_ref().and_then(|a| a.stage.as_ref()) {
            Some(s) if *s == usage.stage => vec![stage_address(s)],
            _ => Vec::new(),
        };
        Ok(pl
            .tiers
            .keys()
            .map(|tier| {
                let plan = usage_plan_address(tier);
                let api_stage = Text::default().id(REST_API_ADDRESS).s(format!(":{}", usage.stage));
                (address(&plan, &usage.stage), item(&plan, &usage.stage, api_stage, after.clone()))
            })
            .collect())
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
            let s: StageRef<String> = typed(item)?;
            let plan = parent.ok_or_else(|| AwsError::Other(format!("stage `{}`: no usage plan", item.name)))?;
            attach(aws, plan, PatchOp::Add, &s.api_stage).await?;
            Ok(s.api_stage)
        }
        .boxed()
    }

    /// Replaced, never updated (the one field).
    fn update<'a>(
        &'a self,
        _aws: &'a Aws,
        _item: &'a Item,
        _live: &'a Item,
        _id: &'a str,
        _parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        async { Ok(()) }.boxed()
    }

    fn delete<'a>(
        &'a self,
        aws: &'a Aws,
        live: &'a Item,
        id: &'a str,
        parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        async move {
            let plan = parent.ok_or_else(|| AwsError::Other(format!("stage `{}`: no usage plan", live.name)))?;
            crate::aws::done_if_gone(attach(aws, plan, PatchOp::Remove, id).await)
        }
        .boxed()
    }

    fn validate(&self, folder: &Folder) -> Vec<Diagnostic> {
        folder_rules(folder)
    }
}

async fn attach(aws: &Aws, plan: &str, op: PatchOp, api_stage: &str) -> Result<(), AwsError> {
    aws.limiter.acquire(Category::ApiGateway).await;
    aws.apigw
        .update_usage_plan()
        .usage_plan_id(plan)
        .patch_operations(patch(op, "/apiStages", api_stage))
        .send()
        .await
        .map_err(|e| call_err("apigateway:UpdateUsagePlan", e))?;
    Ok(())
}

// ---------------------------------------------------------------- validation

/// The stage the usage plans meter (`Kind::validate`): its name, on the authorizer's REST API.
fn folder_rules(folder: &Folder) -> Vec<Diagnostic> {
    let p = &folder.platform;
    let pl = &p.value;
    let mut out = Vec::new();
    let Some(u) = &pl.api_usage else {
        return out;
    };
    if !stage_name_re().is_match(&u.stage) {
        out.push(p.at("apiUsage.stage", "stage name must be 1-128 letters, digits or _"));
    }
    if let Some(a) = &pl.authorizer {
        if a.rest_api != u.rest_api {
            out.push(
                p.at(
                    "apiUsage.restApi",
                    format!("apiUsage.restApi `{}` is not the authorizer's REST API `{}`", u.rest_api, a.rest_api),
                )
                .hint("the guarded methods, whose callers are metered, are the authorizer's"),
            );
        }
    }
    out
}

fn stage_name_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"^[A-Za-z0-9_]{1,128}$")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Ids;
    use serde_json::json;

    #[test]
    fn the_stage_resolves_to_api_id_and_stage() {
        let d = item("platform/usage_plan/basic", "prod", Text::default().id(REST_API_ADDRESS).s(":prod"), vec![]);
        let mut ids = Ids::default();
        ids.set(REST_API_ADDRESS, "a1b2");
        let o = observed("platform/usage_plan/basic", "a1b2", "prod");
        assert!(UsagePlanStage.compare("x", &d, &o, &ids).unwrap().is_empty());
        let other = observed("platform/usage_plan/basic", "zzz", "prod");
        let f = UsagePlanStage.compare("x", &d, &other, &ids).unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].after, json!("a1b2:prod"));
    }
}
